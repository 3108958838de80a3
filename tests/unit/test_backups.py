"""Backups, controller side: events of backup.yml / restore.yml -> reports, selection of
instance, host and target before anything runs, the drill's plan and its site files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from dspace_deploy import backups
from dspace_deploy.cli import app
from dspace_deploy.cli.backup_cmds import restore_selection
from dspace_deploy.drill import DrillPlan, drill_site_files, plan_drill
from dspace_deploy.errors import InputError
from dspace_deploy.site import Site

S3 = {"name": "offsite", "type": "s3", "bucket": "dspace", "endpoint": "http://10.88.0.1:9000"}
LOCAL = {"name": "local", "type": "local", "path": "/var/backups/dspace-deploy"}


def _site(tmp_path: Path, **hosts: dict[str, Any]) -> Site:
    return Site(path=tmp_path / "inventory", name="uni", hosts=list(hosts),
                hostvars=dict(hosts), vault_file=tmp_path / "vault.yml",
                vault_password_file=tmp_path / "pw.txt")


def _instance(name: str = "repo", **extra: Any) -> dict[str, Any]:
    return {"name": name, "hostname": f"{name}.example.edu", "line": "9", **extra}


def _ok(host: str, key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"event": "runner_on_ok", "event_data": {"host": host, "res": {key: value}}}


def test_backup_run_answers_are_parsed_per_instance() -> None:
    run = {"ok": True, "targets": [{"target": "local", "snapshot": "a1b2c3d4e5f6",
                                    "added_bytes": 2048, "files_new": 3, "ok": True}],
           "manifest": {"dspace_version": "9.3", "schema_version": "9.0.2025.03.12",
                        "counts": {"items": 12, "bitstreams": 30}, "assetstore_bytes": 4096}}
    events = [_ok("h1", backups.BACKUP_KEY, {
        "action": "run", "installed": True, "instances": ["repo", "other"],
        "results": [{"rc": 0, "stdout": json.dumps(run), "stderr": ""},
                    {"rc": 1, "stdout": "", "stderr": "restic: warming up\ndspace-backup: "
                     "target offsite: connection refused; check the endpoint"}]})]
    report = backups.parse_backup_events(events, "run")
    assert [a.instance for a in report.answers] == ["repo", "other"]
    assert report.answers[0].ok and report.answers[0].data == run
    assert not report.answers[1].ok
    assert report.answers[1].error.startswith("dspace-backup: target offsite")  # last line
    assert not report.ok
    lines = backups.describe(report.answers[0], "run")
    assert "12 items, 30 bitstreams, assetstore 4.0 KiB" in lines[1]
    assert "snapshot a1b2c3d4 (added 2.0 KiB, 3 new files)" in lines[2]
    assert "FAILED" in backups.describe(report.answers[1], "run")[0]


def test_a_host_without_the_program_is_told_to_run_up() -> None:
    events = [_ok("h1", backups.BACKUP_KEY, {"action": "list", "installed": False,
                                             "instances": ["repo"], "results": []})]
    report = backups.parse_backup_events(events, "list")
    assert not report.ok and "dspace-deploy up" in report.problems["h1"]


def test_unreachable_and_failed_hosts_are_problems() -> None:
    events = [
        {"event": "runner_on_unreachable",
         "event_data": {"host": "h2", "res": {"msg": "ssh: connect to host h2 port 22"}}},
        {"event": "runner_on_failed",
         "event_data": {"host": "h3", "task": "Check the action", "res": {"msg": "bad"}}},
    ]
    report = backups.parse_backup_events(events, "run")
    assert set(report.problems) == {"h2", "h3"} and not report.ok


def test_success_without_json_is_not_ok() -> None:
    events = [_ok("h1", backups.BACKUP_KEY, {"installed": True, "instances": ["repo"],
                                             "results": [{"rc": 0, "stdout": "hello"}]})]
    answer = backups.parse_backup_events(events, "run").answers[0]
    assert not answer.ok and "no JSON" in answer.error


def test_restore_refusal_is_marked() -> None:
    events = [_ok("h1", backups.RESTORE_KEY, {
        "instance": "repo", "rc": backups.REFUSED_RC, "stdout": "",
        "stderr": "dspace-backup: snapshot schema 9.1 is older than the database's 9.3; "
                  "add --allow-older-schema"})]
    report = backups.parse_restore_events(events)
    answer = report.answers[0]
    assert answer.refused and not answer.ok
    assert backups.describe(answer, "restore")[0].startswith("h1 · repo: REFUSED")


def test_restore_proof_lines() -> None:
    proof = {"ok": False, "checks": {
        "counts": {"items": {"ok": True, "expected": 12, "actual": 12}},
        "bitstreams": {"ok": False, "detail": "1 file with another MD5"}}}
    events = [_ok("h1", backups.RESTORE_KEY, {
        "instance": "repo", "rc": 0, "stdout": json.dumps({"snapshot": "abcdef123456",
                                                           "proof": proof})})]
    lines = backups.describe(backups.parse_restore_events(events).answers[0], "restore")
    assert "NOT proved" in lines[1]
    assert lines[2].strip() == "ok  counts items: 12 (manifest: 12)"
    assert lines[3].strip() == "BAD bitstreams: 1 file with another MD5"


def test_an_incomplete_backup_and_a_failed_proof_say_what_failed() -> None:
    problem = ("the export of Solr core repo-statistics holds 0 of the 400 documents Solr "
               "counts up to 2026-12-04T02:28:00.000Z (0 files, 0 rows)")
    record = {"ok": False, "targets": [{"target": "local", "snapshot": "a1b2c3d4e5f6",
                                        "ok": True, "complete": False}],
              "manifest": {"counts": {"items": 1, "bitstreams": 1}, "problems": [problem],
                           "complete": False}}
    events = [_ok("h1", backups.BACKUP_KEY, {
        "action": "run", "installed": True, "instances": ["repo"],
        "results": [{"rc": 1, "stdout": json.dumps(record),
                     "stderr": f"dspace-backup: the backup of repo is incomplete: {problem}; "
                               "see journalctl"}]})]
    (answer,) = backups.parse_backup_events(events, "run").answers
    lines = backups.describe(answer, "run")
    assert "FAILED: dspace-backup: the backup of repo is incomplete" in lines[0]
    assert f"  INCOMPLETE: {problem}" in lines
    proof = {"ok": False, "checks": {"solr": {"statistics": {"ok": False, "expected": 400,
                                                             "actual": 0}}}}
    events = [_ok("h1", backups.RESTORE_KEY, {
        "instance": "repo", "rc": 1, "stdout": json.dumps({"snapshot": "abc", "proof": proof}),
        "stderr": "dspace-backup: the restore of abc does not match its manifest; see"})]
    lines = backups.describe(backups.parse_restore_events(events).answers[0], "restore")
    assert lines[0].startswith("h1 · repo: FAILED") and "NOT proved" in lines[1]
    assert lines[2].strip() == "BAD solr statistics: 0 (manifest: 400)"
    listing = {"snapshots": [{"target": "local", "short_id": "a1b2c3d4", "complete": False,
                              "incomplete": ["statistics"], "counts": {}}]}
    (line,) = backups._describe_list(listing)
    assert line.endswith("INCOMPLETE (statistics)")


def test_restore_selection(tmp_path: Path) -> None:
    site = _site(tmp_path, old={"dspace_instances": [_instance()],
                                "dspace_backup_targets": [LOCAL, S3]},
                 new={"dspace_instances": [_instance()], "dspace_backup_targets": [S3]},
                 other={"dspace_instances": [_instance("lib")],
                        "dspace_backup_targets": [LOCAL]})
    with pytest.raises(InputError, match="Which instance"):
        restore_selection(site, None, None, None)
    with pytest.raises(InputError, match="runs on 2 hosts"):
        restore_selection(site, "repo", None, None)
    assert restore_selection(site, "repo", None, "old") == ("old", "repo", "local")
    assert restore_selection(site, "repo", None, "new") == ("new", "repo", "offsite")
    with pytest.raises(InputError, match="does not run instance repo"):
        restore_selection(site, "repo", None, "other")
    with pytest.raises(InputError, match="not in the inventory"):
        restore_selection(site, "repo", None, "gone")
    with pytest.raises(InputError, match="no backup target 'local'"):
        restore_selection(site, "repo", "local", "new")
    assert restore_selection(site, "lib", None, None)[0] == "other"


def test_drill_needs_a_remote_target(tmp_path: Path) -> None:
    site = _site(tmp_path, h1={"dspace_instances": [_instance()],
                               "dspace_backup_targets": [LOCAL]})
    with pytest.raises(InputError, match="cannot read the disk of h1"):
        plan_drill(site, None, None, "latest", "debian13")
    site.hostvars["h1"]["dspace_backup_targets"] = [LOCAL, S3]
    plan = plan_drill(site, None, None, "latest", "debian13")
    assert plan.target["name"] == "offsite" and plan.source_host == "h1"
    with pytest.raises(InputError, match="cannot read"):
        plan_drill(site, None, "local", "latest", "debian13")
    with pytest.raises(InputError, match="debian13"):
        plan_drill(site, None, None, "latest", "centos")


def test_drill_site_copies_the_instance_for_a_lab_host(tmp_path: Path) -> None:
    acme = _instance(tls_mode="acme", acme_email="it@example.edu", port_slot=3)
    site = _site(tmp_path, h1={"dspace_instances": [acme, _instance("lib")],
                               "dspace_backup_targets": [S3], "common_timezone": "UTC",
                               "ansible_host": "192.0.2.7", "site_name": "uni"})
    plan = DrillPlan("repo", "h1", S3, "latest", "debian13")
    files = drill_site_files(site, plan, "drill-1", {"ansible_host": "10.88.0.9"},
                             {"common_extra_ca_certificates": []})
    hosts = yaml.safe_load(files["hosts.yml"])
    host = hosts["all"]["children"]["dspace"]["hosts"]["drill-1"]
    assert host["ansible_host"] == "10.88.0.9"
    (entry,) = host["dspace_instances"]
    assert entry["name"] == "repo" and entry["tls_mode"] == "selfsigned"
    assert "acme_email" not in entry and "port_slot" not in entry
    group = yaml.safe_load(files["group_vars/all/site.yml"])
    assert group["site_name"] == "drill-uni"
    assert group["dspace_backup_targets"] == [S3] and group["common_timezone"] == "UTC"
    assert "ansible_host" not in group and "dspace_instances" not in group


@pytest.fixture
def cli_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The CLI with site loading replaced and the Ansible run fed canned events."""
    from dspace_deploy import runner
    from dspace_deploy.cli import run_cmds
    from dspace_deploy.events import RunSummary

    site = _site(tmp_path, h1={"dspace_instances": [_instance()],
                               "dspace_backup_targets": [LOCAL, S3]})
    seen: dict[str, Any] = {"jobs": [], "events": []}
    monkeypatch.setattr(run_cmds, "load", lambda inventory, vault: site)

    def run(job: runner.Job, observer: Any = None) -> runner.RunResult:
        seen["jobs"].append(job)
        for event in seen["events"]:
            observer(event)
        return runner.RunResult(RunSummary(), "successful", 0, tmp_path / "artifacts")

    monkeypatch.setattr(runner, "run", run)
    return seen


def test_backup_rejects_unknown_names_before_contacting_hosts(cli_site: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["backup", "--target", "nowhere"])
    assert isinstance(result.exception, InputError)  # main() turns it into exit 2
    assert "Unknown backup target nowhere" in str(result.exception)
    result = CliRunner().invoke(app, ["backup", "list", "--instance", "nope"])
    assert isinstance(result.exception, InputError)
    assert "no instance 'nope'" in str(result.exception)
    assert cli_site["jobs"] == []


def test_backup_json_document(cli_site: dict[str, Any]) -> None:
    run = {"snapshots": [{"target": "offsite", "id": "ffff0000", "ok": True}],
           "manifest": {"counts": {"items": 1, "bitstreams": 2}}}
    cli_site["events"] = [_ok("h1", backups.BACKUP_KEY, {
        "action": "run", "installed": True, "instances": ["repo"],
        "results": [{"rc": 0, "stdout": json.dumps(run), "stderr": ""}]})]
    result = CliRunner().invoke(app, ["backup", "--target", "offsite", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] and document["instances"][0]["data"] == run
    (job,) = cli_site["jobs"]
    assert job.playbook == "backup.yml"
    assert job.extravars["backup_action"] == "run"
    assert job.extravars["backup_targets"] == ["offsite"]


def test_backup_verify_passes_read_data(cli_site: dict[str, Any]) -> None:
    cli_site["events"] = [_ok("h1", backups.BACKUP_KEY, {
        "action": "check", "installed": True, "instances": ["repo"],
        "results": [{"rc": 1, "stdout": "{}", "stderr": "dspace-backup: pack 3f2a is damaged"}]})]
    result = CliRunner().invoke(app, ["backup", "verify", "--read-data"])
    assert result.exit_code == 1 and "pack 3f2a is damaged" in result.stdout
    assert cli_site["jobs"][0].extravars["backup_read_data"] is True


def test_restore_without_a_terminal_needs_yes(cli_site: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["restore", "--snapshot", "latest"])
    assert isinstance(result.exception, InputError) and "--yes" in str(result.exception)
    assert cli_site["jobs"] == []


def test_restore_reports_the_proof(cli_site: dict[str, Any]) -> None:
    proof = {"ok": True, "checks": {"bitstreams": {"ok": True, "detail": "2 of 2"}}}
    cli_site["events"] = [_ok("h1", backups.RESTORE_KEY, {
        "instance": "repo", "rc": 0, "stdout": json.dumps({"snapshot": "ab12cd34",
                                                 "proof": proof})})]
    result = CliRunner().invoke(app, ["restore", "--snapshot", "ab12cd34", "--yes",
                                      "--target", "offsite"])
    assert result.exit_code == 0, result.output
    assert "proved complete" in result.stdout
    (job,) = cli_site["jobs"]  # no --to: no converge first
    assert job.playbook == "restore.yml" and job.limit == "h1"
    assert job.extravars == {"restore_instance": "repo", "restore_target": "offsite",
                             "restore_snapshot": "ab12cd34", "restore_allow_older_schema": False}


def test_human_bytes() -> None:
    assert backups.human_bytes(512) == "512 B"
    assert backups.human_bytes(1536) == "1.5 KiB"
    assert backups.human_bytes(None) == "?"


def test_backup_target_rules() -> None:
    from dspace_deploy.inventory.loader import VarEntry
    from dspace_deploy.inventory.rules import _backup_targets

    entry = VarEntry([LOCAL, {"name": "local", "type": "local", "path": "backups"},
                      {"name": "s", "type": "s3", "endpoint": "minio:9000"},
                      {"name": "f", "type": "sftp", "path": "/srv/b"}],
                     Path("group_vars/all/site.yml"), 12)
    found = {(f.key, f.what) for f in _backup_targets("h1", entry)}
    assert ("dspace_backup_targets[1].name", "'local' names two targets") in found
    assert ("dspace_backup_targets[1].path", "is 'backups', not an absolute path") in found
    assert ("dspace_backup_targets[2].bucket",
            "is not set, and a s3 target needs it") in found
    assert ("dspace_backup_targets[2].endpoint",
            "is 'minio:9000', not an http(s):// URL") in found
    assert ("dspace_backup_targets[3].host", "is not set, and a sftp target needs it") in found
    assert len(found) == 5
    assert _backup_targets("h1", VarEntry([LOCAL, S3], Path("x.yml"))) == []


def test_backup_passwords_are_generated_once() -> None:
    from dspace_deploy.inventory.vault import fill_backup_secrets

    data: dict[str, Any] = {}
    assert fill_backup_secrets(data, []) == [] and data == {}
    added = fill_backup_secrets(data, ["local", "offsite"])
    assert added == ["vault_backup_secrets.local.password",
                     "vault_backup_secrets.offsite.password"]
    first = data["vault_backup_secrets"]["offsite"]["password"]
    data["vault_backup_secrets"]["offsite"]["aws_access_key_id"] = "AKIA"
    assert fill_backup_secrets(data, ["local", "offsite"]) == []
    assert data["vault_backup_secrets"]["offsite"] == {"password": first,
                                                       "aws_access_key_id": "AKIA"}


def test_options_before_the_subcommand_count(cli_site: dict[str, Any]) -> None:
    cli_site["events"] = [_ok("h1", backups.BACKUP_KEY, {
        "action": "list", "installed": True, "instances": ["repo"],
        "results": [{"rc": 0, "stdout": json.dumps({"ok": True, "snapshots": []})}]})]
    result = CliRunner().invoke(app, ["backup", "--target", "offsite", "--json", "list",
                                      "--instance", "repo"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["action"] == "list"
    (job,) = cli_site["jobs"]
    assert job.extravars["backup_targets"] == ["offsite"]
    assert job.extravars["backup_instance"] == "repo"
