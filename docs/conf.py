"""Sphinx configuration of the skrnn documentation.

Build (from the repository root)::

    pip install ".[docs]" && sphinx-build -W -b html docs docs/_build/html

The examples in ``examples/plot_*.py`` are executed by sphinx-gallery during the build
and rendered, with their figures, into ``docs/auto_examples/``.
"""

import os
import re
import sys
import warnings
from pathlib import Path

# The examples fit small networks: their matrices are a few dozen rows wide, and
# multithreaded BLAS only adds overhead (and contention on a shared machine). Set
# before NumPy is first imported; an explicit setting in the environment wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

HERE = Path(__file__).resolve().parent
# Document the source tree next to this file, even if another skrnn is installed.
sys.path.insert(0, str(HERE.parent))

import skrnn  # noqa: E402

# -- Project information ---------------------------------------------------------------

project = "skrnn"
author = "The skrnn developers"
copyright = "The skrnn developers, BSD-3-Clause"
version = skrnn.__version__
release = skrnn.__version__

# -- General configuration -------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"

# No intersphinx: the build must work without internet access. References to
# scikit-learn, NumPy or PyTorch objects are written as plain text or literal code.

# -- autodoc / autosummary / numpydoc --------------------------------------------------

autosummary_generate = True
autodoc_typehints = "none"

# The class pages list the methods with autodoc (template: _templates/class.rst);
# numpydoc's own member tables would reference stubs that are not generated, and warn.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
# Check the public docstrings: an error here fails the build (with -W).
numpydoc_validation_checks = {"GL08"}  # every public object has a docstring
numpydoc_validation_exclude = {
    r"\.__init__$",
    # inherited from scikit-learn's BaseEstimator and mixins, documented upstream
    r"\.get_params$",
    r"\.set_params$",
    r"\.get_metadata_routing$",
    r"\.set_\w+_request$",
    r"\.__sklearn_tags__$",
}
numpydoc_xref_param_type = False

# -- doctest ---------------------------------------------------------------------------

doctest_global_setup = """
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

# the snippets fit tiny models for a few iterations on purpose
warnings.filterwarnings("ignore", category=ConvergenceWarning)
try:
    import pandas as pd
except ImportError:  # not a dependency of skrnn: the snippets that need it are skipped
    pd = None
try:
    import torch
except ImportError:
    torch = None
"""
import doctest  # noqa: E402

doctest_default_flags = (
    doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL
)

# -- sphinx-gallery --------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # execute only the plot_* scripts ...
    "filename_pattern": "/plot_",
    # ... and leave quickstart.py (the README's command-line example, without plots
    # and without a reST title) out of the gallery; the user guide includes its code.
    "ignore_pattern": r"__init__\.py|quickstart\.py",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skrnn",),
    "reference_url": {"skrnn": None},
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "min_reported_time": 0,
}

# The examples end with plt.show() so that they also work as scripts; under the Agg
# backend of the build, Matplotlib would warn that it cannot show the figures.
warnings.filterwarnings("ignore", category=UserWarning,
                        message="FigureCanvasAgg is non-interactive")

# -- Docstrings inherited from scikit-learn --------------------------------------------

# ``score``, ``get_params`` and ``set_params`` come from scikit-learn's base classes,
# whose docstrings cross-reference scikit-learn's own user guide and glossary
# (``:ref:`r2_score```, ``:term:`meta-estimator```...). Those targets do not exist
# here and intersphinx is off, so show their text instead of a broken link.
_SKLEARN_XREF = re.compile(r":(?:ref|term):`([^`<]+?)\s*(?:<[^`>]*>)?`")


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] != "sklearn":
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_XREF.sub(lambda m: m.group(1), line)


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs, priority=400)


# -- HTML ------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skrnn {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_sidebars = {"changelog": [], "performance": []}
