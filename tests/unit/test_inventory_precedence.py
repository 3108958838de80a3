"""The loader's effective variables equal Ansible's own (InventoryManager + VariableManager)
for every example inventory and fixture, so that validation checks what Ansible will use."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.inventory import vault
from dspace_deploy.inventory.loader import (
    DiskTree,
    VaultValue,
    expand_host_pattern,
    load_inventory,
    parse_vars_text,
)
from tests.unit.fixtures.helpers import EXAMPLE_PASSWORD_FILE, EXAMPLES, FIXTURES, PASSWORD

INVENTORIES = [
    *(pytest.param(EXAMPLES / name, EXAMPLE_PASSWORD_FILE, id=name)
      for name in ("single-host", "two-institutions", "lab", "national-network")),
    pytest.param(FIXTURES / "inventories/precedence", None, id="precedence-fixture"),
]


def _normal(value: Any) -> Any:
    """Plain Python data from Ansible's (tagged, lazy) values; vaulted strings decrypted."""
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, (str, bytes)):
        return str(value)
    if isinstance(value, Sequence):
        return [_normal(v) for v in value]
    return value


def _ansible_vars(path: Path, password: bytes | None) -> dict[str, dict[str, Any]]:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    if password is not None:
        loader.set_vault_secrets([("default", VaultSecret(password))])
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    manager = VariableManager(loader=loader, inventory=inventory)
    return {host.name: _normal(manager.get_vars(host=host, include_hostvars=False))
            for host in inventory.get_hosts()}


@pytest.fixture(scope="module")
def magic(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Names Ansible defines for every host of any inventory (not inventory variables)."""
    base = tmp_path_factory.mktemp("baseline")
    (base / "hosts.yml").write_text("all:\n  hosts:\n    x: {}\n")
    return set(_ansible_vars(base, None)["x"])


def _ours(path: Path, password: bytes | None) -> dict[str, dict[str, Any]]:
    inv = load_inventory(DiskTree(path))
    assert not inv.problems, [str(p) for p in inv.problems]
    vf = inv.vault_file()
    if vf is not None and vf.encrypted:
        assert password is not None
        vf.data, problems = parse_vars_text(vault.decrypt_text(vf.text, password), vf.location)
        assert not problems

    def decrypt(value: Any) -> Any:
        if isinstance(value, VaultValue):
            assert password is not None
            return vault.decrypt_text(value.ciphertext, password)
        if isinstance(value, dict):
            return {str(k): decrypt(v) for k, v in value.items()}
        if isinstance(value, list):
            return [decrypt(v) for v in value]
        return value

    return {host: {k: decrypt(e.value) for k, e in inv.effective(host).items()}
            for host in inv.hosts}


@pytest.mark.parametrize(("path", "password_file"), INVENTORIES)
def test_effective_variables_match_ansible(path: Path, password_file: Path | None,
                                           magic: set[str]) -> None:
    password = password_file.read_bytes().strip() if password_file else None
    theirs = _ansible_vars(path, password)
    ours = _ours(path, password)
    assert sorted(ours) == sorted(theirs)
    for host, variables in ours.items():
        expected = {k: v for k, v in theirs[host].items() if k not in magic}
        assert _normal(variables) == expected, host


def test_inline_vault_values_match_ansible(tmp_path: Path, magic: set[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible.parsing.vault import VaultSecret, VaultSecretsContext

    # ansible-core 2.19 decrypts inline values lazily, through a process-wide context.
    monkeypatch.setattr(VaultSecretsContext, "_current", VaultSecretsContext(
        [("default", VaultSecret(PASSWORD.encode()))]))
    root = tmp_path / "inline"
    shutil.copytree(FIXTURES / "inventories/precedence", root)
    body = vault.encrypt_text("inline-secret", PASSWORD.encode())
    block = "".join(f"  {line}\n" for line in body.splitlines())
    (root / "host_vars/web1.yml").write_text(f"local_h: host_vars-web1\nlocal_s: !vault |\n{block}")
    theirs = _ansible_vars(root, PASSWORD.encode())
    ours = _ours(root, PASSWORD.encode())
    assert ours["web1"]["local_s"] == "inline-secret" == theirs["web1"]["local_s"]


@pytest.mark.parametrize(("pattern", "names", "port"), [
    ("repo", ["repo"], None),
    ("repo.example.org:2222", ["repo.example.org"], 2222),
    ("web[1:3]", ["web1", "web2", "web3"], None),
    ("web[01:10:3]", ["web01", "web04", "web07", "web10"], None),
    ("db-[a:c].x:22", ["db-a.x", "db-b.x", "db-c.x"], 22),
    ("fe80::1", ["fe80::1"], None),
])
def test_host_patterns(pattern: str, names: list[str], port: int | None) -> None:
    assert expand_host_pattern(pattern) == (names, port)
