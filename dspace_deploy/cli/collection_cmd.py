"""`collection build`: the roles, playbooks and plugins as the Ansible collection dspace.deploy
(a tarball for `ansible-galaxy collection install --offline`, e.g. in AWX; docs/collection.md).
Exit codes: 0 the tarball is written; 3 ansible-galaxy is missing or failed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dspace_deploy.cli import options
from dspace_deploy.cli.output import emit
from dspace_deploy.i18n import _


def register(app: typer.Typer) -> None:
    collection = typer.Typer(
        name="collection",
        help="The Ansible collection dspace.deploy (roles, playbooks, plugins), for AWX.",
        no_args_is_help=True,
        rich_markup_mode=None,  # plain help keeps `--help` fast
    )
    collection.command("build")(build)
    app.add_typer(collection, name="collection")


def build(
    out: Annotated[
        Path, typer.Option("--out", help="Directory the tarball is written to.")
    ] = Path("."),
    json_output: options.Json = False,
) -> None:
    """Build dspace-deploy's roles, playbooks and plugins as the collection tarball
    dspace-deploy-VERSION.tar.gz."""
    from dspace_deploy.collection import build as build_collection

    built = build_collection(out)
    if json_output:
        emit({"verb": "collection build", "ok": True, **built.as_dict()})
        return
    sys.stdout.write(
        _("Built {tarball}: {roles} roles, {playbooks} playbooks. Install it offline with\n"
          "  ansible-galaxy collection install --offline {tarball} -p DIR\n").format(
            tarball=built.tarball, roles=len(built.roles), playbooks=len(built.playbooks)))
