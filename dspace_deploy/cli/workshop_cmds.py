"""Workshop verbs of `lab`: `lab up --students N ...`, `lab reset`, `lab credentials`, and
the workshop half of `lab down` (cloud resources). The logic is in dspace_deploy.lab.workshop;
this renders it. No password is ever printed: the output says where the sheet is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dspace_deploy.i18n import _, ngettext

if TYPE_CHECKING:
    from dspace_deploy.lab.workshop import Outcome, WorkshopPlan


def up_workshop(*, name: str, students: int, per_host: int | None, content: str, lang: str,
                os_name: str, cloud: str | None, region: str | None, size: str | None,
                admin_cidr: str | None, subnet: str | None, domain: str | None,
                artifacts: str | None, yes: bool, preload: bool = False,
                as_json: bool) -> None:
    from dspace_deploy.cli import options
    from dspace_deploy.errors import InputError
    from dspace_deploy.lab import workshop
    from dspace_deploy.lab.labs import stack_preload

    artifacts = options.checked_artifacts(artifacts)
    cloud_options = None
    if cloud is not None:
        if cloud != "aws":
            raise InputError(_("Unknown cloud {cloud}.").format(cloud=repr(cloud)),
                             hint=_("Only `aws` is supported."))
        if not region:
            raise InputError(_("A cloud workshop needs --region."),
                             hint=_("E.g. --region sa-east-1."))
        cloud_options = workshop.CloudOptions(region=region,
                                              size=size or workshop.DEFAULT_CLOUD_SIZE,
                                              admin_cidr=admin_cidr or "", subnet=subnet)
    elif region or size or admin_cidr or subnet:
        raise InputError(_("--region, --size, --admin-cidr and --subnet go with --cloud aws."),
                         hint=_("Add --cloud aws, or leave them out for podman lab hosts."))

    def confirm(plan: WorkshopPlan, cloud_plan: Any) -> bool:
        if cloud_plan is None or yes:
            return True
        import contextlib

        # stdout is the JSON document's alone with --json
        with contextlib.redirect_stdout(sys.stderr if as_json else sys.stdout):
            _describe(plan, cloud_plan)
        if as_json or not sys.stdin.isatty():
            raise InputError(
                _("A cloud workshop creates billed resources; without a terminal to ask, "
                  "dspace-deploy needs your consent on the command line."),
                hint=_("Add --yes."))
        return typer.confirm(_("Create these resources?"), default=False)

    request = workshop.WorkshopRequest(name=name, students=students, per_host=per_host,
                                       content=content, lang=lang, os_name=os_name,
                                       cloud=cloud_options, domain=domain)
    outcome = workshop.lab_up(request, artifacts=artifacts, confirm=confirm, progress=_progress,
                              preload=stack_preload([os_name]) if preload else None)
    _finish(outcome, as_json, _("Workshop {name} is ready ({count} students).").format(
        name=name, count=len(outcome.students)))


def _describe(plan: WorkshopPlan, cloud_plan: Any) -> None:
    assert plan.cloud is not None
    _progress(ngettext(
        "Workshop {name}: {students} students on {hosts} {size} VM in {region}.",
        "Workshop {name}: {students} students on {hosts} {size} VMs in {region}.",
        plan.hosts).format(name=plan.name, students=plan.students, hosts=plan.hosts,
                           size=plan.cloud.size, region=plan.cloud.region))
    # h-cloud's own rendering of the plan (resources, account, region, cost with its date)
    import importlib

    try:
        cloud_cmds: Any = importlib.import_module("dspace_deploy.cli.cloud_cmds")
    except ImportError:  # a build without `cloud` (before h-cloud is merged)
        cloud_cmds = None
    show = getattr(cloud_cmds, "print_plan", None) or getattr(cloud_cmds, "_print_plan", None)
    if callable(show):
        show(cloud_plan)
    else:
        import json

        as_dict = getattr(cloud_plan, "as_dict", None)
        _progress(json.dumps(as_dict() if callable(as_dict) else str(cloud_plan), indent=1,
                             default=str))


def reset(
    name: Annotated[str, typer.Argument(help="The workshop.", show_default=False)],
    students: Annotated[
        list[str] | None,
        typer.Option("--student", "-s", help="Only this student's instance (repeatable); "
                     "default: every student.", show_default=False),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout "
                                          "and nothing else there.")] = False,
) -> None:
    """Put student instances back to the state right after seeding (their golden snapshot:
    database, assetstore, Solr). What the students did since is lost."""
    from dspace_deploy.errors import InputError
    from dspace_deploy.lab import workshop

    _plan, _record, _site, roster = workshop.open_workshop(name)
    chosen = workshop.chosen_students(roster, students or [])
    if not yes:
        names = ", ".join(s.name for s in chosen)
        if as_json or not sys.stdin.isatty():
            raise InputError(
                _("Resetting replaces the content of {names}; without a terminal to ask, "
                  "dspace-deploy needs your consent on the command line.").format(names=names),
                hint=_("Add --yes."))
        if not typer.confirm(_("Reset {names} to their golden snapshot? Their changes are "
                               "lost.").format(names=names), default=False):
            raise typer.Abort()
    outcome = workshop.lab_reset(name, [s.name for s in chosen], progress=_progress)
    _finish(outcome, as_json, ngettext("Reset {count} instance in {seconds:.0f} s.",
                                       "Reset {count} instances in {seconds:.0f} s.",
                                       len(chosen)).format(
                                           count=len(chosen),
                                           seconds=outcome.seconds.get("reset", 0.0)))


def credentials(
    name: Annotated[str, typer.Argument(help="The workshop.", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory for credentials.csv and credentials.html (default: the "
        "lab's directory).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout "
                                          "and nothing else there.")] = False,
) -> None:
    """(Re)write the credentials sheet: per student the URL, the login and the password, as
    CSV and as a printable HTML page (files readable by you only)."""
    from dspace_deploy.lab import workshop

    written = workshop.write_credentials(name, out)
    if as_json:
        _emit({"ok": True, "name": name, "credentials": {k: str(v) for k, v in
                                                          written.items()}})
        return
    typer.echo(_("Credentials sheet (keep it private):"))
    for path in written.values():
        typer.echo(f"  {path}")


def down_workshop(name: str) -> dict[str, Any]:
    from dspace_deploy.lab import workshop

    return workshop.lab_down(name, progress=_progress)


def _finish(outcome: Outcome, as_json: bool, headline: str) -> None:
    if as_json:
        _emit(outcome.as_dict())
    else:
        typer.echo(headline if outcome.ok else _("Some instances failed; see below."))
        for student in outcome.students:
            state = _("FAILED") if student.name in outcome.failed else _("ok")
            typer.echo(f"  {student.name:6} {student.host:18} {student.url:40} {state}")
        for verb, summary in outcome.runs.items():
            typer.echo(_("{verb}: {seconds:.0f} s, {changed} changed, artifacts {path}").format(
                verb=verb, seconds=summary.get("seconds", 0.0), changed=summary["changed"],
                path=summary["artifacts"]))
            for failure in summary.get("failures", []):
                typer.echo(f"    {failure.get('host')}: {failure.get('task')}: "
                           f"{failure.get('message', '')}"[:400])
        if outcome.sheet:
            typer.echo(_("Credentials sheet (logins and passwords; keep it private):"))
            for path in outcome.sheet.values():
                typer.echo(f"  {path}")
    raise typer.Exit(0 if outcome.ok else 1)


def _progress(message: str) -> None:
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def _emit(document: dict[str, Any]) -> None:
    from dspace_deploy.cli.output import emit

    emit(document)
