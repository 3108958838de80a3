"""The `solr` role on a lab host, with the look-alike Solr 9 release and line-9 cores.

One Debian 13 lab host serves the module. The cores' configurations come from the
look-alike DSpace installer (`solr/<core>/conf`), copied to /srv/solr-test/<core> on the
host by the test playbook (as the DSpace backend would install them) and installed with the
prefix `t-`. Runs go through the project's runner core (`dspace_deploy.runner.run`).
"""

from __future__ import annotations

import json
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.runner import Job, RunResult, run
from tests.integration.helpers import without_instances

pytestmark = pytest.mark.lab

PLAYBOOK = Path(__file__).parent / "playbooks" / "solr.yml"
PREFIX = "t-"


@dataclass
class Outcome:
    result: RunResult
    changed: list[tuple[str, str]]  # (task, item label or "") of every changed result
    seconds: float


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.lookalike import build_release

    return build_release("9", tmp_path_factory.mktemp("release9"))


@pytest.fixture(scope="module")
def cores_source(release: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tar.gz of the installer's core directories, as solr-test/<core>/."""
    installer = release.unpack_installer(tmp_path_factory.mktemp("installer"))
    source = installer / "solr"
    assert sorted(p.name for p in source.iterdir()) == sorted(release.cores)
    archive = tmp_path_factory.mktemp("cores") / "solr-test.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="solr-test")
    return archive


@pytest.fixture(scope="module")
def lab(lab_factory: Any) -> Any:
    # the role alone: no DSpace instance, so verify expects none of the instance roles
    return without_instances(lab_factory("solr", hosts=1, oses=("debian13",), connection="ssh"))


@pytest.fixture(scope="module")
def site(lab: Any) -> Any:
    from dspace_deploy.inventory.validate import load_site

    return load_site(lab.inventory, lab.vault_password_file)


def _cores(release: Any) -> list[dict[str, str]]:
    return [{"name": f"{PREFIX}{c}", "conf_source": f"/srv/solr-test/{c}"}
            for c in release.cores]


def _run(site: Any, release: Any, cores_source: Path, **overrides: Any) -> Outcome:
    extravars = {
        "solr_archive": str(release.solr),
        "solr_cores": _cores(release),
        "solr_test_cores_archive": str(cores_source),
        **overrides,
    }
    changed: list[tuple[str, str]] = []

    def observe(event: dict[str, Any]) -> None:
        data = event.get("event_data") or {}
        res = data.get("res") or {}
        if event.get("event") == "runner_on_ok" and res.get("changed") and "results" not in res:
            changed.append((str(data.get("task", "")), ""))
        if event.get("event") == "runner_item_on_ok" and res.get("changed"):
            item = res.get("item")
            label = item.get("name", "") if isinstance(item, dict) else str(item)
            changed.append((str(data.get("task", "")), label))

    job = Job(verb="solr-test", playbook=str(PLAYBOOK), site=site, extravars=extravars)
    started = time.monotonic()
    result = run(job, observe)
    return Outcome(result, changed, time.monotonic() - started)


def _exec(lab: Any, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", "exec", lab.hosts[0].container, *command],
                          capture_output=True, text=True, check=False)


def _status(lab: Any) -> dict[str, Any]:
    done = _exec(lab, "curl", "-sS",
                 "http://127.0.0.1:8983/solr/admin/cores?action=STATUS&indexInfo=false&wt=json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _main_pid(lab: Any) -> str:
    return _exec(lab, "systemctl", "show", "--property=MainPID", "--value",
                 "solr.service").stdout.strip()


@pytest.fixture(scope="module")
def converged(site: Any, release: Any, cores_source: Path) -> Iterator[list[Outcome]]:
    runs = [_run(site, release, cores_source) for _ in range(2)]
    for number, outcome in enumerate(runs, 1):
        changed = outcome.result.summary.changed
        print(f"solr run {number}: {outcome.seconds:.1f} s, {changed} changed")
    yield runs


def test_first_run_converges(converged: list[Outcome]) -> None:
    first = converged[0].result
    assert first.summary.ok, json.dumps(first.summary.as_dict(), indent=1)
    assert first.summary.changed > 0


def test_second_run_changes_nothing(converged: list[Outcome]) -> None:
    second = converged[1]
    assert second.result.summary.ok, json.dumps(second.result.summary.as_dict(), indent=1)
    assert second.result.summary.changed == 0, second.changed


def test_every_core_is_loaded(converged: list[Outcome], lab: Any, release: Any) -> None:
    status = _status(lab)
    assert not status.get("initFailures"), status["initFailures"]
    for core in release.cores:
        assert status["status"][f"{PREFIX}{core}"].get("name") == f"{PREFIX}{core}"


def test_checks_pass(converged: list[Outcome], site: Any, lab: Any, release: Any) -> None:
    from dspace_deploy.verify import run_checks

    host = lab.hosts[0].name
    site.hostvars[host] = {**site.hostvars[host], "solr_cores": _cores(release)}
    report = run_checks(site, progress=False)
    solr = [r for r in report.results if r.check.startswith("solr::")]
    assert solr, [r.check for r in report.results]
    assert all(r.outcome == "passed" for r in solr), [(r.check, r.outcome, r.message)
                                                      for r in solr]
    assert report.ok, [(r.check, r.message) for r in report.results if r.outcome != "passed"]


def test_solr_unreachable_from_the_controller(converged: list[Outcome], lab: Any) -> None:
    address = lab.hosts[0].address
    assert address
    with pytest.raises(OSError), socket.create_connection((address, 8983), timeout=5):
        pass
    # ... while it answers on the host itself.
    assert _exec(lab, "curl", "-sf", "http://127.0.0.1:8983/solr/admin/info/system").returncode == 0


def test_changed_conf_reloads_only_that_core(converged: list[Outcome], site: Any, lab: Any,
                                             release: Any, cores_source: Path) -> None:
    pid = _main_pid(lab)
    assert pid not in ("", "0")
    edit = _exec(lab, "sh", "-c",
                 "echo 'lookalikeword,testword' >> /srv/solr-test/search/conf/synonyms.txt")
    assert edit.returncode == 0, edit.stderr
    outcome = _run(site, release, cores_source)
    assert outcome.result.summary.ok, json.dumps(outcome.result.summary.as_dict(), indent=1)
    assert outcome.changed == [
        ("Install each core's directory, core.properties and conf/", ""),
        ("Reload the cores whose configuration changed", f"{PREFIX}search"),
    ]
    assert outcome.result.summary.changed == 2
    assert _main_pid(lab) == pid, "Solr restarted instead of reloading the core"
    copied = _exec(lab, "cat", f"/var/solr/data/{PREFIX}search/conf/synonyms.txt").stdout
    assert "lookalikeword,testword" in copied
    assert not _status(lab).get("initFailures")
    again = _run(site, release, cores_source)
    assert again.result.summary.changed == 0, again.changed


def test_new_core_restarts_solr_and_a_missing_source_fails_first(
        converged: list[Outcome], site: Any, lab: Any, release: Any, cores_source: Path) -> None:
    """A core whose conf_source lacks conf/solrconfig.xml fails the run naming it before any
    core is touched; a new core (its core.properties written) restarts Solr, which loads it."""
    extra = {"name": f"{PREFIX}extra", "conf_source": "/srv/solr-test/search"}
    missing = {"name": f"{PREFIX}nowhere", "conf_source": "/srv/solr-test/nowhere"}
    outcome = _run(site, release, cores_source,
                   solr_cores=[*_cores(release), extra, missing])
    summary = outcome.result.summary
    assert not summary.ok
    messages = [f.message for f in summary.failures]
    assert len(messages) == 1, messages
    assert (f"Core {PREFIX}nowhere: /srv/solr-test/nowhere/conf/solrconfig.xml does not exist"
            in messages[0])
    assert "conf_source must be a directory on the host that holds conf/" in messages[0]
    assert _exec(lab, "test", "-e", f"/var/solr/data/{PREFIX}extra").returncode != 0
    pid = _main_pid(lab)
    added = _run(site, release, cores_source, solr_cores=[*_cores(release), extra])
    assert added.result.summary.ok, json.dumps(added.result.summary.as_dict(), indent=1)
    assert ("Install each core's directory, core.properties and conf/", "") in added.changed
    assert ("Restart Solr", "") in added.changed
    assert not any(task == "Reload the cores whose configuration changed"
                   for task, _label in added.changed)
    assert _main_pid(lab) != pid, "the new core did not restart Solr"
    assert _status(lab)["status"][f"{PREFIX}extra"].get("name") == f"{PREFIX}extra"
    again = _run(site, release, cores_source, solr_cores=[*_cores(release), extra])
    assert again.result.summary.changed == 0, again.changed
    # Back to the module's cores: the extra core is left alone (unlisted cores are).
    _run(site, release, cores_source)


def test_wrong_sha512_stops_before_unpacking(converged: list[Outcome], site: Any, lab: Any,
                                             release: Any, cores_source: Path) -> None:
    wrong = "0" * 128
    outcome = _run(site, release, cores_source, solr_version="9.9.9", solr_sha512=wrong)
    summary = outcome.result.summary
    assert not summary.ok
    messages = [f.message for f in summary.failures]
    assert len(messages) == 1, messages
    message = messages[0]
    real = release.solr_sha512.read_text().split()[0]
    assert "does not match its checksum" in message
    assert str(release.solr) in message and wrong in message and real in message
    assert "Nothing was unpacked" in message
    listing = _exec(lab, "ls", "-A", "/opt").stdout.split()
    assert "solr-9.9.9" not in listing and not any(n.startswith(".solr-") for n in listing)
    assert _exec(lab, "readlink", "/opt/solr").stdout.strip() == f"/opt/solr-{release.solr_version}"
    assert _exec(lab, "ls", "/var/cache/dspace-deploy/solr").stdout.strip() == ""


def test_checks_detect_a_stopped_solr(converged: list[Outcome], site: Any, lab: Any,
                                      release: Any, cores_source: Path) -> None:
    """The checks can fail: stop Solr, see them fail, repair with the role."""
    from dspace_deploy.verify import run_checks

    host = lab.hosts[0].name
    site.hostvars[host] = {**site.hostvars[host], "solr_cores": _cores(release)}
    assert _exec(lab, "systemctl", "stop", "solr").returncode == 0
    try:
        report = run_checks(site, progress=False)
        failed = {r.check.rsplit("::", 1)[-1].split("[")[0] for r in report.results
                  if r.check.startswith("solr::") and r.outcome == "failed"}
        assert {"test_service_enabled_and_running", "test_cores_loaded",
                "test_listens_on_solr_host_only"} <= failed, failed
    finally:
        outcome = _run(site, release, cores_source)
    assert outcome.result.summary.ok and outcome.result.summary.changed > 0


def test_cores_of_another_solr_major_fail_with_solrs_message(
    converged: list[Outcome], site: Any, lab: Any, release: Any, cores_source: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Line-9 cores on Solr 8: the run fails with the initFailures message, then the host
    is put back on Solr 9."""
    from tests.lookalike import build_release

    solr8 = build_release("8", tmp_path_factory.mktemp("release8"))
    try:
        outcome = _run(site, release, cores_source, solr_version=solr8.solr_version,
                       solr_archive=str(solr8.solr))
        summary = outcome.result.summary
        assert not summary.ok
        assert [f.task for f in summary.failures] == ["Fail when a listed core is not loaded"]
        message = summary.failures[0].message
        assert f"Solr core {PREFIX}search is not loaded" in message
        assert "rror loading class" in message and "another Solr major version" in message
        assert f"Solr core {PREFIX}oai is not loaded" not in message
    finally:
        restored = _run(site, release, cores_source)
    assert restored.result.summary.ok, json.dumps(restored.result.summary.as_dict(), indent=1)
    assert _exec(lab, "readlink", "/opt/solr").stdout.strip() == f"/opt/solr-{release.solr_version}"
    assert not _status(lab).get("initFailures")


def test_precheck_passes_on_the_converged_host(converged: list[Outcome], site: Any,
                                               release: Any, cores_source: Path) -> None:
    outcome = _run(site, release, cores_source, solr_test_entry_point="precheck")
    summary = outcome.result.summary
    assert summary.ok, json.dumps(summary.as_dict(), indent=1)
    assert summary.changed == 0, outcome.changed


def test_precheck_lists_every_problem(converged: list[Outcome], site: Any, lab: Any,
                                      release: Any, cores_source: Path) -> None:
    started = _exec(lab, "sh", "-c", "nohup python3 -m http.server 8990 --bind 127.0.0.1 "
                    ">/dev/null 2>&1 & echo $!")
    pid = started.stdout.strip()
    assert pid.isdigit(), started.stderr
    try:
        time.sleep(2)
        outcome = _run(site, release, cores_source, solr_test_entry_point="precheck",
                       solr_port=8990, solr_host="0.0.0.0")
    finally:
        _exec(lab, "kill", pid)
    summary = outcome.result.summary
    assert not summary.ok
    assert [f.task for f in summary.failures] == ["Fail with every Solr problem found on the host"]
    message = summary.failures[0].message
    assert "found 2 problem(s)" in message
    assert "TCP port 8990 is held by python3" in message
    assert "loopback" in message
