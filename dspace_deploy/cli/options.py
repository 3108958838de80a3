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
        help="Directory or URL holding artifact bundles (<line>-<flavor>-<release>/manifest.json); "
        "default: the site's dspace_artifacts. Every checksum is verified before any host "
        "is contacted.",
        show_default=False,
    ),
]


def checked_artifacts(value: str | None) -> str | None:
    """--artifacts as given, once it names an existing directory or an http(s):// or
    file:// URL; InputError (exit 2, nothing contacted) otherwise. Every verb that takes
    --artifacts checks it, whether or not the run needs the bundles."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    from dspace_deploy.bundles import URL_SCHEMES
    from dspace_deploy.errors import InputError
    from dspace_deploy.i18n import _

    hint = _("Give the directory that holds the bundles (LINE-FLAVOR-RELEASE/manifest.json, "
             "what `dspace-deploy build` writes), or an http(s):// URL of it.")
    text = value.strip()
    if not text:
        raise InputError(_("--artifacts is empty."), hint=hint)
    if "://" in text:
        scheme = urlsplit(text).scheme.lower()
        if scheme not in URL_SCHEMES:
            raise InputError(_("--artifacts {value}: the URL scheme {scheme} is not supported "
                               "(http, https and file are).").format(value=value,
                                                                    scheme=repr(scheme)),
                             hint=hint)
        if scheme != "file":
            return value
        text = urlsplit(text).path
    path = Path(text).expanduser()
    if not path.exists():
        raise InputError(_("--artifacts {value} does not exist.").format(value=value),
                         hint=hint)
    if not path.is_dir():
        raise InputError(_("--artifacts {value} is a file, not a directory.").format(
                             value=value),
                         hint=_("Give the directory that holds it: {path}").format(
                             path=path.absolute().parent))
    return value
