"""`handle bundle`: fetch each instance's handle server site bundle and say how to register.

A new handle server is configured with the placeholder prefix of the inventory
(`handle_prefix`, default 123456789). To resolve handles world-wide, the site bundle
`<dspace_dir>/handle-server/sitebndl.zip` goes to the Handle.Net Registry, which assigns a
prefix; the instance then gets `handle_prefix: <prefix>` and `handle_registered: true`, and
`up` reconfigures the handle server and DSpace.

Exit codes: 0 every instance's bundle was fetched; 1 a host was unreachable or an instance
has no bundle yet (its handle server was never configured: run `up`); 2 bad input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dspace_deploy.cli import options
from dspace_deploy.cli.output import emit
from dspace_deploy.i18n import _

if TYPE_CHECKING:
    from rich.console import Console

    from dspace_deploy.events import Event

REPORT_KEY = "dspace_handle_bundles"
BUNDLE_NAME = "sitebndl.zip"
REGISTRY_URL = "https://www.handle.net"

Dest = Annotated[
    Path | None,
    typer.Option("--dest", help="Directory on this machine for the bundles (default: "
                 "INVENTORY/handle-bundles).", show_default=False),
]


def register(app: typer.Typer) -> None:
    handle = typer.Typer(
        name="handle",
        help="Handle server chores: fetch the site bundles for the Handle.Net Registry.",
        no_args_is_help=True,
        rich_markup_mode=None,  # plain help keeps `--help` fast
    )
    handle.command("bundle")(bundle)
    app.add_typer(handle, name="handle")


@dataclass
class HandleBundle:
    host: str
    instance: str
    path: str  # on the controller ('' when the host had none)
    found: bool
    sha256: str
    handle_prefix: str
    handle_registered: bool


def bundle_path(dest: Path, host: str, instance: str) -> Path:
    return dest / f"{host}-{instance}-{BUNDLE_NAME}"


def parse_events(events: list[Event], dest: Path) -> tuple[list[HandleBundle], dict[str, str]]:
    """The bundles the playbook reported, and {host: why} for hosts that reported none."""
    from dspace_deploy.events import note_problem

    bundles: list[HandleBundle] = []
    problems: dict[str, str] = {}
    reported: set[str] = set()
    for event in events:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = str(data.get("host", ""))
        res = data.get("res") or {}
        if kind == "runner_on_ok" and isinstance(res.get(REPORT_KEY), dict):
            reported.add(host)
            bundles.extend(_entries(host, res[REPORT_KEY], dest))
        else:
            note_problem(problems, kind, host, res, data)
    return bundles, {h: p for h, p in problems.items() if h not in reported}


def _entries(host: str, raw: dict[str, Any], dest: Path) -> list[HandleBundle]:
    names = list(raw.get("instances") or [])
    columns = [list(raw.get(key) or []) for key in ("prefixes", "registered", "found",
                                                     "sha256")]
    result = []
    for index, name in enumerate(names):
        prefix, registered, found, sha = (c[index] if index < len(c) else None
                                          for c in columns)
        result.append(HandleBundle(
            host=host, instance=str(name),
            path=str(bundle_path(dest, host, str(name))) if found else "",
            found=bool(found), sha256=str(sha or ""), handle_prefix=str(prefix or ""),
            handle_registered=bool(registered)))
    return result


def instructions(bundles: list[HandleBundle], inventory: Path) -> list[str]:
    """What the operator does next, as printable lines."""
    lines = []
    pending = [b for b in bundles if b.found and not b.handle_registered]
    missing = [b for b in bundles if not b.found]
    done = [b for b in bundles if b.found and b.handle_registered]
    if pending:
        lines += [
            _("To register these handle servers:"),
            "  1. " + _("Send each site bundle to the Handle.Net Registry ({url}: request a "
                        "prefix and upload the file when asked for the site bundle).").format(
                            url=REGISTRY_URL),
        ]
        lines += ["       " + _("{path}   ({instance} on {host})").format(
            path=b.path, instance=b.instance, host=b.host) for b in pending]
        lines += [
            "  2. " + _("When the registry has assigned the prefix (e.g. 20.500.12345), set it "
                        "on the instance in the inventory's dspace_instances:"),
            "       handle_prefix: \"" + _("<the assigned prefix>") + "\"",
            "       handle_registered: true",
            "  3. " + _("Run `{command}` to reconfigure the handle server and DSpace with the "
                        "new prefix.").format(command=f"dspace-deploy up -i {inventory}"),
            _("Keep the private keys on the host (handle-server/*priv*.bin) backed up; the "
              "registry only needs the site bundle."),
        ]
    lines += [_("{instance} on {host} is registered with prefix {prefix}; its bundle was "
                "fetched again ({path}).").format(instance=b.instance, host=b.host,
                                                  prefix=b.handle_prefix, path=b.path)
              for b in done]
    lines += [_("{instance} on {host} has no {bundle} yet: its handle server is not "
                "configured. Run `{command}` first.").format(
                    instance=b.instance, host=b.host, bundle=BUNDLE_NAME,
                    command=f"dspace-deploy up -i {inventory}") for b in missing]
    return lines


def bundle(
    inventory: options.Inventory = None,
    limit: options.Limit = None,
    dest: Dest = None,
    json_output: options.Json = False,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Fetch each instance's handle server site bundle (sitebndl.zip) to this machine and
    print how to register it with the Handle.Net Registry."""
    from dspace_deploy import runner
    from dspace_deploy.cli.run_cmds import load
    from dspace_deploy.selection import checked_limit

    site = load(inventory, vault_password_file)
    limit = checked_limit(site, limit)
    target = destination(dest or site.path / "handle-bundles")
    job = runner.Job("handle-bundle", "handle_bundle.yml", site, limit=limit,
                     extravars={"handle_bundle_dest": str(target)})
    events: list[Event] = []
    if json_output:
        result = runner.run(job, observer=events.append)
    else:
        console = _console()
        with console.status(_("handle bundle · {site}: fetching").format(site=site.name)):
            result = runner.run(job, observer=events.append)
    bundles, problems = parse_events(events, target)
    ok = not problems and bool(bundles) and all(b.found for b in bundles) \
        and result.summary.ok
    if json_output:
        document = {"verb": "handle bundle", "site": site.name, "ok": ok, "dest": str(target),
                    "artifacts": str(result.artifact_dir),
                    "bundles": [asdict(b) for b in bundles], "problems": problems,
                    "instructions": instructions(bundles, site.path)}
        emit(document)
    else:
        _print(console, bundles, problems, site.path)
    raise typer.Exit(0 if ok else 1)


def destination(dest: Path) -> Path:
    """The --dest directory, created when missing; InputError (before any host is
    contacted) when it is a file or cannot be created."""
    from dspace_deploy.errors import InputError

    target = dest.expanduser().absolute()
    hint = _("Give a directory (it is created when missing) with --dest.")
    for path in (target, *target.parents):
        if path.exists() and not path.is_dir():
            what = (_("--dest {path} is a file, not a directory.") if path == target
                    else _("--dest {path} is inside {file}, a file, not a directory."))
            raise InputError(what.format(path=target, file=path), hint=hint)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(_("--dest {path} cannot be created: {reason}.").format(
                             path=target, reason=exc.strerror or exc), hint=hint) from exc
    return target


def _print(console: Console, bundles: list[HandleBundle], problems: dict[str, str],
           inventory: Path) -> None:
    for b in bundles:
        where = b.path if b.found else _("no {bundle}").format(bundle=BUNDLE_NAME)
        state = (_("prefix {prefix}, registered") if b.handle_registered
                 else _("prefix {prefix}, not registered")).format(prefix=b.handle_prefix)
        console.print(f"{b.host} · {b.instance}: {where}  ({state})",
                      markup=False, highlight=False)
    for host, why in sorted(problems.items()):
        console.print(f"[red]{host}[/red]: {why}", highlight=False)
    if not bundles and not problems:
        console.print(_("No DSpace instance in the inventory (or the --limit)."))
    for line in instructions(bundles, inventory):
        console.print(line, markup=False, highlight=False)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)
