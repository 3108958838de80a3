"""The solr role's `upgrade` and `rollback` actions on a lab host with the look-alike Solr 9.

Two instances share the host's Solr, `a` and `b` (cores `a-*`, `b-*`), both installed from
the 9.2 configsets with documents in every core. Instance `a` is upgraded to 9.3 (each
configset changed), rolled back, upgraded to 10.0 (the `audit` core, a changed search
schema) and rolled back again; `b` must stay exactly as it was throughout. Each step runs
twice: the second run changes nothing. Runs go through the project's runner core.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.runner import Job, RunResult, run
from tests.integration.helpers import without_instances

# CI proves the Solr phase of an upgrade and of a rollback end to end in test_upgrade.py (the
# canary's cores upgraded 9.2 -> 9.3 with every count kept, then rolled back by hand to the
# seeded state, the other instance untouched); this module's role-level detail (the kept copy
# byte for byte, the 10.0 jump's audit core) runs in ./scripts/test --all.
pytestmark = [pytest.mark.lab, pytest.mark.extended]

PLAYBOOK = Path(__file__).parent / "playbooks" / "solr_upgrade.yml"
CORES_9 = ["authority", "oai", "qaevent", "search", "statistics", "suggestion"]
CORES_10 = ["audit", *CORES_9]
# Documents per core: what the upgrade must carry (search and oai are rebuilt by DSpace).
SEED = {"statistics": 7, "authority": 3, "qaevent": 2, "suggestion": 2, "search": 4, "oai": 2}


@dataclass
class Outcome:
    result: RunResult
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tests.lookalike import build_release

    return {version: build_release(line, tmp_path_factory.mktemp(f"release{version}"),
                                   version=version)
            for line, version in (("9", "9.2"), ("9", "9.3"), ("10", "10.0"))}


def _configsets(release: Any, tag: str, root: Path, change_search_schema: bool) -> Path:
    """solr-<tag>/<core>/conf of a release's installer, each conf marked with its release
    (so every core's configuration differs from the other release's)."""
    installer = release.unpack_installer(root / "installer")
    top = root / f"solr-{tag}"
    shutil.copytree(installer / "solr", top)
    for core in top.iterdir():
        (core / "conf" / "dspace-release.txt").write_text(f"{tag}\n")
    if change_search_schema:
        # As 10.0's search schema does (facts 1.5: `*_s` becomes multiValued).
        schema = top / "search" / "conf" / "schema.xml"
        schema.write_text(schema.read_text() + "<!-- 10.0: *_s multiValued -->\n")
    archive = root / f"solr-{tag}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(top, arcname=f"solr-{tag}")
    return archive


@pytest.fixture(scope="module")
def archives(releases: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [_configsets(releases[v], v.replace(".", ""), tmp_path_factory.mktemp(v), v == "10.0")
            for v in releases]


@pytest.fixture(scope="module")
def lab(lab_factory: Any) -> Any:
    return without_instances(lab_factory("solrup", hosts=1, oses=("debian13",),
                                         connection="ssh"))


@pytest.fixture(scope="module")
def site(lab: Any) -> Any:
    from dspace_deploy.inventory.validate import load_site

    return load_site(lab.inventory, lab.vault_password_file)


def _run(site: Any, releases: dict[str, Any], archives: list[Path], **extravars: Any) -> Outcome:
    facts: dict[str, Any] = {}
    changed: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        data = event.get("event_data") or {}
        res = data.get("res") or {}
        if event.get("event") == "runner_on_ok":
            facts.update(res.get("ansible_facts") or {})
            if res.get("changed"):
                changed.append(str(data.get("task", "")))

    job = Job(verb="solr-upgrade-test", playbook=str(PLAYBOOK), site=site, extravars={
        "solr_archive": str(releases["9.3"].solr),
        "solr_test_archives": [str(a) for a in archives],
        **extravars,
    })
    started = time.monotonic()
    result = run(job, observe)
    return Outcome(result, time.monotonic() - started, facts, changed)


def _plan(name: str, cores: list[str]) -> dict[str, Any]:
    return {"name": name, "solr": {"prefix": f"{name}-"}, "cores": cores,
            "dspace_dir": f"/srv/dspace/{name}"}


def _upgrade(site: Any, releases: dict[str, Any], archives: list[Path], entry: str,
             to: str, cores_to: list[str]) -> Outcome:
    outcome = _run(site, releases, archives, solr_test_entry_point=entry, solr_upgrade={
        "plan": _plan("a", cores_to), "from_version": "9.2", "to_version": to,
        "from_line": "9", "to_line": to.split(".")[0], "cores_from": CORES_9,
        "cores_to": cores_to, "configsets_dir": f"/srv/solr-{to.replace('.', '')}"})
    print(f"solr {entry} to {to}: {outcome.seconds:.1f} s, "
          f"{outcome.result.summary.changed} changed")
    return outcome


def _sh(lab: Any, script: str) -> str:
    import subprocess

    done = subprocess.run(["podman", "exec", lab.hosts[0].container, "sh", "-c", script],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _status(lab: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_sh(
        lab, "curl -sS 'http://127.0.0.1:8983/solr/admin/cores?action=STATUS&wt=json'"))
    return data


def _counts(lab: Any, prefix: str, cores: list[str]) -> dict[str, int | None]:
    status = _status(lab)["status"]
    return {c: (status[f"{prefix}{c}"]["index"]["numDocs"] if status.get(f"{prefix}{c}")
                else None) for c in cores}


def _tree_digest(lab: Any, path: str) -> str:
    """Names and contents of every file under path (core.properties, conf/, data/)."""
    listing = _sh(lab, f"cd {path} && find . -type f ! -path './data/tlog/*' | sort "
                       "| xargs sha256sum")
    return hashlib.sha256(listing.encode()).hexdigest()


def _seed(lab: Any, prefix: str) -> None:
    docs = {
        "statistics": [{"time": f"2025-0{i % 9 + 1}-01T00:00:00Z", "type": 2, "id": f"s{i}"}
                       for i in range(SEED["statistics"])],
        "authority": [{"id": f"auth{i}", "field": "dc_contributor_author",
                       "last_modified_date": "2025-01-01T00:00:00Z",
                       "creation_date": "2025-01-01T00:00:00Z"} for i in range(SEED["authority"])],
        "qaevent": [{"event_id": f"ev{i}", "topic": "ENRICH/MORE/PID"}
                    for i in range(SEED["qaevent"])],
        "suggestion": [{"suggestion_fullid": f"sug{i}", "source": "openaire"}
                       for i in range(SEED["suggestion"])],
        "search": [{"search.uniqueid": f"2-{i}", "search.resourceid": str(i),
                    "search.resourcetype": "Item"} for i in range(SEED["search"])],
        "oai": [{"item.handle": f"123456789/{i}", "item.id": str(i)} for i in range(SEED["oai"])],
    }
    for core, batch in docs.items():
        body = json.dumps(batch).replace("'", "'\\''")
        _sh(lab, f"curl -sSf -H 'Content-Type: application/json' --data-binary '{body}' "
                 f"'http://127.0.0.1:8983/solr/{prefix}{core}/update?commit=true' >/dev/null")


@pytest.fixture(scope="module")
def installed(site: Any, lab: Any, releases: dict[str, Any],
              archives: list[Path]) -> Iterator[dict[str, str]]:
    """Both instances on their 9.2 cores, seeded; the digests of b's core directories."""
    cores = [{"name": f"{i}-{c}", "conf_source": f"/srv/solr-92/{c}"}
             for i in ("a", "b") for c in CORES_9]
    outcome = _run(site, releases, archives, solr_cores=cores)
    assert outcome.result.summary.ok, json.dumps(outcome.result.summary.as_dict(), indent=1)
    print(f"solr converge: {outcome.seconds:.1f} s")
    _seed(lab, "a-")
    _seed(lab, "b-")
    assert _counts(lab, "a-", CORES_9) == SEED
    yield {c: _tree_digest(lab, f"/var/solr/data/b-{c}") for c in CORES_9}


def _assert_b_untouched(lab: Any, digests: dict[str, str]) -> None:
    assert _counts(lab, "b-", CORES_9) == SEED
    assert {c: _tree_digest(lab, f"/var/solr/data/b-{c}") for c in CORES_9} == digests
    assert not any(n.startswith("b-") for n in _status(lab).get("initFailures") or {})


def test_patch_upgrade_keeps_counts_and_loads_every_core(
    installed: dict[str, str], site: Any, lab: Any, releases: dict[str, Any],
    archives: list[Path],
) -> None:
    before = {c: _tree_digest(lab, f"/var/solr/data/a-{c}") for c in CORES_9}
    first = _upgrade(site, releases, archives, "upgrade", "9.3", CORES_9)
    assert first.result.summary.ok, json.dumps(first.result.summary.as_dict(), indent=1)
    result = first.facts["solr_upgrade_result"]
    assert result["counts_before"] == SEED and result["counts_after"] == SEED
    assert result["carried"] == CORES_9 and result["emptied"] == [] and result["created"] == []
    assert not _status(lab).get("initFailures")
    assert _counts(lab, "a-", CORES_9) == SEED
    for core in CORES_9:
        marker = _sh(lab, f"cat /var/solr/data/a-{core}/conf/dspace-release.txt")
        assert marker == "93\n"
        assert _sh(lab, f"cat /var/solr/data/a-{core}/core.properties") == f"name=a-{core}\n"
        # the kept copy is the core as it was, byte for byte
        assert _tree_digest(lab, f"/var/solr/upgrade/instances/a/cores/{core}") == before[core]
    _assert_b_untouched(lab, installed)
    second = _upgrade(site, releases, archives, "upgrade", "9.3", CORES_9)
    assert second.result.summary.ok and second.result.summary.changed == 0, second.changed
    # `up` afterwards finds the upgraded cores as it would have made them itself
    cores = [{"name": f"a-{c}", "conf_source": f"/srv/solr-93/{c}"} for c in CORES_9] + \
        [{"name": f"b-{c}", "conf_source": f"/srv/solr-92/{c}"} for c in CORES_9]
    converge = _run(site, releases, archives, solr_cores=cores, dspace_converge_full=True)
    assert converge.result.summary.ok and converge.result.summary.changed == 0, converge.changed


def test_rollback_restores_conf_and_counts(
    installed: dict[str, str], site: Any, lab: Any, releases: dict[str, Any],
    archives: list[Path],
) -> None:
    kept = {c: _tree_digest(lab, f"/var/solr/upgrade/instances/a/cores/{c}") for c in CORES_9}
    first = _upgrade(site, releases, archives, "rollback", "9.3", CORES_9)
    assert first.result.summary.ok, json.dumps(first.result.summary.as_dict(), indent=1)
    result = first.facts["solr_rollback_result"]
    assert result["counts_kept"] == SEED and result["counts_after"] == SEED
    assert not _status(lab).get("initFailures")
    for core in CORES_9:
        # the core directory is the kept one again (core.properties, conf, data)
        assert _tree_digest(lab, f"/var/solr/data/a-{core}") == kept[core]
    _assert_b_untouched(lab, installed)
    second = _upgrade(site, releases, archives, "rollback", "9.3", CORES_9)
    assert second.result.summary.ok and second.result.summary.changed == 0, second.changed


def test_jump_to_10_creates_audit_and_rolls_back(
    installed: dict[str, str], site: Any, lab: Any, releases: dict[str, Any],
    archives: list[Path],
) -> None:
    first = _upgrade(site, releases, archives, "upgrade", "10.0", CORES_10)
    assert first.result.summary.ok, json.dumps(first.result.summary.as_dict(), indent=1)
    result = first.facts["solr_upgrade_result"]
    assert result["created"] == ["audit"] and result["emptied"] == ["search"]
    after = _counts(lab, "a-", CORES_10)
    assert after == {**SEED, "audit": 0, "search": 0}
    assert not _status(lab).get("initFailures")
    _assert_b_untouched(lab, installed)
    second = _upgrade(site, releases, archives, "upgrade", "10.0", CORES_10)
    assert second.result.summary.ok and second.result.summary.changed == 0, second.changed
    back = _upgrade(site, releases, archives, "rollback", "10.0", CORES_10)
    assert back.result.summary.ok, json.dumps(back.result.summary.as_dict(), indent=1)
    assert back.facts["solr_rollback_result"]["removed"] == ["audit"]
    assert "a-audit" not in _status(lab)["status"]
    assert _counts(lab, "a-", CORES_9) == SEED
    _assert_b_untouched(lab, installed)


def test_keep_by_unload_and_copy_against_solrs_replication_backup(
    installed: dict[str, str], lab: Any,
) -> None:
    """The figures behind the choice of the keep (README, "Upgrade and rollback"): the
    upgrade's unload-and-copy of all six cores, against Solr's replication backup of each
    core (index only, in the background, polled as dspace-backup polls it)."""
    state = json.loads(_sh(lab, "cat /var/solr/upgrade/instances/a/state.json"))
    script = r"""
set -e
start=$(date +%s%N)
for core in authority oai qaevent search statistics suggestion; do
  url=http://127.0.0.1:8983/solr/a-$core/replication
  curl -sSf "$url?command=backup&name=timing&wt=json" >/dev/null
  until curl -sSf "$url?command=details&wt=json" | grep -Eq '"snapshotName": ?"timing"'; do
    sleep 0.1; done
  curl -sSf "$url?command=deletebackup&name=timing&wt=json" >/dev/null || true
done
echo $(( $(date +%s%N) - start ))
"""
    replication = int(_sh(lab, script).strip()) / 1e9
    print(f"keep of 6 cores: unload + copy {state['keep_seconds']:.3f} s, "
          f"replication backup {replication:.3f} s")
    assert state["keep_seconds"] >= 0 and replication > 0
