"""`status`: events of playbooks/status.yml -> report, table, JSON document, exit code.

The event payloads have the shape recorded from a real run of status.yml against a lab host
(systemctl list-units output, uri results of a backend answering on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from dspace_deploy import runner
from dspace_deploy.cli import app, run_cmds
from dspace_deploy.events import RunSummary
from dspace_deploy.site import Site
from dspace_deploy.status import (
    REPORT_KEY,
    collect,
    parse_units,
    print_report,
)

REPO = Path(__file__).resolve().parents[2]

UNITS = [
    "dspace-lab-ssh-hostkeys.service     loaded inactive dead    Generate SSH host keys",
    "dspace-repo-backend.service         loaded active   running DSpace repo backend",
    "dspace-repo-handle.service          loaded active   running DSpace repo handle server",
    "dspace-repo-index-discovery.service loaded inactive dead    DSpace repo index-discovery",
    "dspace-repo-ui.service              loaded active   running DSpace repo UI",
    "nginx.service                       loaded active   running A high performance web server",
    "postgresql.service                  loaded active   exited  PostgreSQL RDBMS",
    "postgresql@17-main.service          loaded active   running PostgreSQL Cluster 17-main",
    "solr.service                        loaded active   running Apache Solr",
    "dspace-repo-index-discovery.timer   loaded active   waiting DSpace repo index-discovery",
]


def _plan(name: str = "repo", backend: int = 8080) -> dict[str, Any]:
    return {"name": name, "line": "9", "flavor": "dspace", "version": "9.3",
            "ports": {"backend": backend, "ui": 4000, "handle": 2641, "handle_http": 8000},
            "urls": {"ui": f"https://{name}.example.edu",
                     "server": f"https://{name}.example.edu/server",
                     "ssr": f"http://127.0.0.1:{backend}/server"}}


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    return {"content": json.dumps(body), "status": 200, "msg": "OK (unknown bytes)"}


REFUSED = {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: "
                                "<urlopen error [Errno 111] Connection refused>"}


def _report_event(host: str, units: list[str] | None = None, plans: Any = None,
                  root: Any = None, health: Any = None, backup: Any = None) -> dict[str, Any]:
    status = {
        "backup": backup or [],
        "units": UNITS if units is None else units,
        "plans": [_plan()] if plans is None else plans,
        "root": [_answer({"dspaceVersion": "DSpace 9.3", "type": "root"})]
        if root is None else root,
        "health": [_answer({"status": "UP_WITH_ISSUES"})] if health is None else health,
    }
    return {"event": "runner_on_ok",
            "event_data": {"host": host, "task": "Report the status",
                           "res": {"dspace_status": status, "changed": False}}}


def _stats(*hosts: str, dark: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"event": "playbook_on_stats",
            "event_data": {"ok": {h: 4 for h in hosts if h not in dark},
                           "dark": {h: 1 for h in dark}, "failures": {},
                           "processed": {h: 1 for h in hosts}}}


def test_healthy_host() -> None:
    report = collect([_report_event("web1"), _stats("web1")])
    assert report.ok
    host = report.hosts["web1"]
    assert host.services == {"postgresql": "active", "solr": "active", "nginx": "active"}
    (inst,) = host.instances
    assert (inst.version, inst.health) == ("DSpace 9.3", "UP_WITH_ISSUES")
    assert inst.services == {"backend": "active", "ui": "active", "handle": "active"}
    assert inst.failed_timers == []
    assert inst.urls == {"ui": "https://repo.example.edu",
                         "server": "https://repo.example.edu/server",
                         "oai": "https://repo.example.edu/server/oai/request?verb=Identify"}


def test_health_down_is_a_problem_even_with_http_200() -> None:
    report = collect([_report_event("web1", health=[_answer({"status": "DOWN"})])])
    inst = report.hosts["web1"].instances[0]
    assert inst.health == "DOWN"
    assert not report.ok
    assert inst.problems == ["health is DOWN"]


def test_backend_not_answering() -> None:
    units = [u.replace("dspace-repo-backend.service         loaded active   running",
                       "dspace-repo-backend.service         loaded failed   failed")
             for u in UNITS]
    report = collect([_report_event("web1", units=units, root=[REFUSED], health=[REFUSED])])
    inst = report.hosts["web1"].instances[0]
    assert inst.services["backend"] == "failed"
    assert inst.version is None and inst.health is None
    assert "backend is failed" in inst.problems
    assert "REST root: no answer ([Errno 111] Connection refused)" in inst.problems
    assert not report.ok


def test_failed_task_and_stopped_timer() -> None:
    units = [u.replace("index-discovery.service loaded inactive dead",
                       "index-discovery.service loaded failed   failed") for u in UNITS]
    units.append("dspace-repo-checker.timer loaded inactive dead DSpace repo checker")
    inst = collect([_report_event("web1", units=units)]).hosts["web1"].instances[0]
    assert inst.failed_timers == ["checker", "index-discovery"]
    assert not inst.ok


def test_missing_units_are_absent() -> None:
    report = collect([_report_event("web1", units=[])])
    host = report.hosts["web1"]
    assert host.services == {"postgresql": "absent", "solr": "absent", "nginx": "absent"}
    assert host.instances[0].services == {"backend": "absent", "ui": "absent",
                                          "handle": "absent"}
    assert "solr is absent" in host.problems


def test_a_failed_postgresql_cluster_counts_not_the_umbrella_unit() -> None:
    units = [u.replace("postgresql@17-main.service          loaded active   running",
                       "postgresql@17-main.service          loaded failed   failed")
             for u in UNITS]
    host = collect([_report_event("web1", units=units)]).hosts["web1"]
    assert host.services["postgresql"] == "failed"


def test_units_go_to_the_instance_with_the_longest_matching_name() -> None:
    units = [*UNITS,
             "dspace-repo-test-backend.service loaded failed failed DSpace repo-test backend",
             "dspace-repo-test-ui.service loaded active running DSpace repo-test UI",
             "dspace-repo-test-handle.service loaded active running DSpace repo-test handle"]
    plans = [_plan("repo"), _plan("repo-test", 8090)]
    ok = _answer({"dspaceVersion": "DSpace 9.3"})
    up = _answer({"status": "UP"})
    host = collect([_report_event("web1", units=units, plans=plans, root=[ok, ok],
                                  health=[up, up])]).hosts["web1"]
    repo, test = host.instances
    assert repo.ok, repo.problems
    assert test.services["backend"] == "failed"
    assert repo.failed_timers == []


def test_parse_units_tolerates_bullets_and_not_found() -> None:
    units = parse_units(["● solr.service loaded failed failed Apache Solr",
                         "nginx.service not-found inactive dead nginx.service", "", "junk"])
    assert units == {"solr.service": "failed", "nginx.service": "not-found"}


def test_cris_version_is_reported() -> None:
    root = [_answer({"dspaceVersion": "DSpace 9.3", "crisVersion": "cris-2025.02.01"})]
    inst = collect([_report_event("web1", root=root)]).hosts["web1"].instances[0]
    assert inst.cris_version == "cris-2025.02.01"


def test_unreachable_and_failed_hosts() -> None:
    events = [
        _report_event("web1"),
        {"event": "runner_on_unreachable",
         "event_data": {"host": "web2", "task": "List the units of the stack",
                        "res": {"msg": "Failed to connect to the host via ssh",
                                "unreachable": True}}},
        {"event": "runner_on_failed",
         "event_data": {"host": "web3", "task": "List the units of the stack",
                        "res": {"msg": "sudo: a password is required"}}},
        _stats("web1", "web2", "web3", dark=("web2",)),
    ]
    report = collect(events)
    assert sorted(report.hosts) == ["web1", "web2", "web3"]
    assert report.hosts["web1"].ok
    web2 = report.hosts["web2"]
    assert (web2.reachable, web2.error) == (False, "Failed to connect to the host via ssh")
    web3 = report.hosts["web3"]
    assert web3.reachable and web3.error == ("List the units of the stack: sudo: a password "
                                             "is required")
    assert not report.ok


def test_no_host_is_not_ok() -> None:
    assert not collect([_stats()]).ok


def test_json_shape() -> None:
    document = collect([_report_event("web1"), _stats("web1")]).as_dict()
    assert document["ok"] is True
    host = document["hosts"]["web1"]
    assert set(host) == {"ok", "reachable", "error", "services", "problems", "instances"}
    (inst,) = host["instances"]
    assert set(inst) == {"name", "line", "flavor", "planned_version", "version",
                         "cris_version", "health", "services", "failed_timers", "urls",
                         "last_backup", "backup_age_hours", "backup_failure", "problems", "ok"}
    json.dumps(document)  # serialisable as is


def _backup_answer(age: float | None, limit: float = 36) -> dict[str, Any]:
    last = None if age is None else {"time": "2026-11-22T02:30:00Z", "age_hours": age}
    return {"rc": 0, "stdout": json.dumps({"instance": "repo", "max_age_hours": limit,
                                           "last_success": last, "fresh": bool(last)})}


def test_backup_age_is_shown_and_an_overdue_backup_is_a_problem() -> None:
    fresh = collect([_report_event("web1", backup=[_backup_answer(3.5)]), _stats("web1")])
    (inst,) = fresh.hosts["web1"].instances
    assert fresh.ok and inst.backup_age_hours == 3.5
    assert inst.last_backup == "2026-11-22T02:30:00Z"
    late = collect([_report_event("web1", backup=[_backup_answer(50.0)]), _stats("web1")])
    (inst,) = late.hosts["web1"].instances
    assert not late.ok and inst.problems == ["last backup 50 h ago (policy: 36 h)"]
    never = collect([_report_event("web1", backup=[_backup_answer(None)]), _stats("web1")])
    assert never.ok and never.hosts["web1"].instances[0].backup_age_hours is None
    console = Console(record=True, width=200, color_system=None)
    print_report(console, fresh)
    assert "3.5 h ago" in console.export_text()


def test_a_failed_or_incomplete_last_backup_is_shown() -> None:
    """The newest run failed (here: a Solr export that wrote nothing): the last good backup
    keeps its age, and the failure is a problem named in the table."""
    answer = _backup_answer(26.0)
    document = json.loads(answer["stdout"])
    what = ("the backup of repo is incomplete: the export of Solr core repo-statistics holds 0 "
            "of the 400 documents Solr counts up to 2026-11-23T02:28:00.000Z (0 files, 0 rows)")
    document["last_run"] = {"ok": False, "time": "2026-11-23T02:30:00Z", "what": what,
                            "error": what + "; see journalctl -u dspace-repo-backup.service"}
    answer["stdout"] = json.dumps(document)
    report = collect([_report_event("web1", backup=[answer]), _stats("web1")])
    (inst,) = report.hosts["web1"].instances
    assert not report.ok and inst.backup_age_hours == 26.0
    assert inst.problems == [
        "last backup failed: the backup of repo is incomplete: the export of Solr core "
        "repo-statistics holds 0 of the 400 documents Solr counts up to "
        "2026-11-23T02:28:00.000Z (0 files, 0 rows)"]
    console = Console(record=True, width=400, color_system=None)
    print_report(console, report)
    text = console.export_text()
    assert "26.0 h ago, last run FAILED" in text and "holds 0 of the 400 documents" in text


def test_table_rendering() -> None:
    events = [_report_event("web1", health=[_answer({"status": "DOWN"})]),
              {"event": "runner_on_unreachable",
               "event_data": {"host": "web2", "res": {"msg": "no route to host"}}}]
    console = Console(record=True, width=200, color_system=None)
    print_report(console, collect(events))
    text = console.export_text()
    assert "DSpace 9.3" in text and "DOWN" in text and "health is DOWN" in text
    assert "unreachable" in text and "no route to host" in text
    assert "https://repo.example.edu/server/oai/request?verb=Identify" in text
    assert "something is down" in text


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """`status` with the site loading and the Ansible run replaced by canned events."""
    seen: dict[str, Any] = {"events": [_report_event("web1"), _stats("web1")]}
    # --limit is matched against the inventory's hosts before anything runs
    (tmp_path / "hosts.yml").write_text("all:\n  children:\n    dspace:\n      hosts:\n"
                                        "        web1: {}\n")
    site = Site(path=tmp_path, name="t", hosts=["web1"], hostvars={},
                vault_file=tmp_path / "v", vault_password_file=tmp_path / "p")
    monkeypatch.setattr(run_cmds, "load", lambda inventory, vault: site)

    def run(job: runner.Job, observer: Any = None) -> runner.RunResult:
        seen["job"] = job
        for event in seen["events"]:
            observer(event)
        return runner.RunResult(RunSummary(), "successful", 0, tmp_path / "artifacts")

    monkeypatch.setattr(runner, "run", run)
    return seen


def test_cli_json_and_exit_codes(fake_run: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["status", "-i", str(tmp_path), "--limit", "web1",
                                      "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["verb"] == "status" and document["ok"] is True
    assert document["hosts"]["web1"]["instances"][0]["version"] == "DSpace 9.3"
    job = fake_run["job"]
    assert (job.playbook, job.limit, job.check) == ("status.yml", "web1", False)

    fake_run["events"] = [_report_event("web1", health=[REFUSED]), _stats("web1")]
    result = CliRunner().invoke(app, ["status", "-i", str(tmp_path)])
    assert result.exit_code == 1
    assert "something is down" in result.stdout


def test_status_playbook_is_read_only() -> None:
    plays = yaml.safe_load((REPO / "playbooks" / "status.yml").read_text())
    tasks = [t for play in plays for t in play["tasks"]]
    for task in tasks:
        module = next(k for k in task if k.startswith("ansible.builtin."))
        assert module in ("ansible.builtin.command", "ansible.builtin.uri",
                          "ansible.builtin.debug"), module
        if module == "ansible.builtin.command":
            assert task["changed_when"] is False
        if module == "ansible.builtin.uri":
            assert task[module].get("method", "GET") == "GET"
            assert task[module]["url"].startswith("http://127.0.0.1:")
    assert tasks[-1]["name"] == "Report the status"
    assert tasks[-1]["ansible.builtin.debug"]["var"] == REPORT_KEY
