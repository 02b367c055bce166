"""Root conftest: runs before anything imports SciPy.

scikit-learn's ``check_array_api_input`` only runs when SciPy's array API support is
on; switch it on so that no estimator check is skipped for want of it.

It also holds the test suite's strict modes, which ``.ci/run`` switches on so that a
test that did not run cannot pass for one that did:

``SKRNN_REQUIRE_TORCH=1``
    PyTorch must be importable: every test that skips because torch is missing (through
    the ``torch`` fixture below or ``pytest.importorskip("torch")`` anywhere in the
    suite) fails instead.
``SKRNN_CI_STRICT=1``
    Implies ``SKRNN_REQUIRE_TORCH=1`` (unless that is set to 0) and fails the run, after
    every test has run, if any test was skipped or xfailed (or xpassed) for a reason
    not in ``ALLOWED_SKIPS``. With ``SKRNN_REQUIRE_TORCH=0`` skips for a missing torch
    are allowed too (a run that knowingly goes without torch).
"""

import os
import re

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest  # noqa: E402


def _flag(name, default=False):
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value not in ("0", "false", "no", "off")


CI_STRICT = _flag("SKRNN_CI_STRICT")
REQUIRE_TORCH = _flag("SKRNN_REQUIRE_TORCH", default=CI_STRICT)

# The skips a strict run accepts: a pattern searched in the reason, and why it is fine.
ALLOWED_SKIPS = {
    # scikit-learn's estimator checks (tests/test_common.py) skip the checks of a
    # method the estimator does not have; RNNClassifier, like MLPClassifier, has no
    # decision_function
    r"\bdoes not have a decision_function method\b":
        "scikit-learn's check of a method the estimator does not have",
}
# a skip for a missing torch (pytest.importorskip's message, or the fixture's)
TORCH_SKIP = re.compile(r"\btorch\b")


@pytest.fixture(scope="session")
def torch():
    """The ``torch`` module, for the parity tests against PyTorch: the test skips when
    torch is missing, and fails instead under ``SKRNN_REQUIRE_TORCH``."""
    try:
        import torch as module
    except ImportError as exc:
        error = exc
    else:
        return module
    if REQUIRE_TORCH:
        pytest.fail(f"SKRNN_REQUIRE_TORCH is set, but torch cannot be imported: "
                    f"{error!r}", pytrace=False)
    pytest.skip(f"could not import 'torch': {error}")


def _skip_reason(report):
    """The reason of a skipped (or xfailed/xpassed) report, or None."""
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}"
    if not report.skipped:
        return None
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ")


def _require_torch(report):
    """Turn a report skipped for a missing torch into a failure under
    SKRNN_REQUIRE_TORCH."""
    if not (REQUIRE_TORCH and report.skipped and not hasattr(report, "wasxfail")):
        return
    reason = _skip_reason(report)
    if TORCH_SKIP.search(reason):
        report.outcome = "failed"
        report.longrepr = (f"SKRNN_REQUIRE_TORCH is set, so a missing torch is a "
                           f"failure; the test skipped: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _require_torch(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    # a module-level importorskip("torch") skips the whole module at collection
    outcome = yield
    _require_torch(outcome.get_result())


# ----------------------------------------------------------------------------------
# SKRNN_CI_STRICT: every skip must be an allowed one

_not_run = []  # (nodeid, reason) of every skipped, xfailed or xpassed test or module


def _allowed(reason):
    if not REQUIRE_TORCH and TORCH_SKIP.search(reason):
        return True
    return any(re.search(pattern, reason) for pattern in ALLOWED_SKIPS)


def _record(report):
    reason = _skip_reason(report)
    if reason is not None and report.outcome != "failed":
        _not_run.append((report.nodeid, reason))


def pytest_runtest_logreport(report):
    _record(report)


def pytest_collectreport(report):
    _record(report)


def _unexpected():
    return [(nodeid, reason) for nodeid, reason in _not_run if not _allowed(reason)]


def pytest_sessionfinish(session, exitstatus):
    if CI_STRICT and _unexpected() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if not CI_STRICT:
        return
    tr = terminalreporter
    unexpected = _unexpected()
    tr.section("SKRNN_CI_STRICT: skips and xfails")
    tr.line(f"{len(_not_run) - len(unexpected)} allowed "
            f"(patterns: {', '.join(ALLOWED_SKIPS)}"
            f"{'; torch skips, SKRNN_REQUIRE_TORCH=0' if not REQUIRE_TORCH else ''}), "
            f"{len(unexpected)} not allowed")
    for nodeid, reason in unexpected:
        tr.line(f"NOT ALLOWED {nodeid}: {reason}", red=True)
    if unexpected:
        tr.line("A test that does not run cannot fail: make it run, or add its reason "
                "to ALLOWED_SKIPS in conftest.py with why it is fine.", red=True)
