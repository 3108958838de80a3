"""`lab up | list | down`: podman lab hosts with a ready site inventory.

Only typer and the standard library are imported here; the lab code is imported inside
the commands so that `dspace-deploy --help` stays fast. Errors are DeployErrors, turned
into one paragraph (and, with --json, one JSON document) by the CLI's main().
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dspace_deploy.i18n import _, ngettext

if TYPE_CHECKING:
    from dspace_deploy.lab.labs import Lab


class LabOs(StrEnum):
    debian12 = "debian12"
    debian13 = "debian13"


class WorkshopContent(StrEnum):
    sample = "sample"
    none = "none"


class WorkshopLang(StrEnum):
    en = "en"
    es = "es"


class Connection(StrEnum):
    podman = "podman"
    ssh = "ssh"


Json = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on stdout and nothing else there."),
]


def register(app: typer.Typer) -> None:
    lab = typer.Typer(
        name="lab",
        help="Lab hosts: systemd containers (podman) with a ready inventory, for training "
        "and tests.",
        no_args_is_help=True,
        rich_markup_mode=None,  # plain help keeps `--help` fast
    )
    lab.command("up")(up)
    lab.command("start")(start)
    lab.command("list")(list_)
    lab.command("down")(down)
    from dspace_deploy.cli import workshop_cmds

    lab.command("reset")(workshop_cmds.reset)
    lab.command("credentials")(workshop_cmds.credentials)
    app.add_typer(lab, name="lab")


def up(
    hosts: Annotated[
        int, typer.Option("--hosts", "-n", min=1, max=50, help="Number of hosts (1 to 50).")
    ] = 1,
    os_names: Annotated[
        list[LabOs] | None,
        typer.Option(
            "--os",
            help="Debian release of the hosts: debian12 (DSpace 8) or debian13 (DSpace 9, "
            "10). Repeat to mix them: hosts take them in turn. Default: debian13.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="Lab name (lowercase letters, digits, hyphens).")
    ] = "lab",
    connection: Annotated[
        Connection,
        typer.Option(
            "--connection",
            help="How Ansible reaches the hosts: ssh (the hosts' addresses, user deploy "
            "with sudo, the lab's key: the path real servers take, and about 3 times faster "
            "per task) or podman (podman exec).",
        ),
    ] = Connection.ssh,
    students: Annotated[int | None, typer.Option(
        "--students", help="A workshop: this many students, each with a DSpace instance of "
        "their own (s01, s02, ...), an administrator account and a generated password; "
        "hosts are planned from --per-host (docs/workshop.md).", show_default=False)] = None,
    per_host: Annotated[int | None, typer.Option(
        "--per-host", help="Workshop: instances per host (default: as many as the host's "
        "memory holds, 1.5 GiB each after 2 GiB for the host).", show_default=False)] = None,
    content: Annotated[WorkshopContent, typer.Option(
        "--content", help="Workshop: the sample content set in every instance, or none.",
    )] = WorkshopContent.sample,
    lang: Annotated[WorkshopLang, typer.Option(
        "--lang", help="Workshop: language of the sample content.")] = WorkshopLang.en,
    domain: Annotated[str | None, typer.Option(
        "--domain", help="Workshop: the students' names are sNN.DOMAIN (default: "
        "NAME.lab.test; with --cloud, the host's address under nip.io).",
        show_default=False)] = None,
    artifacts: Annotated[str | None, typer.Option(
        "--artifacts", help="Workshop: directory or URL of the release bundles (what "
        "`dspace-deploy build` writes).", show_default=False)] = None,
    cloud: Annotated[str | None, typer.Option(
        "--cloud", help="Workshop: make the hosts as cloud VMs (aws) instead of podman lab "
        "hosts.", show_default=False)] = None,
    region: Annotated[str | None, typer.Option("--region", help="Cloud region.",
                                               show_default=False)] = None,
    size: Annotated[str | None, typer.Option("--size", help="Cloud instance type (default "
                                             "m6i.2xlarge).", show_default=False)] = None,
    admin_cidr: Annotated[str | None, typer.Option(
        "--admin-cidr", help="Cloud: the only addresses SSH is open to.",
        show_default=False)] = None,
    subnet: Annotated[str | None, typer.Option("--subnet", help="Cloud subnet id.",
                                               show_default=False)] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Cloud: do not ask before "
                                      "creating billed resources.")] = False,
    preload: Annotated[
        bool,
        typer.Option(
            "--preload",
            help="Start the hosts from an image with the roles' Debian packages already "
            "installed (built once per OS, about 1 GB): a much faster first `up`, for "
            "workshops. Without it `up` installs every package, as on a real server.",
        ),
    ] = False,
    as_json: Json = False,
) -> None:
    """Create a lab (or start an existing one) and write its inventory; with --students, a
    workshop: deployed instances with content and a credentials sheet."""
    from dspace_deploy.lab.labs import create_lab, stack_preload

    chosen = [value.value for value in os_names or [LabOs.debian13]]
    if students is not None:
        from dspace_deploy.cli import workshop_cmds

        workshop_cmds.up_workshop(
            name=name, students=students, per_host=per_host, content=content.value,
            lang=lang.value, os_name=chosen[0], cloud=cloud, region=region, size=size,
            admin_cidr=admin_cidr, subnet=subnet, domain=domain, artifacts=artifacts,
            yes=yes, preload=preload, as_json=as_json)
        return
    given = {"--per-host": per_host, "--domain": domain, "--artifacts": artifacts,
             "--cloud": cloud, "--region": region, "--size": size, "--admin-cidr": admin_cidr,
             "--subnet": subnet}
    stray = [flag for flag, value in given.items() if value is not None]
    if stray:
        from dspace_deploy.errors import InputError

        raise InputError(_("{flags} belong to a workshop (--students N).").format(
            flags=", ".join(stray)), hint=_("Add --students N, or leave them out."))
    lab = create_lab(
        name=name, hosts=hosts, oses=chosen, connection=connection.value, progress=_progress,
        preload=stack_preload(chosen) if preload else None,
    )
    if as_json:
        _print_json({"ok": True, "lab": lab.as_dict()})
        return
    typer.echo(ngettext("Lab {name} is ready ({count} host, connection {connection}).",
                        "Lab {name} is ready ({count} hosts, connection {connection}).",
                        len(lab.hosts)).format(name=lab.name, count=len(lab.hosts),
                                               connection=lab.connection))
    typer.echo("")
    _print_hosts([lab])
    typer.echo("")
    typer.echo(_("Inventory: {path}").format(path=lab.inventory))
    typer.echo(_("Next:"))
    typer.echo(f"  dspace-deploy up -i {lab.inventory}")
    typer.echo(f"  dspace-deploy verify -i {lab.inventory}")
    first = lab.hosts[0]
    typer.echo(f"  podman exec -it {first.container} bash")
    if first.address:
        typer.echo(
            f"  ssh -i {lab.ssh_key} -o UserKnownHostsFile={lab.known_hosts} deploy@{first.address}"
        )
    typer.echo(f"  dspace-deploy lab down {lab.name}")


def start(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="The labs to start (default: every lab listed by `lab list`).",
                       show_default=False),
    ] = None,
    as_json: Json = False,
) -> None:
    """Start labs' stopped hosts (after a restart of this machine), on their addresses."""
    from dspace_deploy.lab.labs import list_labs, start_lab

    chosen = names or [lab.name for lab in list_labs()]
    started = [start_lab(lab_name, progress=_progress) for lab_name in chosen]
    if as_json:
        _print_json({"ok": True, "labs": [lab.as_dict() for lab in started]})
    elif started:
        _print_hosts(started)
    else:
        typer.echo(_("No labs to start."))


def list_(as_json: Json = False) -> None:
    """List the labs with their hosts' state and address."""
    from dspace_deploy.lab.labs import list_labs, orphan_labs

    labs = list_labs()
    orphans = orphan_labs()
    if as_json:
        _print_json({"ok": True, "labs": [lab.as_dict() for lab in labs], "orphans": orphans})
        return
    if not labs:
        typer.echo(_("No labs. Create one with: {command}").format(
            command="dspace-deploy lab up"))
    else:
        _print_hosts(labs)
    if orphans:
        typer.echo("")
        typer.echo(
            _("Containers of labs not defined here (another XDG_DATA_HOME, or a removed lab "
              "directory): {names}. Remove them with: {command}").format(
                  names=", ".join(orphans), command="dspace-deploy lab down NAME")
        )


def down(
    name: Annotated[
        str | None, typer.Argument(help="The lab to remove.", show_default=False)
    ] = None,
    all_labs: Annotated[
        bool, typer.Option("--all", help="Remove every lab listed by `lab list`.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Remove a lab: its containers and its directory (the base images stay)."""
    from dspace_deploy.errors import InputError
    from dspace_deploy.lab.labs import destroy_lab, list_labs

    if all_labs == (name is not None):
        raise InputError(
            _("Give either a lab name or --all."),
            hint=_("E.g. `{command}`.").format(command="dspace-deploy lab down demo"),
        )
    names = [lab.name for lab in list_labs()] if all_labs else [name or ""]
    from dspace_deploy.lab.workshop import is_workshop

    removed: dict[str, list[str]] = {}
    for lab_name in names:
        if is_workshop(lab_name):  # its cloud resources too
            from dspace_deploy.cli.workshop_cmds import down_workshop

            removed[lab_name] = down_workshop(lab_name)["containers"]
        else:
            removed[lab_name] = destroy_lab(lab_name)
    if as_json:
        _print_json(
            {
                "ok": True,
                "removed": [{"name": k, "containers": v} for k, v in removed.items()],
            }
        )
        return
    if not removed:
        typer.echo(_("No labs to remove."))
    for lab_name, containers in removed.items():
        typer.echo(ngettext("Removed lab {name} ({count} container).",
                            "Removed lab {name} ({count} containers).",
                            len(containers)).format(name=lab_name, count=len(containers)))


def _progress(message: str) -> None:
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def _print_json(document: Any) -> None:
    from dspace_deploy.cli.output import emit

    emit(document)


def _print_hosts(labs: list[Lab]) -> None:
    rows = [(_("LAB"), _("HOST"), _("OS"), _("ADDRESS"), _("STATE"), _("CONTAINER"))]
    for lab in labs:
        for host in lab.hosts:
            rows.append(
                (lab.name, host.name, host.os, host.address or "-", host.state, host.container)
            )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
