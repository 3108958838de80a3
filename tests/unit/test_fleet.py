"""Fleet rollouts (dspace_deploy/fleet.py, cli/fleet_cmd.py): waves, max-fail, the journal,
resume decisions, and `upgrade --waves/--canary/--max-fail/--resume` against canned runs (no
host)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dspace_deploy import fleet
from dspace_deploy.cli import app
from dspace_deploy.errors import InputError
from dspace_deploy.site import Site
from dspace_deploy.upgrades import InstanceUpgrade, UpgradeReport
from tests.unit.test_upgrades import FAILING, planned, report_event

# --- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "0", "1,,2", "a", "5%%", "101%", "0%", "1;2", "-1", "2.5"])
def test_bad_wave_sizes_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="wave size"):
        fleet.parse_waves(text)


def test_wave_sizes_follow_ansible_serial_lists() -> None:
    hosts = [f"h{n}" for n in range(1, 11)]
    assert fleet.compute_waves(hosts, fleet.parse_waves("1,5,20%"), []) == [
        ["h1"], ["h2", "h3", "h4", "h5", "h6"], ["h7", "h8"], ["h9", "h10"]]
    # the last size repeats; a percentage rounds down and is at least one host
    assert [len(w) for w in fleet.compute_waves(hosts[:3], ["10%"], [])] == [1, 1, 1]
    assert [len(w) for w in fleet.compute_waves(hosts[:7], ["1", "2", "50%"], [])] == [1, 2, 3, 1]
    assert fleet.compute_waves(hosts[:3], ["100%"], []) == [hosts[:3]]


def test_canaries_go_first_in_a_wave_of_their_own() -> None:
    hosts = ["a", "b", "c", "d", "e", "f"]
    waves = fleet.compute_waves(hosts, ["1", "2", "50%"], ["d", "b"])
    # percentages are of the non-canary hosts (4): 50% is 2
    assert waves == [["b", "d"], ["a"], ["c", "e"], ["f"]]


def test_unknown_canary_is_refused() -> None:
    with pytest.raises(InputError, match="--canary nope: not among the site"):
        fleet.checked_canaries(["nope"], ["a", "b"], None)
    assert fleet.checked_canaries(["b", "b"], ["a", "b"], None) == ["b"]


@pytest.mark.parametrize(("text", "total", "allowed"), [
    ("0", 10, 0), ("2", 10, 2), ("10%", 10, 1), ("25%", 6, 1), ("0%", 6, 0), ("100%", 6, 6)])
def test_max_fail_must_be_exceeded(text: str, total: int, allowed: int) -> None:
    budget = fleet.parse_max_fail(text)
    assert budget.allowed(total) == allowed
    assert not budget.exceeded(allowed, total) and budget.exceeded(allowed + 1, total)


@pytest.mark.parametrize("text", ["", "x", "-1", "101%", "1.5", "5 %"])
def test_bad_max_fail_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="--max-fail"):
        fleet.parse_max_fail(text)


def test_pause() -> None:
    assert fleet.parse_pause(None) == "" and fleet.parse_pause("30") == "30"
    assert fleet.parse_pause("Prompt") == "prompt"
    with pytest.raises(InputError, match="--pause soon"):
        fleet.parse_pause("soon")


# --- the journal ------------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "dspace-deploy"


def _journal(hosts: list[str], waves: list[list[str]], canary: tuple[str, ...] = ()
             ) -> fleet.Journal:
    journal = fleet.new_journal("uni", "/inv", {"max_fail": "0"})
    journal.waves = waves
    for number, wave in enumerate(waves):
        for host in wave:
            journal.hosts[host] = fleet.HostEntry(host, wave=number, canary=host in canary,
                                                  instances=[{"instance": "repo", "from": "9.2",
                                                              "to": "9.3", "outcome": "planned"}])
    for host in hosts:
        journal.hosts.setdefault(host, fleet.HostEntry(host, outcome=fleet.UNREACHABLE,
                                                       reason="unreachable: no route"))
    return journal


def test_the_journal_is_written_atomically_and_read_back(state: Path) -> None:
    journal = _journal(["a", "b"], [["a"], ["b"]])
    journal.save()
    path = state / "uni" / "rollouts" / f"{journal.id}.json"
    assert journal.path == path and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    again = fleet.load_journal(path)
    assert again.hosts["a"] == journal.hosts["a"] and again.waves == [["a"], ["b"]]
    assert fleet.last_unfinished("uni").id == journal.id  # type: ignore[union-attr]
    journal.status = fleet.FINISHED
    journal.save()
    assert fleet.last_unfinished("uni") is None


def test_a_damaged_journal_is_an_input_error(state: Path) -> None:
    directory = state / "uni" / "rollouts"
    directory.mkdir(parents=True)
    (directory / "x.json").write_text("{")
    with pytest.raises(InputError, match="cannot be read"):
        fleet.last_unfinished("uni")


# --- the rollout loop -------------------------------------------------------------------------


def _item(host: str, status: str, **extra: Any) -> InstanceUpgrade:
    fields: dict[str, Any] = {"from_version": "9.2", "to_version": "9.3", **extra}
    return InstanceUpgrade(host=host, instance="repo", status=status, **fields)


class Waves:
    """A run_wave that answers from a table host -> status (or "unreachable")."""

    def __init__(self, outcomes: dict[str, str]) -> None:
        self.outcomes = outcomes
        self.launched: list[list[str]] = []

    def __call__(self, hosts: list[str], on_phase: Any, on_report: Any) -> UpgradeReport:
        self.launched.append(hosts)
        report = UpgradeReport("upgrade", "run")
        for host in hosts:
            status = self.outcomes.get(host, "done")
            if status == "unreachable":
                report.problems[host] = "unreachable: ssh: connect to host timed out"
                continue
            on_phase(host, "precheck")
            on_phase(host, "migrate")
            item = _item(host, status, snapshot={"target": "local", "id": f"snap-{host}"},
                         downtime_s=60.0, failed_phase="migrate" if status != "done" else "",
                         error="Flyway migration failed" if status != "done" else "")
            on_report(host, [item])
            report.instances.append(item)
        return report


def _rollout(journal: fleet.Journal, waves: Waves, max_fail: str = "0",
             pause: Any = lambda n: True) -> tuple[fleet.Journal, list[str]]:
    done: list[str] = []
    fleet.Rollout(journal, waves, fleet.parse_max_fail(max_fail), pause,
                  on_host_done=lambda e: done.append(e.host)).run()
    return journal, done


def test_waves_run_in_order_and_each_host_is_reported_as_it_finishes(state: Path) -> None:
    journal = _journal(["a", "b", "c", "d"], [["a"], ["b", "c"], ["d"]], canary=("a",))
    waves = Waves({})
    journal, done = _rollout(journal, waves)
    assert waves.launched == [["a"], ["b", "c"], ["d"]] and done == ["a", "b", "c", "d"]
    assert journal.status == fleet.FINISHED and journal.all_on_target
    entry = journal.hosts["b"]
    assert entry.outcome == fleet.UPGRADED and entry.phases == ["precheck", "migrate"]
    assert entry.snapshots == ["snap-b"] and entry.downtime_s == 60.0
    saved = json.loads(journal.path.read_text())  # type: ignore[union-attr]
    assert saved["hosts"]["d"]["outcome"] == "upgraded" and saved["status"] == "finished"


def test_a_failed_canary_stops_the_rollout(state: Path) -> None:
    journal = _journal(["a", "b"], [["a"], ["b"]], canary=("a",))
    waves = Waves({"a": "rolled_back"})
    journal, _done = _rollout(journal, waves, max_fail="5")
    assert waves.launched == [["a"]]
    assert journal.status == fleet.STOPPED and journal.stop_reason == fleet.STOP_CANARY
    assert journal.hosts["a"].outcome == fleet.HOST_ROLLED_BACK
    assert journal.hosts["a"].failed_phase == "migrate"
    assert fleet.shown_outcome(journal.hosts["b"]) == fleet.NOT_STARTED
    assert "canary" in fleet.stop_sentence(journal)


def test_max_fail_stops_new_waves_when_exceeded(state: Path) -> None:
    journal = _journal(list("abcdef"), [["a"], ["b", "c"], ["d", "e"], ["f"]])
    waves = Waves({"b": "rolled_back", "d": "failed", "e": "unreachable"})
    journal, _done = _rollout(journal, waves, max_fail="1")
    # wave 2 had one failure (allowed); wave 3 two more: f never starts
    assert waves.launched == [["a"], ["b", "c"], ["d", "e"]]
    assert journal.stop_reason == fleet.STOP_MAX_FAIL and "3 failed hosts" in journal.stop_detail
    assert [journal.hosts[h].outcome for h in "bdef"] == [
        fleet.HOST_ROLLED_BACK, fleet.HOST_FAILED, fleet.UNREACHABLE, fleet.PENDING]
    assert journal.totals[fleet.NOT_STARTED] == 1 and not journal.all_on_target
    assert "--resume" in fleet.final_lines(journal)[-1]


def test_max_fail_in_the_last_wave_is_not_a_stop(state: Path) -> None:
    journal = _journal(["a", "b"], [["a"], ["b"]])
    journal, _done = _rollout(journal, Waves({"b": "rolled_back"}))
    assert journal.status == fleet.FINISHED and not journal.all_on_target


def test_the_operator_can_stop_at_a_pause(state: Path) -> None:
    journal = _journal(["a", "b"], [["a"], ["b"]])
    asked: list[int] = []
    journal, _done = _rollout(journal, Waves({}), pause=lambda n: asked.append(n) or False)
    assert asked == [1] and journal.stop_reason == fleet.STOP_OPERATOR
    assert journal.hosts["b"].outcome == fleet.PENDING


def test_ctrl_c_leaves_the_wave_running_in_the_journal(state: Path) -> None:
    journal = _journal(["a", "b"], [["a", "b"]])

    def interrupted(hosts: list[str], on_phase: Any, on_report: Any) -> UpgradeReport:
        on_phase("a", "snapshot")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fleet.Rollout(journal, interrupted, fleet.MaxFail(0), lambda n: True).run()
    saved = fleet.load_journal(journal.path)  # type: ignore[arg-type]
    assert saved.status == fleet.STOPPED and saved.stop_reason == fleet.STOP_INTERRUPTED
    assert saved.hosts["a"].outcome == fleet.RUNNING and saved.hosts["a"].phase == "snapshot"
    assert fleet.shown_outcome(saved.hosts["a"]) == fleet.INTERRUPTED


# --- resume decisions -------------------------------------------------------------------------


def test_resume_settles_what_the_controller_left(state: Path) -> None:
    journal = _journal(list("abcdef"), [["a", "b", "c", "d", "f"], ["e"]])
    for host in "abcdf":
        journal.hosts[host].outcome = fleet.RUNNING
        journal.hosts[host].started = "2026-12-05T08:00:00Z"
    journal.hosts["f"].outcome = fleet.PENDING
    fresh = _item  # what the plan run reports now
    ours = {"status": "rolled_back", "started": "2026-12-05T08:03:10Z"}
    older = {"status": "rolled_back", "started": "2026-11-01T10:00:00Z"}
    fleet.resume_plan(journal, {
        "a": ([fresh("a", "none", from_version="9.3", decision="current")], None),
        "b": ([fresh("b", "planned", decision="recover",
                     previous={"status": "running", "started": "2026-12-05T08:01:00Z"})],
              None),
        "c": ([fresh("c", "planned", decision="upgrade", previous=ours)], None),
        "d": ([fresh("d", "planned", decision="upgrade", previous=older)], None),
        "e": ([], "unreachable: no route to host"),
        "f": ([fresh("f", "none", from_version="9.3", decision="current")], None),
    })
    assert journal.hosts["a"].outcome == fleet.UPGRADED  # finished while away
    assert journal.hosts["b"].outcome == fleet.PENDING  # upgrade.yml rolls back or resumes
    assert journal.hosts["c"].outcome == fleet.HOST_ROLLED_BACK  # not upgraded twice
    assert "not upgraded a second time" in journal.hosts["c"].error
    assert journal.hosts["d"].outcome == fleet.PENDING  # an older failure: a new attempt
    assert journal.hosts["e"].outcome == fleet.UNREACHABLE
    assert journal.hosts["f"].outcome == fleet.SKIPPED  # never launched, already there
    assert journal.status == fleet.ACTIVE and journal.resumed == 1


def test_resume_command(state: Path) -> None:
    journal = fleet.new_journal("uni", "/srv/my sites/uni", {"vault_password_file": "/pw"})
    assert fleet.resume_command(journal) == ("dspace-deploy upgrade --inventory "
                                             "'/srv/my sites/uni' --resume "
                                             "--vault-password-file /pw")


# --- the CLI ----------------------------------------------------------------------------------

HOSTS = ["h1", "h2", "h3", "h4", "h5"]


def _site(tmp_path: Path, hosts: list[str] = HOSTS) -> Site:
    def inst(name: str) -> dict[str, Any]:
        return {"name": name, "hostname": f"{name}.example.edu", "line": "9", "version": "9.3"}

    hostvars = {h: {"dspace_instances": [inst("repo")]} for h in hosts}
    hostvars["h2"]["dspace_instances"].append(inst("other"))
    return Site(path=tmp_path / "inventory", name="uni", hosts=hosts, hostvars=hostvars,
                vault_file=tmp_path / "vault.yml", vault_password_file=tmp_path / "pw.txt")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: Path) -> dict[str, Any]:
    """The CLI with a five-host site; the plan reports what `plan` says per host, each wave
    what `run` says per host (default: planned / done)."""
    from dspace_deploy import bundles, runner
    from dspace_deploy.bundles import Bundle
    from dspace_deploy.cli import run_cmds
    from dspace_deploy.events import RunSummary

    site = _site(tmp_path)
    monkeypatch.setattr(run_cmds, "load", lambda inventory, vault: site)
    seen: dict[str, Any] = {"jobs": [], "plan": {}, "run": {}, "resolved": [],
                            "artifacts": tmp_path / "bundles"}
    for version in ("9.2", "9.3"):
        root = tmp_path / "bundles" / f"9-dspace-{version}"
        root.mkdir(parents=True)
        (root / "manifest.json").write_text(json.dumps({"version": version}))

    def bundle(version: str) -> Bundle:
        return Bundle("9", "dspace", version, version, "9.8.1", 17, (20,), True,
                      tmp_path / "bundles" / f"9-dspace-{version}", "test")

    def resolve(site_: Site, artifacts: Any, releases: Any = None,
                verified: Any = None) -> dict[str, Any]:
        found = {"9-dspace-9.3": bundle("9.3")}
        for release in releases or {}:
            found[release.key] = bundle(release.version)
        fresh = [k for k in found if k not in (verified or {})]
        seen["resolved"].extend(fresh)  # what was fetched and checked (not given again)
        return {**found, **(verified or {})}

    monkeypatch.setattr(bundles, "resolve_bundles", resolve)

    def run(job: runner.Job, observer: Any = None) -> runner.RunResult:
        seen["jobs"].append(job)
        mode = job.extravars["upgrade_mode"]
        for host in (job.limit or "").split(","):
            answer = seen[mode].get(host, "planned" if mode == "plan" else "done")
            if answer == "unreachable":
                observer({"event": "runner_on_unreachable", "event_data": {
                    "host": host, "task": "Gather the facts the plan needs",
                    "res": {"msg": "ssh: connect to host port 22: No route to host"}}})
                continue
            if answer == "kill":
                raise KeyboardInterrupt
            items = [planned(status=answer) if isinstance(answer, str) else planned(**answer)]
            if host == "h2":
                items.append(planned("other", status="none" if mode == "run" else "planned"))
            if mode == "run":
                observer({"event": "runner_on_ok", "event_data": {
                    "host": host, "task": "Upgrade phase migrate: Migrate the database",
                    "res": {}}})
                items = [{**i, "snapshot": {"target": "local", "id": f"s-{host}"},
                          "downtime_s": 42} for i in items]
            observer(report_event(host, mode, *items))
        return runner.RunResult(RunSummary(stats_seen=True), "successful", 0,
                                tmp_path / f"artifacts-{len(seen['jobs'])}")

    monkeypatch.setattr(runner, "run", run)
    return seen


def _limits(cli: dict[str, Any]) -> list[tuple[str, str]]:
    return [(j.extravars["upgrade_mode"], j.limit) for j in cli["jobs"]]


def _invoke(cli: dict[str, Any], *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, ["upgrade", "--artifacts", str(cli["artifacts"]), *args],
                              input=input)


@pytest.mark.parametrize(("args", "message"), [
    (["--waves", "1,x"], "wave size"),
    (["--max-fail", "many"], "--max-fail many"),
    (["--canary", "h9"], "--canary h9: not among the site"),
    (["--pause", "later"], "--pause later"),
    (["--pause", "prompt", "--yes"], "no terminal to ask"),
    (["--resume", "--yes"], "no unfinished rollout of site uni"),
    (["--resume", "--waves", "2", "--yes"], "--waves cannot change them"),
])
def test_bad_flags_are_refused_before_any_host(cli: dict[str, Any], args: list[str],
                                               message: str) -> None:
    result = _invoke(cli, *args)
    assert isinstance(result.exception, InputError), result.output
    assert message in str(result.exception)
    assert cli["jobs"] == []


def test_a_rollout_without_bundles_is_refused(cli: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["upgrade", "--waves", "1", "--yes"])
    assert isinstance(result.exception, InputError)
    assert "dspace-deploy build" in str(result.exception) and cli["jobs"] == []


def test_a_rollout_needs_consent(cli: dict[str, Any]) -> None:
    result = _invoke(cli, "--waves", "1")
    assert isinstance(result.exception, InputError) and "--yes" in str(result.exception)
    assert cli["jobs"] == []


def test_the_plan_shows_the_waves_and_writes_nothing(cli: dict[str, Any], state: Path) -> None:
    cli["plan"]["h4"] = {"prechecks": FAILING}
    result = _invoke(cli, "--waves", "1,2", "--canary", "h3", "--plan")
    assert result.exit_code == 0, result.output
    assert _limits(cli) == [("plan", "h1,h2,h3,h4,h5")]
    text = " ".join(result.stdout.split())
    assert "canary: h3" in text and "wave 2: h1" in text and "wave 3: h2, h5" in text
    assert "h4 [no wave] SKIPPED" in text and "no backup of the instance" in text
    assert not (state / "uni" / "rollouts").exists()


def test_a_rollout_end_to_end(cli: dict[str, Any], state: Path) -> None:
    cli["plan"].update(h5="unreachable", h4={"prechecks": FAILING})
    cli["run"]["h2"] = "rolled_back"
    result = _invoke(cli, "--waves", "1,2", "--canary", "h3", "--max-fail", "1", "--yes",
                     "--json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)  # exactly one document
    assert _limits(cli) == [("plan", "h1,h2,h3,h4,h5"), ("run", "h3"), ("run", "h1"),
                            ("run", "h2")]
    outcomes = {h: e["outcome"] for h, e in document["hosts"].items()}
    assert outcomes == {"h1": "upgraded", "h2": "rolled_back", "h3": "upgraded",
                        "h4": "skipped", "h5": "unreachable"}
    assert document["hosts"]["h3"]["canary"] and document["hosts"]["h3"]["wave"] == 0
    assert "backup" in document["hosts"]["h4"]["reason"]
    assert document["hosts"]["h5"]["reason"].startswith("unreachable")
    assert document["hosts"]["h1"]["instances"][0]["snapshot"]["id"] == "s-h1"
    assert document["totals"]["upgraded"] == 2 and document["totals"]["rolled_back"] == 1
    assert document["status"] == "finished" and document["ok"] is False
    # every release fetched and checked once, for the whole rollout
    assert sorted(cli["resolved"]) == ["9-dspace-9.2", "9-dspace-9.3"]
    assert document["release"]["prepared"] == {"9-dspace-9.2": 1, "9-dspace-9.3": 1}
    # the waves ran the same instances' selection (the hosts decide theirs)
    assert all(j.extravars["upgrade_instances"] == [] for j in cli["jobs"])
    saved = json.loads(Path(document["journal"]).read_text())
    assert saved["hosts"]["h2"]["phases"] == ["migrate"] and len(saved["runs"]) == 3


def test_max_fail_stop_then_resume_after_the_controller_died(cli: dict[str, Any]) -> None:
    cli["run"].update(h1="rolled_back", h3="kill")
    result = _invoke(cli, "--waves", "1,1", "--yes", "--json")
    assert result.exit_code == 1, result.output
    first = json.loads(result.stdout)
    assert first["stop_reason"] == "max_fail_exceeded" and "--resume" in first["resume_command"]
    assert _limits(cli)[1:] == [("run", "h1")]
    # resumed: the budget starts again; h2 goes, then h3 dies with the controller (Ctrl-C)
    result = CliRunner().invoke(app, ["upgrade", "--resume", "--yes", "--json"])
    assert result.exit_code == 130, result.output
    second = json.loads(result.stdout)
    assert second["hosts"]["h3"]["outcome"] == "interrupted"
    assert second["hosts"]["h2"]["outcome"] == "upgraded"
    # resumed again: h3's record says it is mid-upgrade; it goes again, the rest follow
    cli["run"]["h3"] = "done"
    cli["plan"]["h3"] = {"decision": "recover"}
    cli["jobs"].clear()
    result = CliRunner().invoke(app, ["upgrade", "--resume", "--yes", "--json"])
    assert result.exit_code == 1, result.output  # h1 stays rolled back
    third = json.loads(result.stdout)
    assert _limits(cli) == [("plan", "h3,h4,h5"), ("run", "h3"), ("run", "h4"), ("run", "h5")]
    assert {h: e["outcome"] for h, e in third["hosts"].items()} == {
        "h1": "rolled_back", "h2": "upgraded", "h3": "upgraded", "h4": "upgraded",
        "h5": "upgraded"}
    assert third["status"] == "finished" and third["resume_command"] is None
    assert third["resumed"] == 2 and third["release"]["prepared"] == {
        "9-dspace-9.2": 1, "9-dspace-9.3": 1}
    assert third["release"]["checked_on_resume"] == 2
    result = CliRunner().invoke(app, ["upgrade", "--resume", "--yes"])
    assert "no unfinished rollout" in str(result.exception)


def test_a_canary_that_cannot_go_stops_before_any_wave(cli: dict[str, Any]) -> None:
    cli["plan"]["h1"] = "unreachable"
    result = _invoke(cli, "--canary", "h1", "--yes")
    assert result.exit_code == 1, result.output
    assert _limits(cli) == [("plan", "h1,h2,h3,h4,h5")]
    text = " ".join(result.stdout.split())
    assert "Stopped: the canary did not end on the target" in text
    assert "h2 [wave 1/1] NOT_STARTED" in text and "Resume with:" in text


def test_the_live_report_has_one_line_per_host(cli: dict[str, Any]) -> None:
    cli["run"]["h4"] = "rolled_back"
    result = _invoke(cli, "--waves", "2", "--max-fail", "40%", "--yes")
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stdout.splitlines() if " UPGRADED" in ln or "ROLLED_BACK" in ln]
    assert len(lines) == 10  # live (5) and final (5)
    text = " ".join(result.stdout.split())
    assert "h4 [wave 2/3] ROLLED_BACK: repo 9.2->9.3 (rolled_back) — phase ?: repo:" in text
    assert "snapshot s-h1" in text and "downtime 42 s" in text
    assert "Finished: every wave ran." in text


def test_the_confirmation_names_hosts_instances_and_waves(
        cli: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from dspace_deploy.cli import upgrade_cmds

    monkeypatch.setattr(upgrade_cmds, "_interactive", lambda: True)
    result = _invoke(cli, "--waves", "2", "--canary", "h1", input="n\n")
    assert "Upgrade 5 hosts and 6 instances in 3 waves now?" in result.stdout
    assert result.exit_code != 0 and _limits(cli) == [("plan", "h1,h2,h3,h4,h5")]


def test_pause_prompt_asks_before_each_later_wave(
        cli: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from dspace_deploy.cli import upgrade_cmds

    monkeypatch.setattr(upgrade_cmds, "_interactive", lambda: True)
    result = _invoke(cli, "--waves", "2", "--pause", "prompt", "--yes", input="y\nn\n")
    assert result.exit_code == 1, result.output
    assert _limits(cli)[1:] == [("run", "h1,h2"), ("run", "h3,h4")]
    text = " ".join(result.stdout.split())
    assert "Go on with wave 2 (h3, h4)?" in text and "Go on with wave 3 (h5)?" in text
    assert "Stopped: the operator stopped before wave 3." in text
