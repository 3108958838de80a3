"""Secrets: generation, ansible-vault files the real CLI reads, password files, sync."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dspace_deploy import resources
from dspace_deploy.errors import EnvironmentProblem, InputError, ValidationFailed
from dspace_deploy.inventory import vault
from dspace_deploy.inventory.validate import load_site
from tests.unit.fixtures.helpers import (
    FIXTURE_ROLES,
    PASSWORD,
    REPO,
    build,
    instance,
    run_cli,
    secrets_for,
    site,
)

ANSIBLE_VAULT = Path(sys.executable).parent / "ansible-vault"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "roles_dir", lambda: FIXTURE_ROLES)
    monkeypatch.delenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_generated_secrets_are_long_and_harmless() -> None:
    values = {vault.generate_secret() for _ in range(300)}
    assert len(values) == 300
    for value in values:
        assert len(value) >= 24
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*[A-Za-z0-9]", value), value
        assert yaml.safe_load(f"k: {value}")["k"] == value  # plain YAML scalar
    assert len(vault.generate_password()) >= 32


def test_encrypt_decrypt_round_trip() -> None:
    text = vault.encrypt_text("a: 1\n", b"pw")
    assert text.startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    assert vault.decrypt_text(text, b"pw") == "a: 1\n"
    with pytest.raises(vault.WrongPassword):
        vault.decrypt_text(text, b"other")


def test_we_read_what_ansible_vault_encrypts(tmp_path: Path) -> None:
    password_file = tmp_path / "pw.txt"
    password_file.write_text("pass-from-file\n")
    password_file.chmod(0o600)
    path = tmp_path / "vault.yml"
    path.write_text("vault_local_x: from-ansible\n")
    subprocess.run([str(ANSIBLE_VAULT), "encrypt", "--vault-password-file", str(password_file),
                    str(path)], check=True, capture_output=True)
    assert vault.read_vault(path, password_file) == {"vault_local_x": "from-ansible"}


def test_password_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "config/dspace-deploy/vault-passwords/demo.txt"
    assert vault.write_password_file(path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(path.read_text().strip()) >= 32
    assert vault.password_file_mode_ok(path)
    with pytest.raises(InputError, match="already exists"):
        vault.write_password_file(path)


def test_password_script_is_run(tmp_path: Path) -> None:
    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\necho from-script\n")
    script.chmod(0o700)
    assert vault.read_password(script) == b"from-script"


def test_missing_or_empty_password_file(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="does not exist"):
        vault.read_password(tmp_path / "none.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(InputError, match="is empty"):
        vault.read_password(empty)


def test_password_inside_inventory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        vault.refuse_inside(tmp_path / "site/secret/pw.txt", tmp_path / "site")
    assert "could then decrypt" in str(info.value)
    vault.refuse_inside(tmp_path / "pw.txt", tmp_path / "site")  # beside it is fine


def test_read_vault_wrong_password(tmp_path: Path) -> None:
    root, _ = build(tmp_path / "site")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("nope\n")
    wrong.chmod(0o600)
    with pytest.raises(InputError, match="does not decrypt"):
        vault.read_vault(root / "group_vars/all/vault.yml", wrong)


def test_ensure_secrets_adds_only_missing_ones(tmp_path: Path) -> None:
    files = {"group_vars/all/site.yml": site(dspace_instances=[
        instance(), instance(name="second", hostname="second.example.edu")])}
    root, password = build(tmp_path / "site", files, vault=secrets_for("repo"))
    path = root / "group_vars/all/vault.yml"
    before = vault.read_vault(path, password)
    added = vault.ensure_secrets(root, password)
    assert added == ["vault_instance_secrets.second.db_password",
                     "vault_instance_secrets.second.admin_password"]
    after = vault.read_vault(path, password)
    assert after["vault_instance_secrets"]["repo"] == before["vault_instance_secrets"]["repo"]
    assert vault.is_encrypted_text(path.read_text())
    load_site(root, password)
    text = path.read_text()
    assert vault.ensure_secrets(root, password) == []
    assert path.read_text() == text  # nothing to add: the file is left alone


def test_ensure_secrets_keeps_other_secrets(tmp_path: Path) -> None:
    root, password = build(tmp_path / "site",
                           vault={"vault_local_smtp_password": "smtp-Xk2Lm9Qp"})
    vault.ensure_secrets(root, password)
    data = vault.read_vault(root / "group_vars/all/vault.yml", password)
    assert data["vault_local_smtp_password"] == "smtp-Xk2Lm9Qp"
    assert set(data["vault_instance_secrets"]["repo"]) == {"db_password", "admin_password"}


def test_ensure_secrets_encrypts_a_plaintext_vault(tmp_path: Path) -> None:
    files = {"group_vars/all/vault.yml": secrets_for("repo")}
    root, password = build(tmp_path / "site", files, vault=None)
    assert vault.ensure_secrets(root, password) == []
    path = root / "group_vars/all/vault.yml"
    assert vault.is_encrypted_text(path.read_text())
    assert vault.read_vault(path, password) == secrets_for("repo")


def test_ensure_secrets_creates_vault_and_password(tmp_path: Path) -> None:
    root, _ = build(tmp_path / "site", vault=None)
    added = vault.ensure_secrets(root)  # default password file, created
    created = tmp_path / "config/dspace-deploy/vault-passwords/demo.txt"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert len(added) == 2
    load_site(root)


def test_ensure_secrets_refuses_a_broken_inventory(tmp_path: Path) -> None:
    root, password = build(tmp_path / "site", {"group_vars/all/site.yml": site(demo_port="x")})
    with pytest.raises(ValidationFailed, match="demo_port"):
        vault.ensure_secrets(root, password)


def test_ensure_secrets_needs_the_password_of_an_existing_vault(tmp_path: Path) -> None:
    root, _ = build(tmp_path / "site")
    with pytest.raises(EnvironmentProblem, match=r"vault-passwords/demo\.txt"):
        vault.ensure_secrets(root)


def test_secrets_sync_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"group_vars/all/site.yml": site(dspace_instances=[
        instance(), instance(name="new", hostname="new.example.edu")])}
    root, password = build(tmp_path / "site", files, vault=secrets_for("repo"))
    monkeypatch.setattr(resources, "roles_dir", lambda: REPO / "roles")
    command = ("secrets", "sync", "-i", str(root), "--vault-password-file", str(password))
    code, out, err = run_cli(*command)
    assert code == 0, err
    assert "vault_instance_secrets.new.db_password" in out
    assert PASSWORD not in out
    code, out, _ = run_cli(*command)
    assert code == 0 and "nothing changed" in out


# --- the password file's mode ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_password_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    root, password = build(tmp_path / "site")
    password.chmod(mode)
    with pytest.raises(EnvironmentProblem) as info:
        load_site(root, password)
    message = str(info.value)
    assert str(password) in message and f"{mode:04o}" in message
    assert f"chmod 600 {password}" in message
    assert info.value.exit_code == 3


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_password_file_is_read(tmp_path: Path, mode: int) -> None:
    root, password = build(tmp_path / "site")
    password.chmod(mode)
    assert load_site(root, password).name == "demo"


def test_a_password_script_may_be_readable_but_not_writable_by_others(tmp_path: Path) -> None:
    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\necho from-script\n")
    script.chmod(0o755)  # a script prints the password from elsewhere: reading it tells nothing
    assert vault.read_password(script) == b"from-script"
    script.chmod(0o775)
    with pytest.raises(EnvironmentProblem, match=f"chmod go-w {script}"):
        vault.read_password(script)


def test_cli_refuses_a_readable_password_file_with_exit_3(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    root, password = build(tmp_path / "site")
    password.chmod(0o644)
    code, out, err = run_cli("validate", "-i", str(root), "--vault-password-file", str(password),
                             "--json")
    assert code == 3
    assert f"chmod 600 {password}" in err
    assert json.loads(out)["exit_code"] == 3


# --- a malformed vault names its file and key -------------------------------------------------

VAULT_REL = "group_vars/all/vault.yml"


def _inline(value: str, password: str = PASSWORD) -> str:
    body = vault.encrypt_text(value, password.encode())
    return "!vault |\n" + "".join(f"    {line}\n" for line in body.splitlines())


@pytest.mark.parametrize("body", ["zzzz-not-hex\n", "6162\n", "\n"])
def test_a_malformed_vault_file_is_named(tmp_path: Path, body: str) -> None:
    root, password = build(tmp_path / "site")
    (root / VAULT_REL).write_text("$ANSIBLE_VAULT;1.1;AES256\n" + body)
    with pytest.raises(ValidationFailed) as info:
        load_site(root, password)
    (problem,) = [p for p in info.value.problems if VAULT_REL in p.location]
    assert problem.key == "(file)"
    assert "not a valid ansible-vault file" in problem.what
    assert "ansible-vault" in problem.fix


def test_read_vault_names_a_malformed_file(tmp_path: Path) -> None:
    root, password = build(tmp_path / "site")
    (root / VAULT_REL).write_text("$ANSIBLE_VAULT;1.1;AES256\nzz\n")
    with pytest.raises(InputError, match=f"{VAULT_REL} is not a valid ansible-vault file"):
        vault.read_vault(root / VAULT_REL, password)


def test_an_inline_value_of_another_password_names_file_line_and_key(tmp_path: Path) -> None:
    text = ("demo_timezone: Europe/Rome\n"
            f"local_token: {_inline('t0ken-value', 'another-password')}")
    root, password = build(tmp_path / "site", {"host_vars/repo.yml": text})
    with pytest.raises(ValidationFailed) as info:
        load_site(root, password)
    (problem,) = info.value.problems
    assert problem.location.endswith("host_vars/repo.yml:2")
    assert problem.key == "local_token"
    assert "cannot be decrypted" in problem.what and str(password) in problem.what


def test_a_malformed_nested_inline_value_names_its_key_path(tmp_path: Path) -> None:
    text = ("site_name: demo\n"
            "dspace_instances:\n"
            "  - name: repo\n"
            "    hostname: repo.example.edu\n"
            "    admin_email: admin@example.edu\n"
            "    extra_config:\n"
            "      mail.server.password: !vault |\n"
            "        $ANSIBLE_VAULT;1.1;AES256\n"
            "        nothex\n")
    root, password = build(tmp_path / "site", {"group_vars/all/site.yml": text},
                           vault=secrets_for("repo"))
    with pytest.raises(ValidationFailed) as info:
        load_site(root, password)
    (problem,) = info.value.problems
    assert problem.location.endswith("group_vars/all/site.yml:7")
    assert problem.key == "dspace_instances[0].extra_config.mail.server.password"
    assert "malformed" in problem.what


# --- a secret that fails validation is never printed back -------------------------------------

BAD_SECRETS = [
    pytest.param("vault_instance_secrets", {"repo": {"db_password": "s3cret 'quoted' pw",
                                                     "admin_password": "adm-Zw8Yv3Nb6Hc1"}},
                 "vault_instance_secrets.repo.db_password", "s3cret 'quoted' pw",
                 id="pattern"),
    pytest.param("vault_instance_secrets", {"repo": {"db_password": "Short1",
                                                     "admin_password": "adm-Zw8Yv3Nb6Hc1"}},
                 "vault_instance_secrets.repo.db_password", "Short1", id="too-short"),
    pytest.param("vault_backup_secrets", {"local": {"password": ["l1st-s3cret-value"]}},
                 "vault_backup_secrets.local.password", "l1st-s3cret-value", id="type"),
    pytest.param("vault_backup_secrets", {"local": {"password": "pw-0123456789",
                                                    "aws_secret_access_key": 12345.678}},
                 "vault_backup_secrets.local.aws_secret_access_key", "12345.678",
                 id="number"),
]


@pytest.mark.parametrize(("variable", "value", "key", "secret"), BAD_SECRETS)
def test_a_secret_that_fails_validation_is_not_printed(tmp_path: Path, variable: str,
                                                       value: object, key: str,
                                                       secret: str) -> None:
    import json

    data = {**secrets_for("repo"), variable: value}
    root, password = build(tmp_path / "site", vault=data)
    code, out, err = run_cli("validate", "-i", str(root), "--vault-password-file", str(password),
                             "--json")
    assert code == 2, err
    document = json.loads(out)
    problem = next(p for p in document["problems"] if p["key"] == key)
    assert problem["what"] and problem["fix"]  # the key and the rule
    assert secret not in out and secret not in err
    for fragment in secret.split():
        if len(fragment) >= 5:
            assert fragment not in out + err


def test_a_decrypted_secret_quoted_by_any_check_is_masked(tmp_path: Path) -> None:
    """The second line of defence: a secret the site reuses as an ordinary value (here a
    host name a check quotes) is masked in every message."""
    secret = "Reused_Secret-Value-42"
    files = {"group_vars/all/site.yml": site(dspace_instances=[instance(hostname=secret)])}
    root, password = build(tmp_path / "site", files,
                           vault={**secrets_for("repo"), "vault_local_token": secret})
    with pytest.raises(ValidationFailed) as info:
        load_site(root, password)
    assert secret not in str(info.value)
    assert "********" in str(info.value)
