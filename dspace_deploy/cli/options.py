"""Options shared by several verbs, defined once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

INVENTORY_ENV = "DSPACE_DEPLOY_INVENTORY"

Inventory = Annotated[
    Path | None,
    typer.Option(
        "--inventory",
        "-i",
        help=f"Site inventory directory (default: ${INVENTORY_ENV}, else the current directory).",
        show_default=False,
    ),
]
VaultPasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--vault-password-file",
        help="Vault password file (default: ~/.config/dspace-deploy/vault-passwords/SITE.txt, "
        "or $DSPACE_DEPLOY_VAULT_PASSWORD_FILE).",
        show_default=False,
    ),
]
Limit = Annotated[
    str | None,
    typer.Option("--limit", "-l", help="Only these hosts or groups (Ansible pattern)."),
]
Json = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on stdout and nothing else there."),
]
Verbose = Annotated[
    int,
    typer.Option("--verbose", "-v", count=True, help="More Ansible output (-v, -vv, -vvv)."),
]
Check = Annotated[
    bool, typer.Option("--check", help="Dry run: report what would change, change nothing.")
]
Diff = Annotated[bool, typer.Option("--diff", help="Show file and template differences.")]


def resolve_inventory(path: Path | None) -> Path:
    """The inventory directory from the flag, the environment, or the current directory."""
    if path is not None:
        return path
    env = os.environ.get(INVENTORY_ENV)
    return Path(env) if env else Path.cwd()
Artifacts = Annotated[
    str | None,
    typer.Option(
        "--artifacts",
        help="Directory or URL holding artifact bundles (<line>-<flavor>/manifest.json); "
        "default: the site's dspace_artifacts. Every checksum is verified before any host "
        "is contacted.",
        show_default=False,
    ),
]
