"""What integration tests share: running the real `dspace-deploy` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXE = str(Path(sys.executable).parent / "dspace-deploy")


def cli(*args: str) -> tuple[int, dict[str, Any], str]:
    """Run `dspace-deploy ARGS --json`; return exit code, its JSON document and stderr.
    Fails the test when stdout is not exactly one JSON document or stderr has a traceback."""
    done = subprocess.run([EXE, *args, "--json"], capture_output=True, text=True,
                          check=False, env=os.environ.copy())
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"stdout is not one JSON document:\n{done.stdout}\n{done.stderr}")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, document, done.stderr


def vault_secrets(lab: Any) -> list[str]:
    """Every secret value in a lab site's vault."""
    from dspace_deploy.inventory.vault import read_vault

    return _leaves(read_vault(lab.inventory / "group_vars" / "all" / "vault.yml",
                              lab.vault_password_file))


def assert_no_secret_in_files(root: Path, secrets: list[str]) -> None:
    """No secret in any file under `root` (run artifacts, logs, fact cache)."""
    assert secrets, "there is no secret to search for"
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) > 10, "no run artifacts were kept"
    for path in files:
        raw = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in raw, f"a secret leaked into {path}"


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaves(v)]
    if not isinstance(value, str):
        return []
    # A multi-line secret (an SSH key) could leak as escaped JSON ("\\n"): search each of
    # its long lines too.
    lines = value.splitlines()
    if len(lines) == 1:
        return [value]
    return [value] + [line for line in lines if len(line) >= 32 and "-----" not in line]


def without_instances(lab: Any) -> Any:
    """Give every host of the lab an empty dspace_instances (base system only), for tests of
    single roles: `up` then converges no DSpace instance and `verify` expects none."""
    import yaml

    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    for host_vars in data["all"]["children"]["dspace"]["hosts"].values():
        host_vars["dspace_instances"] = []
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    return lab


def with_instances(lab: Any, instances: dict[str, list[dict[str, Any]]]) -> Any:
    """Give lab hosts their `dspace_instances` (by host name) and generate the secrets they
    need in the lab's vault (`secrets sync`)."""
    import subprocess

    import yaml

    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    for name, host_instances in instances.items():
        data["all"]["children"]["dspace"]["hosts"][name]["dspace_instances"] = host_instances
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return lab


def unchunk(body: bytes) -> bytes:
    """An HTTP/1.1 body sent with `Transfer-Encoding: chunked`, joined."""
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, body = out + rest[:size], rest[size + 2:]
    return out
