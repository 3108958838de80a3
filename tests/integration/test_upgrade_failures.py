"""A failure in every phase of an upgrade (docs/upgrade.md, "Automatic rollback"): the
instance ends on the old release with nothing lost, compared byte for byte, and the report
names the phase. Marker `upgrade_matrix`: run by `./scripts/test --all` (one lab host, about
fifteen upgrades: most of an hour on two cores).

One Debian 13 host converged on 9.2 with content and a backup, and 9.3 in the inventory. The
failures, each chosen outside the roles:
- the controller killed (SIGKILL of the whole `dspace-deploy upgrade` process group) while the
  host record shows each phase from maintenance to finish; the command run again rolls back
  an upgrade interrupted before its health gate passed, and resumes one interrupted after it
  (reindex, ui, finish), which `rollback` then undoes by hand;
- a migration that fails (a look-alike bundle whose newest migration fails, as Flyway does);
- a backend that never becomes healthy (a bundle whose server-boot.jar has no main class):
  the health gate fails in phase start and the upgrade rolls back.
The precheck phase changes nothing and writes no record before it passes: a controller killed
there leaves nothing to recover.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import EXE, cli
from tests.integration.test_backup import _exec
from tests.integration.test_upgrade import (
    _bundle,
    _diff,
    _record,
    _seed_and_back_up,
    _set_versions,
    _state,
    _version,
)
from tests.integration.upgrade_lab import kill_when_record_shows

pytestmark = [pytest.mark.lab, pytest.mark.lookalike, pytest.mark.upgrade_matrix]

# Phases after which the new release has passed its health gate: a rerun resumes them
# (playbooks/filter_plugins/dspace_upgrade_run.py, RESUMABLE).
ROLLED_BACK = ("pause_tasks", "snapshot", "maintenance", "stop", "install", "migrate", "solr",
               "start")
RESUMED = ("reindex", "ui", "finish")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.lookalike import build_release

    good = tmp_path_factory.mktemp("artifacts")
    failing = tmp_path_factory.mktemp("failing")
    broken = tmp_path_factory.mktemp("broken")
    old = _bundle(good, "9", "9.2")
    new = _bundle(good, "9", "9.3")
    _bundle(failing, "9", "9.2")
    build_release("9", failing / "9-dspace-9.3", version="9.3", ui_version="9.3",
                  fail_migration=True)
    shutil.copytree(old, broken / old.name)
    _unhealthy_copy(new, broken / new.name)
    return {"good": good, "failing": failing, "broken": broken}


def _unhealthy_copy(bundle: Path, out: Path) -> Path:
    """The bundle with a backend that never becomes healthy: its server-boot.jar is a jar
    without a main class (java exits at once, systemd restarts it, the actuator never
    answers). A failure point chosen outside the roles."""
    shutil.copytree(bundle, out)
    installer = out / "backend" / "dspace-installer.tar.gz"
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    data = io.BytesIO()
    with tarfile.open(installer) as src, tarfile.open(fileobj=data, mode="w:gz") as dst:
        for member in src.getmembers():
            if member.name == "dspace-installer/webapps/server-boot.jar":
                member.size = len(empty.getvalue())
                dst.addfile(member, io.BytesIO(empty.getvalue()))
            else:
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    installer.write_bytes(data.getvalue())
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["backend/dspace-installer.tar.gz"] = {
        "sha256": hashlib.sha256(data.getvalue()).hexdigest(), "size": len(data.getvalue())}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    return lab_factory("upfail", hosts=1, oses=("debian13",), connection="ssh", preload=True)


@pytest.fixture(scope="module")
def before(lab: Any, artifacts: dict[str, Path]) -> dict[str, Any]:
    """9.2 converged with content and a backup; then 9.3 in the inventory. The state every
    failure must come back to."""
    _set_versions(lab, {"repo": "9.2"})
    (lab.inventory / "group_vars/all/upgrade_test.yml").write_text(
        yaml.safe_dump({"dspace_backend_start_timeout": 90}))
    subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)], check=True,
                   capture_output=True)
    code, _, stderr = cli("up", "-i", str(lab.inventory), "--artifacts",
                          str(artifacts["good"]))
    assert code == 0, stderr[-3000:]
    _seed_and_back_up(lab)
    _set_versions(lab, {"repo": "9.3"})
    return _state(lab.hosts[0], "repo")


def _upgrade(lab: Any, artifacts: Path) -> tuple[int, dict[str, Any], str]:
    return cli("upgrade", "-i", str(lab.inventory), "--artifacts", str(artifacts), "--yes")


def _only(document: dict[str, Any]) -> dict[str, Any]:
    (item,) = document["instances"]
    return dict(item)


def _kill_in_phase(lab: Any, artifacts: Path, phase: str) -> str:
    """Start an upgrade, SIGKILL it as soon as the host record shows `phase`; the phase the
    record showed when it died."""
    host = lab.hosts[0]
    kill_when_record_shows([EXE, "upgrade", "-i", str(lab.inventory), "--artifacts",
                            str(artifacts), "--yes", "--json"], host.container, phase)
    return str(_record(host, "repo")["phase"])


@pytest.mark.parametrize("phase", ROLLED_BACK + RESUMED)
def test_the_controller_killed_in_a_phase(lab: Any, artifacts: dict[str, Path],
                                          before: dict[str, Any], phase: str) -> None:
    host = lab.hosts[0]
    died_in = _kill_in_phase(lab, artifacts["good"], phase)
    assert _record(host, "repo")["status"] == "running"
    code, document, stderr = _upgrade(lab, artifacts["good"])
    item = _only(document)
    if died_in in RESUMED:
        # past its health gate: the rerun finishes it, never starts a second one
        assert code == 0 and item["status"] == "done", json.dumps(item) + stderr[-2000:]
        assert any("resumes it" in note for note in item["notes"]), item
        assert _version(host, "repo") == "DSpace 9.3"
        code, document, stderr = cli("rollback", "-i", str(lab.inventory), "--instance",
                                     "repo", "--artifacts", str(artifacts["good"]), "--yes")
        assert code == 0, json.dumps(document, indent=1) + stderr[-3000:]
    else:
        assert code == 1, json.dumps(item) + stderr[-2000:]
        assert item["status"] == "rolled_back" and item["failed_phase"] == died_in, item
        assert "interrupted" in item["error"]
    assert _version(host, "repo") == "DSpace 9.2"
    state = _state(host, "repo")
    assert state == before, _diff(host, "repo", state, before)


def test_a_migration_that_fails_is_rolled_back(lab: Any, artifacts: dict[str, Path],
                                               before: dict[str, Any]) -> None:
    host = lab.hosts[0]
    code, document, stderr = _upgrade(lab, artifacts["failing"])
    item = _only(document)
    assert code == 1, json.dumps(item) + stderr[-2000:]
    assert item["status"] == "rolled_back" and item["failed_phase"] == "migrate", item
    assert _version(host, "repo") == "DSpace 9.2"
    state = _state(host, "repo")
    assert state == before, _diff(host, "repo", state, before)


def test_a_backend_that_never_becomes_healthy_is_rolled_back(
        lab: Any, artifacts: dict[str, Path], before: dict[str, Any]) -> None:
    host = lab.hosts[0]
    code, document, stderr = _upgrade(lab, artifacts["broken"])
    item = _only(document)
    assert code == 1, json.dumps(document, indent=1) + stderr[-3000:]
    assert item["status"] == "rolled_back" and item["failed_phase"] == "start", item
    assert "did not pass its gate" in item["error"] and "DSpace 9.3 expected" in item["error"]
    assert _version(host, "repo") == "DSpace 9.2"
    state = _state(host, "repo")
    assert state == before, _diff(host, "repo", state, before)  # byte for byte
    record = _record(host, "repo")
    assert record["status"] == "rolled_back" and record["error"]["phase"] == "start"
    assert record["phases_done"][:6] == ["precheck", "pause_tasks", "snapshot", "maintenance",
                                         "stop", "install"]
    assert "migrate" in record["phases_done"]  # the database came back from its copy
    assert record["snapshot"].get("id"), record
    timers = _exec(host, "systemctl list-units --state=active --plain --no-legend "
                   "'dspace-repo-*.timer' | wc -l").stdout.strip()
    assert int(timers) > 0, "the timers were not resumed"
