"""How the runner core calls ansible-runner: command line, environment, no secrets."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy import resources, runner
from dspace_deploy.runner import Job
from dspace_deploy.site import Site


def _site(tmp_path: Path) -> Site:
    return Site(path=tmp_path, name="t", hosts=["h"], hostvars={}, vault_file=tmp_path / "v",
                vault_password_file=tmp_path / "pw file", secrets=["s3cret-value-long"])


def test_cmdline_has_vault_file_and_flags_never_secrets(tmp_path: Path) -> None:
    job = Job("up", "site.yml", _site(tmp_path), check=True, diff=True, tags=["a", "b"])
    line = runner._cmdline(job)
    assert "--vault-password-file" in line
    assert "'" + str(tmp_path / "pw file") + "'" in line
    assert "--check" in line and "--diff" in line and "--tags a,b" in line
    assert "s3cret" not in line


def test_environment_points_at_our_content_and_interpreter(tmp_path: Path) -> None:
    env = runner._environment(Job("up", "site.yml", _site(tmp_path)))
    assert env["ANSIBLE_CONFIG"] == str(resources.ansible_cfg())
    assert env["ANSIBLE_ROLES_PATH"] == str(resources.roles_dir())
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert not any("s3cret" in v for v in env.values())


def test_content_paths_exist() -> None:
    assert (resources.playbooks_dir() / "site.yml").is_file()
    assert (resources.playbooks_dir() / "check.yml").is_file()
    assert resources.ansible_cfg().is_file()
    assert (resources.roles_dir() / "common").is_dir()


def test_playbook_is_a_name_under_playbooks_or_an_absolute_path(tmp_path: Path) -> None:
    assert resources.playbooks_dir() / "site.yml" == resources.playbooks_dir().joinpath("site.yml")
    own = tmp_path / "mine.yml"
    assert resources.playbooks_dir() / str(own) == own


# --- the environment ansible-runner gets, and what it keeps on disk ---------------------------

CANARIES = {
    "DSPACE_DEPLOY_CANARY_SECRET": "canary-8f3a61c2-not-for-disk",
    "AWS_SECRET_ACCESS_KEY": "canary-aws-secret-7d1e90b4",
    "AWS_ACCESS_KEY_ID": "AKIACANARY0123456789",
    "AWS_SESSION_TOKEN": "canary-aws-session-5c2f7a9e",
    "GITHUB_TOKEN": "canary-ghp-3e8b1d6f",
    "ANSIBLE_VAULT_PASSWORD_FILE": "/canary/vault-password-path",
}


def _local_site(tmp_path: Path) -> Site:
    """A site whose only host is this machine (connection local)."""
    inventory = tmp_path / "site"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(
        "all:\n  children:\n    dspace:\n      hosts:\n        localhost:\n"
        "          ansible_connection: local\n"
        f"          ansible_python_interpreter: {sys.executable}\n")
    password = tmp_path / "vault-password.txt"
    password.write_text("canary-run-password\n")
    password.chmod(0o600)
    return Site(path=inventory, name="canary", hosts=["localhost"], hostvars={},
                vault_file=inventory / "group_vars/all/vault.yml",
                vault_password_file=password)


def _playbook(tmp_path: Path) -> Path:
    """Facts (the fact cache keeps the module's environment) and the environment a task
    sees, both printed into the run's events."""
    playbook = tmp_path / "canary.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: true\n  tasks:\n"
        "    - name: Show the environment of a task\n"
        "      ansible.builtin.command: env\n      changed_when: false\n")
    return playbook


def _files_with(root: Path, needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace")
        hits = [n for n in needles if n in text]
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


@pytest.fixture
def canary_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    """A real run through ansible-runner against this machine, the canaries exported."""
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("http_proxy", "http://proxyuser:canary-proxy-pw-61d0@proxy.example:3128")
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    result = runner.run(Job("canary", str(_playbook(tmp_path)), _local_site(tmp_path)))
    return state, result


def test_no_canary_of_the_callers_environment_reaches_any_artifact(
        canary_run: tuple[Path, Any]) -> None:
    state, result = canary_run
    assert result.rc == 0 and result.summary.ok, result
    assert list((state / "dspace-deploy/canary/facts").glob("*localhost"))  # facts cached
    leaks = _files_with(state, [*CANARIES.values(), "canary-proxy-pw-61d0"])
    assert leaks == {}
    # what the run needs did pass: the toolkit's own settings and the proxy (masked on disk)
    command = json.loads((result.artifact_dir / "command").read_text())
    assert command["env"]["ANSIBLE_CONFIG"] == str(resources.ansible_cfg())
    assert command["env"]["HOME"] == os.environ["HOME"]
    assert command["env"]["http_proxy"].startswith("http://proxyuser:")
    # ansible-runner would turn host key checking off; a changed host key must stop a run
    assert command["env"]["ANSIBLE_HOST_KEY_CHECKING"] == "True"


def test_ssh_accepts_a_new_host_key_and_refuses_a_changed_one() -> None:
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(resources.ansible_cfg())
    assert "-o StrictHostKeyChecking=accept-new" in cfg["ssh_connection"]["ssh_args"]
    assert cfg["defaults"].getboolean("host_key_checking", fallback=True)


def test_the_state_directory_is_private(canary_run: tuple[Path, Any]) -> None:
    state, _ = canary_run
    top = state / "dspace-deploy"
    modes = {str(p.relative_to(top)): stat.S_IMODE(p.stat().st_mode)
             for p in [top, *top.rglob("*")] if not p.is_symlink()}
    assert any(path.startswith("canary/facts/") for path in modes)
    wrong = {path: oct(mode) for path, mode in modes.items()
             if mode != (0o700 if (top / path).is_dir() or path == "." else 0o600)}
    assert wrong == {}


def test_an_existing_open_state_directory_is_tightened(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    facts = state / "dspace-deploy" / "old-site" / "facts"
    facts.mkdir(parents=True)
    for directory in (state / "dspace-deploy", facts.parent, facts):
        directory.chmod(0o755)
    (facts / "web1").write_text('{"ansible_env": {"HOME": "/root"}}')
    (facts / "web1").chmod(0o644)
    runner.run(Job("canary", str(_playbook(tmp_path)), _local_site(tmp_path)))
    assert stat.S_IMODE((state / "dspace-deploy").stat().st_mode) == 0o700
    assert stat.S_IMODE(facts.stat().st_mode) == 0o700
    assert stat.S_IMODE((facts / "web1").stat().st_mode) == 0o600


def test_the_passed_environment_is_an_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    caller = {"HOME": "/home/u", "LANG": "C.UTF-8", "LC_TIME": "es_CO.UTF-8",
              "SSH_AUTH_SOCK": "/run/agent", "XDG_RUNTIME_DIR": "/run/user/1000",
              "https_proxy": "http://proxy:3128", "AWS_PROFILE": "backups",
              "AWS_SECRET_ACCESS_KEY": "s", "MY_TOKEN": "t", "ANSIBLE_BECOME_PASSWORD_FILE": "f",
              "KRB5CCNAME": "FILE:/tmp/krb5cc_1000", "CONTAINERS_CONF": "/etc/c.conf",
              "CONTAINER_HOST": "unix:///run/podman.sock", "CONTAINER_PASSPHRASE": "p",
              "CONTAINER_NAME": "sandbox"}
    prepared = {**caller, "ANSIBLE_CONFIG": "ours", "ANSIBLE_STDOUT_CALLBACK": "awx_display",
                "RUNNER_OMIT_EVENTS": "False"}
    kept = runner.passed_environment(prepared, caller, own={"ANSIBLE_CONFIG": "ours"})
    assert set(kept) == {"HOME", "LANG", "LC_TIME", "SSH_AUTH_SOCK", "XDG_RUNTIME_DIR",
                         "https_proxy", "AWS_PROFILE", "KRB5CCNAME", "CONTAINERS_CONF",
                         "CONTAINER_HOST",
                         "ANSIBLE_CONFIG", "ANSIBLE_STDOUT_CALLBACK", "RUNNER_OMIT_EVENTS"}
    monkeypatch.setenv(runner.PASS_ENV, "MY_TOKEN, OTHER")
    assert "MY_TOKEN" in runner.passed_environment(prepared, caller, own={})
