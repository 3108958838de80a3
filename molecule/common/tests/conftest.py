"""Fixtures for the `common` checks under molecule's testinfra verifier.

`dspace-deploy verify` hands the checks every host's effective variables through
$DSPACE_DEPLOY_CHECK_VARS. Under molecule they are built here the same way: the role's
defaults, overridden by the host's variables in molecule's inventory (molecule.yml).
The checks reach the host with testinfra's podman backend (molecule.yml, verifier options):
its ansible backend would run every command through a separate `ansible` call.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
import yaml

from dspace_deploy import resources
from dspace_deploy.checks.conftest import in_container

__all__ = ["hostvars", "in_container"]


@pytest.fixture(scope="module")
def hostvars(host: Any) -> dict[str, Any]:
    """The role's defaults, overridden by the host's variables in molecule's inventory."""
    path = resources.roles_dir() / "common" / "defaults" / "main.yml"
    defaults: dict[str, Any] = yaml.safe_load(path.read_text())
    inventory_file = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory_file:
        raise pytest.UsageError("MOLECULE_INVENTORY_FILE unset: run through `molecule verify`")
    listing = subprocess.run(
        ["ansible-inventory", "-i", inventory_file, "--host", host.backend.get_hostname()],
        capture_output=True,
        text=True,
        check=True,
    )
    variables: dict[str, Any] = json.loads(listing.stdout)
    return {**defaults, **{k: v for k, v in variables.items() if k in defaults}}
