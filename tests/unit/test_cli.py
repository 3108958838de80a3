"""CLI parsing and error behaviour: flags reach the Job, bad input gives exit 2 and one
paragraph (never a traceback), --json keeps stdout to one JSON document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dspace_deploy.cli import app, run_cmds
from dspace_deploy.site import Site

EXE = str(Path(sys.executable).parent / "dspace-deploy")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


def test_help_lists_every_verb() -> None:
    result = _cli("--help")
    assert result.returncode == 0
    for verb in ("init", "check", "up", "verify", "lab"):
        assert verb in result.stdout


def test_version() -> None:
    result = _cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("dspace-deploy ")


def test_unknown_option_is_a_usage_error() -> None:
    result = _cli("up", "--no-such-flag")
    assert result.returncode == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_inventory_is_bad_input(tmp_path: Path) -> None:
    result = _cli("up", "-i", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "nowhere" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_json_error_is_one_document_on_stdout(tmp_path: Path) -> None:
    result = _cli("up", "--json", "-i", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["exit_code"] == 2
    assert "nowhere" in document["error"]


@pytest.fixture
def captured_job(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    # --limit is matched against the inventory's hosts before anything runs
    (tmp_path / "hosts.yml").write_text("all:\n  children:\n    dspace:\n      hosts:\n"
                                        "        web1: {}\n        h1: {}\n")
    site = Site(path=tmp_path, name="t", hosts=["web1", "h1"], hostvars={},
                vault_file=tmp_path / "v", vault_password_file=tmp_path / "p")

    def fake_load(inventory: Path | None, vault: Path | None) -> Site:
        seen["inventory"] = inventory
        seen["vault"] = vault
        return site

    def fake_execute(job: Any, json_output: bool) -> None:
        seen["job"] = job
        seen["json"] = json_output

    monkeypatch.setattr(run_cmds, "load", fake_load)
    monkeypatch.setattr(run_cmds, "execute", fake_execute)
    return seen


def test_up_flags_reach_the_job(captured_job: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["up", "-i", str(tmp_path), "--limit", "web*",
                                      "--check", "--diff", "-vv", "--json",
                                      "--vault-password-file", "/x/pw"])
    assert result.exit_code == 0, result.output
    job = captured_job["job"]
    assert (job.verb, job.playbook, job.limit) == ("up", "site.yml", "web*")
    assert job.check and job.diff and job.verbosity == 2
    assert captured_job["json"] is True
    assert captured_job["inventory"] == tmp_path
    assert captured_job["vault"] == Path("/x/pw")


def test_check_runs_the_precheck_playbook(captured_job: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert captured_job["job"].playbook == "check.yml"
    assert not captured_job["job"].check


def test_inventory_defaults_to_environment(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    from dspace_deploy.cli.options import resolve_inventory

    monkeypatch.setenv("DSPACE_DEPLOY_INVENTORY", str(tmp_path))
    assert resolve_inventory(None) == tmp_path
    monkeypatch.delenv("DSPACE_DEPLOY_INVENTORY")
    assert resolve_inventory(None) == Path.cwd()
