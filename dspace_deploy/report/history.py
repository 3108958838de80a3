"""The report's history: each run's JSON document, kept on the controller
(~/.local/state/dspace-deploy/<site>/reports/) and beside the HTML in --out, so that the page
can chart each member's version, backup age and OAI score over time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.report.model import history_point

KEEP = 365  # runs charted (the files themselves are never deleted)


def reports_dir(site_name: str) -> Path:
    return resources.state_home() / site_name / "reports"


def file_name(generated: str) -> str:
    """report-20261205T081500Z.json for 2026-12-05T08:15:00+00:00."""
    stamp = generated.replace("+00:00", "Z").replace("-", "").replace(":", "")
    return f"report-{stamp}.json"


def load(directories: list[Path], site_name: str) -> list[dict[str, Any]]:
    """Earlier documents of this site from these directories, oldest first, each run once."""
    runs: dict[str, dict[str, Any]] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in directory.glob("report-*.json"):
            try:
                document = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if (isinstance(document, dict) and document.get("site") == site_name
                    and isinstance(document.get("generated"), str)):
                runs[document["generated"]] = document
    return [runs[key] for key in sorted(runs)][-KEEP:]


def series(earlier: list[dict[str, Any]],
           current: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per member key, its points over the earlier runs and this one, oldest first."""
    points: dict[str, list[dict[str, Any]]] = {}
    for document in [*earlier, current]:
        for member in document.get("members") or []:
            if isinstance(member, dict) and member.get("key"):
                points.setdefault(str(member["key"]), []).append(
                    history_point(member, str(document.get("generated"))))
    return points


def save(document: dict[str, Any], directories: list[Path]) -> list[Path]:
    """Write this run's document (without its history, which is derived) in each directory."""
    own = {k: v for k, v in document.items() if k != "history"}
    written = []
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / file_name(str(document["generated"]))
        path.write_text(json.dumps(own, indent=2, default=str) + "\n")
        written.append(path)
    return written
