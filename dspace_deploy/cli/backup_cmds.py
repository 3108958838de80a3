"""`backup`, `backup list`, `backup verify`, `restore`: the site's backups (docs/backup.md).

Exit codes: 0 done (every instance answered ok); 1 a host was unreachable, an instance's
backup or check failed, or a restore failed, was refused or could not be proved; 2 bad input
(nothing contacted).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dspace_deploy.cli import options
from dspace_deploy.cli.output import emit
from dspace_deploy.i18n import _

if TYPE_CHECKING:
    from rich.console import Console

    from dspace_deploy.backups import BackupReport
    from dspace_deploy.events import Event
    from dspace_deploy.runner import Job, RunResult
    from dspace_deploy.site import Site

Targets = Annotated[
    list[str] | None,
    typer.Option("--target", "-t", help="Only this backup target (repeatable; default: the "
                 "targets of dspace_backup_scheduled_targets, else all).", show_default=False),
]
InstanceOpt = Annotated[
    str | None,
    typer.Option("--instance", help="Only this instance (default: every instance).",
                 show_default=False),
]


def register(app: typer.Typer) -> None:
    backup_app = typer.Typer(
        name="backup",
        help="Back up every instance now (database, assetstore, Solr statistics and "
        "authority, configuration, handle keys), or list and check the stored backups.",
        invoke_without_command=True,
        rich_markup_mode=None,  # plain help keeps `--help` fast
    )
    backup_app.callback()(backup)
    backup_app.command("list")(backup_list)
    backup_app.command("verify")(backup_verify)
    app.add_typer(backup_app, name="backup")
    app.command("restore")(restore)
    app.command("drill")(drill)


def backup(
    ctx: typer.Context,
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    target: Targets = None,
    instance: InstanceOpt = None,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Back up every instance now: one snapshot per instance and target; print what was
    saved. Subcommands: list, verify."""
    if ctx.invoked_subcommand is not None:
        # `backup -i SITE list` as well as `backup list -i SITE`: the subcommand falls back
        # on what was given before it.
        ctx.obj = {"inventory": inventory, "limit": limit, "target": target,
                   "instance": instance, "json_output": json_output,
                   "vault_password_file": vault_password_file}
        return
    _run_action("run", inventory, limit, target, instance, json_output, vault_password_file)


def _given_before(ctx: typer.Context, **given: Any) -> dict[str, Any]:
    """The subcommand's options, each falling back on the group's when not given."""
    before = ctx.obj if isinstance(ctx.obj, dict) else {}
    return {key: value if value not in (None, False) else before.get(key, value)
            for key, value in given.items()}


def backup_list(
    ctx: typer.Context,
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    target: Targets = None,
    instance: InstanceOpt = None,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """List the snapshots stored for each instance, per target. Changes nothing."""
    o = _given_before(ctx, inventory=inventory, limit=limit, target=target, instance=instance,
                      json_output=json_output, vault_password_file=vault_password_file)
    _run_action("list", o["inventory"], o["limit"], o["target"], o["instance"],
                o["json_output"], o["vault_password_file"])


def backup_verify(
    ctx: typer.Context,
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    target: Targets = None,
    instance: InstanceOpt = None,
    read_data: Annotated[bool, typer.Option(
        "--read-data", help="Read back every stored byte (slow; default: the repository "
        "structure plus a sample of the data).")] = False,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Check the integrity of the stored backups of each instance. Changes nothing."""
    o = _given_before(ctx, inventory=inventory, limit=limit, target=target, instance=instance,
                      json_output=json_output, vault_password_file=vault_password_file)
    _run_action("check", o["inventory"], o["limit"], o["target"], o["instance"],
                o["json_output"], o["vault_password_file"], {"backup_read_data": read_data})


def _run_action(action: str, inventory: Any, limit: str | None, target: list[str] | None,
                instance: str | None, json_output: bool, vault_password_file: Any,
                extra: dict[str, Any] | None = None) -> None:
    from dspace_deploy import runner
    from dspace_deploy.backups import parse_backup_events
    from dspace_deploy.cli.run_cmds import load
    from dspace_deploy.selection import checked_limit

    site = load(inventory, vault_password_file)
    limit = checked_limit(site, limit)
    _check_selection(site, target, instance)
    extravars: dict[str, Any] = {"backup_action": action, "backup_targets": list(target or []),
                                 "backup_instance": instance or "", **(extra or {})}
    job = runner.Job(f"backup-{action}", "backup.yml", site, limit=limit, extravars=extravars)
    doing = {"run": _("backing up"), "list": _("listing snapshots"),
             "check": _("checking backups")}[action]
    events, result = _run(job, json_output, doing)
    report = parse_backup_events(events, action)
    _render(report, site, json_output, f"backup {action}" if action != "run" else "backup",
            str(result.artifact_dir))
    raise typer.Exit(0 if report.ok else 1)


def _check_selection(site: Site, targets: list[str] | None, instance: str | None) -> None:
    """Unknown target or instance names stop before any host is contacted."""
    from dspace_deploy.backups import host_targets, site_instances
    from dspace_deploy.errors import InputError

    if instance and instance not in site_instances(site):
        raise InputError(_("The site has no instance {instance} (its instances: {known}).")
                         .format(instance=repr(instance),
                                 known=", ".join(site_instances(site)) or _("none")),
                         hint=_("Give one of them with --instance."))
    known = {str(t.get("name")) for host in site.hostvars for t in host_targets(site, host)}
    unknown = [t for t in targets or [] if t not in known]
    if unknown:
        raise InputError(_("Unknown backup target {names} (the site's targets: {known}).")
                         .format(names=", ".join(unknown),
                                 known=", ".join(sorted(known)) or _("none")),
                         hint=_("Use a name from dspace_backup_targets in the inventory."))


def restore(
    snapshot: Annotated[str, typer.Option(
        "--snapshot", help="Snapshot id (from `backup list`), or `latest`.")],
    inventory: options.Inventory = None,
    instance: Annotated[str | None, typer.Option(
        "--instance", help="The instance to restore (may be left out when the site has "
        "only one).", show_default=False)] = None,
    target: Annotated[str | None, typer.Option(
        "--target", "-t", help="The backup target holding the snapshot (default: the "
        "host's first target).", show_default=False)] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="Restore onto this host of the inventory (disaster recovery: it is "
        "converged with `up` first; its dspace_instances must include the instance).",
        show_default=False)] = None,
    source: Annotated[str | None, typer.Option(
        "--from", help="Restore the snapshots of another instance, named by its public "
        "hostname (e.g. production into a staging instance). Default: the instance's own.",
        show_default=False)] = None,
    allow_older_schema: Annotated[bool, typer.Option(
        "--allow-older-schema", help="Accept a snapshot of an older database schema: restore "
        "it, then migrate the database to the installed release.")] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Do not ask before replacing the instance's content.")] = False,
    artifacts: options.Artifacts = None,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Restore one instance from a snapshot, rebuild its search and OAI indexes, and prove
    the result against the snapshot's manifest (counts and checksums). The content of the
    instance on that host is replaced."""
    from dspace_deploy.backups import check_snapshot_id, check_source_hostname
    from dspace_deploy.cli.run_cmds import load

    snapshot = check_snapshot_id(snapshot)
    source = check_source_hostname(source) if source is not None else None
    artifacts = options.checked_artifacts(artifacts)
    site = load(inventory, vault_password_file)
    host, name, target_name = restore_selection(site, instance, target, to)
    if not yes:
        _confirm(host, name, snapshot, json_output)
    report, artifact_dir = run_restore(site, host, name, target_name, snapshot,
                                       allow_older_schema, artifacts, converge=to is not None,
                                       json_output=json_output, source=source)
    _render(report, site, json_output, "restore", artifact_dir)
    raise typer.Exit(0 if report.ok and restore_proved(report) else 1)


def restore_selection(site: Site, instance: str | None, target: str | None,
                      to: str | None) -> tuple[str, str, str]:
    """(host, instance, target) of a restore, or an InputError before anything runs."""
    from dspace_deploy.backups import choose_instance, host_targets, instance_hosts
    from dspace_deploy.errors import InputError

    instance = choose_instance(site, instance, "be restored")
    hosts = instance_hosts(site, instance)
    if to is not None:
        if to not in site.hostvars:
            raise InputError(_("Host {host} is not in the inventory {path}.").format(
                                 host=repr(to), path=site.path),
                             hint=_("Add the new host to hosts.yml (group dspace) first."))
        if to not in hosts:
            raise InputError(
                _("Host {host} does not run instance {instance} (its dspace_instances do not "
                  "include it).").format(host=to, instance=instance),
                hint=_("Give {host} the instance in host_vars/{host}.yml (the same entry as on "
                       "the old host) and remove it from the old host, then rerun.").format(
                           host=to))
        host = to
    elif len(hosts) == 1:
        host = hosts[0]
    else:
        raise InputError(_("Instance {instance} runs on {count} hosts ({hosts}).").format(
                             instance=instance, count=len(hosts), hosts=", ".join(hosts)),
                         hint=_("Choose one with --to HOST."))
    targets = [str(t.get("name")) for t in host_targets(site, host)]
    if not targets:
        raise InputError(_("Host {host} has no backup target.").format(host=host),
                         hint=_("Set dspace_backup_targets (docs/backup.md)."))
    if target is None:
        target = targets[0]
    elif target not in targets:
        raise InputError(_("Host {host} has no backup target {target} (its targets: "
                           "{targets}).").format(host=host, target=repr(target),
                                                 targets=", ".join(targets)),
                         hint=_("Use one of them with --target."))
    return host, instance, target


def _confirm(host: str, instance: str, snapshot: str, json_output: bool) -> None:
    from dspace_deploy.errors import InputError

    if json_output or not sys.stdin.isatty():
        raise InputError(_("Restoring replaces the content of {instance} on {host}; without "
                           "a terminal to ask, dspace-deploy needs your consent on the "
                           "command line.").format(instance=instance, host=host),
                         hint=_("Add --yes."))
    if not typer.confirm(_("Replace the content of {instance} on {host} with snapshot "
                           "{snapshot}?").format(instance=instance, host=host,
                                                 snapshot=snapshot), default=False):
        raise typer.Abort()


def run_restore(site: Site, host: str, instance: str, target: str, snapshot: str,
                allow_older_schema: bool, artifacts: str | None, *, converge: bool,
                json_output: bool, source: str | None = None) -> tuple[BackupReport, str]:
    """Converge the host first when asked (a new host), then restore on it. Returns the
    report and the last run's artifact directory."""
    from dspace_deploy import runner
    from dspace_deploy.backups import BackupReport, parse_restore_events
    from dspace_deploy.bundles import bundle_vars, resolve_bundles

    if converge:
        bundles = resolve_bundles(site, artifacts)
        up = runner.Job("up", "site.yml", site, limit=host, extravars=bundle_vars(bundles))
        _events, converged = _run(up, json_output,
                                  _("converging {host}").format(host=host))
        if not (converged.summary.ok and converged.rc == 0):
            report = BackupReport("restore")
            report.problems[host] = _("`up` failed on the host, so nothing was restored; see "
                                      "the run's artifacts ({path})").format(
                                          path=converged.artifact_dir)
            return report, str(converged.artifact_dir)
    job = runner.Job("restore", "restore.yml", site, limit=host, extravars={
        "restore_instance": instance, "restore_target": target,
        "restore_snapshot": snapshot, "restore_allow_older_schema": allow_older_schema,
        **({"restore_from": source} if source else {})})
    events, result = _run(job, json_output, _("restoring {instance} on {host}").format(
        instance=instance, host=host))
    return parse_restore_events(events), str(result.artifact_dir)


def restore_proved(report: BackupReport) -> bool:
    for answer in report.answers:
        data = answer.data if isinstance(answer.data, dict) else {}
        if not (data.get("proof") or {}).get("ok"):
            return False
    return bool(report.answers)


def drill(
    inventory: options.Inventory = None,
    instance: Annotated[str | None, typer.Option(
        "--instance", help="The instance to drill (may be left out when the site has only "
        "one).", show_default=False)] = None,
    target: Annotated[str | None, typer.Option(
        "--target", "-t", help="The S3 or SFTP backup target to restore from (default: the "
        "first such target).", show_default=False)] = None,
    snapshot: Annotated[str, typer.Option(
        "--snapshot", help="Snapshot id, or `latest`.")] = "latest",
    os_name: Annotated[str, typer.Option(
        "--os", help="Debian release of the lab host (debian12 or debian13).")] = "debian13",
    keep: Annotated[bool, typer.Option(
        "--keep", help="Keep the lab host afterwards (remove it with `lab down`).")] = False,
    artifacts: options.Artifacts = None,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """The restore drill: restore a snapshot into a throw-away lab host, prove it against
    its manifest, report pass or fail, and remove the lab host. Touches no host of the
    site."""
    from dspace_deploy.backups import check_snapshot_id
    from dspace_deploy.cli.run_cmds import load
    from dspace_deploy.drill import plan_drill, run_drill

    snapshot = check_snapshot_id(snapshot)
    artifacts = options.checked_artifacts(artifacts)
    site = load(inventory, vault_password_file)
    plan = plan_drill(site, instance, target, snapshot, os_name)
    if json_output:
        result = run_drill(site, plan, artifacts, keep, lambda _message: None)
        emit({"verb": "drill", "site": site.name, **result.as_dict()})
        raise typer.Exit(0 if result.ok else 1)
    console = _console()
    with console.status(f"drill · {site.name}") as spinner:
        result = run_drill(site, plan, artifacts, keep,
                           lambda message: spinner.update(f"drill · {site.name}: {message}"))
    if result.report is not None:
        from dspace_deploy.backups import describe

        for answer in result.report.answers:
            for line in describe(answer, "restore"):
                console.print(line, markup=False, highlight=False)
    verdict = _("PASSED") if result.ok else _("FAILED at {stage}: {error}").format(
        stage=result.stage, error=result.error)
    console.print(_("drill of {instance} from {target} ({snapshot}): {verdict} in {seconds} s")
                  .format(instance=plan.instance, target=plan.target.get("name"),
                          snapshot=plan.snapshot, verdict=verdict,
                          seconds=f"{result.seconds.get('total', 0):.0f}"),
                  markup=False, highlight=False)
    if result.kept:
        console.print(_("the lab host is kept: `{command}` removes it").format(
                          command=f"dspace-deploy lab down {result.lab}"),
                      markup=False, highlight=False)
    raise typer.Exit(0 if result.ok else 1)


# --- running and rendering -------------------------------------------------------------------

def _run(job: Job, json_output: bool, doing: str) -> tuple[list[Event], RunResult]:
    """Run a job, collecting its events; a spinner unless --json."""
    from dspace_deploy import runner

    events: list[Event] = []
    if json_output:
        result = runner.run(job, observer=events.append)
    else:
        with _console().status(f"{job.verb} · {job.site.name}: {doing}"):
            result = runner.run(job, observer=events.append)
    return events, result


def _render(report: BackupReport, site: Site, json_output: bool, verb: str,
            artifact_dir: str) -> None:
    from dspace_deploy.backups import describe

    if json_output:
        document = {"verb": verb, "site": site.name, "artifacts": artifact_dir,
                    **report.as_dict()}
        emit(document)
        return
    console = _console()
    for answer in report.answers:
        for line in describe(answer, report.action):
            console.print(line, markup=False, highlight=False)
    for host, why in sorted(report.problems.items()):
        console.print(f"{host}: {why}", markup=False, highlight=False)
    if not report.answers and not report.problems:
        console.print(_("No DSpace instance in the inventory (or the --limit)."))


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)
