"""Upgrades and rollbacks on a lab host (docs/upgrade.md), from look-alike bundles, and a
fleet rollout (docs/operations.md, "Fleet rollouts") whose canary is that host.

Four Debian 13 hosts with two instances each, in inventory order:

  canary   converged on DSpace 9.2 alone at first; on it, the single-host upgrades:
           repo   the instance upgraded: content goes in (items, bitstreams, statistics,
                  authority, Solr-only documents, handles; the seed of test_backup.py) and
                  one backup runs
           other  a second instance, which nothing here may touch (9.2 throughout)
  failing  a clone of the canary (below); its 9.3 migration fails on a hand-made index
  last     a clone, left for the resumed rollout
  down     a clone, stopped: unreachable

In order (CI): the inventory names 9.3 for repo and `up` leaves repo alone, reports it and
converges the rest. Then the canary, with its content and its backup, is cloned into the three
other hosts (upgrade_lab.py, clones.py: one converge for four hosts), which `up` repairs and
`verify` proves. The fleet rollout, `--waves 1 --max-fail 0 --canary canary`: the canary's
repo goes first and is the patch upgrade 9.2 -> 9.3 (REST root reports 9.3, every bitstream
checksum and Solr count unchanged, search and OAI rebuilt); `failing` fails its migration
and rolls back (byte for byte); max-fail is exceeded, so `last` is not started; `down` is
reported unreachable and blocks nothing. `--resume` launches `last` and the controller is
SIGKILLed while its repo is in phase ui (past its health gate); `--resume` again finishes
it, never upgrading twice; the journal counts the bundles prepared: once each for the whole
rollout. On the canary then: verify passes, a second upgrade changes nothing, `rollback` by
hand first says what it loses; and `other` untouched through all of it.

The jump matrix (test_upgrade_matrix.py: 8.3->8.4, 8->9, 9->10, DSpace-CRIS), the failure
matrix (test_upgrade_failures.py: the controller killed in every phase, a migration that
fails, a backend that never passes its health gate) and the six-host fleet
(test_upgrade_fleet_matrix.py: waves 1,2,50%, two instances upgraded on one host) carry
the marker `upgrade_matrix`, which only `./scripts/test --all` runs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import EXE, cli
from tests.integration.test_backup import (
    AUTHORITY_DOCS,
    FILE_SIZES,
    HANDLED_ITEMS,
    SEED,
    SOLR_ONLY_DOCS,
    STATISTICS_DOCS,
    _content_state,
    _exec,
    _psql,
)
from tests.integration.upgrade_lab import (
    HAND_MADE_INDEX,
    RECORDS,
    clone_and_repair,
    hosts,
    journal,
    kill_resume_in_phase,
    rollout,
    set_versions,
)

pytestmark = [pytest.mark.lab, pytest.mark.lookalike]

DUMPS = "/root/state-dumps"  # data dumps of _state, on the lab host


# --- bundles ---------------------------------------------------------------------------------

def _bundle(root: Path, line: str, version: str) -> Path:
    from tests.lookalike import build_release

    out = root / f"{line}-dspace-{version}"
    build_release(line, out, version=version, ui_version=version)
    return out


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    good = tmp_path_factory.mktemp("artifacts")
    _bundle(good, "9", "9.2")
    _bundle(good, "9", "9.3")
    return {"good": good}


# --- the lab ----------------------------------------------------------------------------------

# role -> its instances, in inventory order (upgrade_lab.py)
FLEET = {"canary": ["repo", "other"], "failing": ["repo", "other"], "last": ["repo", "other"],
         "down": ["repo", "other"]}


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    return lab_factory("upg", hosts=len(FLEET), oses=("debian13",), connection="ssh",
                       preload=True)


def _set_versions(lab: Any, versions: dict[str, str]) -> None:
    """The instances of a one-host lab (test_upgrade_failures.py, test_upgrade_matrix.py)."""
    set_versions(lab, {"host": list(versions)}, versions)


def _canary(lab: Any) -> str:
    """--limit for the single-host steps."""
    return str(lab.hosts[0].name)


@pytest.fixture(scope="module")
def site(lab: Any) -> Path:
    set_versions(lab, FLEET, {"repo": "9.2", "other": "9.2"})
    # A gate that is not met fails within 90 s (the default is 300).
    (lab.inventory / "group_vars/all/upgrade_test.yml").write_text(
        yaml.safe_dump({"dspace_backend_start_timeout": 90}))
    done = subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return lab.inventory


@pytest.fixture(scope="module")
def converged(lab: Any, site: Path, artifacts: dict[str, Path]) -> dict[str, Any]:
    """The canary alone: the other hosts become its clones later (fleet)."""
    code, document, stderr = cli("up", "-i", str(site), "--limit", _canary(lab),
                                 "--artifacts", str(artifacts["good"]))
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
    return document


def _seed_and_back_up(lab: Any, host: Any = None, limit: str | None = None) -> None:
    """Content in repo (test_backup.py's seed) of `host` (the lab's first), indexed, and one
    backup of the site (of the hosts of `limit`)."""
    host = host or lab.hosts[0]
    done = subprocess.run(
        ["podman", "exec", "-i", "-e", f"SIZES={json.dumps(FILE_SIZES)}",
         "-e", f"STATS={STATISTICS_DOCS}", "-e", f"AUTH={AUTHORITY_DOCS}",
         "-e", f"SOLR_ONLY={json.dumps(SOLR_ONLY_DOCS)}", "-e", f"HANDLED={HANDLED_ITEMS}",
         host.container, "python3", "-"], input=SEED, capture_output=True, text=True,
        check=False)
    assert done.returncode == 0, done.stderr
    # The seed wrote rows behind DSpace's back: index them as DSpace would, so that the
    # search and OAI counts are those of a live repository.
    _exec(host, "/usr/local/sbin/dspace-backup reindex repo --json >/dev/null")
    code, document, stderr = cli("backup", "-i", str(lab.inventory),
                                 *(["--limit", limit] if limit else []))
    assert code == 0, json.dumps(document, indent=1) + stderr[-2000:]


@pytest.fixture(scope="module")
def seeded(lab: Any, site: Path, converged: dict[str, Any]) -> dict[str, Any]:
    """Content in repo, one backup of each instance; what the comparisons need."""
    host = lab.hosts[0]
    _seed_and_back_up(lab, limit=_canary(lab))
    return {"repo": _state(host, "repo"), "other": _state(host, "other")}


def _state(host: Any, instance: str) -> dict[str, Any]:
    """What must come back byte for byte: the backup test's content state, the whole
    database's data, every core's count."""
    state = _content_state(host, instance)
    # pg_dump since PostgreSQL 17.6 (CVE-2025-8714) wraps its output in \restrict KEY /
    # \unrestrict KEY lines, KEY random per dump: they are not data, and are left out.
    # The dump stays on the host under its hash, so that a difference can be shown (_diff).
    state["database"] = _exec(
        host, f"set -o pipefail; mkdir -p {DUMPS} && runuser -u postgres -- pg_dump --data-only "
        f"--exclude-table=schema_version dspace_{instance} "
        f"| grep -Ev '^\\\\(un)?restrict ' >{DUMPS}/new.sql && "
        f"sum=$(sha256sum <{DUMPS}/new.sql | cut -d' ' -f1) && "
        f"mv {DUMPS}/new.sql {DUMPS}/{instance}-$sum.sql && echo $sum").stdout.strip()
    state["schema"] = _psql(host, f"dspace_{instance}", "SELECT version, checksum, success "
                            "FROM schema_version ORDER BY installed_rank")
    state["counts"] = {core: _count(host, f"{instance}-{core}")
                       for core in ("search", "oai", "statistics", "authority", "qaevent",
                                    "suggestion")}
    return state


def _diff(host: Any, instance: str, state: dict[str, Any], expected: dict[str, Any]) -> str:
    """What differs between two states, with the data dumps' diff: an assertion message."""
    keys = sorted(k for k in expected if state.get(k) != expected[k])
    text = f"{instance}: differs in {keys}"
    if "database" in keys:
        text += "\n" + _exec(host, f"diff {DUMPS}/{instance}-{expected['database']}.sql "
                             f"{DUMPS}/{instance}-{state['database']}.sql | head -c 20000",
                             check=False).stdout
    return text


def _count(host: Any, core: str) -> int:
    body = _exec(host, f"curl -sf 'http://127.0.0.1:8983/solr/{core}/select?q=*:*&rows=0"
                 "&wt=json'").stdout
    return int(json.loads(body)["response"]["numFound"])


def _pids(host: Any, instance: str) -> dict[str, str]:
    units = [f"dspace-{instance}-{u}.service" for u in ("backend", "ui", "handle")]
    return {u: _exec(host, f"systemctl show -p MainPID --value {u}").stdout.strip()
            for u in units}


def _version(host: Any, instance: str) -> str:
    port = {"repo": 8080, "other": 8090}[instance]
    body = _exec(host, f"curl -sf http://127.0.0.1:{port}/server/api").stdout
    return str(json.loads(body)["dspaceVersion"])


def _record(host: Any, instance: str) -> dict[str, Any]:
    return dict(json.loads(_exec(host, f"cat {RECORDS}/{instance}.json").stdout))


def _history(host: Any, instance: str) -> list[dict[str, Any]]:
    text = _exec(host, f"cat {RECORDS}/{instance}.history.jsonl 2>/dev/null || true").stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _upgrade(site: Path, artifacts: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    return cli("upgrade", "-i", str(site), "--artifacts", str(artifacts), "--yes", *args)


def _only(document: dict[str, Any], instance: str = "repo") -> dict[str, Any]:
    (item,) = [i for i in document["instances"] if i["instance"] == instance]
    return dict(item)


def _changed(artifact_dir: str) -> dict[str, int]:
    """Changed tasks per host, from the run's final stats event (ansible-runner artifacts)."""
    for path in sorted(Path(artifact_dir).glob("job_events/*.json"), reverse=True):
        event = json.loads(path.read_text())
        if event.get("event") == "playbook_on_stats":
            return dict(event["event_data"].get("changed") or {})
    pytest.fail(f"no stats event in {artifact_dir}")


@pytest.fixture(scope="module")
def fleet(lab_factory: Any, lab: Any, site: Path, artifacts: dict[str, Path],
          seeded: dict[str, Any]) -> dict[str, Any]:
    """The canary, as the single-host steps left it (9.2, content, a backup, a rolled-back
    upgrade), cloned into the other hosts and repaired; `failing` given the index its
    migration trips on; then repo 9.3 in the inventory for every host. What the hosts must
    keep, and the pids of the canary's `other` from then on (the canary was stopped for the
    commit)."""
    set_versions(lab, FLEET, {"repo": "9.2", "other": "9.2"})
    clone_and_repair(lab, artifacts["good"], FLEET, lab_factory, "upg")
    h = hosts(lab, FLEET)
    _psql(h["failing"], "dspace_repo", HAND_MADE_INDEX)
    set_versions(lab, FLEET, {"repo": "9.3", "other": "9.2"})
    return {"repo": {role: _state(h[role], "repo") for role in ("failing", "last")},
            "other_pids": _pids(h["canary"], "other")}


@pytest.fixture(scope="module")
def rollouts() -> dict[str, Any]:
    """The fleet rollout's report, for the checks on its canary."""
    return {}


# --- the tests, in order -----------------------------------------------------------------------

def test_up_leaves_an_instance_whose_version_changed_alone(
        lab: Any, site: Path, artifacts: dict[str, Path], seeded: dict[str, Any]) -> None:
    host = lab.hosts[0]
    set_versions(lab, FLEET, {"repo": "9.3", "other": "9.2"})
    code, document, stderr = cli("up", "-i", str(site), "--limit", _canary(lab),
                                 "--artifacts", str(artifacts["good"]))
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
    assert document["upgrade_pending"] == [
        {"host": host.name, "instance": "repo", "running": "9.2", "inventory": "9.3",
         "holds_solr": False}]
    assert _version(host, "repo") == "DSpace 9.2"
    state = _state(host, "repo")
    assert state == seeded["repo"], _diff(host, "repo", state, seeded["repo"])
    assert document["hosts"][host.name]["changed"] == 0, "up changed the host"


def test_a_fleet_rollout_goes_canary_first_and_stops_at_max_fail(
        lab: Any, artifacts: dict[str, Path], fleet: dict[str, Any],
        rollouts: dict[str, Any]) -> None:
    h = hosts(lab, FLEET)
    code, document, stderr = rollout(lab, "--artifacts", str(artifacts["good"]), "--waves", "1",
                                     "--max-fail", "0", "--canary", h["canary"].name)
    rollouts["first"] = document
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
    assert _version(h["failing"], "repo") == "DSpace 9.2"
    state = _state(h["failing"], "repo")
    expected = fleet["repo"]["failing"]
    assert state == expected, _diff(h["failing"], "repo", state, expected)  # nothing lost
    assert _version(h["last"], "repo") == "DSpace 9.2"  # not started: untouched
    assert _history(h["last"], "repo") == []  # not started


def test_the_canary_had_the_patch_upgrade(lab: Any, seeded: dict[str, Any],
                                          rollouts: dict[str, Any]) -> None:
    host = lab.hosts[0]
    (item,) = [i for i in rollouts["first"]["hosts"][host.name]["instances"]
               if i["instance"] == "repo"]
    assert item["outcome"] == "done" and (item["from"], item["to"]) == ("9.2", "9.3"), item
    assert _version(host, "repo") == "DSpace 9.3"
    state = _state(host, "repo")
    for key in ("assetstore", "handle_keys", "items", "bitstreams", "statistics", "authority",
                "qaevent", "suggestion", "counts", "database"):
        assert state[key] == seeded["repo"][key], key
    record = _record(host, "repo")
    assert record["status"] == "done" and record["phases_done"] == [
        "precheck", "pause_tasks", "snapshot", "maintenance", "stop", "install", "migrate",
        "solr", "start", "reindex", "ui", "finish"]
    assert record["downtime"]["start"] and record["downtime"]["end"]
    assert _exec(host, f"stat -c %a {RECORDS}/repo.json").stdout.strip() == "600"
    assert [h["status"] for h in _history(host, "repo")] == ["done"]
    assert _exec(host, "grep -c '^discovery.autoReindex = false$' "
                 "/srv/dspace/repo/config/local.cfg").stdout.strip() == "1"
    assert _exec(host, "test -f /srv/dspace/repo/releases/9.2/code/webapps/server-boot.jar",
                 check=False).returncode == 0  # the old release kept beside


def test_resume_after_the_controller_was_killed_finishes_the_rest(
        lab: Any, seeded: dict[str, Any], fleet: dict[str, Any], state_home: Path) -> None:
    h = hosts(lab, FLEET)
    kill_resume_in_phase(lab, h["last"], "ui")
    assert journal(state_home)["hosts"][h["last"].name]["outcome"] == "running"
    assert _record(h["last"], "repo")["status"] == "running"
    code, document, stderr = rollout(lab, "--resume")
    report = json.dumps(document, indent=1) + stderr[-3000:]
    assert code == 1, report  # failing rolled back, down unreachable: not on the target
    outcomes = {name: entry["outcome"] for name, entry in document["hosts"].items()}
    assert outcomes == {h["canary"].name: "upgraded", h["failing"].name: "rolled_back",
                        h["last"].name: "upgraded", h["down"].name: "unreachable"}, report
    assert document["status"] == "finished" and document["resume_command"] is None
    # built or fetched once for the whole rollout, started and resumed twice
    assert document["release"]["prepared"] == {"9-dspace-9.2": 1, "9-dspace-9.3": 1}
    assert document["release"]["checked_on_resume"] == 2 and document["resumed"] == 2
    assert _version(h["last"], "repo") == "DSpace 9.3"
    assert [r["status"] for r in _history(h["last"], "repo")] == ["done"]
    state = _state(h["last"], "repo")
    for key in ("items", "bitstreams", "handle_keys", "database"):
        assert state[key] == fleet["repo"]["last"][key], key
    assert _state(h["failing"], "repo") == fleet["repo"]["failing"]
    for host in (h["failing"], h["last"]):
        assert _version(host, "other") == "DSpace 9.2"


def test_verify_passes_after_the_upgrade(lab: Any, site: Path) -> None:
    code, document, stderr = cli("verify", "-i", str(site), "--limit", _canary(lab))
    checks = document["hosts"][lab.hosts[0].name]["checks"]
    assert code == 0, json.dumps([c for c in checks if c["outcome"] != "passed"],
                                 indent=1) + stderr[-2000:]


def test_a_second_upgrade_changes_nothing(lab: Any, site: Path,
                                          artifacts: dict[str, Path]) -> None:
    code, document, stderr = _upgrade(site, artifacts["good"], "--instance", "repo",
                                      "--limit", _canary(lab))
    assert code == 0, json.dumps(document, indent=1) + stderr[-2000:]
    assert _only(document)["outcome"] == "none"
    for run in document["artifacts"]:
        assert not any(_changed(run).values()), run
    code, document, stderr = cli("up", "-i", str(site), "--limit", _canary(lab),
                                 "--artifacts", str(artifacts["good"]))
    assert code == 0, stderr[-2000:]
    assert document["upgrade_pending"] == []


def test_rollback_by_hand_says_what_it_loses(lab: Any, site: Path, artifacts: dict[str, Path],
                                             seeded: dict[str, Any]) -> None:
    host = lab.hosts[0]
    # One item written after the upgrade: the rollback loses it, and says so first.
    _psql(host, "dspace_repo", "INSERT INTO dspaceobject VALUES "
          "('00000000-0000-4000-8000-00000000feed'); INSERT INTO item (uuid, item_id) "
          "VALUES ('00000000-0000-4000-8000-00000000feed', 9999)")
    code, document, stderr = cli("rollback", "-i", str(site), "--instance", "repo",
                                 "--limit", _canary(lab), "--artifacts",
                                 str(artifacts["good"]), "--yes")
    assert code == 0, json.dumps(document, indent=1) + stderr[-3000:]
    planned = _only(document["plan"])
    assert planned["lost_since"]["items"] == 1, planned
    item = _only(document)
    assert item["status"] == "rolled_back", item
    assert _version(host, "repo") == "DSpace 9.2"
    state = _state(host, "repo")
    assert state == seeded["repo"], _diff(host, "repo", state, seeded["repo"])
    assert [h["status"] for h in _history(host, "repo")] == ["done", "rolled_back"]


def test_the_other_instance_was_never_touched(lab: Any, seeded: dict[str, Any],
                                              fleet: dict[str, Any]) -> None:
    host = lab.hosts[0]
    assert _version(host, "other") == "DSpace 9.2"
    state = _state(host, "other")
    assert state == seeded["other"], _diff(host, "other", state, seeded["other"])
    assert _pids(host, "other") == fleet["other_pids"]  # never restarted since the clone
    assert _exec(host, f"test -e {RECORDS}/other.json", check=False).returncode != 0
