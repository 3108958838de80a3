"""How the runner core calls ansible-runner: command line, environment, no secrets."""

from __future__ import annotations

import sys
from pathlib import Path

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
