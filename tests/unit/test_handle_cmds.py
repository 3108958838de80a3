"""`handle bundle`: events of playbooks/handle_bundle.yml -> fetched bundles, instructions,
JSON document and exit code. Event payloads have the shape recorded from a real run against a
lab host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from dspace_deploy import runner
from dspace_deploy.cli import app, handle_cmds, run_cmds
from dspace_deploy.cli.handle_cmds import bundle_path, instructions, parse_events
from dspace_deploy.events import HostStats, RunSummary
from dspace_deploy.site import Site

REPO = Path(__file__).resolve().parents[2]
SHA = "0795003429ce98246c44f48efed5587dd707060ec9fd4880b3bc53d20fbc3f77"


def _report(host: str, dest: Path, instances: list[str], found: list[bool],
            registered: list[bool] | None = None) -> dict[str, Any]:
    registered = registered or [False] * len(instances)
    return {"event": "runner_on_ok",
            "event_data": {"host": host, "task": "Report the site bundles",
                           "res": {"changed": False, "dspace_handle_bundles": {
                               "dest": str(dest), "instances": instances,
                               "prefixes": ["123456789" if not r else "20.500.12345"
                                            for r in registered],
                               "registered": registered, "found": found,
                               "sha256": [SHA if f else "" for f in found]}}}}


def test_parse_events(tmp_path: Path) -> None:
    events = [
        _report("web1", tmp_path, ["repo", "test"], [True, False]),
        {"event": "runner_on_unreachable",
         "event_data": {"host": "web2", "res": {"msg": "Failed to connect via ssh"}}},
    ]
    bundles, problems = parse_events(events, tmp_path)
    assert [(b.host, b.instance, b.found) for b in bundles] == [("web1", "repo", True),
                                                                ("web1", "test", False)]
    assert bundles[0].path == str(tmp_path / "web1-repo-sitebndl.zip")
    assert bundles[0].sha256 == SHA
    assert bundles[1].path == ""
    assert problems == {"web2": "unreachable: Failed to connect via ssh"}


def test_bundle_path_names_host_and_instance(tmp_path: Path) -> None:
    assert bundle_path(tmp_path, "h", "i") == tmp_path / "h-i-sitebndl.zip"


def test_instructions(tmp_path: Path) -> None:
    events = [_report("web1", tmp_path, ["repo", "old", "new"], [True, True, False],
                      [False, True, False])]
    bundles, _ = parse_events(events, tmp_path)
    text = "\n".join(instructions(bundles, Path("/inv")))
    assert "Handle.Net Registry" in text
    assert str(tmp_path / "web1-repo-sitebndl.zip") in text
    assert 'handle_prefix: "<the assigned prefix>"' in text
    assert "handle_registered: true" in text
    assert "dspace-deploy up -i /inv" in text
    assert "old on web1 is registered with prefix 20.500.12345" in text
    assert "new on web1 has no sitebndl.zip yet" in text
    # nothing to register: no registration steps
    only_done = [b for b in bundles if b.instance == "old"]
    assert not any("Handle.Net Registry" in line for line in instructions(only_done, Path("/i")))


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    inventory = tmp_path / "inv"
    inventory.mkdir()
    # --limit is matched against the inventory's hosts before anything runs
    (inventory / "hosts.yml").write_text("all:\n  children:\n    dspace:\n      hosts:\n"
                                         "        web1: {}\n")
    site = Site(path=inventory, name="t", hosts=["web1"], hostvars={},
                vault_file=inventory / "v", vault_password_file=tmp_path / "p")
    monkeypatch.setattr(run_cmds, "load", lambda inventory, vault: site)
    seen: dict[str, Any] = {"found": [True]}

    def run(job: runner.Job, observer: Any = None) -> runner.RunResult:
        seen["job"] = job
        dest = Path(job.extravars["handle_bundle_dest"])
        observer(_report("web1", dest, ["repo"], seen["found"]))
        summary = RunSummary(hosts={"web1": HostStats(ok=4)}, stats_seen=True)
        return runner.RunResult(summary, "successful", 0, tmp_path / "artifacts")

    monkeypatch.setattr(runner, "run", run)
    return seen


def test_cli_default_destination_and_json(fake_run: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["handle", "bundle", "-i", str(tmp_path / "inv"),
                                      "--limit", "web1", "--json"])
    assert result.exit_code == 0, result.output
    dest = tmp_path / "inv" / "handle-bundles"
    job = fake_run["job"]
    assert (job.playbook, job.limit) == ("handle_bundle.yml", "web1")
    assert job.extravars == {"handle_bundle_dest": str(dest)}
    assert dest.is_dir()
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["dest"] == str(dest)
    assert document["bundles"][0]["path"] == str(dest / "web1-repo-sitebndl.zip")
    assert any("Handle.Net Registry" in line for line in document["instructions"])


def test_cli_missing_bundle_exits_1(fake_run: dict[str, Any], tmp_path: Path) -> None:
    fake_run["found"] = [False]
    dest = tmp_path / "elsewhere"
    result = CliRunner().invoke(app, ["handle", "bundle", "-i", str(tmp_path / "inv"),
                                      "--dest", str(dest)])
    assert result.exit_code == 1
    assert fake_run["job"].extravars["handle_bundle_dest"] == str(dest)
    assert "has no sitebndl.zip yet" in result.stdout


def test_playbook_fetches_under_the_documented_name() -> None:
    plays = yaml.safe_load((REPO / "playbooks" / "handle_bundle.yml").read_text())
    tasks = {t["name"]: t for play in plays for t in play["tasks"]}
    fetch = tasks["Fetch each instance's site bundle to the controller"]["ansible.builtin.fetch"]
    # handle.dir as the handle_server role uses it (plan.handle_dir honours extra_config)
    assert fetch["src"] == "{{ item.0.handle_dir }}/sitebndl.zip"
    stat = tasks["Look for each instance's site bundle"]["ansible.builtin.stat"]
    assert stat["path"] == "{{ plan.handle_dir }}/sitebndl.zip"
    assert fetch["dest"] == ("{{ handle_bundle_dest }}/{{ inventory_hostname }}-"
                             "{{ item.0.name }}-sitebndl.zip")
    assert fetch["flat"] is True
    report = tasks["Report the site bundles"]["ansible.builtin.debug"]
    assert report["var"] == handle_cmds.REPORT_KEY
