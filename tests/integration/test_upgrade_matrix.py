"""The whole upgrade matrix on lab hosts (docs/upgrade.md): every supported jump. Marker
`upgrade_matrix`: deselected by default, run by `./scripts/test --all` (each jump converges a
host of its own). The failures, the controller killed in every phase among them, are
test_upgrade_failures.py's.

For each jump (8.3->8.4, 8.4->9.3, 9.3->10.0, DSpace-CRIS 2024.02.04->2025.02.01): converge
the old release with content, back it up, set the new version, `upgrade`; the REST root
reports the target, every bitstream checksum and every Solr count of the data cores is
unchanged, search and OAI match the database, `verify` passes, a second `upgrade` changes
nothing. Before the upgrade, `up` with the new version leaves the instance alone, and the
host's Solr too when the jump changes its major.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import EXE, cli
from tests.integration.test_backup import _exec
from tests.integration.test_upgrade import _record, _seed_and_back_up, _state, _version

pytestmark = [pytest.mark.lab, pytest.mark.lookalike, pytest.mark.upgrade_matrix]

# (line from, version from, line to, version to, flavor, Debian of the host)
JUMPS = [
    ("8", "8.3", "8", "8.4", "dspace", "debian12"),
    ("8", "8.4", "9", "9.3", "dspace", "debian13"),
    ("9", "9.3", "10", "10.0", "dspace", "debian13"),
    ("8", "2024.02.04", "9", "2025.02.01", "cris", "debian13"),
]
DATA_CORES = ("statistics", "authority")


def _bundles(root: Path, line: str, version: str, flavor: str) -> None:
    from tests.lookalike import build_release

    if flavor == "cris":
        build_release(line, root / f"{line}-cris-{version}", flavor="cris")
    else:
        build_release(line, root / f"{line}-dspace-{version}", version=version,
                      ui_version=version)


def _inventory(lab: Any, line: str, version: str, flavor: str) -> None:
    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    (host,) = data["all"]["children"]["dspace"]["hosts"].values()
    entry = {"name": "repo", "hostname": f"repo.{lab.hosts[0].name}.lab.test", "line": line,
             "flavor": flavor, "admin_email": "admin@repo.lab.test"}
    if flavor == "dspace":
        entry["version"] = version
    host["dspace_instances"] = [entry]
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))


def _solr_release(host: Any) -> str:
    body = _exec(host, "curl -sf 'http://127.0.0.1:8983/solr/admin/info/system?wt=json'").stdout
    return str(json.loads(body)["lucene"]["solr-spec-version"])


@pytest.mark.parametrize(("line_from", "from_", "line_to", "to", "flavor", "os_"), JUMPS,
                         ids=[f"{j[4]}-{j[1]}-{j[3]}" for j in JUMPS])
def test_jump(lab_factory: Any, state_home: Path, tmp_path: Path, line_from: str, from_: str,
              line_to: str, to: str, flavor: str, os_: str) -> None:
    artifacts = tmp_path / "artifacts"
    _bundles(artifacts, line_from, from_, flavor)
    _bundles(artifacts, line_to, to, flavor)
    lab = lab_factory(f"m{line_from}{line_to}{flavor[0]}", hosts=1, oses=(os_,))
    host = lab.hosts[0]
    _inventory(lab, line_from, from_, flavor)
    subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)], check=True,
                   capture_output=True)
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--artifacts", str(artifacts))
    assert code == 0, stderr[-3000:]
    _seed_and_back_up(lab)
    before = _state(host, "repo")
    solr_before = _solr_release(host)
    _inventory(lab, line_to, to, flavor)
    # `up` first, as a user might: it leaves the instance, and for a Solr major the host's
    # Solr, as they are
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--artifacts",
                                 str(artifacts), "--json")
    assert code == 0, stderr[-3000:]
    (pending,) = document["upgrade_pending"]
    assert (pending["running"], pending["inventory"]) == (from_, to)
    assert pending["holds_solr"] is (line_from == "8" and line_to == "9")
    assert _solr_release(host) == solr_before
    assert _state(host, "repo") == before
    code, document, stderr = cli("upgrade", "-i", str(lab.inventory), "--artifacts",
                                 str(artifacts), "--yes")
    assert code == 0, json.dumps(document, indent=1) + stderr[-3000:]
    assert _record(host, "repo")["status"] == "done"
    assert _version(host, "repo").startswith("DSpace ")
    after = _state(host, "repo")
    for key in ("assetstore", "handle_keys", "items", "bitstreams", *DATA_CORES):
        assert after[key] == before[key], key
    code, document, stderr = cli("verify", "-i", str(lab.inventory))
    assert code == 0, stderr[-2000:]
    code, document, stderr = cli("upgrade", "-i", str(lab.inventory), "--artifacts",
                                 str(artifacts), "--yes")
    assert code == 0 and all(i["outcome"] == "none" for i in document["instances"])
