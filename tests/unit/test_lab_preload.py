"""`lab up --preload`: hosts start from an image holding the packages the roles install."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from dspace_deploy import resources
from dspace_deploy.cli import app
from dspace_deploy.errors import InputError
from dspace_deploy.lab import images, labs


def _role_list(role: str, name: str) -> list[str]:
    value = yaml.safe_load((resources.roles_dir() / role / "vars" / "main.yml").read_text())[name]
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize(("os_name", "java"), [("debian12", "openjdk-17-jre-headless"),
                                               ("debian13", "openjdk-21-jre-headless")])
def test_the_stack_packages_follow_the_roles_lists(os_name: str, java: str) -> None:
    packages = images.stack_packages(os_name)
    assert packages == sorted(set(packages))
    for role, name in (("common", "common_base_packages"), ("postgresql", "postgresql_packages"),
                       ("proxy", "proxy_packages"), ("solr", "solr_base_packages"),
                       ("handle_server", "handle_server_packages"),
                       ("dspace_ui", "dspace_ui_node_package")):
        assert set(_role_list(role, name)) <= set(packages), (role, name)
    assert java in packages and "ant" in packages
    assert not any(p.startswith("openjdk-") and p != java for p in packages)


def test_lab_up_preload_asks_for_each_oses_stack_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []

    def fake_create(**kwargs: Any) -> labs.Lab:
        seen.append(kwargs)
        return labs.Lab(name="demo", hosts=labs.plan_hosts("demo", ["debian13"]), dir=tmp_path,
                        inventory=tmp_path / "inventory", vault_password_file=tmp_path / "v",
                        ssh_key=tmp_path / "k", connection="ssh")

    monkeypatch.setattr(labs, "create_lab", fake_create)
    runner = CliRunner()
    result = runner.invoke(app, ["lab", "up", "--name", "demo", "--os", "debian12", "--os",
                                 "debian13", "--hosts", "3", "--preload", "--json"])
    assert result.exit_code == 0, result.output
    assert seen[0]["preload"] == {os_name: images.stack_packages(os_name)
                                  for os_name in ("debian12", "debian13")}
    result = runner.invoke(app, ["lab", "up", "--name", "demo", "--json"])
    assert result.exit_code == 0, result.output
    assert seen[1]["preload"] is None  # a plain image: `up` installs every package


def test_lab_start_resumes_labs_from_their_definition(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`lab start [NAME...]`: what a controller that restarted without systemd runs."""
    from dspace_deploy.lab import podman

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(podman, "podman_path", lambda: "/usr/bin/podman")
    monkeypatch.setattr(podman, "require_runtime", lambda: None)
    lab = labs.Lab(name="demo", hosts=labs.plan_hosts("demo", ["debian13"]),
                   dir=labs.lab_dir("demo"), inventory=labs.lab_dir("demo") / "inventory",
                   vault_password_file=tmp_path / "v", ssh_key=tmp_path / "k", connection="ssh")
    lab.dir.mkdir(parents=True)
    labs._write_meta(lab)
    resumed: list[str] = []

    def fake_resume(found: labs.Lab, _say: Any) -> labs.Lab:
        resumed.append(found.name)
        return found

    monkeypatch.setattr(labs, "_resume", fake_resume)
    monkeypatch.setattr(labs, "_refresh", lambda found: None)
    runner = CliRunner()
    result = runner.invoke(app, ["lab", "start", "demo", "--json"])
    assert result.exit_code == 0, result.output
    assert resumed == ["demo"]
    result = runner.invoke(app, ["lab", "start"])  # every lab
    assert result.exit_code == 0, result.output
    assert resumed == ["demo", "demo"] and "demo-1" in result.stdout
    result = runner.invoke(app, ["lab", "start", "nope", "--json"])
    assert isinstance(result.exception, InputError) and "no lab named" in str(result.exception)

