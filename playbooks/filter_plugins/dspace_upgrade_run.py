"""Ansible filters of the upgrade execution (playbooks/upgrade.yml, rollback.yml, site.yml).

  dspace_host_instance(name, running, upgrading) -> {instance, running, upgrading}
  dspace_upgrade_decision(record, running, target) -> str
  dspace_lost_since(counts)                -> {available, items, bitstreams, ...}
  dspace_upgrade_undo(record)              -> [undo step, ...]

The planning of a jump (supported paths, prechecks) is dspace_upgrade.py's; these only turn
host records into decisions. Pure standard-library Python, unit-tested
(tests/unit/test_upgrade_run.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PHASES = ("precheck", "pause_tasks", "snapshot", "maintenance", "stop", "install", "migrate",
          "solr", "start", "reindex", "ui", "finish")
# Phases after which the new release runs healthy on the migrated database: an interrupted
# upgrade resumes there (each of them is idempotent); earlier ones are rolled back.
RESUMABLE = ("reindex", "ui", "finish")


def host_instance(name: str, running: Any, upgrading: Any) -> dict[str, Any]:
    """One entry of the prechecks' host_instances: what the instance runs, whether this run
    upgrades it too."""
    table = running if isinstance(running, Mapping) else {}
    return {"instance": name, "running": str(table.get(name) or ""),
            "upgrading": name in (upgrading or [])}


def upgrade_decision(record: Any, running: str, target: str) -> str:
    """What a run does for one instance: `upgrade`, `resume` (an interrupted upgrade to the
    same target past its health gate), `recover` (an interrupted one to roll back), or
    `current` (nothing to do)."""
    rec = record if isinstance(record, Mapping) else {}
    if rec.get("status") == "running":
        same = str(rec.get("to")) == str(target)
        return "resume" if same and rec.get("phase") in RESUMABLE else "recover"
    return "current" if str(running) == str(target) else "upgrade"


def lost_since(counts: Any) -> dict[str, Any]:
    """Rows the live database holds beyond its pre-upgrade copy (rollback loses them)."""
    def parse(text: Any) -> dict[str, int] | None:
        try:
            value = json.loads(text) if isinstance(text, str) and text.strip() else None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    data = counts if isinstance(counts, Mapping) else {}
    now, copy = parse(data.get("now")), parse(data.get("copy"))
    if now is None or copy is None:
        return {"available": False}
    return {"available": True, **{k: int(now[k]) - int(copy.get(k, 0)) for k in sorted(now)}}


def upgrade_undo(record: Any) -> list[str]:
    """The undo steps of an upgrade, in order, from the phases it reached (done or begun)."""
    rec = record if isinstance(record, Mapping) else {}
    touched = set(rec.get("phases_done") or [])
    if rec.get("phase"):
        touched.add(rec["phase"])
    if rec.get("status") == "done":
        touched = set(PHASES)
    steps = []
    if "ui" in touched:
        steps.append("ui")
    backend = touched & {"stop", "install", "migrate", "solr", "start", "reindex", "ui", "finish"}
    if backend:
        steps.append("backend_stop")
    if touched & {"install", "migrate", "solr", "start", "reindex", "ui", "finish"}:
        steps.append("backend_code")
    if touched & {"migrate", "solr", "start", "reindex", "ui", "finish"}:
        steps.append("backend_database")
    if touched & {"solr", "start", "reindex", "ui", "finish"}:
        steps.append("solr")
    if backend:
        steps.append("backend_start")
    if touched & {"reindex", "ui", "finish"}:
        steps.append("reindex")
    if "pause_tasks" in touched:
        steps.append("resume_tasks")
    if "maintenance" in touched:
        steps.append("maintenance_off")
    return steps


class FilterModule:
    """Ansible's entry point for filter plugins."""

    def filters(self) -> dict[str, Any]:
        return {
            "dspace_upgrade_decision": upgrade_decision,
            "dspace_host_instance": host_instance,
            "dspace_lost_since": lost_since,
            "dspace_upgrade_undo": upgrade_undo,
        }
