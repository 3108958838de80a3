"""`status`: per host and instance, what runs and whether it is healthy (read-only).

Exit codes: 0 when every host answered and everything is healthy; 1 when a host is
unreachable, a service is not active, a scheduled task failed, or a backend's REST root or
health does not answer UP / UP_WITH_ISSUES; 2 bad input (nothing contacted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from dspace_deploy.cli import options
from dspace_deploy.cli.output import emit

if TYPE_CHECKING:
    from rich.console import Console


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Show each instance's DSpace version, health, services and URLs. Changes nothing.
    Exit 0 when all is healthy, 1 when something is down or unreachable."""
    from dspace_deploy import runner
    from dspace_deploy.cli.run_cmds import load
    from dspace_deploy.i18n import _
    from dspace_deploy.selection import checked_limit
    from dspace_deploy.status import StatusCollector

    site = load(inventory, vault_password_file)
    job = runner.Job("status", "status.yml", site, limit=checked_limit(site, limit))
    collector = StatusCollector()
    if json_output:
        result = runner.run(job, observer=collector)
    else:
        console = _console()
        with console.status(_("status · {site}: asking the hosts").format(site=site.name)):
            result = runner.run(job, observer=collector)
    report = collector.report()
    if json_output:
        document = {"verb": "status", "site": site.name, "inventory": str(site.path),
                    "artifacts": str(result.artifact_dir), **report.as_dict()}
        emit(document)
    else:
        from dspace_deploy.status import print_report

        print_report(console, report)
    raise typer.Exit(0 if report.ok else 1)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)
