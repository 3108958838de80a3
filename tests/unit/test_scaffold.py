"""`create_site` and `dspace-deploy init`: a valid inventory, or nothing written."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dspace_deploy.errors import EXIT_BAD_INPUT, InputError, ValidationFailed
from dspace_deploy.inventory import scaffold, vault
from dspace_deploy.inventory.validate import load_site
from dspace_deploy.site import HostEntry, InstanceAnswers, SiteAnswers
from tests.unit.fixtures.helpers import REPO, run_cli

BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def answers(**changes: object) -> SiteAnswers:
    instance = InstanceAnswers(name="repo", hostname="repo.example.edu",
                               admin_email="admin@example.edu")
    for key, value in changes.items():
        setattr(instance, key, value)
    return SiteAnswers(site_name="demo", instances=[instance], timezone="America/Lima")


def host(**variables: object) -> HostEntry:
    return HostEntry("repo", {"ansible_host": "192.0.2.10", **variables})


def test_create_site_writes_a_valid_inventory(tmp_path: Path) -> None:
    target = tmp_path / "site"
    password = scaffold.create_site(target, answers(), [host(ansible_user="deploy")])
    assert password == tmp_path / "config/dspace-deploy/vault-passwords/demo.txt"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert stat.S_IMODE(password.parent.stat().st_mode) == 0o700
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        "README.md", "group_vars/all/site.yml", "group_vars/all/vault.yml", "hosts.yml"]
    hosts = yaml.safe_load((target / "hosts.yml").read_text())
    assert hosts["all"]["children"]["dspace"]["hosts"]["repo"] == {
        "ansible_host": "192.0.2.10", "ansible_user": "deploy"}
    site_text = (target / "group_vars/all/site.yml").read_text()
    assert 'line: "9"' in site_text and "# " in site_text  # quoted, commented
    settings = yaml.safe_load(site_text)
    assert settings["site_name"] == "demo"
    assert settings["common_timezone"] == "America/Lima"
    assert settings["dspace_instances"][0]["hostname"] == "repo.example.edu"
    readme = (target / "README.md").read_text()
    assert "dspace-deploy up -i" in readme and str(password) in readme
    loaded = load_site(target, password)
    assert len(loaded.secrets) == 3  # db and admin passwords, the local backup target's


def test_written_inventory_works_with_ansible(tmp_path: Path) -> None:
    target = tmp_path / "site"
    password = scaffold.create_site(target, answers(), [host()])
    view = subprocess.run([str(BIN / "ansible-vault"), "view", "--vault-password-file",
                           str(password), str(target / "group_vars/all/vault.yml")],
                          capture_output=True, text=True, check=False)
    assert view.returncode == 0, view.stderr
    secrets = yaml.safe_load(view.stdout)["vault_instance_secrets"]["repo"]
    assert set(secrets) == {"db_password", "admin_password"}
    listing = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(target), "--list",
                              "--vault-password-file", str(password)],
                             capture_output=True, text=True, check=False)
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout)
    assert data["dspace"]["hosts"] == ["repo"]
    assert data["_meta"]["hostvars"]["repo"]["site_name"] == "demo"


def test_per_host_instances_as_the_lab_passes_them(tmp_path: Path) -> None:
    hosts = [
        HostEntry(f"lab-{n}", {"ansible_connection": "containers.podman.podman",
                               "ansible_host": f"dspace-lab-{n}",
                               "dspace_instances": [{"name": f"r{n}", "line": line,
                                                     "hostname": f"lab-{n}.lab.test",
                                                     "admin_email": "a@example.org"}]})
        for n, line in ((1, "8"), (2, "10"))
    ]
    target = tmp_path / "lab"
    password_file = tmp_path / "lab-password.txt"
    returned = scaffold.create_site(target, SiteAnswers("lab-demo", []), hosts,
                                    vault_password_file=password_file)
    assert returned == password_file
    loaded = load_site(target, password_file)
    assert loaded.hosts == ["lab-1", "lab-2"]
    assert loaded.hostvars["lab-2"]["dspace_instances"][0]["line"] == "10"
    data = vault.read_vault(target / "group_vars/all/vault.yml", password_file)
    assert set(data["vault_instance_secrets"]) == {"r1", "r2"}
    assert "dspace_instances" not in yaml.safe_load(
        (target / "group_vars/all/site.yml").read_text())


def test_invalid_answers_write_nothing(tmp_path: Path) -> None:
    target = tmp_path / "site"
    with pytest.raises(ValidationFailed) as info:
        scaffold.create_site(target, answers(line="7", hostname="https://x.org/"), [host()])
    keys = {p.key for p in info.value.problems}
    assert {"dspace_instances[0].line", "dspace_instances[0].hostname"} <= keys
    assert not target.exists()
    assert not (tmp_path / "config").exists()  # no password file either


def test_unknown_timezone_is_reported(tmp_path: Path) -> None:
    bad = answers()
    bad.timezone = "America/Bogot"
    with pytest.raises(ValidationFailed, match="did you mean America/Bogota"):
        scaffold.create_site(tmp_path / "site", bad, [host()])


def test_non_empty_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "site"
    target.mkdir()
    (target / "notes.md").write_text("mine")
    with pytest.raises(InputError, match="--force"):
        scaffold.create_site(target, answers(), [host()])


def test_overwrite_keeps_existing_secrets(tmp_path: Path) -> None:
    target = tmp_path / "site"
    password = scaffold.create_site(target, answers(), [host()])
    vault_file = target / "group_vars/all/vault.yml"
    before = vault_file.read_text()
    again = scaffold.create_site(target, answers(line="10"), [host()], overwrite=True)
    assert again == password
    assert vault_file.read_text() == before  # nothing to add: not even re-encrypted
    more = answers()
    more.instances.append(InstanceAnswers(name="two", hostname="two.example.edu"))
    scaffold.create_site(target, more, [host()], overwrite=True)
    data = vault.read_vault(vault_file, password)["vault_instance_secrets"]
    assert set(data) == {"repo", "two"}
    assert load_site(target, password).hostvars["repo"]["dspace_instances"][1]["name"] == "two"


def test_password_file_inside_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "site"
    with pytest.raises(InputError, match="inside the inventory directory"):
        scaffold.create_site(target, answers(), [host()],
                             vault_password_file=target / "pw.txt")
    assert not target.exists()


def test_existing_password_file_is_reused(tmp_path: Path) -> None:
    password_file = tmp_path / "shared-password.txt"
    password_file.write_text("team-password-123\n")
    password_file.chmod(0o600)
    scaffold.create_site(tmp_path / "site", answers(), [host()],
                         vault_password_file=password_file)
    assert password_file.read_text() == "team-password-123\n"
    load_site(tmp_path / "site", password_file)


def test_bad_host_names_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="not a valid inventory host name"):
        scaffold.create_site(tmp_path / "site", answers(), [HostEntry("bad name", {})])


def test_yaml_value_quotes_what_yaml_would_misread() -> None:
    assert scaffold.yaml_value("9") == '"9"'
    assert scaffold.yaml_value("yes") == '"yes"'
    assert scaffold.yaml_value("repo") == "repo"
    assert scaffold.yaml_value("a: b") == '"a: b"'
    assert yaml.safe_load(f"k: {scaffold.yaml_value('#x')}")["k"] == "#x"


# --- the CLI --------------------------------------------------------------------------------


def _init(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    return run_cli("init", *args)


def test_cli_init(tmp_path: Path) -> None:
    target = tmp_path / "x"
    result = _init(tmp_path, str(target), "--yes", "--site-name", "demo", "--hostname",
                   "repo.example.edu", "--admin-email", "a@b.org", "--ssh-user", "deploy")
    code, out, err = result
    assert code == 0, err
    assert "dspace-deploy up -i" in out
    assert "vault-passwords/demo.txt" in out
    hosts = yaml.safe_load((target / "hosts.yml").read_text())["all"]["children"]["dspace"]
    assert hosts["hosts"]["repo"] == {"ansible_host": "repo.example.edu",
                                      "ansible_user": "deploy"}
    load_site(target, tmp_path / "config/dspace-deploy/vault-passwords/demo.txt")


def test_cli_init_without_required_flags_names_them(tmp_path: Path) -> None:
    code, _, err = _init(tmp_path, str(tmp_path / "x"))  # stdin is no terminal: no prompts
    assert code == EXIT_BAD_INPUT
    for flag in ("--site-name", "--hostname", "--admin-email"):
        assert flag in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_cli_init_problems_name_the_flags(tmp_path: Path) -> None:
    code, _, err = _init(tmp_path, str(tmp_path / "x"), "--yes", "--site-name", "Demo",
                         "--hostname", "repo.example.edu", "--admin-email", "a@b.org",
                         "--line", "7", "--tls-mode", "acme", "--host", "x")
    assert code == EXIT_BAD_INPUT
    assert "--line: dspace_instances[0].line" in err
    assert "--site-name: site_name" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_cli_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("")
    code, _, err = _init(tmp_path, str(tmp_path / "x"), "--yes", "--site-name", "demo",
                         "--hostname", "repo.example.edu", "--admin-email", "a@b.org")
    assert code == EXIT_BAD_INPUT
    assert "not empty" in err and "--force" in err


def test_site_cmds_imports_stay_light() -> None:
    code = ("import sys; import dspace_deploy.cli.site_cmds; "
            "print(sorted(m for m in sys.modules if m.startswith(('dspace_deploy.inventory', "
            "'ansible', 'jinja2', 'yaml'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_cli_init_prompts_in_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    replies = {"Site name": "prompted", "Public host name": "repo.example.edu",
               "E-mail": "a@example.edu", "DSpace line": "10", "TLS certificate": "selfsigned"}
    asked: list[str] = []

    def prompt(text: str, default: object = None, **_: object) -> str:
        asked.append(text)
        return next(v for k, v in replies.items() if text.startswith(k))

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    code, _, err = _init(tmp_path, str(tmp_path / "x"), "--admin-email", "given@example.edu")
    assert code == 0, err
    assert len(asked) == 4  # every missing value, and only those
    settings = yaml.safe_load((tmp_path / "x/group_vars/all/site.yml").read_text())
    assert settings["site_name"] == "prompted"
    assert settings["dspace_instances"][0]["line"] == "10"
    assert settings["dspace_instances"][0]["admin_email"] == "given@example.edu"
