"""The issue's fleet scenario on six lab hosts (docs/operations.md, "Fleet rollouts"); marker
`upgrade_matrix` (./scripts/test --all): test_upgrade.py proves the same mechanisms on four
hosts in CI.

In inventory order: canary (repo), plain (repo), failing (repo, with content; its 9.3
migration fails on a hand-made index, upgrade_lab.py), pair (repo, other), late (repo), down
(stopped: unreachable). `--canary canary --waves 1,2,50% --max-fail 0`: the waves are
[canary], [plain], [failing, pair], [late] (50% of the four other hosts is two, the last size
repeating); failing rolls back in wave 3, max-fail is exceeded, late is not started;
`--resume` is killed while late is in phase ui; `--resume` again finishes it.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import EXE
from tests.integration.test_backup import _psql
from tests.integration.test_upgrade import (
    _bundle,
    _diff,
    _seed_and_back_up,
    _state,
    _version,
)
from tests.integration.upgrade_lab import (
    HAND_MADE_INDEX,
    clone_and_repair,
    hosts,
    journal,
    kill_resume_in_phase,
    note,
    rollout,
    set_versions,
    up,
)

pytestmark = [pytest.mark.lab, pytest.mark.lookalike, pytest.mark.upgrade_matrix]

LAYOUT = {"canary": ["repo"], "plain": ["repo"], "failing": ["repo"], "pair": ["repo", "other"],
          "late": ["repo"], "down": ["repo"]}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    good = tmp_path_factory.mktemp("artifacts")
    _bundle(good, "9", "9.2")
    _bundle(good, "9", "9.3")
    return good


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    return lab_factory("fleetx", hosts=6, oses=("debian13",), connection="ssh", preload=True)


@pytest.fixture(scope="module")
def before(lab_factory: Any, lab: Any, artifacts: Path,
           state_home: Path) -> dict[tuple[str, str], Any]:
    """9.2 on every host but `down` (the template converged, the others its clones, `pair`'s
    second instance converged by the repairing `up`); content and a backup on `failing` and
    the index its 9.3 migration trips on; then 9.3 in the inventory. What every host must
    keep, per (role, instance)."""
    started = time.monotonic()
    set_versions(lab, LAYOUT, {"repo": "9.2", "other": "9.2"})
    subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)], check=True,
                   capture_output=True)
    up(lab, artifacts, lab.hosts[0].name)
    note(f"template converged in {time.monotonic() - started:.0f} s")
    clone_and_repair(lab, artifacts, LAYOUT, lab_factory, "fleetx")
    roles = hosts(lab, LAYOUT)
    running = ",".join(h.name for role, h in roles.items() if role != "down")
    _seed_and_back_up(lab, roles["failing"], limit=running)
    _psql(roles["failing"], "dspace_repo", HAND_MADE_INDEX)
    set_versions(lab, LAYOUT, {"repo": "9.3", "other": "9.3"})
    return {(role, name): _state(roles[role], name)
            for role in LAYOUT if role != "down" for name in LAYOUT[role]}


def test_the_fleet_scenario(lab: Any, artifacts: Path, before: dict[tuple[str, str], Any],
                            state_home: Path) -> None:
    h = hosts(lab, LAYOUT)
    name = {role: host.name for role, host in h.items()}
    code, document, stderr = rollout(lab, "--artifacts", str(artifacts), "--canary",
                                     name["canary"], "--waves", "1,2,50%", "--max-fail", "0")
    report = json.dumps(document, indent=1) + stderr[-3000:]
    assert code == 1, report
    assert document["waves"] == [[name["canary"]], [name["plain"]],
                                 [name["failing"], name["pair"]], [name["late"]]]
    outcomes = {host: entry["outcome"] for host, entry in document["hosts"].items()}
    assert outcomes == {name["canary"]: "upgraded", name["plain"]: "upgraded",
                        name["failing"]: "rolled_back", name["pair"]: "upgraded",
                        name["late"]: "not_started", name["down"]: "unreachable"}, report
    assert document["stop_reason"] == "max_fail_exceeded"
    assert document["hosts"][name["failing"]]["failed_phase"] == "migrate"

    kill_resume_in_phase(lab, h["late"], "ui")
    assert journal(state_home)["hosts"][name["late"]]["outcome"] == "running"
    code, document, stderr = rollout(lab, "--resume")
    report = json.dumps(document, indent=1) + stderr[-3000:]
    assert code == 1 and document["status"] == "finished", report
    assert document["hosts"][name["late"]]["outcome"] == "upgraded", report
    assert document["release"]["prepared"] == {"9-dspace-9.2": 1, "9-dspace-9.3": 1}
    for role in ("canary", "plain", "pair", "late"):
        for instance in LAYOUT[role]:
            assert _version(h[role], instance) == "DSpace 9.3", (role, instance)
            state = _state(h[role], instance)
            assert state["database"] == before[(role, instance)]["database"], (role, instance)
    assert _version(h["failing"], "repo") == "DSpace 9.2"
    state = _state(h["failing"], "repo")
    expected = before[("failing", "repo")]
    assert state == expected, _diff(h["failing"], "repo", state, expected)
