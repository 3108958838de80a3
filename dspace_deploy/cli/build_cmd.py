"""`build`: an artifact bundle from the official DSpace / DSpace-CRIS / Solr releases.

The controller builds (dspace_deploy/build.py explains why). Exit codes: 0 the bundle is
written (or was already there); 1 a build step (Maven, npm, yarn) failed; 2 bad input or a
source with a wrong checksum; 3 a tool or the network is missing.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dspace_deploy.cli import options
from dspace_deploy.cli.output import emit


class Flavor(StrEnum):
    dspace = "dspace"
    cris = "cris"


def register(app: typer.Typer) -> None:
    app.command("build")(build)


def build(
    line: Annotated[str, typer.Option("--line", help="DSpace line: 8, 9 or 10.")],
    flavor: Annotated[Flavor, typer.Option("--flavor", help="dspace or cris (DSpace-CRIS).")]
    = Flavor.dspace,
    version: Annotated[
        str | None,
        typer.Option("--version", help="Release to build (default: the line's newest; for "
                     "cris the DSpace-CRIS release).", show_default=False),
    ] = None,
    ui_version: Annotated[
        str | None,
        typer.Option("--ui-version", help="UI release when its tag differs from --version.",
                     show_default=False),
    ] = None,
    solr_version: Annotated[
        str | None,
        typer.Option("--solr-version", help="Solr release (default: the line's).",
                     show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Bundle directory (default: ./bundles/LINE-FLAVOR-RELEASE, so "
                     "`up --artifacts ./bundles` finds it).", show_default=False),
    ] = None,
    source_mirror: Annotated[
        str | None,
        typer.Option("--source-mirror", help="Directory or URL holding the source archives "
                     "under their official file names, instead of GitHub and "
                     "archive.apache.org (air-gapped sites).", show_default=False),
    ] = None,
    ui_memory: Annotated[
        int, typer.Option("--ui-memory", help="MiB of heap for the UI build (NODE_OPTIONS).")
    ] = 4096,
    json_output: options.Json = False,
) -> None:
    """Build an artifact bundle (backend installer, UI, Solr) for `up --artifacts`."""
    from dspace_deploy.build import BuildRequest
    from dspace_deploy.build import build as run_build
    from dspace_deploy.i18n import _

    request = BuildRequest(line=line, flavor=flavor.value, version=version,
                           ui_version=ui_version, solr_version=solr_version, out=out,
                           source_mirror=source_mirror, ui_memory_mb=ui_memory)
    def say(message: str) -> None:
        if not json_output:
            sys.stderr.write(_("build: {message}").format(message=message) + "\n")

    result = run_build(request, log=say)
    if json_output:
        emit({"verb": "build", "ok": True, **result.as_dict()})
        return
    name = f"{result.plan.line}-{result.plan.flavor}-{result.plan.release}"
    if result.reused:
        what = _("Bundle {name} already up to date: {path}")
    elif result.built:
        what = _("Bundle {name} built ({parts}; the rest from the cache): {path}")
    else:
        what = _("Bundle {name} assembled from the cache: {path}")
    typer.echo(what.format(name=name, parts=", ".join(result.built), path=result.out))
    typer.echo(f"  DSpace {result.manifest['dspace_version']}"
               + (f" ({result.manifest['cris_version']})" if result.plan.cris_version else "")
               + f", UI {result.manifest['ui_version']}, Solr {result.manifest['solr_version']}")
    typer.echo(_("Deploy with: {command}").format(
        command=f"dspace-deploy up -i INVENTORY --artifacts {result.out.parent}"))
