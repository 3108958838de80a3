"""The filters of the upgrade execution (playbooks/filter_plugins/dspace_upgrade_run.py): which
instances `up` leaves alone, what a rerun does with an interrupted upgrade, what a rollback
undoes and what it loses."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "playbooks/filter_plugins/dspace_upgrade_run.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dspace_upgrade_run", PLUGIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load()
@pytest.mark.parametrize(("record", "running", "target", "decision"), [
    ({}, "9.2", "9.3", "upgrade"),
    ({}, "9.3", "9.3", "current"),
    ({"status": "done", "to": "9.3"}, "9.3", "9.3", "current"),
    ({"status": "rolled_back", "to": "9.3"}, "9.2", "9.3", "upgrade"),
    # interrupted before its health gate: rolled back, never a second upgrade over it
    ({"status": "running", "to": "9.3", "phase": "migrate"}, "9.2", "9.3", "recover"),
    ({"status": "running", "to": "9.3", "phase": "precheck"}, "9.2", "9.3", "recover"),
    # interrupted after it: resumed
    ({"status": "running", "to": "9.3", "phase": "reindex"}, "9.2", "9.3", "resume"),
    ({"status": "running", "to": "9.3", "phase": "ui"}, "9.2", "9.3", "resume"),
    # interrupted, and the inventory now names another target: rolled back
    ({"status": "running", "to": "9.3", "phase": "ui"}, "9.2", "10.0", "recover"),
])
def test_decision(record: dict[str, str], running: str, target: str, decision: str) -> None:
    assert run.upgrade_decision(record, running, target) == decision


@pytest.mark.parametrize(("done", "phase", "steps"), [
    ([], "precheck", []),
    (["precheck"], "pause_tasks", ["resume_tasks"]),
    (["precheck", "pause_tasks", "snapshot"], "maintenance", ["resume_tasks", "maintenance_off"]),
    (["precheck", "pause_tasks", "snapshot", "maintenance"], "stop",
     ["backend_stop", "backend_start", "resume_tasks", "maintenance_off"]),
    (["precheck", "pause_tasks", "snapshot", "maintenance", "stop"], "install",
     ["backend_stop", "backend_code", "backend_start", "resume_tasks", "maintenance_off"]),
    (["precheck", "pause_tasks", "snapshot", "maintenance", "stop", "install"], "migrate",
     ["backend_stop", "backend_code", "backend_database", "backend_start", "resume_tasks",
      "maintenance_off"]),
    (["precheck", "pause_tasks", "snapshot", "maintenance", "stop", "install", "migrate",
      "solr", "start"], "reindex",
     ["backend_stop", "backend_code", "backend_database", "solr", "backend_start", "reindex",
      "resume_tasks", "maintenance_off"]),
    (list(run.PHASES), "finish",
     ["ui", "backend_stop", "backend_code", "backend_database", "solr", "backend_start",
      "reindex", "resume_tasks", "maintenance_off"]),
])
def test_undo_steps_follow_the_phases_begun(done: list[str], phase: str,
                                            steps: list[str]) -> None:
    assert run.upgrade_undo({"phases_done": done, "phase": phase}) == steps


def test_lost_since_is_what_the_database_has_beyond_its_copy() -> None:
    now = json.dumps({"items": 12, "bitstreams": 30, "handles": 12})
    copy = json.dumps({"items": 10, "bitstreams": 30, "handles": 11})
    assert run.lost_since({"now": now, "copy": copy}) == {
        "available": True, "bitstreams": 0, "handles": 1, "items": 2}
    assert run.lost_since({"now": now, "copy": ""}) == {"available": False}


def test_host_instance() -> None:
    assert run.host_instance("lib", {"lib": "9.2"}, ["repo"]) == {
        "instance": "lib", "running": "9.2", "upgrading": False}
