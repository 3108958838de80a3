"""`upgrade`, `upgrade --plan`, `rollback`: move an instance to the release the inventory
names, or back (docs/operations.md, "Upgrades").

Each verb validates its input before any host (inventory, --limit, --instance, bundles), runs
its playbook once with upgrade_mode=plan (changes nothing: host facts, the path, every
precheck), shows the plan, asks (unless --yes), then runs it with upgrade_mode=run.

Exit codes: 0 done, nothing to do, or (--plan) a plan that can go ahead; 1 a host was
unreachable, an upgrade failed (the report says whether it was rolled back), or a rollback
failed; 2 bad input, nothing contacted (also: no terminal to ask and no --yes); 5 refused by
the path or a precheck, nothing changed; 130 interrupted or not confirmed.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dspace_deploy.cli import options

if TYPE_CHECKING:
    from rich.console import Console

    from dspace_deploy.bundles import Release
    from dspace_deploy.runner import Job, RunResult
    from dspace_deploy.site import Site
    from dspace_deploy.upgrades import UpgradeReport

Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before changing anything.")]


def register(app: typer.Typer) -> None:
    app.command("upgrade")(upgrade)
    app.command("rollback")(rollback)


def upgrade(
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    instance: Annotated[list[str] | None, typer.Option(
        "--instance", help="Only this instance (repeatable; default: every instance whose "
        "inventory version differs from what its host runs).", show_default=False)] = None,
    plan_only: Annotated[bool, typer.Option(
        "--plan", help="Show the plan (steps, disk, downtime, every precheck) and change "
        "nothing.")] = False,
    artifacts: options.Artifacts = None,
    waves: Annotated[str | None, typer.Option(
        "--waves", help="Upgrade the hosts in waves, e.g. 1,5,20% (Ansible's serial list: "
        "the last size repeats; a percentage is of the rollout's hosts, at least 1).",
        show_default=False)] = None,
    canary: Annotated[list[str] | None, typer.Option(
        "--canary", help="Upgrade this host first, alone with the other canaries; the "
        "rollout stops if it does not end on the target (repeatable).",
        show_default=False)] = None,
    max_fail: Annotated[str | None, typer.Option(
        "--max-fail", help="Failed hosts tolerated (N, or a percentage of the rollout's "
        "hosts) before no new wave is launched (default 0).", show_default=False)] = None,
    pause: Annotated[str | None, typer.Option(
        "--pause", help="Between waves: wait SECONDS, or `prompt` to ask before each wave.",
        show_default=False)] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the site's last unfinished rollout (stopped by max-fail, "
        "Ctrl-C or the controller's death) from its journal.")] = False,
    yes: Yes = False,
    verbose: options.Verbose = 0,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Upgrade instances to the version the inventory names: maintenance page, pre-upgrade
    snapshot, the new release beside the old one, explicit migration, Solr, reindex, UI,
    health gates; any failure rolls back automatically. With --waves, --canary, --max-fail,
    --pause or --resume: a rollout across the hosts, wave by wave, with a journal."""
    from dspace_deploy.bundles import bundle_vars, resolve_bundles
    from dspace_deploy.cli.run_cmds import load
    from dspace_deploy.selection import checked_limit

    artifacts = options.checked_artifacts(artifacts)
    if waves is not None or canary or max_fail is not None or pause is not None or resume:
        from dspace_deploy.cli.fleet_cmd import rollout

        rollout(inventory=inventory, limit=limit, instance=instance, plan_only=plan_only,
                artifacts=artifacts, waves=waves, canary=canary or [], max_fail=max_fail,
                pause=pause, resume=resume, yes=yes, verbose=verbose, json_output=json_output,
                vault_password_file=vault_password_file)
    site = load(inventory, vault_password_file)
    limit = checked_limit(site, limit)
    names = checked_instances(site, limit, instance)
    if not plan_only and not yes:
        _can_ask(json_output, "An upgrade stops the selected instances for a while")
    bundles = resolve_bundles(site, artifacts)  # the inventory's releases: before any host
    base = {"upgrade_instances": names, **bundle_vars(bundles)}
    planned, plan_dir = _run(_job(site, "upgrade", "plan", limit, verbose, base), json_output)
    if plan_only or planned.exit_code != 0 or not planned.to_change:
        _finish(site, planned, None, json_output, [plan_dir])
    # The releases the instances run now, for a rollback: their bundles must be there too
    # (checked before anything changes; the plan run changed nothing).
    bundles = resolve_bundles(site, artifacts, _installed_releases(site, planned))
    if not json_output:
        _print_plan(planned)
    if not yes:
        _confirm(f"Upgrade {_count(planned.to_change)} now?")
    run_vars = {**base, **bundle_vars(bundles),
                "upgrade_instances": sorted({i.instance for i in planned.to_change})}
    done, run_dir = _run(_job(site, "upgrade", "run", limit, verbose, run_vars), json_output)
    _finish(site, done, planned, json_output, [plan_dir, run_dir])


def rollback(
    instance: Annotated[str, typer.Option(
        "--instance", help="The instance to return to the release it ran before its last "
        "upgrade.")],
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    artifacts: options.Artifacts = None,
    yes: Yes = False,
    verbose: options.Verbose = 0,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Undo an instance's last completed upgrade: the old code, the pre-upgrade database and
    Solr data, the old UI. Says first what was written since the upgrade and is lost."""
    from dspace_deploy.bundles import bundle_vars, resolve_bundles
    from dspace_deploy.cli.run_cmds import load
    from dspace_deploy.selection import checked_limit

    artifacts = options.checked_artifacts(artifacts)
    site = load(inventory, vault_password_file)
    limit = checked_limit(site, limit)
    (name,) = checked_instances(site, limit, [instance])
    host = _one_host(site, limit, name)
    if not yes:
        _can_ask(json_output, "A rollback loses what was written since the upgrade")
    bundles = resolve_bundles(site, artifacts)
    base = {"upgrade_instances": [name], **bundle_vars(bundles)}
    planned, plan_dir = _run(_job(site, "rollback", "plan", host, verbose, base), json_output)
    if planned.exit_code != 0 or not planned.to_change:
        _finish(site, planned, None, json_output, [plan_dir])
    bundles = resolve_bundles(site, artifacts, _installed_releases(site, planned, back=True))
    if not json_output:
        _print_plan(planned)
    if not yes:
        _confirm(f"Roll back {name} on {host} and lose what was written since its upgrade?")
    run_vars = {**base, **bundle_vars(bundles)}
    done, run_dir = _run(_job(site, "rollback", "run", host, verbose, run_vars), json_output)
    _finish(site, done, planned, json_output, [plan_dir, run_dir])


# --- input, before any host ----------------------------------------------------------------


def checked_instances(site: Site, limit: str | None, wanted: list[str] | None) -> list[str]:
    """The --instance names, each on at least one selected host; [] for "every instance"."""
    from dspace_deploy.errors import InputError
    from dspace_deploy.selection import select_hosts

    hosts = select_hosts(site, limit)
    known = _instances_on(site, hosts)
    unknown = [n for n in wanted or [] if n not in known]
    if unknown:
        where = f"the hosts of --limit {limit}" if limit else f"site {site.name}"
        raise InputError(
            f"No instance {', '.join(repr(n) for n in unknown)} on {where} (its instances: "
            f"{', '.join(sorted(known)) or 'none'}).",
            hint="Name one of them with --instance (the `name` in dspace_instances).")
    return list(dict.fromkeys(wanted or []))


def _instances_on(site: Site, hosts: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for host in hosts:
        for item in site.hostvars.get(host, {}).get("dspace_instances") or []:
            if isinstance(item, dict) and item.get("name"):
                found.setdefault(str(item["name"]), []).append(host)
    return found


def _one_host(site: Site, limit: str | None, name: str) -> str:
    from dspace_deploy.errors import InputError
    from dspace_deploy.selection import select_hosts

    hosts = _instances_on(site, select_hosts(site, limit))[name]
    if len(hosts) > 1:
        raise InputError(f"Instance {name} runs on {len(hosts)} hosts ({', '.join(hosts)}); "
                         "a rollback acts on one.", hint="Choose the host with --limit HOST.")
    return hosts[0]


def _can_ask(json_output: bool, why: str) -> None:
    """Without a terminal to ask (or with --json), consent must be on the command line."""
    from dspace_deploy.errors import InputError

    if json_output or not _interactive():
        raise InputError(f"{why}; without a terminal to ask, dspace-deploy needs your consent "
                         "on the command line. Nothing was contacted.",
                         hint="Look at the plan first with `dspace-deploy upgrade --plan`, then "
                              "add --yes.")


def _interactive() -> bool:
    return sys.stdin.isatty()


def _confirm(question: str) -> None:
    if not typer.confirm(question, default=False):
        raise typer.Abort()


def _installed_releases(site: Site, report: UpgradeReport,
                        back: bool = False) -> dict[Release, list[str]]:
    """The releases the changed instances return to on a rollback (their `from`)."""
    from dspace_deploy.bundles import Release
    from dspace_deploy.lines import CRIS
    from dspace_deploy.plans import site_plans

    flavors = {(host, p["name"]): str(p["flavor"]) for host, plans in site_plans(site).items()
               for p in plans}
    releases: dict[Release, list[str]] = {}
    for item in report.to_change:
        # an upgrade may roll back to what runs now (from); a rollback returns to `to`
        version = item.to_version if back else item.from_version
        flavor = flavors.get((item.host, item.instance), "dspace")
        line = (next((k for k, c in CRIS.items() if c.release == version), None)
                if flavor == "cris" else version.split(".")[0])
        if not version or line is None:
            continue
        why = (f"the rollback of {item.instance} on {item.host} to {version}" if back else
               f"{item.instance} on {item.host}, to roll back to {version} if the upgrade fails")
        releases.setdefault(Release(line, flavor, version), []).append(why)
    return releases


# --- running and rendering ------------------------------------------------------------------


def _job(site: Site, verb: str, mode: str, limit: str | None, verbose: int,
         extravars: dict[str, Any]) -> Job:
    from dspace_deploy.runner import Job

    return Job(f"{verb}-{mode}", f"{verb}.yml", site, limit=limit, verbosity=verbose,
               extravars={**extravars, "upgrade_mode": mode})


def _run(job: Job, json_output: bool) -> tuple[UpgradeReport, str]:
    """Run one upgrade.yml / rollback.yml job; a spinner for a plan, phases for a run."""
    from dspace_deploy import runner
    from dspace_deploy.display import PhaseProgress
    from dspace_deploy.events import Event
    from dspace_deploy.upgrades import parse_upgrade_events

    verb, mode = job.verb.split("-", 1)
    events: list[Event] = []
    result: RunResult
    if json_output:
        result = runner.run(job, observer=events.append)
    elif mode == "plan":
        with _console().status(f"{verb} · {job.site.name}: planning (changes nothing)"):
            result = runner.run(job, observer=events.append)
    else:
        with PhaseProgress(_console(), f"{verb} · {job.site.name}", job.verbosity) as live:
            def observe(event: Event) -> None:
                events.append(event)
                live(event)

            result = runner.run(job, observer=observe)
    report = parse_upgrade_events(events, verb, mode)
    if not result.summary.stats_seen and not report.problems and not report.instances:
        report.problems["(run)"] = (f"{job.playbook} stopped before reporting (ansible-runner "
                                    f"status {result.status}); see {result.artifact_dir}")
    return report, str(result.artifact_dir)


def _print_plan(report: UpgradeReport) -> None:
    from dspace_deploy.upgrades import describe_loss, describe_plan

    console = _console()
    for item in report.instances:
        for line in describe_plan(item):
            console.print(line, markup=False, highlight=False)
        if report.verb == "rollback" and item.outcome not in ("none", "refused"):
            for line in describe_loss(item):
                console.print(line, markup=False, highlight=False)
    for host, why in sorted(report.problems.items()):
        console.print(f"{host}: {why}", markup=False, highlight=False)


def _finish(site: Site, report: UpgradeReport, planned: UpgradeReport | None,
            json_output: bool, artifact_dirs: list[str]) -> None:
    """Print the result (or one JSON document) and exit with the report's code."""
    from dspace_deploy.upgrades import describe_result

    code = report.exit_code
    if json_output:
        from dspace_deploy.cli.output import emit

        emit({"verb": report.verb, "site": site.name, "inventory": str(site.path),
              "exit_code": code, **report.as_dict(),
              "plan": planned.as_dict() if planned is not None else None,
              "artifacts": artifact_dirs})
        raise typer.Exit(code)
    console = _console()
    if report.mode == "plan":
        _print_plan(report)
        if not report.instances and not report.problems:
            console.print("Nothing to upgrade: every selected instance runs the version the "
                          "inventory names." if report.verb == "upgrade" else
                          "Nothing to roll back.")
        elif code == 0 and report.to_change and report.verb == "upgrade":
            console.print(f"{_count(report.to_change)} can be upgraded: run without --plan "
                          "to do it.")
        elif report.refused:
            others = ("; the others can go ahead alone: name them with --instance"
                      if report.to_change and report.verb == "upgrade" else "")
            console.print(f"Refused ({_count(report.refused)}): nothing was changed{others}.")
    else:
        for item in report.instances:
            for line in describe_result(item, report.verb):
                console.print(line, markup=False, highlight=False)
        for host, why in sorted(report.problems.items()):
            console.print(f"{host}: {why}", markup=False, highlight=False)
        if not report.instances and not report.problems:
            console.print("The hosts reported no instance: nothing was changed.")
    console.print(f"artifacts: {artifact_dirs[-1]}", markup=False, highlight=False)
    raise typer.Exit(code)


def _count(items: list[Any]) -> str:
    return f"{len(items)} instance{'s' if len(items) != 1 else ''}"


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)
