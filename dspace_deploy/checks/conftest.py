"""Fixtures for the testinfra checks that `dspace-deploy verify` runs.

`verify` writes a JSON file mapping each testinfra host spec (e.g. `podman://c1` or
`ansible://web1?ansible_inventory=...`) to that host's effective toolkit variables, with
every role default applied and no secret, and names it in $DSPACE_DEPLOY_CHECK_VARS.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

VARS_ENV = "DSPACE_DEPLOY_CHECK_VARS"


def _all_hostvars() -> dict[str, dict[str, Any]]:
    path = os.environ.get(VARS_ENV)
    if not path:
        return {}
    data: dict[str, dict[str, Any]] = json.loads(Path(path).read_text())
    return data


@pytest.fixture(scope="module")
def hostvars(host: Any) -> dict[str, Any]:
    """Effective variables of the host under check (role defaults included)."""
    key = host.backend.get_pytest_id()  # e.g. podman://lab-1, ssh://10.88.0.5
    table = _all_hostvars()
    if key in table:
        return table[key]
    raise pytest.UsageError(
        f"no variables for host {key!r}: run checks through `dspace-deploy verify`, "
        f"or set ${VARS_ENV} to a JSON file keyed by the testinfra host id"
    )


@pytest.fixture(scope="module")
def in_container(host: Any) -> bool:
    """True on container hosts, where clock and kernel settings belong to the machine."""
    result = host.run("systemd-detect-virt --container")
    return result.rc == 0


@pytest.fixture(scope="module")
def plans(hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    """The host's instance plans (computed by verify as site.yml does); skips the module on
    hosts that run no DSpace instance."""
    found = list(hostvars.get("dspace_plans") or [])
    if not found:
        pytest.skip("dspace_plans is empty: the host runs no DSpace instance")
    return found
