"""`upgrade --waves/--canary/--max-fail/--pause/--resume`: a rollout across the hosts of a
site, wave by wave (docs/upgrade.md, "Fleet rollouts"). The decisions live in
dspace_deploy/fleet.py; this module checks the flags, runs the plan and the waves, and renders.

Order: every flag, the inventory, the canaries and the release bundles are checked before any
host is contacted (exit 2); one plan run over all hosts (changes nothing: who is unreachable,
who fails a precheck, who is already on the target); the confirmation naming the hosts and
instances (unless --yes); then one upgrade.yml run per wave with --limit.

Exit codes: 0 every host ended on the inventory's release; 1 a host did not (failed, rolled
back, skipped by a precheck, unreachable, not started); 2 bad input, nothing contacted;
130 interrupted, or not confirmed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dspace_deploy.i18n import _, ngettext

if TYPE_CHECKING:
    from collections.abc import Callable

    from dspace_deploy.bundles import Bundle
    from dspace_deploy.fleet import HostEntry, Journal, RunWave
    from dspace_deploy.site import Site
    from dspace_deploy.upgrades import InstanceUpgrade, UpgradeReport


def rollout(*, inventory: Path | None, limit: str | None, instance: list[str] | None,
            plan_only: bool, artifacts: str | None, waves: str | None, canary: list[str],
            max_fail: str | None, pause: str | None, resume: bool, yes: bool, verbose: int,
            json_output: bool, vault_password_file: Path | None) -> None:
    from dspace_deploy import fleet
    from dspace_deploy.cli.run_cmds import load
    from dspace_deploy.cli.upgrade_cmds import _can_ask, _interactive, checked_instances
    from dspace_deploy.errors import InputError
    from dspace_deploy.selection import checked_limit

    # --- the flags, before anything is read or contacted ------------------------------------
    sizes = fleet.parse_waves(waves) if waves is not None else ["100%"]
    budget = fleet.parse_max_fail(max_fail) if max_fail is not None else None
    pause_mode = fleet.parse_pause(pause)
    if resume:
        given = [flag for flag, value in (("--waves", waves), ("--canary", canary),
                                          ("--limit", limit), ("--instance", instance),
                                          ("--plan", plan_only))
                 if value]
        if given:
            raise InputError(
                _("--resume continues a rollout with the options it was started with; "
                  "{flags} cannot change them.").format(flags=", ".join(given)),
                hint=_("Leave them out (--max-fail, --pause and --artifacts, for bundles "
                       "that moved, may be given again), or start a new rollout without "
                       "--resume."))
    if pause_mode == "prompt" and (json_output or not _interactive()):
        raise InputError(_("--pause prompt asks before each wave, but there is no terminal "
                           "to ask (or --json was given). Nothing was contacted."),
                         hint=_("Give --pause a number of seconds instead."))
    site = load(inventory, vault_password_file)
    if artifacts and "://" not in artifacts:  # the journal's copy must work from anywhere
        artifacts = str(Path(artifacts).expanduser().absolute())

    journal: Journal | None = None
    if resume:
        journal = fleet.last_unfinished(site.name)
        if journal is None:
            raise InputError(
                _("There is no unfinished rollout of site {site} to resume (journals are "
                  "kept in {dir}).").format(site=site.name, dir=fleet.rollouts_dir(site.name)),
                hint=_("Start one with `dspace-deploy upgrade --waves ...`."))
        options = journal.options
        limit, instance = options.get("limit"), options.get("instances")
        artifacts = artifacts or options.get("artifacts")
        budget = budget or fleet.parse_max_fail(str(options.get("max_fail", "0")))
        if pause is None:
            pause_mode = str(options.get("pause") or "")
            if pause_mode == "prompt" and (json_output or not _interactive()):
                pause_mode = ""  # the prompt is gone with the terminal; --pause sets another
        hosts = [h for h, e in journal.hosts.items() if e.outcome in (fleet.PENDING,
                                                                      fleet.RUNNING)]
    else:
        limit = checked_limit(site, limit)
        instance = checked_instances(site, limit, instance)
        hosts = _hosts_with_instances(site, limit)
        canary = fleet.checked_canaries(canary, hosts, limit)
    budget = budget or fleet.MaxFail(count=0)
    if not plan_only and not yes:
        _can_ask(json_output, _("A rollout stops the selected instances for a while"))
    bundles = _bundles_once(site, artifacts, hosts)
    prepared = {key: 1 for key in bundles}

    # --- the plan: one run over every host, changes nothing ----------------------------------
    names = list(instance or [])
    if journal is not None and not hosts:  # every host had ended: only the status was left
        journal.status = fleet.FINISHED
        journal.save()
        _finish(journal, json_output)
    planned = _plan(site, hosts, names, bundles, verbose, json_output)
    if journal is None:
        journal = fleet.new_journal(site.name, str(site.path), {
            "limit": limit, "instances": names, "artifacts": artifacts, "waves": sizes,
            "canary": canary, "max_fail": budget.text, "pause": pause_mode,
            "vault_password_file": str(vault_password_file) if vault_password_file else None})
        journal.persist = not plan_only  # --plan changes nothing, not even a journal
        _place(journal, site, planned, sizes, canary)
    else:
        fleet.resume_plan(journal, _by_host(planned))
        journal.options.update(max_fail=budget.text, pause=pause_mode, artifacts=artifacts)
    # The releases the hosts run now (a failed upgrade returns to them): once, too.
    bundles = _bundles_once(site, artifacts, hosts, planned, bundles)
    for key in bundles:
        prepared.setdefault(key, 1)
    _count_preparation(journal, bundles, prepared, resumed=resume)

    todo = journal.in_outcome(fleet.PENDING, fleet.RUNNING)
    if plan_only:
        _finish(journal, json_output, planned_only=True)
    if journal.status == fleet.STOPPED:  # a canary that cannot go: no wave is launched
        _finish(journal, json_output)
    if not todo:
        journal.status = fleet.FINISHED
        journal.save()
        _finish(journal, json_output)
    if not json_output:
        _print_waves(journal)
    if not yes:
        count = sum(len(e.instances) for e in todo)
        question = _("Upgrade {hosts} and {instances} in {waves} now?").format(
            hosts=ngettext("{n} host", "{n} hosts", len(todo)).format(n=len(todo)),
            instances=ngettext("{n} instance", "{n} instances", count).format(n=count),
            waves=ngettext("{n} wave", "{n} waves", len(journal.waves)).format(
                n=len(journal.waves)))
        if not typer.confirm(question, default=False):
            raise typer.Abort()

    # --- the waves ---------------------------------------------------------------------------
    from dspace_deploy.bundles import bundle_vars

    runner_vars = {"upgrade_instances": names, **bundle_vars(bundles)}
    rollout_ = fleet.Rollout(
        journal, _wave_runner(site, journal, runner_vars, verbose, json_output), budget,
        _pauser(journal, pause_mode, json_output),
        on_host_done=(lambda entry: None) if json_output else _live_line(journal))
    try:
        rollout_.run()
    except KeyboardInterrupt:
        _finish(journal, json_output, code=130)
    _finish(journal, json_output)


# --- input --------------------------------------------------------------------------------


def _hosts_with_instances(site: Site, limit: str | None) -> list[str]:
    from dspace_deploy.errors import InputError
    from dspace_deploy.selection import select_hosts

    hosts = [h for h in select_hosts(site, limit)
             if site.hostvars.get(h, {}).get("dspace_instances")]
    if not hosts:
        raise InputError(_("No selected host of site {site} has a DSpace instance to "
                           "upgrade.").format(site=site.name),
                         hint=_("Check --limit and the hosts' dspace_instances."))
    return hosts


def _bundles_once(site: Site, artifacts: str | None, hosts: list[str],
                  planned: UpgradeReport | None = None,
                  verified: dict[str, Bundle] | None = None) -> dict[str, Bundle]:
    """The release bundles of the rollout, each fetched and checked once on the controller
    and copied from there to every host. A rollout over several hosts without bundles is
    refused: each host would build the release from source (Maven and Node on every host,
    tens of minutes each, and not the same bytes everywhere)."""
    from dspace_deploy.bundles import artifacts_source, resolve_bundles
    from dspace_deploy.cli.upgrade_cmds import _installed_releases
    from dspace_deploy.errors import InputError

    if artifacts_source(site, artifacts) is None:
        if len(hosts) > 1:
            raise InputError(
                _("A rollout over {n} hosts needs the release built once, as a bundle: "
                  "without --artifacts (or dspace_artifacts) every host would build DSpace "
                  "from source itself. Nothing was contacted.").format(n=len(hosts)),
                hint=_("Build it once with `dspace-deploy build --line LINE --version "
                       "VERSION` and pass its directory with --artifacts (the releases the "
                       "hosts run now too, for a rollback)."))
        return {}
    if planned is None:
        return resolve_bundles(site, artifacts)
    return resolve_bundles(site, artifacts, _installed_releases(site, planned), verified)


def _count_preparation(journal: Journal, bundles: dict[str, Bundle], prepared: dict[str, int],
                       resumed: bool) -> None:
    """The journal counts how often each release was prepared (fetched and checked) for the
    rollout; a resume checks that the bundles are still the ones the rollout started with."""
    import hashlib

    from dspace_deploy.errors import InputError

    manifests = {key: hashlib.sha256(b.manifest.read_bytes()).hexdigest()
                 for key, b in bundles.items() if b.manifest.is_file()}
    release = journal.release
    if resumed:
        changed = [k for k, v in manifests.items()
                   if release.get("manifests", {}).get(k) not in (None, v)]
        if changed:
            raise InputError(
                _("The bundles {keys} changed since rollout {id} started: its hosts would "
                  "not all get the same release. Nothing was contacted.").format(
                    keys=", ".join(changed), id=journal.id),
                hint=_("Put the rollout's bundles back, or finish the hosts with a new "
                       "rollout (without --resume)."))
        release["checked_on_resume"] = int(release.get("checked_on_resume", 0)) + 1
    else:
        release["prepared"] = prepared
    release["manifests"] = {**release.get("manifests", {}), **manifests}
    release["source"] = journal.options.get("artifacts") or ""
    journal.save()


# --- the plan -----------------------------------------------------------------------------


def _plan(site: Site, hosts: list[str], names: list[str], bundles: dict[str, Bundle],
          verbose: int, json_output: bool) -> UpgradeReport:
    from dspace_deploy.bundles import bundle_vars
    from dspace_deploy.cli.upgrade_cmds import _job, _run

    extravars = {"upgrade_instances": names, **bundle_vars(bundles)}
    report, _dir = _run(_job(site, "upgrade", "plan", ",".join(hosts), verbose, extravars),
                        json_output)
    return report


def _by_host(report: UpgradeReport) -> dict[str, tuple[list[InstanceUpgrade], str | None]]:
    found: dict[str, tuple[list[InstanceUpgrade], str | None]] = {}
    for item in report.instances:
        found.setdefault(item.host, ([], None))[0].append(item)
    for host, problem in report.problems.items():
        found.setdefault(host, ([], problem))
    return found


def _place(journal: Journal, site: Site, planned: UpgradeReport, sizes: list[str],
           canaries: list[str]) -> None:
    """Every host's place after the plan: a wave, or skipped/unreachable with its reason. A
    canary that cannot go stops the rollout before the first wave."""
    from dspace_deploy import fleet

    by_host = _by_host(planned)
    for host in _hosts_with_instances(site, journal.options.get("limit")):
        items, problem = by_host.get(host, ([], _("the plan run gave no report")))
        outcome, reason = fleet.planned_outcome(items, problem)
        journal.hosts[host] = fleet.HostEntry(
            host, canary=host in canaries, outcome=outcome, reason=reason,
            instances=[fleet.instance_summary(i) for i in items])
    pending = [h for h, e in journal.hosts.items() if e.outcome == fleet.PENDING]
    journal.waves = fleet.compute_waves(pending, sizes, canaries)
    for number, wave in enumerate(journal.waves):
        for host in wave:
            journal.hosts[host].wave = number
    blocked = [journal.hosts[c] for c in canaries
               if journal.hosts[c].outcome not in (fleet.PENDING,) and not
               journal.hosts[c].on_target]
    if blocked:
        journal.status, journal.stop_reason = fleet.STOPPED, fleet.STOP_CANARY
        journal.stop_detail = "; ".join(f"{e.host}: {e.outcome} ({e.reason})" for e in blocked)
    journal.save()


# --- the waves ----------------------------------------------------------------------------


def _wave_runner(site: Site, journal: Journal, extravars: dict[str, Any], verbose: int,
                 json_output: bool) -> RunWave:
    """run_wave for fleet.Rollout: one upgrade.yml run (mode run) limited to the wave's
    hosts; phases and each host's report reach the journal as the events arrive."""
    from dspace_deploy import runner
    from dspace_deploy.cli.upgrade_cmds import _console, _job
    from dspace_deploy.events import Event, event_parts
    from dspace_deploy.upgrades import REPORT_KEY, _instance, parse_upgrade_events

    def run_wave(hosts: list[str], on_phase: Callable[[str, str], None],
                 on_report: Callable[[str, list[InstanceUpgrade]], None]) -> UpgradeReport:
        if not json_output:
            _console().print(_("wave {n}/{total}: {hosts}").format(
                n=(journal.wave or 0) + 1, total=len(journal.waves), hosts=", ".join(hosts)),
                markup=False, highlight=False)
        events: list[Event] = []

        def observe(event: Event) -> None:
            events.append(event)
            kind, host, res, data = event_parts(event)
            if not host or not kind.startswith("runner_on_"):
                return
            phase = _phase(str(data.get("task", "")))
            if phase:
                on_phase(host, phase)
            raw = res.get(REPORT_KEY) if kind == "runner_on_ok" else None
            if isinstance(raw, dict):
                on_report(host, [_instance(host, i) for i in raw.get("instances") or []
                                 if isinstance(i, dict)])

        job = _job(site, "upgrade", "run", ",".join(hosts), verbose, extravars)
        result = runner.run(job, observer=observe)
        journal.runs.append(str(result.artifact_dir))
        return parse_upgrade_events(events, "upgrade", "run")

    return run_wave


def _phase(task: str) -> str:
    import re

    match = re.match(r"^Upgrade phase (\w+)", task)
    return match.group(1) if match else ""


def _pauser(journal: Journal, mode: str, json_output: bool) -> Callable[[int], bool]:
    from dspace_deploy.cli.upgrade_cmds import _console

    def pause(number: int) -> bool:
        if not mode:
            return True
        hosts = ", ".join(journal.waves[number])
        if mode == "prompt":
            return typer.confirm(_("Wave {n}/{total} done. Go on with wave {next} ({hosts})?")
                                 .format(n=number, total=len(journal.waves), next=number + 1,
                                         hosts=hosts), default=False)
        if not json_output:
            _console().print(_("pausing {s} s before wave {next}").format(s=mode,
                                                                           next=number + 1))
        time.sleep(int(mode))
        return True

    return pause


def _live_line(journal: Journal) -> Callable[[HostEntry], None]:
    from dspace_deploy import fleet
    from dspace_deploy.cli.upgrade_cmds import _console

    def show(entry: HostEntry) -> None:
        _console().print(fleet.host_line(entry, len(journal.waves)), markup=False,
                         highlight=False)

    return show


# --- output -------------------------------------------------------------------------------


def _print_waves(journal: Journal) -> None:
    from dspace_deploy import fleet
    from dspace_deploy.cli.upgrade_cmds import _console

    console = _console()
    for number, wave in enumerate(journal.waves):
        todo = [h for h in wave if journal.hosts[h].outcome in (fleet.PENDING, fleet.RUNNING)]
        if todo:
            label = _("canary") if journal.hosts[wave[0]].canary else _("wave {n}").format(
                n=number + 1)
            console.print(f"{label}: {', '.join(todo)}", markup=False, highlight=False)
    for entry in journal.in_outcome(fleet.SKIPPED, fleet.UNREACHABLE):
        console.print(fleet.host_line(entry, len(journal.waves)), markup=False,
                      highlight=False)


def _finish(journal: Journal, json_output: bool, planned_only: bool = False,
            code: int | None = None) -> None:
    from dspace_deploy import fleet

    fleet.mark_not_started(journal)
    if code is None:
        code = 0 if planned_only or journal.all_on_target else 1
    if json_output:
        from dspace_deploy.cli.output import emit

        emit({"verb": "upgrade", "mode": "plan" if planned_only else "rollout",
              "exit_code": code, **fleet.document(journal)})
        raise typer.Exit(code)
    from dspace_deploy.cli.upgrade_cmds import _console

    console = _console()
    if planned_only:
        _print_waves(journal)
        console.print(_("Nothing was changed (--plan)."), markup=False, highlight=False)
    else:
        for line in fleet.final_lines(journal):
            console.print(line, markup=False, highlight=False)
    raise typer.Exit(code)
