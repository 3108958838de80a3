"""pytest plugin loaded by `dspace-deploy verify`: writes each check's outcome as JSON.

Runs in pytest's controller process (also under xdist, where reports are forwarded), so the
file is written once, at the end of the session.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPORT_ENV = "DSPACE_DEPLOY_VERIFY_REPORT"
_results: list[dict[str, Any]] = []


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = report.outcome
        if report.when == "setup" and report.failed:
            outcome = "error"
        _results.append(
            {"nodeid": report.nodeid, "outcome": outcome, "message": _message(report)}
        )


def pytest_sessionfinish(session: Any) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller writes the file
    target = os.environ.get(REPORT_ENV)
    if target:
        Path(target).write_text(json.dumps(_results, indent=1))


def _message(report: Any) -> str:
    if report.passed:
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr)[-500:]
