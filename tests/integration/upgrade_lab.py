"""What the upgrade lab tests share: the upgrade records on a host, the controller killed
in a phase (test_upgrade_failures.py), and fleets for the rollout tests (docs/operations.md,
"Fleet rollouts"): test_upgrade.py (in CI: its converged host becomes the canary of four) and
test_upgrade_fleet_matrix.py (the issue's six-host scenario, behind ./scripts/test --all).

A layout names the fleet's hosts by role, in inventory order, with their instances:
{"canary": ["repo"], "failing": ["repo"], ...}. One host (the template, the first) is
converged; the others are its clones (clones.py), which `up` repairs (names, certificates,
the handle server's address) and `verify` proves.

A host made to fail its migration gets HAND_MADE_INDEX: its database already has the index
that 9.3's migration V7.6_2026.03.25__entity_types_caching creates without IF NOT EXISTS (a
DBA applied the fix by hand: DSpace/DSpace@dspace-9.3:dspace-api/src/main/resources/org/
dspace/storage/rdbms/sqlmigration/postgres/V7.6_2026.03.25__entity_types_caching.sql), so
PostgreSQL refuses the CREATE INDEX there. The rollout's bundles are resolved once on the
controller, so a failure on one host has to come from that host (a failing bundle, as in
test_upgrade_failures.py, would fail every host of a rollout).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.integration.clones import clone_template
from tests.integration.helpers import EXE, cli

RECORDS = "/var/lib/dspace-deploy/upgrade"  # the hosts' upgrade records
HAND_MADE_INDEX = "CREATE INDEX entity_type_label_upper_idx ON entity_type (UPPER(label))"


def hosts(lab: Any, layout: dict[str, list[str]]) -> dict[str, Any]:
    """role -> lab host, in inventory order."""
    return dict(zip(layout, lab.hosts, strict=True))


def set_versions(lab: Any, layout: dict[str, list[str]], versions: dict[str, str]) -> None:
    """Every host's instances (its layout's) in the inventory, at versions[instance]."""
    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    entries = data["all"]["children"]["dspace"]["hosts"]
    for role, host in hosts(lab, layout).items():
        entries[host.name]["dspace_instances"] = [
            {"name": name, "hostname": f"{name}.{host.name}.lab.test", "line": "9",
             "version": versions[name], "admin_email": f"admin@{name}.lab.test"}
            for name in layout[role]]
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))


def up(lab: Any, artifacts: Path, limit: str) -> None:
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--limit", limit,
                                 "--artifacts", str(artifacts))
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]


def clone_and_repair(lab: Any, artifacts: Path, layout: dict[str, list[str]], make: Any,
                     name: str) -> None:
    """Every host but the first (converged, running) becomes its clone; the host of role
    `down` is stopped (unreachable); `up` repairs the others and the template (stopped for
    the commit, started again on its fixed address), and `verify` proves them. The layout's
    instances beyond the template's are converged by that `up` too."""
    shared = layout[next(iter(layout))][0]  # the template's first instance: every clone has it
    assert all(shared in names for names in layout.values()), layout
    clone_template(make, lab, name, lab.hosts[0], hosts=len(layout), oses=("debian13",),
                   connection="ssh", preload=True)
    roles = hosts(lab, layout)
    subprocess.run(["podman", "stop", "-t", "5", roles["down"].container], check=True,
                   capture_output=True)
    running = ",".join(h.name for role, h in roles.items() if role != "down")
    started = time.monotonic()
    up(lab, artifacts, running)
    code, document, stderr = cli("verify", "-i", str(lab.inventory), "--limit", running)
    assert code == 0, json.dumps(document, indent=1) + stderr[-3000:]
    note(f"clones repaired and verified in {time.monotonic() - started:.0f} s")


def note(text: str) -> None:
    sys.stderr.write(f"[fleet] {text}\n")


def journal(state_home: Path) -> dict[str, Any]:
    """The site's one rollout journal."""
    (path,) = (state_home / "dspace-deploy").glob("*/rollouts/*.json")
    return dict(json.loads(path.read_text()))


def rollout(lab: Any, *args: str) -> tuple[int, dict[str, Any], str]:
    started = time.monotonic()
    result = cli("upgrade", "-i", str(lab.inventory), "--yes", *args)
    note(f"upgrade {' '.join(args)}: {time.monotonic() - started:.0f} s")
    return result


def kill_when_record_shows(command: list[str], container: str, phase: str) -> None:
    """Run `command` (a dspace-deploy upgrade) and SIGKILL its whole process group as soon as
    the record of instance repo in `container` shows `phase` running; then give what was in
    flight on the host time to end there (the controller died, the host did not)."""
    upgrade = subprocess.Popen(command, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 1800
    seen = ""
    try:
        while time.monotonic() < deadline and upgrade.poll() is None:
            probe = subprocess.run(["podman", "exec", container, "cat",
                                    f"{RECORDS}/repo.json"], capture_output=True, text=True,
                                   check=False).stdout
            record = json.loads(probe) if probe.strip() else {}
            if record.get("status") == "running" and record.get("phase") == phase:
                seen = phase
                break
            time.sleep(0.2)
    finally:
        if upgrade.poll() is None:
            os.killpg(upgrade.pid, signal.SIGKILL)
        upgrade.wait()
    assert seen == phase, f"{container} never showed phase {phase} (exit {upgrade.returncode})"
    time.sleep(5)


def kill_resume_in_phase(lab: Any, host: Any, phase: str) -> None:
    """`upgrade --resume`, SIGKILLed when `host`'s repo record shows `phase`."""
    kill_when_record_shows([EXE, "upgrade", "-i", str(lab.inventory), "--resume", "--yes",
                            "--json"], host.container, phase)
