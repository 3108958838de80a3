"""Upgrades, controller side (dspace_deploy/upgrades.py, cli/upgrade_cmds.py): the events of
upgrade.yml / rollback.yml runs -> reports -> lines and exit codes, and the verbs against
recorded event streams (no host)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dspace_deploy import upgrades
from dspace_deploy.cli import app
from dspace_deploy.errors import InputError
from dspace_deploy.site import Site
from dspace_deploy.upgrades import parse_upgrade_events

PASSING = [{"name": "path", "ok": True, "detail": "patch upgrade 9.2 to 9.3", "fix": ""},
           {"name": "disk", "ok": True, "detail": "1.2 GiB needed, available", "fix": ""}]
FAILING = [{"name": "path", "ok": True, "detail": "patch upgrade 9.2 to 9.3", "fix": ""},
           {"name": "backup", "ok": False, "detail": "no backup of the instance has run yet",
            "fix": "run `dspace-deploy backup --instance repo` and plan again"}]
STEPS = ["show a maintenance page (HTTP 503, Retry-After) for the UI and the REST API",
         "migrate the database explicitly (database migrate, database info, then migrate "
         "ignored for the back-dated migrations a plain migrate leaves Ignored)",
         "update the search index (index-discovery)"]


def planned(instance: str = "repo", **changes: Any) -> dict[str, Any]:
    item = {"instance": instance, "from": "9.2", "to": "9.3", "kind": "patch",
            "supported": True, "reason": "", "steps": STEPS, "prechecks": PASSING,
            "disk_needed_bytes": 1288490188, "downtime_estimate_s": 240, "status": ""}
    item.update(changes)
    return item


def report_event(host: str, mode: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"event": "runner_on_ok", "event_data": {
        "host": host, "task": "Report the upgrade",
        "res": {upgrades.REPORT_KEY: {"mode": mode, "instances": list(items)}}}}


def flat(text: str) -> str:
    """Printed text without the console's line wrapping."""
    return " ".join(text.split())


def task_start(name: str) -> dict[str, Any]:
    return {"event": "playbook_on_task_start", "event_data": {"task": name}}


# --- events -> report ------------------------------------------------------------------------


def test_plan_report_is_parsed_per_host_and_instance() -> None:
    events = [report_event("h1", "plan", planned(), planned("other", **{"from": "9.3"})),
              report_event("h2", "plan", planned("third", prechecks=FAILING))]
    report = parse_upgrade_events(events, "upgrade", "plan")
    assert [(i.host, i.instance, i.outcome) for i in report.instances] == [
        ("h1", "repo", "planned"), ("h1", "other", "none"), ("h2", "third", "refused")]
    assert [i.instance for i in report.to_change] == ["repo"]
    assert report.exit_code == upgrades.EXIT_REFUSED == 5
    first = report.instances[0]
    assert (first.from_version, first.to_version, first.kind) == ("9.2", "9.3", "patch")
    assert first.disk_needed_bytes == 1288490188 and first.prechecks[0].ok
    json.dumps(report.as_dict())
    assert report.as_dict()["instances"][0]["from"] == "9.2"


def test_unreachable_and_failed_hosts_are_problems_unless_they_reported() -> None:
    events = [
        {"event": "runner_on_unreachable", "event_data": {
            "host": "h2", "task": "Gathering Facts", "res": {"msg": "ssh: connection refused"}}},
        {"event": "runner_on_failed", "event_data": {
            "host": "h1", "task": "Upgrade phase precheck: Read the record",
            "res": {"msg": "boom"}, "ignore_errors": True}},
        {"event": "runner_on_failed", "event_data": {
            "host": "h3", "task": "Upgrade phase precheck: Gather facts", "res": {"msg": "oops"}}},
        report_event("h1", "plan", planned()),
    ]
    report = parse_upgrade_events(events, "upgrade", "plan")
    assert report.problems == {"h2": "unreachable: ssh: connection refused",
                               "h3": "Upgrade phase precheck: Gather facts: oops"}
    assert report.exit_code == 1


@pytest.mark.parametrize(("status", "extra", "verb", "outcome", "code"), [
    ("done", {}, "upgrade", "done", 0),
    ("rolled_back", {"failed_phase": "migrate"}, "upgrade", "rolled_back", 1),
    ("rollback_failed", {"failed_phase": "solr"}, "upgrade", "rollback_failed", 1),
    ("failed", {"failed_phase": "precheck"}, "upgrade", "refused", 5),
    ("refused", {}, "upgrade", "refused", 5),
    ("failed", {"failed_phase": "start"}, "upgrade", "failed", 1),
    ("rolled_back", {}, "rollback", "rolled_back", 0),
    ("rollback_failed", {}, "rollback", "rollback_failed", 1),
])
def test_outcomes_and_exit_codes(status: str, extra: dict[str, Any], verb: str, outcome: str,
                                 code: int) -> None:
    report = parse_upgrade_events([report_event("h1", "run", planned(status=status, **extra))],
                                  verb, "run")
    assert report.instances[0].outcome == outcome
    assert report.exit_code == code


def test_the_record_error_shape_is_accepted() -> None:
    (item,) = parse_upgrade_events([report_event("h1", "run", planned(
        status="rolled_back", error={"phase": "migrate", "message": "V9.0_2025.03.12 failed"}))],
        "upgrade", "run").instances
    assert item.failed_phase == "migrate" and item.error == "V9.0_2025.03.12 failed"


def test_plan_lines_show_steps_disk_downtime_and_every_precheck() -> None:
    (item,) = parse_upgrade_events([report_event("h1", "plan", planned(prechecks=FAILING))],
                                   "upgrade", "plan").instances
    text = "\n".join(upgrades.describe_plan(item))
    assert "repo on h1: 9.2 -> 9.3 (patch upgrade)" in text
    assert "1. show a maintenance page" in text and "3. update the search index" in text
    assert "rebuilt or reindexed: update the search index (index-discovery)" in text
    assert "disk needed: 1.2 GiB; expected downtime: ~4 min 00 s" in text
    assert "✓ path: patch upgrade 9.2 to 9.3" in text
    assert "✗ backup: no backup of the instance has run yet" in text
    assert "fix: run `dspace-deploy backup --instance repo`" in text


def test_a_refused_path_says_why() -> None:
    (item,) = parse_upgrade_events([report_event("h1", "plan", planned(
        supported=False, to="10.0", kind="none", steps=[],
        reason="DSpace 8.4 to DSpace 10.0 crosses 2 majors ... set version 9.3"))],
        "upgrade", "plan").instances
    assert item.outcome == "refused"
    assert "REFUSED: DSpace 8.4 to DSpace 10.0 crosses 2 majors" in "\n".join(
        upgrades.describe_plan(item))


def test_result_lines() -> None:
    def lines(verb: str, **changes: Any) -> str:
        (item,) = parse_upgrade_events([report_event("h1", "run", planned(**changes))], verb,
                                       "run").instances
        return "\n".join(upgrades.describe_result(item, verb))

    done = lines("upgrade", status="done", downtime_s=133.4,
                 downtime={"start": "01:02:03", "end": "01:04:16"},
                 snapshot={"target": "local", "id": "a1b2c3d4e5f6"})
    assert "repo on h1: upgraded 9.2 -> 9.3 (patch)" in done
    assert "downtime: 2 min 13 s (01:02:03 to 01:04:16)" in done
    assert "pre-upgrade snapshot: local:a1b2c3d4" in done
    back = lines("upgrade", status="rolled_back", failed_phase="migrate",
                 error="migration V9.0_2025.03.12 failed")
    assert "FAILED in phase migrate: migration V9.0_2025.03.12 failed" in back
    assert "rolled back: the instance is back on 9.2" in back
    broken = lines("upgrade", status="rollback_failed", failed_phase="solr", phase="solr",
                   snapshot={"target": "local", "id": "ffff0000"}, error="restore failed")
    assert "ROLLBACK FAILED" in broken and "--snapshot ffff0000" in broken
    # a rollback reports the direction it goes: from the upgraded release to the one before
    by_hand = lines("rollback", status="rolled_back", **{"from": "9.3", "to": "9.2"})
    assert "rolled back 9.3 -> 9.2: the instance is back on 9.2" in by_hand
    assert 'set version: "9.2"' in by_hand
    noted = lines("rollback", status="rolled_back", **{"from": "9.3", "to": "9.2"},
                  notes=["set version 9.2 for repo in the inventory"])
    assert "set version 9.2 for repo" in noted and 'set version: "9.2"' not in noted
    failed = lines("rollback", status="rollback_failed", failed_phase="migrate",
                   snapshot={"id": "ab12cd34"}, **{"from": "9.3", "to": "9.2"})
    assert "the ROLLBACK FAILED in phase migrate" in failed and "--snapshot ab12cd34" in failed
    refused = lines("upgrade", status="refused", prechecks=FAILING)
    assert "REFUSED, nothing was changed" in refused and "✗ backup" in refused


def test_loss_lines() -> None:
    item = upgrades.InstanceUpgrade("h1", "repo", "9.2", "9.3", finished="2026-12-05T01:04:16Z")
    assert "nothing is lost" in "\n".join(upgrades.describe_loss(item))
    item.lost_since = {"since": "2026-12-05T01:04:16Z", "counts": {"items": 3, "bitstreams": 5},
                       "detail": ["statistics: 120 views"]}
    text = "\n".join(upgrades.describe_loss(item))
    assert "LOST by the rollback, written to repo since 2026-12-05T01:04:16Z: 3 items, " \
           "5 bitstreams" in text and "statistics: 120 views" in text
    # the hosts' shape: rows beyond the pre-upgrade copy, per table
    item.lost_since = {"available": True, "since": "T", "item": 2, "bitstream": 0}
    assert "written to repo since T: 2 item" in "\n".join(upgrades.describe_loss(item))
    item.lost_since = {"available": True, "since": "T", "item": 0}
    assert "nothing is lost" in "\n".join(upgrades.describe_loss(item))
    item.lost_since = {"available": False, "since": "T"}
    assert "could NOT be counted" in "\n".join(upgrades.describe_loss(item))


def test_phase_task_names() -> None:
    assert upgrades.phase_of(task_start("Upgrade phase migrate: Migrate the database")) == (
        "Upgrade", "migrate")
    assert upgrades.phase_of(task_start("Rollback phase ui: Switch the UI back")) == (
        "Rollback", "ui")
    assert upgrades.phase_of(task_start("Install the backend")) is None
    assert upgrades.phase_line("Upgrade", "migrate") == "upgrade phase 7/12: migrate"


def test_pending_upgrades_of_up() -> None:
    events = [{"event": "runner_on_ok", "event_data": {"host": "h1", "res": {
        upgrades.PENDING_KEY: [{"instance": "repo", "running": "9.2", "inventory": "9.3"}]}}}]
    (pending,) = upgrades.pending_upgrades(events)
    assert pending.line() == ("repo on h1 runs 9.2, the inventory says 9.3: left unchanged; "
                              "run `dspace-deploy upgrade --instance repo`")
    events[0]["event_data"]["res"][upgrades.PENDING_KEY] = [
        {"instance": "repo", "running": "8.4", "inventory": "9.3", "holds_solr": True}]
    (pending,) = upgrades.pending_upgrades(events)
    assert "the host's Solr too" in pending.line() and pending.holds_solr


# --- the verbs, against canned runs ------------------------------------------------------------


def _site(tmp_path: Path) -> Site:
    def inst(name: str) -> dict[str, Any]:
        return {"name": name, "hostname": f"{name}.example.edu", "line": "9", "version": "9.3"}

    return Site(path=tmp_path / "inventory", name="uni", hosts=["h1", "h2"],
                hostvars={"h1": {"dspace_instances": [inst("repo"), inst("other")]},
                          "h2": {"dspace_instances": [inst("repo")]}},
                vault_file=tmp_path / "vault.yml", vault_password_file=tmp_path / "pw.txt")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The CLI with the site given and every Ansible run fed canned events per mode."""
    from dspace_deploy import bundles, runner
    from dspace_deploy.cli import run_cmds
    from dspace_deploy.events import RunSummary

    site = _site(tmp_path)
    seen: dict[str, Any] = {"jobs": [], "events": {}, "bundles": []}
    monkeypatch.setattr(run_cmds, "load", lambda inventory, vault: site)

    def resolve(site_: Site, artifacts: Any, releases: Any = None) -> dict[str, Any]:
        seen["bundles"].append(releases)
        if releases and seen.get("missing_old"):
            raise InputError("no bundle of DSpace 9.2 (dspace) for line 9")
        return {}

    monkeypatch.setattr(bundles, "resolve_bundles", resolve)

    def run(job: runner.Job, observer: Any = None) -> runner.RunResult:
        seen["jobs"].append(job)
        for event in seen["events"].get(job.extravars["upgrade_mode"], []):
            observer(event)
        return runner.RunResult(RunSummary(stats_seen=True), "successful", 0,
                                tmp_path / f"artifacts-{len(seen['jobs'])}")

    monkeypatch.setattr(runner, "run", run)
    return seen


def _modes(cli: dict[str, Any]) -> list[tuple[str, str]]:
    return [(j.playbook, j.extravars["upgrade_mode"]) for j in cli["jobs"]]


def test_upgrade_plan_changes_nothing(cli: dict[str, Any]) -> None:
    cli["events"]["plan"] = [report_event("h1", "plan", planned())]
    result = CliRunner().invoke(app, ["upgrade", "--plan", "--instance", "repo"])
    assert result.exit_code == 0, result.output
    assert _modes(cli) == [("upgrade.yml", "plan")]
    assert cli["jobs"][0].extravars["upgrade_instances"] == ["repo"]
    assert "repo on h1: 9.2 -> 9.3 (patch upgrade)" in flat(result.stdout)
    assert "can be upgraded: run without --plan" in flat(result.stdout)


def test_upgrade_plan_refused_exits_5(cli: dict[str, Any]) -> None:
    cli["events"]["plan"] = [report_event("h1", "plan", planned(prechecks=FAILING))]
    result = CliRunner().invoke(app, ["upgrade", "--plan", "--json"])
    assert result.exit_code == 5, result.output
    document = json.loads(result.stdout)  # exactly one document
    assert document["verb"] == "upgrade" and document["mode"] == "plan"
    assert document["exit_code"] == 5 and document["ok"] is False
    assert document["instances"][0]["outcome"] == "refused"
    assert document["instances"][0]["prechecks"][1]["fix"].startswith("run `dspace-deploy")


def test_upgrade_needs_consent_without_a_terminal(cli: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["upgrade"])
    assert isinstance(result.exception, InputError)  # main() turns it into exit 2
    assert "--yes" in str(result.exception) and "Nothing was contacted" in str(result.exception)
    assert cli["jobs"] == []


def test_unknown_instance_is_refused_before_any_host(cli: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["upgrade", "--plan", "--instance", "nope"])
    assert isinstance(result.exception, InputError)
    assert "No instance 'nope' on site uni" in str(result.exception)
    assert "other, repo" in str(result.exception)
    result = CliRunner().invoke(app, ["rollback", "--instance", "nope", "--yes"])
    assert isinstance(result.exception, InputError) and cli["jobs"] == []


def test_upgrade_runs_after_the_plan_with_yes(cli: dict[str, Any]) -> None:
    cli["events"]["plan"] = [report_event("h1", "plan", planned(),
                                          planned("other", **{"from": "9.3"}))]
    cli["events"]["run"] = [task_start("Upgrade phase precheck: Gather the host facts"),
                            task_start("Upgrade phase migrate: Migrate the database"),
                            report_event("h1", "run", planned(status="done", downtime_s=95))]
    result = CliRunner().invoke(app, ["upgrade", "--yes"])
    assert result.exit_code == 0, result.output
    assert _modes(cli) == [("upgrade.yml", "plan"), ("upgrade.yml", "run")]
    # only the instances that change go to the run
    assert cli["jobs"][1].extravars["upgrade_instances"] == ["repo"]
    # the installed release's bundle was asked for before the run (rollback)
    (releases,) = [r for r in cli["bundles"] if r]
    assert [(r.line, r.flavor, r.version) for r in releases] == [("9", "dspace", "9.2")]
    assert "upgrade phase 7/12: migrate" in flat(result.stdout)
    assert "repo on h1: upgraded 9.2 -> 9.3" in flat(result.stdout)
    assert "downtime: 1 min 35 s" in flat(result.stdout)


def test_upgrade_stops_before_the_run_when_the_old_release_has_no_bundle(
        cli: dict[str, Any]) -> None:
    cli["events"]["plan"] = [report_event("h1", "plan", planned())]
    cli["missing_old"] = True
    result = CliRunner().invoke(app, ["upgrade", "--yes"])
    assert isinstance(result.exception, InputError) and "DSpace 9.2" in str(result.exception)
    assert _modes(cli) == [("upgrade.yml", "plan")]


def test_a_failed_upgrade_that_rolled_back_exits_1_with_one_json_document(
        cli: dict[str, Any]) -> None:
    cli["events"]["plan"] = [report_event("h1", "plan", planned())]
    cli["events"]["run"] = [report_event("h1", "run", planned(
        status="rolled_back", failed_phase="start", error="backend never became healthy",
        phase="start"))]
    result = CliRunner().invoke(app, ["upgrade", "--yes", "--json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["mode"] == "run" and document["plan"]["instances"][0]["outcome"] == "planned"
    (item,) = document["instances"]
    assert item["outcome"] == "rolled_back" and item["failed_phase"] == "start"
    assert len(document["artifacts"]) == 2


def test_nothing_to_upgrade(cli: dict[str, Any]) -> None:
    cli["events"]["plan"] = [report_event("h1", "plan", planned(**{"from": "9.3"}))]
    result = CliRunner().invoke(app, ["upgrade", "--yes"])
    assert result.exit_code == 0 and _modes(cli) == [("upgrade.yml", "plan")]
    assert "nothing to upgrade" in flat(result.stdout)


def test_upgrade_asks_on_a_terminal(cli: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from dspace_deploy.cli import upgrade_cmds

    monkeypatch.setattr(upgrade_cmds, "_interactive", lambda: True)
    cli["events"]["plan"] = [report_event("h1", "plan", planned())]
    result = CliRunner().invoke(app, ["upgrade"], input="n\n")
    assert result.exit_code != 0 and _modes(cli) == [("upgrade.yml", "plan")]
    assert "Upgrade 1 instance now?" in result.output


def test_rollback_shows_the_loss_then_runs(cli: dict[str, Any]) -> None:
    lost = {"available": True, "since": "2026-12-05T01:04:16Z", "items": 2}
    back = {"from": "9.3", "to": "9.2"}
    cli["events"]["plan"] = [report_event("h1", "plan", planned(
        "other", status="planned", lost_since=lost, **back))]
    cli["events"]["run"] = [report_event("h1", "run", planned(
        "other", status="rolled_back", **back))]
    result = CliRunner().invoke(app, ["rollback", "--instance", "other", "--yes"])
    assert result.exit_code == 0, result.output
    assert _modes(cli) == [("rollback.yml", "plan"), ("rollback.yml", "run")]
    assert cli["jobs"][0].limit == "h1" and cli["jobs"][0].extravars["upgrade_instances"] == [
        "other"]
    assert "LOST by the rollback" in flat(result.stdout) and "2 items" in flat(result.stdout)
    assert "other on h1: rolled back 9.3 -> 9.2: the instance is back on 9.2" in flat(
        result.stdout)
    # the bundle of the release it returns to was asked for before the run
    (releases,) = [r for r in cli["bundles"] if r]
    assert [(r.line, r.version) for r in releases] == [("9", "9.2")]


def test_rollback_of_an_instance_on_two_hosts_needs_limit(cli: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["rollback", "--instance", "repo", "--yes"])
    assert isinstance(result.exception, InputError) and "--limit HOST" in str(result.exception)
    assert cli["jobs"] == []


def test_rollback_refused_when_there_is_nothing_to_undo(cli: dict[str, Any]) -> None:
    cli["events"]["plan"] = [report_event("h1", "plan", planned(
        supported=False, reason="no completed upgrade of other is recorded on h1"))]
    result = CliRunner().invoke(app, ["rollback", "--instance", "other", "--yes", "--json"])
    assert result.exit_code == 5
    assert json.loads(result.stdout)["instances"][0]["reason"].startswith("no completed")


def test_up_lists_instances_waiting_for_an_upgrade(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from dspace_deploy import runner
    from dspace_deploy.cli import run_cmds
    from dspace_deploy.events import RunSummary, summarize

    site = _site(tmp_path)
    monkeypatch.setattr(run_cmds, "load", lambda inventory, vault: site)
    stats = {"event": "playbook_on_stats", "event_data": {"ok": {"h1": 3}, "changed": {}}}
    pending = {"event": "runner_on_ok", "event_data": {"host": "h1", "res": {
        upgrades.PENDING_KEY: [{"instance": "repo", "running": "9.2", "inventory": "9.3"}]}}}

    def run(job: runner.Job, observer: Any = None) -> runner.RunResult:
        for event in (pending, stats):
            observer(event)
        summary: RunSummary = summarize([stats])
        return runner.RunResult(summary, "successful", 0, tmp_path / "a")

    monkeypatch.setattr(runner, "run", run)
    result = CliRunner().invoke(app, ["up", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["upgrade_pending"] == [
        {"host": "h1", "instance": "repo", "running": "9.2", "inventory": "9.3",
         "holds_solr": False}]
    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    assert "repo on h1 runs 9.2, the inventory says 9.3: left unchanged; run `dspace-deploy " \
           "upgrade --instance repo`" in flat(result.stdout)


def test_the_release_a_rollback_returns_to(tmp_path: Path) -> None:
    from dspace_deploy.cli.upgrade_cmds import _installed_releases

    site = _site(tmp_path)
    site.hostvars["h2"]["dspace_instances"] = [
        {"name": "cris", "hostname": "cris.example.edu", "line": "9", "flavor": "cris"}]
    report = parse_upgrade_events([
        report_event("h1", "plan", planned(), planned("other", **{"from": "9.3"})),
        report_event("h2", "plan", planned("cris", **{"from": "2024.02.04",
                                                      "to": "2025.02.01", "kind": "cris"}))],
        "upgrade", "plan")
    releases = _installed_releases(site, report)
    assert sorted((r.line, r.flavor, r.version) for r in releases) == [
        ("8", "cris", "2024.02.04"), ("9", "dspace", "9.2")]
    assert all(why for whys in releases.values() for why in whys)


def test_a_refused_plan_names_the_way_to_go_ahead_with_the_others(cli: dict[str, Any]) -> None:
    cli["events"]["plan"] = [report_event("h1", "plan", planned(),
                                          planned("other", prechecks=FAILING))]
    result = CliRunner().invoke(app, ["upgrade", "--yes"])
    assert result.exit_code == 5 and _modes(cli) == [("upgrade.yml", "plan")]
    assert "Refused (1 instance): nothing was changed; the others can go ahead alone" in flat(
        result.stdout)
