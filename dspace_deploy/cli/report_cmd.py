"""`report`: the network report, one page for the coordinator and one section per member
(read-only; docs/report.md).

Exit codes: 0 when every member is fine; 1 when a member needs attention (a critical finding
or a warning) or a host is unreachable; 2 bad input (nothing contacted).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dspace_deploy.cli import options
from dspace_deploy.cli.output import emit

if TYPE_CHECKING:
    from rich.console import Console

    from dspace_deploy.runner import Job
    from dspace_deploy.site import Site
    from dspace_deploy.status import StatusCollector


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory for report.html, report.json and this run's history file "
        "(created if missing).", show_default=False)] = None,
    json_output: options.Json = False,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="Language of the report: en, es or pt (default: the locale).",
        show_default=False)] = None,
    oai_sample: Annotated[int, typer.Option(
        "--oai-sample", min=1, max=1000,
        help="Records of each OAI-PMH feed checked against the rules.")] = 20,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """The network report: per host and instance, version and support, health, services,
    TLS, backups and drills, handle server and OAI-PMH feed, worst first, as one
    self-contained HTML page (--out) and JSON (--json). Changes nothing."""
    from dspace_deploy import i18n, runner
    from dspace_deploy.cli.run_cmds import load
    from dspace_deploy.errors import InputError
    from dspace_deploy.selection import checked_limit
    from dspace_deploy.status import StatusCollector

    if lang is not None and lang not in i18n.LANGUAGES:
        raise InputError(i18n._("--lang {lang} is not a language of the report.").format(
            lang=lang), hint=i18n._("Choose one of: {languages}.").format(
                languages=", ".join(i18n.LANGUAGES)))
    # The root's --lang (or the locale) already chose the catalogue; this one overrides it.
    language = i18n.use(lang) if lang is not None else i18n.current()
    if out is not None and out.exists() and not out.is_dir():
        raise InputError(i18n._("--out {path} is a file, not a directory.").format(path=out),
                         hint=i18n._("Give a directory (it is created if missing)."))
    site = load(inventory, vault_password_file)
    job = runner.Job("report", "status.yml", site, limit=checked_limit(site, limit))
    collector = StatusCollector()
    if json_output:
        document, written = _run(site, job, collector, out, oai_sample, language, None)
        emit({"verb": "report", "files": [str(p) for p in written], **document})
        raise typer.Exit(0 if document["ok"] else 1)
    from rich.console import Console

    console = Console(highlight=False)
    asking = i18n._("asking the hosts")
    with console.status(f"report · {site.name}: {asking}") as spinner:
        document, written = _run(site, job, collector, out, oai_sample, language,
                                 lambda text: spinner.update(f"report · {site.name}: {text}"))
    _print_summary(console, document, written)
    raise typer.Exit(0 if document["ok"] else 1)


def _run(site: Site, job: Job, collector: StatusCollector, out: Path | None, oai_sample: int,
         language: str, say: Callable[[str], None] | None,
         ) -> tuple[dict[str, Any], list[Path]]:
    from dspace_deploy import runner
    from dspace_deploy.drill import last_drills
    from dspace_deploy.report import history, html
    from dspace_deploy.report.collect import build_report

    runner.run(job, observer=collector)
    ansible_hosts = {host: (site.hostvars.get(host) or {}).get("ansible_host")
                     for host in site.hosts}
    result = build_report(site.name, collector, ansible_hosts, last_drills(site.name),
                          oai_sample=oai_sample, language=language, say=say)
    document = result.as_dict()
    runner.make_private_state(site.name)
    directories = [history.reports_dir(site.name)] + ([out] if out is not None else [])
    earlier = history.load(directories, site.name)
    written = history.save(document, directories)
    document["history"] = history.series(earlier, document)
    if out is not None:
        import json

        (out / "report.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
        (out / "report.html").write_text(html.render(document), encoding="utf-8")
        written += [out / "report.json", out / "report.html"]
    return document, written


def _print_summary(console: Console, document: dict[str, Any], written: list[Path]) -> None:
    from rich.table import Table

    from dspace_deploy.i18n import _, ngettext

    states = {"critical": _("needs action"), "warning": _("needs a look"), "ok": _("fine")}
    table = Table(title=_("Network report"), title_justify="left")
    for column in (_("member"), _("state"), _("version"), _("problems")):
        table.add_column(column)
    for member in document["members"]:
        problems = [f["message"] for f in member["findings"] if f["severity"] != "info"]
        style = {"critical": "red", "warning": "yellow"}.get(member["state"])
        table.add_row(member["key"], states[member["state"]],
                      (member["version"] or {}).get("reported") or "?",
                      "; ".join(problems), style=style)
    console.print(table)
    totals = document["totals"]
    # one plural per count; the outer message lets a language order or join them its way
    console.print(_("{critical}, {warning}, {ok}").format(
        critical=ngettext("{count} member needs action", "{count} members need action",
                          totals["critical"]).format(count=totals["critical"]),
        warning=ngettext("{count} member needs a look", "{count} members need a look",
                         totals["warning"]).format(count=totals["warning"]),
        ok=ngettext("{count} member is fine", "{count} members are fine",
                    totals["ok"]).format(count=totals["ok"])), markup=False)
    for path in written:
        console.print(str(path), markup=False)
