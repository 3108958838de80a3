"""The site playbook from the installed collection, run the way AWX runs a job.

The collection tarball (`dspace-deploy collection build`) is installed offline into a clean
collections path; an AWX-like job directory holds a project (one playbook importing
dspace.deploy.site, and an ansible.cfg with SSH pipelining only, as docs/collection.md
recommends), the lab's inventory and the extra variables (the look-alike bundle), and
ansible-runner runs it with the vault password file, with no ANSIBLE_* variable of the
toolkit and not the repository's ansible.cfg (no roles path, no collections path). One lab
host with one DSpace 9 instance (the cheapest host that exercises every role): the first run
converges it, `verify` proves every role's checks on it, and a second run reports changed=0.
A second job template of the same project then runs another playbook of the collection,
dspace.deploy.backup: its snapshot is judged by what the toolkit's own `backup list` finds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import (
    assert_no_secret_in_files,
    cli,
    vault_secrets,
    with_instances,
)

pytestmark = [pytest.mark.lab, pytest.mark.lookalike]

BIN = Path(sys.executable).parent
PROJECT_PLAYBOOK = """\
---
# An AWX project's playbook: the site playbook of the installed collection.
- name: Converge the DSpace site
  ansible.builtin.import_playbook: dspace.deploy.site
"""
# A second job template: a backup from the installed collection (its default action: run).
PROJECT_BACKUP = """\
---
- name: Back up the DSpace instances
  ansible.builtin.import_playbook: dspace.deploy.backup
"""
# The project's own ansible.cfg (docs/collection.md, "Project"): SSH pipelining only.
PROJECT_CONFIG = """\
[ssh_connection]
pipelining = True
"""


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    lab = lab_factory("collection", hosts=1, oses=("debian13",), connection="ssh",
                      preload=True)
    host = lab.hosts[0].name
    return with_instances(lab, {host: [
        {"name": "repo", "hostname": f"repo.{host}.lab.test", "line": "9", "flavor": "dspace",
         "admin_email": f"admin@{host}.lab.test"}]})


@pytest.fixture(scope="module")
def job(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The AWX-like job directory: the collection installed offline into a clean path, the
    project, the extra variables of the look-alike bundle."""
    from dspace_deploy.bundles import bundle_vars, resolve_bundles
    from dspace_deploy.inventory.validate import load_site
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("awx-job")
    code, document, stderr = cli("collection", "build", "--out", str(root / "dist"))
    assert code == 0, json.dumps(document) + stderr
    tarball = Path(document["tarball"])
    assert tarball.is_file()
    collections = root / "collections"
    done = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", str(tarball),
         "-p", str(collections)],
        cwd=root, env=_without_ansible_settings(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (root / "private").mkdir()
    project = root / "project"
    project.mkdir()
    (project / "site.yml").write_text(PROJECT_PLAYBOOK)
    (project / "backup.yml").write_text(PROJECT_BACKUP)
    (project / "ansible.cfg").write_text(PROJECT_CONFIG)
    artifacts = root / "artifacts"
    build_release("9", artifacts / "9-dspace")
    site = load_site(lab.inventory, lab.vault_password_file)
    extravars = bundle_vars(resolve_bundles(site, str(artifacts)))
    assert extravars["dspace_bundles"], "the look-alike bundle was not found"
    return {"root": root, "collections": collections, "project": project,
            "extravars": extravars}


def _without_ansible_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}


def _run(job: dict[str, Any], lab: Any, ident: str, playbook: str = "site.yml") -> Any:
    """One job of the project's playbook through ansible-runner, as AWX starts it."""
    import ansible_runner

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(_without_ansible_settings())
    try:
        return ansible_runner.run(
            private_data_dir=str(job["root"] / "private"),
            project_dir=str(job["project"]),
            playbook=playbook,
            inventory=str(lab.inventory),
            extravars=job["extravars"],
            envvars={"ANSIBLE_COLLECTIONS_PATH": str(job["collections"]),
                     "PATH": f"{BIN}{os.pathsep}{saved.get('PATH', '')}"},
            cmdline=f"--vault-password-file {lab.vault_password_file}",
            ident=ident,
            quiet=True,
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def runs(job: dict[str, Any], lab: Any) -> list[Any]:
    first = _run(job, lab, "first")
    assert first.status == "successful", _tail(first)
    second = _run(job, lab, "second")
    assert second.status == "successful", _tail(second)
    return [first, second]


def _tail(run: Any) -> str:
    return "".join(run.stdout.readlines()[-60:]) if run.stdout else str(run.rc)


def test_the_job_ran_the_installed_collection_without_the_repository(
        runs: list[Any], job: dict[str, Any]) -> None:
    env = runs[0].config.env
    assert "ANSIBLE_CONFIG" not in env and "ANSIBLE_ROLES_PATH" not in env
    assert env["ANSIBLE_COLLECTIONS_PATH"] == str(job["collections"])
    installed = job["collections"] / "ansible_collections" / "dspace" / "deploy"
    tasks_from = {e["event_data"].get("task_path", "").split(":")[0]
                  for e in runs[0].events if e.get("event") == "runner_on_ok"}
    tasks_from.discard("")
    assert tasks_from
    repo = Path(__file__).resolve().parents[2]
    assert all(path.startswith(str(installed)) for path in tasks_from), sorted(
        p for p in tasks_from if not p.startswith(str(installed)))[:5]
    assert not any(path.startswith(str(repo)) for path in tasks_from)
    for role in ("common", "postgresql", "dspace_backend", "solr", "dspace_ui", "proxy",
                 "handle_server", "dspace_tasks", "dspace_backup", "action"):
        assert any(p.startswith(str(installed / "roles" / role)) for p in tasks_from), role


def test_first_run_converged_the_host(runs: list[Any], lab: Any) -> None:
    stats = runs[0].stats
    host = lab.hosts[0].name
    assert stats["changed"].get(host, 0) > 0, stats
    assert not stats["failures"] and not stats["dark"], stats


def test_verify_passes(runs: list[Any], lab: Any) -> None:
    code, document, stderr = cli("verify", "-i", str(lab.inventory))
    problems = [(h, c["check"], c["message"]) for h, r in document.get("hosts", {}).items()
                for c in r["checks"] if c["outcome"] in ("failed", "error")]
    assert code == 0 and document["ok"], json.dumps(problems, indent=1) + stderr[-2000:]
    outcomes = {c["check"]: c["outcome"] for c in document["hosts"][lab.hosts[0].name]["checks"]}
    for role in ("dspace_backend", "dspace_ui", "proxy", "handle_server", "dspace_tasks",
                 "site_https", "postgresql", "solr", "dspace_backup"):
        assert any(c.startswith(f"{role}::") and o == "passed" for c, o in outcomes.items()), (
            role, outcomes)


def test_second_run_changes_nothing(runs: list[Any], lab: Any) -> None:
    stats = runs[1].stats
    assert not any(stats["changed"].values()), stats["changed"]
    assert sum(stats["ok"].values()) > 0 and not stats["failures"], stats


def test_no_secret_in_the_job_artifacts(runs: list[Any], lab: Any,
                                        job: dict[str, Any]) -> None:
    assert_no_secret_in_files(job["root"] / "private" / "artifacts", vault_secrets(lab))


def test_a_backup_job_from_the_collection(runs: list[Any], job: dict[str, Any],
                                          lab: Any) -> None:
    """Another playbook of the installed collection, as a second AWX job template: the
    snapshot it reports is one the toolkit's own `backup list` then finds on the host."""
    import time

    from dspace_deploy.backups import parse_backup_events

    started = time.monotonic()
    run = _run(job, lab, "backup", playbook="backup.yml")
    took = time.monotonic() - started
    assert run.status == "successful", _tail(run)
    report = parse_backup_events(list(run.events), "run")
    assert report.ok, report.as_dict()
    (answer,) = report.answers
    made = {s["id"] for s in answer.data["snapshots"]}
    assert made and answer.data["ok"] is True, answer.data
    code, document, stderr = cli("backup", "list", "-i", str(lab.inventory))
    assert code == 0, json.dumps(document) + stderr[-2000:]
    listed = {snap.get("id") for instance in document["instances"]
              for snap in (instance.get("data") or {}).get("snapshots") or []}
    assert made <= listed, (made, listed)
    print(f"collection backup job: {took:.0f} s")
