"""The Solr 8 -> 9 server jump of the solr role's `upgrade` action, and its rollback, on a
lab host with the look-alike Solr 8.11 and 9.8 releases (slow: the `--all` matrix).

Instances `a` and `b` share the host's Solr 8 with line-8 cores and documents in each.
`a` is upgraded first (the server moves to Solr 9; `b`'s cores, still on line-8
configurations, fail to load but keep their data), then `b`; every carried core keeps its
count. The rollback of the jump (naming both) brings Solr 8 back with every core directory
byte for byte as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import without_instances
from tests.integration.test_solr_upgrade import (
    CORES_9,
    SEED,
    _configsets,
    _counts,
    _run,
    _seed,
    _sh,
    _status,
    _tree_digest,
)

pytestmark = [pytest.mark.lab, pytest.mark.upgrade_matrix]

CARRIED = ["authority", "qaevent", "statistics", "suggestion"]


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tests.lookalike import build_release

    return {"8.4": build_release("8", tmp_path_factory.mktemp("release84")),
            "9.3": build_release("9", tmp_path_factory.mktemp("release93"))}


@pytest.fixture(scope="module")
def archives(releases: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [_configsets(releases[v], v.replace(".", ""), tmp_path_factory.mktemp(v), False)
            for v in releases]


@pytest.fixture(scope="module")
def lab(lab_factory: Any) -> Any:
    return without_instances(lab_factory("solrjump", hosts=1, oses=("debian13",),
                                         connection="ssh"))


@pytest.fixture(scope="module")
def site(lab: Any) -> Any:
    from dspace_deploy.inventory.validate import load_site

    return load_site(lab.inventory, lab.vault_password_file)


def _action(site: Any, releases: dict[str, Any], archives: list[Path], entry: str,
            name: str) -> Any:
    outcome = _run(site, releases, archives, solr_test_entry_point=entry,
                   solr_version=releases["9.3"].solr_version,
                   solr_archive=str(releases["9.3"].solr),
                   solr_upgrade={
                       "plan": {"name": name, "solr": {"prefix": f"{name}-"}, "cores": CORES_9,
                                "dspace_dir": f"/srv/dspace/{name}", "version": "9.3"},
                       "from_version": "8.4", "to_version": "9.3", "from_line": "8",
                       "to_line": "9", "configsets_dir": "/srv/solr-93",
                       "carry_solr_data": CARRIED, "instances": ["a", "b"]})
    print(f"solr {entry} of {name} (8.4 to 9.3): {outcome.seconds:.1f} s, "
          f"{outcome.result.summary.changed} changed")
    return outcome


def test_the_jump_carries_every_instance_and_rolls_back_byte_for_byte(
    site: Any, lab: Any, releases: dict[str, Any], archives: list[Path],
) -> None:
    solr8 = releases["8.4"].solr_version
    cores = [{"name": f"{i}-{c}", "conf_source": f"/srv/solr-84/{c}"}
             for i in ("a", "b") for c in CORES_9]
    converged = _run(site, releases, archives, solr_cores=cores, solr_version=solr8,
                     solr_archive=str(releases["8.4"].solr))
    assert converged.result.summary.ok, json.dumps(converged.result.summary.as_dict(), indent=1)
    _seed(lab, "a-")
    _seed(lab, "b-")
    before = {f"{i}-{c}": _tree_digest(lab, f"/var/solr/data/{i}-{c}")
              for i in ("a", "b") for c in CORES_9}

    first = _action(site, releases, archives, "upgrade", "a")
    assert first.result.summary.ok, json.dumps(first.result.summary.as_dict(), indent=1)
    result = first.facts["solr_upgrade_result"]
    assert result["server"]["jumped"] and result["method"] == "server"
    assert result["server"]["from_version"] == solr8
    assert _sh(lab, "readlink /opt/solr").strip() == f"/opt/solr-{releases['9.3'].solr_version}"
    assert "-Dsolr.config.lib.enabled=true" in _sh(lab, "cat /etc/default/solr.in.sh")
    assert _sh(lab, f"test -x /opt/solr-{solr8}/bin/solr && echo kept").strip() == "kept"
    assert _counts(lab, "a-", CORES_9) == {**SEED, "search": 0, "oai": 0}
    failures = _status(lab).get("initFailures") or {}
    assert sorted(failures) == [f"b-{c}" for c in CORES_9]  # line-8 configurations on Solr 9
    assert _sh(lab, "ls /var/solr/data/b-statistics/data/index").strip()  # its data is there

    second = _action(site, releases, archives, "upgrade", "b")
    assert second.result.summary.ok, json.dumps(second.result.summary.as_dict(), indent=1)
    assert not second.facts["solr_upgrade_result"]["server"]["jumped"]
    assert _counts(lab, "b-", CORES_9) == {**SEED, "search": 0, "oai": 0}
    assert not _status(lab).get("initFailures")
    again = _action(site, releases, archives, "upgrade", "a")
    assert again.result.summary.ok and again.result.summary.changed == 0, again.changed

    back = _action(site, releases, archives, "rollback", "a")
    assert back.result.summary.ok, json.dumps(back.result.summary.as_dict(), indent=1)
    assert _sh(lab, "readlink /opt/solr").strip() == f"/opt/solr-{solr8}"
    assert "lib.enabled" not in _sh(lab, "cat /etc/default/solr.in.sh")
    assert not _status(lab).get("initFailures")
    assert _counts(lab, "a-", CORES_9) == SEED and _counts(lab, "b-", CORES_9) == SEED
    assert {n: _tree_digest(lab, f"/var/solr/data/{n}") for n in before} == before
    back_b = _action(site, releases, archives, "rollback", "b")
    assert back_b.result.summary.ok, json.dumps(back_b.result.summary.as_dict(), indent=1)
    once_more = _action(site, releases, archives, "rollback", "b")
    assert once_more.result.summary.ok and once_more.result.summary.changed == 0, \
        once_more.changed
