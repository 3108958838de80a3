"""`check`, `up`, `verify`: verbs that act on the hosts of a site.

Each verb validates the inventory first (bad input stops here, exit 2, no host contacted),
then describes its work as a Job for the runner core, then renders the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dspace_deploy.cli import options

if TYPE_CHECKING:
    from dspace_deploy.runner import Job, RunResult
    from dspace_deploy.site import Site


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("up")(up)
    app.command("verify")(verify)


Full = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Run every task of every role, ignoring the converged-state stamps (the fast "
        "path skips a role whose inputs, files and services are unchanged). Use it after "
        "changes the stamps cannot see: packages removed, a database dropped by hand.",
    ),
]


def up(
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    check_mode: options.Check = False,
    diff: options.Diff = False,
    full: Full = False,
    verbose: options.Verbose = 0,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
    artifacts: options.Artifacts = None,
) -> None:
    """Converge the site: install and configure everything the inventory describes."""
    from dspace_deploy.bundles import bundle_vars, resolve_bundles
    from dspace_deploy.runner import Job
    from dspace_deploy.selection import checked_limit

    artifacts = options.checked_artifacts(artifacts)
    site = load(inventory, vault_password_file)
    limit = checked_limit(site, limit)
    bundles = resolve_bundles(site, artifacts)  # bad bundles stop here, before any host
    extravars = bundle_vars(bundles)
    if full:
        extravars["dspace_converge_full"] = True
    job = Job("up", "site.yml", site, limit=limit, check=check_mode, diff=diff,
              verbosity=verbose, extravars=extravars)
    execute(job, json_output)


def check(
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    verbose: options.Verbose = 0,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
    artifacts: options.Artifacts = None,
) -> None:
    """Validate the inventory (and the release bundles), then check that hosts are reachable
    and fit (OS, memory, disk, free ports, runtimes). Changes nothing."""
    from dspace_deploy.bundles import bundle_vars, resolve_bundles
    from dspace_deploy.runner import Job
    from dspace_deploy.selection import checked_limit

    artifacts = options.checked_artifacts(artifacts)
    site = load(inventory, vault_password_file)
    limit = checked_limit(site, limit)
    bundles = resolve_bundles(site, artifacts)
    job = Job("check", "check.yml", site, limit=limit, verbosity=verbose,
              extravars=bundle_vars(bundles))
    execute(job, json_output)


def verify(
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Run the testinfra checks of every role against the site's hosts."""
    from dspace_deploy import verify as verifier

    site = load(inventory, vault_password_file)
    report = verifier.run_checks(site, limit=limit, progress=not json_output)
    if json_output:
        _emit_json({"verb": "verify", "site": site.name, **report.as_dict()})
    else:
        verifier.print_report(_console(), report)
    raise typer.Exit(0 if report.ok else 1)


def load(inventory: Path | None, vault_password_file: Path | None) -> Site:
    """Validate the site; raises before any host is contacted."""
    from dspace_deploy.inventory.validate import load_site

    return load_site(options.resolve_inventory(inventory), vault_password_file)


def execute(job: Job, json_output: bool) -> None:
    """Run a job, show progress and the summary (or one JSON document), set the exit code."""
    from dspace_deploy import runner
    from dspace_deploy.display import LiveProgress, print_summary
    from dspace_deploy.events import Event
    from dspace_deploy.i18n import _
    from dspace_deploy.upgrades import PENDING_KEY, pending_upgrades

    reports: list[Event] = []  # the hosts' "instances waiting for an upgrade" (up)

    def keep(event: Event) -> None:
        if PENDING_KEY in ((event.get("event_data") or {}).get("res") or {}):
            reports.append(event)

    if json_output:
        result = runner.run(job, observer=keep)
        document = _result_document(job, result)
        if job.verb == "up":
            document["upgrade_pending"] = [vars(p) for p in pending_upgrades(reports)]
        _emit_json(document)
    else:
        console = _console()
        with LiveProgress(console, f"{job.verb} · {job.site.name}", job.verbosity) as live:
            def observe(event: Event) -> None:
                keep(event)
                live(event)

            result = runner.run(job, observer=observe)
        print_summary(console, result.summary, str(result.artifact_dir))
        waiting = pending_upgrades(reports)
        if waiting:
            console.print(_("Left unchanged, waiting for `dspace-deploy upgrade` (the "
                            "inventory names another release than the host runs):"),
                          markup=False)
            for pending in waiting:
                console.print(f"  {pending.line()}", markup=False, highlight=False)
    raise typer.Exit(0 if result.summary.ok and result.rc == 0 else 1)


def _result_document(job: Job, result: RunResult) -> dict[str, Any]:
    return {
        "verb": job.verb,
        "site": job.site.name,
        "inventory": str(job.site.path),
        "status": result.status,
        "rc": result.rc,
        "artifacts": str(result.artifact_dir),
        **result.summary.as_dict(),
    }


def _emit_json(document: dict[str, Any]) -> None:
    from dspace_deploy.cli.output import emit

    emit(document)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)
