"""A fleet rollout on lab hosts (docs/upgrade.md, "Fleet rollouts"): `upgrade --canary
--waves --max-fail`, stopped by max-fail, resumed, the controller killed, resumed again.

Four Debian 13 hosts, in inventory order:

  canary   repo 9.2 -> 9.3, the canary (its own wave, first)
  failing  repo 9.2 -> 9.3 with content and a backup; its database already has the index
           that 9.3's migration V7.6_2026.03.25__entity_types_caching creates without
           IF NOT EXISTS (a DBA applied the fix by hand: DSpace/DSpace@dspace-9.3:
           dspace-api/src/main/resources/org/dspace/storage/rdbms/sqlmigration/postgres/
           V7.6_2026.03.25__entity_types_caching.sql), so its migration fails there as
           PostgreSQL refuses the CREATE INDEX
  last     repo 9.2 -> 9.3, left for the resumed rollout
  down     its container stopped before anything: unreachable

The rollout's bundles are resolved once on the controller, so a failure on one host has to
come from that host (the fail_migration bundle of test_upgrade_failures.py would fail every
host of a rollout). `--waves 1 --max-fail 0 --canary canary`: the canary goes first and is
upgraded; `failing` fails its migration and rolls back (nothing lost, byte for byte); max-fail
is exceeded, so `last` is not started; `down` is reported unreachable and blocks nothing.
`--resume` launches `last`, and the controller is SIGKILLed while its instance is in phase
ui (past its health gate); `--resume` again finishes it, never upgrading twice. The journal
counts the release bundles prepared: once each, for the whole rollout.

One instance per host keeps this module small (one converged host cloned into the others,
clones.py). The full scenario of the issue (six hosts, two instances on one, waves 1,2,50%)
is test_upgrade_fleet_matrix.py (marker upgrade_matrix, ./scripts/test --all).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.clones import clone_template
from tests.integration.helpers import EXE, cli
from tests.integration.test_backup import _exec, _psql
from tests.integration.test_upgrade import (
    RECORDS,
    _bundle,
    _diff,
    _record,
    _seed_and_back_up,
    _state,
    _version,
)
from tests.integration.test_upgrade_failures import kill_when_record_shows

# Behind ./scripts/test --all (marker upgrade_matrix) for CI's time, still: CI took 62 of
# its 70 minutes without it, and this module takes ~24 min of a worker (2026-12-05, in a
# whole run of ./scripts/test: four hosts' converge, the clones' repair, three rollouts).
# The fleet's decisions are unit-tested in CI (test_fleet.py). The way into CI: one module
# with test_upgrade.py, whose converged 9.2 host becomes the canary (its patch-upgrade
# checks then run on it), so that CI pays one converge and one upgrade less.
pytestmark = [pytest.mark.lab, pytest.mark.lookalike, pytest.mark.upgrade_matrix]

# role -> its instances, in inventory order
LAYOUT = {"canary": ["repo"], "failing": ["repo"], "last": ["repo"], "down": ["repo"]}
HAND_MADE_INDEX = "CREATE INDEX entity_type_label_upper_idx ON entity_type (UPPER(label))"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    good = tmp_path_factory.mktemp("artifacts")
    _bundle(good, "9", "9.2")
    _bundle(good, "9", "9.3")
    return good


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    return lab_factory("fleet", hosts=4, oses=("debian13",), connection="ssh", preload=True)


def hosts(lab: Any, layout: dict[str, list[str]] = LAYOUT) -> dict[str, Any]:
    return dict(zip(layout, lab.hosts, strict=True))


def _set_versions(lab: Any, version: str, layout: dict[str, list[str]] = LAYOUT) -> None:
    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    entries = data["all"]["children"]["dspace"]["hosts"]
    for role, host in hosts(lab, layout).items():
        entries[host.name]["dspace_instances"] = [
            {"name": name, "hostname": f"{name}.{host.name}.lab.test", "line": "9",
             "version": version, "admin_email": f"admin@{name}.lab.test"}
            for name in layout[role]]
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))


def converge_and_seed(lab: Any, artifacts: Path, layout: dict[str, list[str]], make: Any,
                      name: str) -> dict[tuple[str, str], Any]:
    """9.2 on every host but `down` (stopped), content and a backup on `failing` and the
    index its 9.3 migration trips on; then 9.3 in the inventory. What every host must keep,
    per (role, instance).

    Only the first host (the template, instance `repo`) is converged; the others are its
    clones (clones.py), which `up` then repairs (names, certificates, the handle server's
    address) and completes (a host's further instances, in the six-host layout), and
    `verify` proves. The template, stopped for the commit and started again (with its fixed
    lab address), is in that `up` and `verify` too."""
    started = time.monotonic()
    roles = hosts(lab, layout)
    template = lab.hosts[0]
    assert all("repo" in instances for instances in layout.values())  # what the clones share
    _set_versions(lab, "9.2", layout)
    subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)], check=True,
                   capture_output=True)
    _up(lab, artifacts, template.name)
    sys_note(f"template {template.name} converged in {time.monotonic() - started:.0f} s")
    clone_template(make, lab, name, template, hosts=len(layout), oses=("debian13",),
                   connection="ssh", preload=True)
    roles = hosts(lab, layout)
    subprocess.run(["podman", "stop", "-t", "5", roles["down"].container], check=True,
                   capture_output=True)
    up = ",".join(h.name for role, h in roles.items() if role != "down")
    mark = time.monotonic()
    _up(lab, artifacts, up)
    code, document, stderr = cli("verify", "-i", str(lab.inventory), "--limit", up)
    assert code == 0, json.dumps(document, indent=1) + stderr[-3000:]
    sys_note(f"clones repaired and verified in {time.monotonic() - mark:.0f} s")
    _seed_and_back_up(lab, roles["failing"], limit=up)
    _psql(roles["failing"], "dspace_repo", HAND_MADE_INDEX)
    _set_versions(lab, "9.3", layout)
    states = {(role, name): _state(roles[role], name)
              for role in layout if role != "down" for name in layout[role]}
    sys_note(f"converged and seeded in {time.monotonic() - started:.0f} s")
    return states


def _up(lab: Any, artifacts: Path, limit: str) -> None:
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--limit", limit,
                                 "--artifacts", str(artifacts))
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]


@pytest.fixture(scope="module")
def before(lab_factory: Any, lab: Any, artifacts: Path,
           state_home: Path) -> dict[tuple[str, str], Any]:
    return converge_and_seed(lab, artifacts, LAYOUT, lab_factory, "fleet")


def sys_note(text: str) -> None:
    import sys

    sys.stderr.write(f"[fleet] {text}\n")


def _journal(state_home: Path) -> dict[str, Any]:
    (path,) = (state_home / "dspace-deploy").glob("*/rollouts/*.json")
    return dict(json.loads(path.read_text()))


def _rollout(lab: Any, *args: str) -> tuple[int, dict[str, Any], str]:
    started = time.monotonic()
    result = cli("upgrade", "-i", str(lab.inventory), "--yes", *args)
    sys_note(f"upgrade {' '.join(args)}: {time.monotonic() - started:.0f} s")
    return result


def test_canary_first_then_the_failure_stops_the_rollout(
        lab: Any, artifacts: Path, before: dict[tuple[str, str], Any], state_home: Path) -> None:
    h = hosts(lab)
    code, document, stderr = _rollout(lab, "--artifacts", str(artifacts), "--waves", "1",
                                      "--max-fail", "0", "--canary", h["canary"].name)
    report = json.dumps(document, indent=1) + stderr[-3000:]
    assert code == 1, report
    entries = document["hosts"]
    assert document["waves"] == [[h["canary"].name], [h["failing"].name], [h["last"].name]]
    assert entries[h["canary"].name]["outcome"] == "upgraded", report
    assert entries[h["canary"].name]["finished"] <= entries[h["failing"].name]["started"]
    failed = entries[h["failing"].name]
    assert failed["outcome"] == "rolled_back" and failed["failed_phase"] == "migrate", report
    assert "entity_type_label_upper_idx" in failed["error"], failed["error"]
    assert failed["instances"][0]["snapshot"].get("id"), failed
    assert entries[h["last"].name]["outcome"] == "not_started"
    assert entries[h["down"].name]["outcome"] == "unreachable"
    assert document["totals"]["rolled_back"] == 1
    assert document["stop_reason"] == "max_fail_exceeded"
    assert document["resume_command"].endswith("--resume")
    assert _version(h["canary"], "repo") == "DSpace 9.3"
    assert _version(h["failing"], "repo") == "DSpace 9.2"
    state = _state(h["failing"], "repo")
    expected = before[("failing", "repo")]
    assert state == expected, _diff(h["failing"], "repo", state, expected)  # nothing lost
    assert _version(h["last"], "repo") == "DSpace 9.2"  # not started: untouched
    assert _exec(h["last"], f"test -e {RECORDS}/repo.json", check=False).returncode != 0


def test_resume_after_the_controller_was_killed_finishes_the_rest(
        lab: Any, before: dict[tuple[str, str], Any], state_home: Path) -> None:
    h = hosts(lab)
    died_in = _kill_resume_in_phase(lab, h["last"], "ui")
    journal = _journal(state_home)
    assert journal["hosts"][h["last"].name]["outcome"] == "running", journal
    assert _record(h["last"], "repo")["status"] == "running", died_in
    code, document, stderr = _rollout(lab, "--resume")
    report = json.dumps(document, indent=1) + stderr[-3000:]
    assert code == 1, report  # failing rolled back, down unreachable: not on the target
    outcomes = {name: entry["outcome"] for name, entry in document["hosts"].items()}
    assert outcomes == {h["canary"].name: "upgraded", h["failing"].name: "rolled_back",
                        h["last"].name: "upgraded", h["down"].name: "unreachable"}, report
    assert document["status"] == "finished" and document["resume_command"] is None
    # built or fetched once for the whole rollout, started and resumed twice
    assert document["release"]["prepared"] == {"9-dspace-9.2": 1, "9-dspace-9.3": 1}
    assert document["release"]["checked_on_resume"] == 2 and document["resumed"] == 2
    for name in LAYOUT["last"]:
        assert _version(h["last"], name) == "DSpace 9.3"
        history = [json.loads(line) for line in _exec(
            h["last"], f"cat {RECORDS}/{name}.history.jsonl").stdout.splitlines()]
        assert [r["status"] for r in history] == ["done"], history  # upgraded once
    for role, name in [("canary", "repo")] + [("last", name) for name in LAYOUT["last"]]:
        state = _state(h[role], name)
        for key in ("items", "bitstreams", "handle_keys", "database"):
            assert state[key] == before[(role, name)][key], (role, name, key)
    state = _state(h["failing"], "repo")
    assert state == before[("failing", "repo")]


def _kill_resume_in_phase(lab: Any, host: Any, phase: str) -> str:
    """`upgrade --resume`, SIGKILLed when `host`'s repo record shows `phase`."""
    kill_when_record_shows([EXE, "upgrade", "-i", str(lab.inventory), "--resume", "--yes",
                            "--json"], host.container, phase)
    return str(_record(host, "repo")["phase"])
