"""Secrets: generation, the site's ansible-vault file, and its password file.

The vault is group_vars/all/vault.yml, encrypted as a whole with ansible-vault (format 1.1,
AES256, vault id "default": what `ansible-vault view/edit` and `ansible-playbook
--vault-password-file` read). The password sits in a 0600 file outside the inventory,
by default resources.vault_password_file(site_name). Ansible is imported lazily, only to
encrypt or decrypt.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from dspace_deploy import resources
from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.i18n import _
from dspace_deploy.inventory.loader import VAULT_HEADER, VAULT_REL, display_path, plain

SECRET_BYTES = 24  # token_urlsafe(24) -> 32 characters of [A-Za-z0-9_-]
PASSWORD_BYTES = 32  # -> 43 characters
VAULT_ID = "default"


def plaintext_vault() -> str:
    """What is wrong with a vault file written in plain text (compared by secrets sync)."""
    return _("is not encrypted: its secrets are in plain text")


class WrongPassword(Exception):
    """The password does not decrypt the vault."""


class MalformedVault(InputError):
    """Vault text that is no ansible-vault format (a damaged file or !vault value). Callers
    that know the file and key say where; `detail` is what Ansible found wrong."""

    def __init__(self, detail: str) -> None:
        super().__init__(_("A vault-encrypted value is malformed: {detail}").format(
                             detail=detail), hint=_("Re-create it with ansible-vault."))
        self.detail = detail


def generate_secret(nbytes: int = SECRET_BYTES) -> str:
    """A random secret safe in YAML, shells, JDBC and URLs: [A-Za-z0-9_-], starting with a
    letter or digit (a leading '-' reads as an option on command lines)."""
    while True:
        value = secrets.token_urlsafe(nbytes)
        if value[0].isalnum() and value[-1].isalnum():
            return value


def generate_password() -> str:
    return generate_secret(PASSWORD_BYTES)


# --------------------------------------------------------------------------------------
# Password files


def refuse_inside(password_file: Path, inventory_dir: Path) -> None:
    """A password next to the vault it opens protects nothing: refuse it."""
    pw = Path(os.path.abspath(password_file.expanduser()))
    inv = Path(os.path.abspath(inventory_dir))
    try:
        pw.resolve().relative_to(inv.resolve())
    except ValueError:
        try:
            pw.relative_to(inv)
        except ValueError:
            return
    raise InputError(
        _("The vault password file {path} is inside the inventory directory {inventory}.")
        .format(path=password_file, inventory=inventory_dir),
        hint=_("Whoever can read the inventory (a Git repository, a backup, a copy sent to a "
               "colleague) could then decrypt every secret. Keep it outside, e.g. at the "
               "default {default}.").format(
                   default=f"{resources.config_home() / 'vault-passwords'}/SITE.txt"),
    )


def read_password(path: Path) -> bytes:
    """The password in a file (stripped), or printed by it when it is executable (as
    Ansible does with vault password scripts)."""
    path = path.expanduser()
    if not path.is_file():
        raise EnvironmentProblem(
            _("The vault password file {path} does not exist.").format(path=path),
            hint=_("Point to the site's password file with --vault-password-file or "
                   "$DSPACE_DEPLOY_VAULT_PASSWORD_FILE."))
    _refuse_shared(path)
    try:
        if os.access(path, os.X_OK):
            result = subprocess.run([str(path)], capture_output=True, check=False, timeout=60)
            if result.returncode != 0:
                raise EnvironmentProblem(
                    _("The vault password script {path} failed (exit {code}).").format(
                        path=path, code=result.returncode),
                    hint=_("Run it by hand to see why, or use a plain password file (mode "
                           "0600, not executable)."))
            data = result.stdout.strip()
        else:
            data = path.read_bytes().strip().strip(b"\r\n")
    except OSError as exc:
        raise EnvironmentProblem(_("Cannot read the vault password file {path}: {reason}.")
                                 .format(path=path, reason=exc.strerror),
                                 hint=_("Check its owner and permissions (0600).")) from exc
    if not data:
        raise InputError(_("The vault password file {path} is empty.").format(path=path),
                         hint=_("Restore the site's password into it."))
    return data


def _refuse_shared(path: Path) -> None:
    """A password file other users can read gives them every secret of the site (ssh refuses
    private keys the same way); a password script they can change runs their code. Exit 3:
    the controller's file needs fixing, nothing was touched."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # reading it reports the problem
    if os.access(path, os.X_OK):
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise EnvironmentProblem(
                _("The vault password script {path} can be changed by other users (mode "
                  "{mode}), so they could run their code with the site's secrets.").format(
                      path=path, mode=f"{mode:04o}"),
                hint=_("Run `{command}`, then rerun.").format(command=f"chmod go-w {path}"))
        return  # a script prints the password from elsewhere: reading it tells nothing
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise EnvironmentProblem(
            _("The vault password file {path} is open to other users (mode {mode}): anyone "
              "who can read it can decrypt every secret of the site.").format(
                  path=path, mode=f"{mode:04o}"),
            hint=_("Run `{command}`, then rerun.").format(command=f"chmod 600 {path}"))


def write_password_file(path: Path, password: str | None = None) -> Path:
    """Create a password file (mode 0600; its directory 0700 when dspace-deploy owns it).
    Never overwrites an existing file."""
    path = path.expanduser()
    parent = path.parent
    created_parent = not parent.exists()
    parent.mkdir(parents=True, exist_ok=True)
    if created_parent or _is_ours(parent):
        parent.chmod(0o700)
    value = password or generate_password()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(_("The vault password file {path} already exists.").format(path=path),
                         hint=_("Use it as it is, or choose another path.")) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(value + "\n")
    return path


def _is_ours(directory: Path) -> bool:
    try:
        directory.resolve().relative_to(resources.config_home().resolve())
        return True
    except ValueError:
        return False


def password_file_mode_ok(path: Path) -> bool:
    """True when no one but the owner can read the password file."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not mode & (stat.S_IRWXG | stat.S_IRWXO)


# --------------------------------------------------------------------------------------
# Encryption


def encrypt_text(plaintext: str, password: bytes) -> str:
    """ansible-vault format 1.1, AES256, vault id "default"."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    secret = VaultSecret(password)
    lib = VaultLib([(VAULT_ID, secret)])
    return str(lib.encrypt(plaintext, secret, vault_id=VAULT_ID).decode("utf-8"))


def decrypt_text(vaulttext: str, password: bytes) -> str:
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import AnsibleVaultError, VaultLib, VaultSecret

    lib = VaultLib([(VAULT_ID, VaultSecret(password))])
    try:
        return str(lib.decrypt(vaulttext.strip()).decode("utf-8"))
    except AnsibleVaultError as exc:
        if "Decryption failed" in str(exc) or "HMAC" in str(exc):
            raise WrongPassword(str(exc)) from exc
        raise MalformedVault(str(exc)) from exc
    except (AnsibleError, ValueError, UnicodeDecodeError) as exc:
        raise MalformedVault(str(exc)) from exc


def malformed_file_fix() -> str:
    return _("restore the file from a backup or from version control; or re-create it: write "
             "the secrets as plain YAML and `ansible-vault encrypt` it with the site's password "
             "file (`dspace-deploy secrets sync` then adds any generated secret that is "
             "missing)")


def malformed_file_what(error: MalformedVault) -> str:
    return _("is not a valid ansible-vault file ({detail})").format(detail=error.detail)


def is_encrypted_text(text: str) -> bool:
    return text.lstrip().startswith(VAULT_HEADER)


# --------------------------------------------------------------------------------------
# The vault file


def read_vault(path: Path, password_file: Path) -> dict[str, Any]:
    """The variables of a vault file (plain dicts). A plaintext file is read as it is."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(_("Cannot read the vault {path}: {reason}.").format(
            path=display_path(path), reason=exc.strerror)) from exc
    if is_encrypted_text(text):
        try:
            text = decrypt_text(text, read_password(password_file))
        except WrongPassword as exc:
            raise InputError(
                _("The password in {password_file} does not decrypt {path}.").format(
                    password_file=password_file, path=display_path(path)),
                hint=_("Use the site's own vault password file (--vault-password-file or "
                       "$DSPACE_DEPLOY_VAULT_PASSWORD_FILE).")) from exc
        except MalformedVault as exc:
            raise InputError(f"{display_path(path)} {malformed_file_what(exc)}.",
                             hint=_("To fix it: {fix}.").format(fix=malformed_file_fix())
                             ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(_("The vault {path} is not valid YAML: {error}").format(
                             path=display_path(path), error=exc),
                         hint=_("Fix it with `ansible-vault edit`.")) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(_("The vault {path} is not a mapping of variables.").format(
                             path=display_path(path)),
                         hint=_("Fix it with `ansible-vault edit`."))
    return dict(data)


def vault_text(data: dict[str, Any], site_name: str) -> str:
    """Plaintext of a vault file: a header that says how to handle it, then the variables."""
    header = (
        f"# Secrets of site {site_name}, generated by dspace-deploy. This file is encrypted\n"
        "# with ansible-vault; its password file is outside the inventory (by default\n"
        f"# ~/.config/dspace-deploy/vault-passwords/{site_name}.txt).\n"
        f"#   view:  ansible-vault view --vault-password-file PASSWORD_FILE {VAULT_REL}\n"
        f"#   edit:  ansible-vault edit --vault-password-file PASSWORD_FILE {VAULT_REL}\n"
        "#   secrets for new instances (existing ones are kept):\n"
        "#          dspace-deploy secrets sync -i DIR\n"
        "# Only vault_* variables belong here; the site's own secrets are named vault_local_*.\n"
    )
    body = yaml.safe_dump(plain(data), sort_keys=False, default_flow_style=False, width=100)
    return header + body


def write_vault(path: Path, data: dict[str, Any], password: bytes, site_name: str) -> None:
    """Encrypt and write atomically."""
    text = encrypt_text(vault_text(data, site_name), password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".vault-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def secret_keys() -> list[str]:
    """The secrets each instance gets, from the spec of vault_instance_secrets."""
    from dspace_deploy.inventory.specs import load_catalog

    opt = load_catalog().get("vault_instance_secrets")
    if opt is None or opt.values is None:
        return ["db_password", "admin_password"]
    return list(opt.values.options)


def _entries(data: dict[str, Any], variable: str, names: list[str],
             shape: str) -> dict[str, dict[str, Any]]:
    """The vault mapping `variable` (name -> secrets), with an entry for each name."""
    table = data.get(variable)
    if table is None:
        table = data[variable] = {}
    if not isinstance(table, dict):
        raise InputError(_("{variable} in the vault is not a mapping.").format(
                             variable=variable),
                         hint=_("Fix it with `ansible-vault edit` ({shape}).").format(
                             shape=shape))
    for name in names:
        if table.get(name) is None:
            table[name] = {}
        if not isinstance(table[name], dict):
            raise InputError(_("{variable} in the vault is not a mapping.").format(
                                 variable=f"{variable}.{name}"),
                             hint=_("Fix it with `ansible-vault edit`."))
    return table


def fill_secrets(data: dict[str, Any], instances: list[str]) -> list[str]:
    """Add missing per-instance secrets to vault data in place; never change existing ones.
    Returns the dotted names of what was added."""
    table = _entries(data, "vault_instance_secrets", instances,
                     "instance name -> {db_password, admin_password}")
    added = []
    for name in instances:
        entry = table[name]
        for key in secret_keys():
            if entry.get(key) in (None, ""):
                entry[key] = generate_secret()
                added.append(f"vault_instance_secrets.{name}.{key}")
    return added


def fill_backup_secrets(data: dict[str, Any], targets: list[str]) -> list[str]:
    """Give each backup target a generated restic repository password, in place; never
    change existing ones (a changed password would lock the site out of its backups).
    Returns the dotted names of what was added."""
    if not targets and "vault_backup_secrets" not in data:
        return []
    table = _entries(data, "vault_backup_secrets", targets, "target name -> {password, ...}")
    added = []
    for name in targets:
        entry = table[name]
        if entry.get("password") in (None, ""):
            entry["password"] = generate_secret()
            added.append(f"vault_backup_secrets.{name}.password")
    return added


def backup_target_names(hostvars: dict[str, dict[str, Any]]) -> list[str]:
    """Every backup target name of the site (dspace_backup_targets of each host, or the
    role's default target), in order of appearance."""
    names: list[str] = []
    for vars_ in hostvars.values():
        targets = vars_.get("dspace_backup_targets", default_backup_targets())
        for target in targets if isinstance(targets, list) else []:
            name = target.get("name") if isinstance(target, dict) else None
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


def default_backup_targets() -> list[dict[str, Any]]:
    """The dspace_backup role's default targets (its spec's default)."""
    from dspace_deploy.inventory.specs import load_catalog

    opt = load_catalog().get("dspace_backup_targets")
    default = opt.default if opt is not None else None
    return list(default) if isinstance(default, list) else []


def ensure_secrets(site_dir: Path, password_file: Path | None = None) -> list[str]:
    """Give every instance of the site its secrets in the vault, keeping existing ones;
    encrypt the vault (creating it, and the password file, when missing).
    Returns the dotted names of the secrets added (empty when nothing changed)."""
    from dspace_deploy.errors import ValidationFailed
    from dspace_deploy.inventory.loader import DiskTree
    from dspace_deploy.inventory.validate import _require_inventory_dir, check_tree

    site_dir = Path(site_dir)
    _require_inventory_dir(site_dir)
    checked = check_tree(DiskTree(site_dir), require_vault=False)
    problems = [p for p in checked.problems if p.what != plaintext_vault()]  # fixed below
    if problems:
        raise ValidationFailed(problems)
    assert checked.site_name is not None
    site_name = checked.site_name
    password_file = (password_file.expanduser() if password_file is not None
                     else resources.vault_password_file(site_name))
    refuse_inside(password_file, site_dir)
    vault_path = site_dir / VAULT_REL
    data: dict[str, Any] = {}
    rewrite = False
    if vault_path.exists():
        data = read_vault(vault_path, password_file)
        rewrite = not is_encrypted_text(vault_path.read_text(encoding="utf-8"))
    else:
        rewrite = True
        if not password_file.exists():
            write_password_file(password_file)
    added = fill_secrets(data, instance_names(checked.hostvars))
    added += fill_backup_secrets(data, backup_target_names(checked.hostvars))
    if added or rewrite:
        write_vault(vault_path, data, read_password(password_file), site_name)
    return added


def instance_names(hostvars: dict[str, dict[str, Any]]) -> list[str]:
    """Every instance name of the site, in order of appearance."""
    names: list[str] = []
    for vars_ in hostvars.values():
        items = vars_.get("dspace_instances")
        if isinstance(items, list):
            for item in items:
                name = item.get("name") if isinstance(item, dict) else None
                if isinstance(name, str) and name not in names:
                    names.append(name)
    return names
