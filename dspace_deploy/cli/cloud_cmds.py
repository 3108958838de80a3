"""`cloud up | list | down`: AWS VMs for a site, written into its inventory (docs/cloud.md).

Only typer and the standard library are imported here; boto3 and the cloud code are
imported inside the commands so that `dspace-deploy --help` stays fast. Errors are
DeployErrors, turned into one paragraph (and, with --json, one JSON document) by main().

Exit codes: 0 done; 1 AWS failed or refused part of the work (quota, capacity, throttling,
a deletion that failed; the message says what is left); 2 bad input (nothing created);
3 no credentials, no ssh; 130 not confirmed.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dspace_deploy.cli import options
from dspace_deploy.i18n import _

if TYPE_CHECKING:
    from dspace_deploy.cloud.model import CloudHost, CloudInventory, CloudPlan, DestroyReport

Region = Annotated[
    str | None,
    typer.Option("--region", help="AWS region, e.g. sa-east-1 (default: the region `cloud up` "
                 "used for this site, else AWS_REGION or the profile's).", show_default=False),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
SiteName = Annotated[
    str | None,
    typer.Option("--site", help="The site's name, instead of its inventory (e.g. when the "
                 "inventory is gone); give --region too.", show_default=False),
]


def register(app: typer.Typer) -> None:
    cloud = typer.Typer(
        name="cloud",
        help="Cloud VMs (AWS) for a site: create them and write them into the inventory, "
        "list them, remove them. Credentials come from boto3's usual chain (AWS_PROFILE, "
        "environment, instance role) and are never stored.",
        no_args_is_help=True,
        rich_markup_mode=None,  # plain help keeps `--help` fast
    )
    cloud.command("up")(up)
    cloud.command("list")(list_)
    cloud.command("down")(down)
    app.add_typer(cloud, name="cloud")


def up(
    inventory: options.Inventory = None,
    count: Annotated[int, typer.Option("--count", "-n", help="Number of VMs (1 to 50).")] = 1,
    size: Annotated[str, typer.Option("--size", help="EC2 instance type; t3.large (2 vCPU, "
                                      "8 GiB) is the smallest that runs DSpace, m6i.xlarge "
                                      "suits production (docs/cloud.md).")] = "t3.large",
    region: Region = None,
    subnet: Annotated[str | None, typer.Option(
        "--subnet", help="Public subnet id (default: a default subnet of the default VPC).",
        show_default=False)] = None,
    admin_cidr: Annotated[str | None, typer.Option(
        "--admin-cidr", help="Network allowed to SSH (port 22), e.g. 203.0.113.7/32; "
        "required, never 0.0.0.0/0.", show_default=False)] = None,
    data_volume_gb: Annotated[int, typer.Option(
        "--data-volume-gb", help="Size of the encrypted gp3 data volume mounted at /srv "
        "(assetstore, database, Solr), per VM.")] = 50,
    debian: Annotated[str, typer.Option("--debian", help="Debian release of the image: 13 "
                                        "(DSpace 9, 10) or 12 (DSpace 8).")] = "13",
    ssh_key: Annotated[Path | None, typer.Option(
        "--ssh-key", help="Private SSH key whose KEY.pub is imported as the key pair "
        "(default: a key made for the site under ~/.local/share/dspace-deploy/cloud/SITE/).",
        show_default=False)] = None,
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="Wait until each VM answers over SSH with /srv mounted "
        "(--no-wait: for endpoints without real VMs behind them, e.g. moto).")] = True,
    wait_timeout: Annotated[int, typer.Option(
        "--wait-timeout", min=1, help="Seconds to wait for SSH on each VM.")] = 600,
    yes: Yes = False,
    as_json: options.Json = False,
) -> None:
    """Create the site's VMs (or find them again), and write them into the inventory."""
    from dspace_deploy.cloud import aws
    from dspace_deploy.cloud import inventory as cloud_inventory
    from dspace_deploy.errors import InputError
    from dspace_deploy.inventory.validate import load_site

    path = options.resolve_inventory(inventory)
    site = load_site(path, require_vault=False)
    if admin_cidr is None:
        raise InputError(_("cloud up needs --admin-cidr: the network allowed to connect over "
                           "SSH."),
                         hint=_("E.g. --admin-cidr 203.0.113.7/32 (your address: `curl "
                                "https://checkip.amazonaws.com`)."))
    state = cloud_inventory.read_state(path)
    chosen_region = region or (state.region if state else None)
    key = (ssh_key or (Path(state.key_path) if state and state.key_path else None)
           or aws.default_key_path(site.name))
    names = cloud_inventory.vm_names(site.name, cloud_inventory.listed_hosts(path), count)
    cloud_inventory.check(path, names)  # the inventory stays valid with the VMs in it
    the_plan = aws.plan(site.name, count=count, size=size, region=chosen_region,
                        subnet=subnet, admin_cidr=admin_cidr, data_volume_gb=data_volume_gb,
                        key_path=key, debian=debian, names=names)
    if (the_plan.key_action == "exists" and state and state.key_path
            and Path(state.key_path).expanduser() != the_plan.key_path):
        raise InputError(
            _("The site's key pair {name} holds the public key of {old}, not of {new}.").format(
                name=the_plan.key_name, old=state.key_path, new=the_plan.key_path),
            hint=_("Leave out --ssh-key to keep the old key, or delete the key pair (`aws ec2 "
                   "delete-key-pair --key-name {name}`) so that cloud up imports the new one "
                   "(the running VMs keep the old key).").format(name=the_plan.key_name))
    if not as_json:
        _print_plan(the_plan)
    if the_plan.creates_anything and not yes:
        _confirm(_("Create these resources in AWS account {account}?").format(
            account=the_plan.account), as_json)
    progress = None if as_json else _progress
    hosts = aws.apply(the_plan, progress=progress, wait_for_ssh=False)
    # written before the wait, so that a VM SSH does not reach is in the inventory anyway
    written = cloud_inventory.write(path, the_plan, hosts)
    if wait:
        aws.wait_for_all(the_plan, hosts, partial(aws.wait_until_ready, timeout=wait_timeout),
                         progress=progress)
    others = [name for name in cloud_inventory.listed_hosts(path)
              if name not in {host.name for host in hosts}]
    dns = _dns_records(path, hosts)
    if as_json:
        _emit({"ok": True, "plan": the_plan.as_dict(),
               "hosts": [host.as_dict() for host in hosts],
               "inventory": str(path), "written": [str(p) for p in written],
               "dns": dns, "other_hosts": others})
        return
    typer.echo("")
    for host in hosts:
        typer.echo(f"  {host.name:<20} {host.instance_id:<20} {host.public_address or '-'}")
    typer.echo("")
    typer.echo(_("Inventory: {path}").format(path=path))
    if dns:
        typer.echo(_("DNS records the repositories need (A records; `up` with tls_mode acme "
                     "needs them first):"))
        for record in dns:
            typer.echo(f"  {record['hostname']}  A  {record['address']}")
    if others:
        typer.echo(_("Note: the inventory also lists {hosts}, which are not cloud VMs of this "
                     "site; `dspace-deploy up` deploys to them too. Remove them from hosts.yml "
                     "if they were placeholders.").format(hosts=", ".join(others)))
    typer.echo(_("Next:"))
    typer.echo(f"  dspace-deploy up -i {path}")
    typer.echo(f"  dspace-deploy cloud down -i {path}")


def list_(inventory: options.Inventory = None, region: Region = None,
          site_name: SiteName = None, as_json: options.Json = False) -> None:
    """List what dspace-deploy created in AWS for the site (found by its tags)."""
    from dspace_deploy.cloud import aws

    _path, name, chosen_region = _site_and_region(inventory, region, site_name)
    found = aws.list_resources(name, chosen_region)
    if as_json:
        _emit({"ok": True, **found.as_dict()})
        return
    _print_inventory(found)


def down(inventory: options.Inventory = None, region: Region = None,
         site_name: SiteName = None, yes: Yes = False, as_json: options.Json = False) -> None:
    """Delete what dspace-deploy created in AWS for the site: VMs, their data volumes, the
    security group, the key pair; take the VMs out of the inventory."""
    from dspace_deploy.cloud import aws
    from dspace_deploy.cloud import inventory as cloud_inventory
    from dspace_deploy.cloud.model import CloudFailure

    path, name, chosen_region = _site_and_region(inventory, region, site_name)
    found = aws.list_resources(name, chosen_region)
    if not as_json:
        _print_inventory(found)
    if found and not yes:
        _confirm(_("Delete these resources, the data volumes (the repository's assetstore, "
                   "database and Solr) included?"), as_json)
    report = aws.destroy(name, found.region, progress=None if as_json else _progress)
    changed = cloud_inventory.remove(path, name) if report.ok and path else []
    if as_json:
        _emit({"ok": report.ok, **report.as_dict(), "inventory_changed": [str(p) for p in changed]})
    else:
        _print_report(report)
    if not report.ok:
        raise CloudFailure(
            _("Some resources of site {site} could not be deleted (listed above).").format(
                site=name),
            hint=_("Run `dspace-deploy cloud down` again; the inventory keeps the VMs until "
                   "everything is gone."))


# --- helpers ----------------------------------------------------------------------------------


def _dns_records(path: Path, hosts: list[CloudHost]) -> list[dict[str, str]]:
    """The repositories' public names and the address of the VM each runs on."""
    from dspace_deploy.inventory.validate import load_site

    hostvars = load_site(path, require_vault=False).hostvars
    records = []
    for host in hosts:
        for instance in hostvars.get(host.name, {}).get("dspace_instances") or []:
            if isinstance(instance, dict) and instance.get("hostname") and host.public_address:
                records.append({"hostname": str(instance["hostname"]),
                                "address": host.public_address, "host": host.name})
    return records


def _site_and_region(inventory: Path | None, region: str | None,
                     site_name: str | None) -> tuple[Path | None, str, str | None]:
    """The inventory (None with --site), the site's name and the region to look in."""
    from dspace_deploy.cloud import aws
    from dspace_deploy.cloud import inventory as cloud_inventory
    from dspace_deploy.errors import InputError
    from dspace_deploy.inventory.validate import load_site

    if site_name is not None:
        if inventory is not None:
            raise InputError(_("Give either -i INVENTORY or --site NAME, not both."))
        if not aws.SITE_PATTERN.fullmatch(site_name):
            raise InputError(_("--site {name} is not a site name.").format(name=repr(site_name)),
                             hint=_("Site names are lowercase letters, digits and hyphens."))
        return None, site_name, region
    path = options.resolve_inventory(inventory)
    site = load_site(path, require_vault=False)
    state = cloud_inventory.read_state(path)
    return path, site.name, region or (state.region if state and state.region else None)


def _confirm(question: str, as_json: bool) -> None:
    from dspace_deploy.errors import InputError

    if as_json or not sys.stdin.isatty():
        raise InputError(_("This changes resources in AWS (and what they cost); without a "
                           "terminal to ask, dspace-deploy needs your consent on the command "
                           "line."), hint=_("Add --yes."))
    if not typer.confirm(question, default=False):
        raise typer.Abort()


def _progress(message: str) -> None:
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def _emit(document: dict[str, object]) -> None:
    from dspace_deploy.cli.output import emit

    emit(document)


def _print_plan(plan: CloudPlan) -> None:
    echo = typer.echo
    echo(_("Plan for site {site} in AWS account {account}, region {region}:").format(
        site=plan.site, account=plan.account or "?", region=plan.region))
    echo(_("  image          {name} ({id}, {created})").format(
        name=plan.image_name, id=plan.image_id, created=plan.image_created))
    echo(_("  network        {subnet} in {vpc} ({zone})").format(
        subnet=plan.subnet_id, vpc=plan.vpc_id, zone=plan.availability_zone))
    key_actions = {"exists": _("exists"), "import": _("import {path}.pub"),
                   "generate": _("make {path} and import it")}
    echo(_("  key pair       {name}: {action}").format(
        name=plan.key_name, action=key_actions[plan.key_action].format(path=plan.key_path)))
    group = plan.security_group_id or _("create")
    echo(_("  security group {name}: {state}").format(name=plan.security_group_name,
                                                       state=group))
    echo(_("    inbound: 22/tcp from {cidr}; 80, 443, 2641, 8000/tcp and 2641/udp from "
           "anywhere; nothing else").format(cidr=plan.admin_cidr))
    actions = {"create": _("create"), "keep": _("exists"), "start": _("start (stopped)")}
    for host in plan.hosts:
        echo(_("  VM {name:<14} {action} {detail}").format(
            name=host.name, action=actions[host.action],
            detail=host.instance_id or _("{size}, {root} GB root + {data} GB data volume "
                                         "(gp3, encrypted) at /srv").format(
                size=plan.size, root=plan.root_volume_gb, data=plan.data_volume_gb)))
    for extra in plan.extra_instances:
        echo(_("  VM {name:<14} exists beyond --count, kept ({id}); `cloud down` removes "
               "every VM of the site").format(name=extra.name, id=extra.id))
    cost = plan.cost
    echo(_("Estimated monthly cost while running ({currency}, on-demand, price table of "
           "{date}):").format(currency=cost.currency, date=cost.compiled))
    for line in cost.lines:
        amount = f"{line.monthly:9.2f}" if line.monthly is not None else _("  unknown")
        echo(f"  {amount}  {line.what}")
    echo(f"  {cost.monthly:9.2f}  " + _("total") + (
        "" if cost.complete else " " + _("(incomplete: {region}/{size} is not in the table)")
        .format(region=cost.region, size=plan.size)))
    echo(_("  Not included: data transfer out, snapshots, taxes. Source: docs/cloud.md."))


def _print_inventory(found: CloudInventory) -> None:
    if not found:
        typer.echo(_("Nothing tagged for site {site} in {region}.").format(
            site=found.site, region=found.region))
        return
    typer.echo(_("Resources of site {site} in {region}:").format(site=found.site,
                                                                region=found.region))
    for resource in found.all():
        extra = resource.detail.get("public_address") or ""
        if resource.kind == "volume":
            extra = _("{size} GB").format(size=resource.detail.get("size_gb"))
        typer.echo(f"  {resource.kind:<15} {resource.id:<24} {resource.name:<22} "
                   f"{resource.state or ''} {extra}".rstrip())


def _print_report(report: DestroyReport) -> None:
    for resource in report.deleted:
        typer.echo(_("  deleted  {kind} {id} {name}").format(kind=resource.kind, id=resource.id,
                                                              name=resource.name))
    for resource, why in report.refused:
        typer.echo(_("  left     {kind} {id} {name}: {why}").format(
            kind=resource.kind, id=resource.id, name=resource.name, why=why))
    for resource, why in report.failed:
        typer.echo(_("  FAILED   {kind} {id} {name}: {why}").format(
            kind=resource.kind, id=resource.id, name=resource.name, why=why))
    if report.ok:
        typer.echo(_("Site {site}: everything dspace-deploy had created in {region} is "
                     "deleted.").format(site=report.site, region=report.region))
