"""Root conftest: runs before anything imports SciPy.

scikit-learn's ``check_array_api_input`` only runs when SciPy's array API support is
on; switch it on so that no estimator check is skipped for want of it.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
