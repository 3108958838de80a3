"""`init`, `validate`, `secrets sync`: create and check site inventories (no host contacted).

Module-level imports stay with typer and the standard library so that `--help` is fast;
the inventory code is imported inside the verbs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dspace_deploy.cli import options

if TYPE_CHECKING:
    from dspace_deploy.errors import Problem

secrets_app = typer.Typer(
    name="secrets",
    help="Manage the secrets in the site's encrypted vault.",
    no_args_is_help=True,
    add_completion=False,
)

# Which flag of `init` sets which key (so that problems name the flag the user typed).
_FLAGS = {
    "site_name": "--site-name",
    "dspace_instances[0].name": "--instance",
    "dspace_instances[0].hostname": "--hostname",
    "dspace_instances[0].line": "--line",
    "dspace_instances[0].flavor": "--flavor",
    "dspace_instances[0].tls_mode": "--tls-mode",
    "dspace_instances[0].handle_prefix": "--handle-prefix",
    "dspace_instances[0].admin_email": "--admin-email",
    "common_timezone": "--timezone",
    "ansible_host": "--address",
    "ansible_user": "--ssh-user",
}


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("validate")(validate)
    app.add_typer(secrets_app)
    secrets_app.command("sync")(secrets_sync)


def _opt(*names: str, help: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=help, show_default=False, **kwargs)


def init(
    directory: Annotated[Path, typer.Argument(help="Directory of the new site inventory.",
                                              show_default=False)],
    site_name: Annotated[str | None, _opt("--site-name", help="Short name of the site, e.g. "
                                          "unal-repositorio (lowercase, digits, hyphens).")] = None,
    hostname: Annotated[str | None, _opt("--hostname", help="Public DNS name of the "
                                         "repository, e.g. repositorio.example.edu.")] = None,
    admin_email: Annotated[str | None, _opt("--admin-email",
                                            help="E-mail of the first administrator.")] = None,
    host: Annotated[str | None, _opt("--host", help="Inventory name of the host (default: "
                                     "the first label of --hostname).")] = None,
    address: Annotated[str | None, _opt("--address", help="Address Ansible connects to "
                                        "(ansible_host; default: --hostname).")] = None,
    ssh_user: Annotated[str | None, _opt("--ssh-user", help="SSH user on the host "
                                         "(ansible_user; default: your user name).")] = None,
    instance: Annotated[str, typer.Option("--instance", help="Short id of the DSpace "
                                          "instance (directories, database, services).")] = "repo",
    line: Annotated[str | None, _opt("--line", help="DSpace line: 8, 9 or 10 "
                                     "[default: 9].")] = None,
    flavor: Annotated[str, typer.Option("--flavor", help="dspace or cris.")] = "dspace",
    tls_mode: Annotated[str | None, _opt("--tls-mode", help="selfsigned, acme (Let's Encrypt) "
                                         "or provided [default: selfsigned].")] = None,
    handle_prefix: Annotated[str, typer.Option("--handle-prefix",
                                               help="Handle prefix.")] = "123456789",
    timezone: Annotated[str, typer.Option("--timezone", help="Time zone of the hosts, "
                                          "e.g. America/Bogota.")] = "Etc/UTC",
    vault_password_file: options.VaultPasswordFile = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty directory "
                                        "(rewrites the inventory files; keeps the vault's "
                                        "secrets).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "--non-interactive", "-y",
                                      help="Never prompt; missing required values are an "
                                      "error.")] = False,
) -> None:
    """Create a site inventory: hosts.yml, group_vars/all/site.yml and an encrypted vault
    of generated secrets. Nothing is contacted."""
    from dspace_deploy.errors import InputError, ValidationFailed
    from dspace_deploy.i18n import _
    from dspace_deploy.inventory import scaffold
    from dspace_deploy.site import HostEntry, InstanceAnswers, SiteAnswers

    scaffold.target_ready(directory, force)
    interactive = not yes and sys.stdin.isatty()
    if interactive:
        default_name = _default_site_name(directory)
        if site_name is None:
            site_name = typer.prompt(_("Site name (lowercase, digits, hyphens)"),
                                     default=default_name or None)
        if hostname is None:
            hostname = typer.prompt(_("Public host name of the repository "
                                      "(e.g. repositorio.example.edu)"))
        if admin_email is None:
            admin_email = typer.prompt(_("E-mail of the first administrator"))
        if line is None:
            line = typer.prompt(_("DSpace line (8, 9 or 10)"), default="9")
        if tls_mode is None:
            tls_mode = typer.prompt(_("TLS certificate: selfsigned, acme (Let's Encrypt) or "
                                      "provided"), default="selfsigned")
    missing = [flag for flag, value in (("--site-name", site_name), ("--hostname", hostname),
                                        ("--admin-email", admin_email)) if not value]
    if missing:
        raise InputError(
            _("Missing {flags}.").format(flags=", ".join(missing)),
            hint=_("Give them as flags (run in a terminal without --yes to be asked), e.g. "
                   "{example}.").format(example="dspace-deploy init DIR --site-name demo "
                                        "--hostname repositorio.example.edu "
                                        "--admin-email admin@example.edu"))
    assert site_name and hostname and admin_email
    if tls_mode == "provided":
        raise InputError(
            _("init cannot take certificate files (--tls-mode provided)."),
            hint=_("Run init with --tls-mode selfsigned, then set tls_mode: provided, "
                   "tls_certificate_file and tls_key_file in group_vars/all/site.yml "
                   "(see docs/variables.md)."))
    hostname = hostname.strip()
    bare = hostname.split("://")[-1].split("/")[0].split(":")[0]
    host_name = host or bare.split(".")[0] or bare
    host_vars: dict[str, Any] = {"ansible_host": address or bare}
    if ssh_user:
        host_vars["ansible_user"] = ssh_user
    answers = SiteAnswers(
        site_name=site_name.strip(),
        instances=[InstanceAnswers(
            name=instance, hostname=hostname, line=line or "9", flavor=flavor,
            tls_mode=tls_mode or "selfsigned", handle_prefix=handle_prefix,
            admin_email=admin_email.strip())],
        timezone=timezone,
    )
    try:
        password_file = scaffold.create_site(directory, answers, [HostEntry(host_name, host_vars)],
                                             vault_password_file=vault_password_file,
                                             overwrite=force)
    except ValidationFailed as failed:
        raise ValidationFailed([_flag_problem(p) for p in failed.problems]) from None
    _print_created(directory, answers.site_name, host_name, password_file)


def _default_site_name(directory: Path) -> str:
    import re

    name = directory.resolve().name.lower().replace("_", "-")
    return name if re.fullmatch(r"[a-z][a-z0-9-]{1,30}", name) else ""


def _flag_problem(problem: Problem) -> Problem:
    from dspace_deploy.errors import Problem

    flag = _FLAGS.get(problem.key)
    if flag is None and problem.key.startswith("dspace.hosts."):
        flag = "--host"
    if flag is None:
        return problem
    return Problem(flag, problem.key, problem.what, problem.fix)


def _print_created(directory: Path, site_name: str, host: str, password_file: Path) -> None:
    from dspace_deploy.i18n import _
    from dspace_deploy.inventory.loader import display_path

    shown = display_path(directory.resolve()) if not directory.is_absolute() else str(directory)
    lines = [
        _("Created site {site} in {path}/").format(site=site_name, path=shown),
        "  hosts.yml                  " + _("the hosts (group dspace): {host}").format(host=host),
        "  group_vars/all/site.yml    " + _("settings (commented; see docs/variables.md)"),
        "  group_vars/all/vault.yml   " + _("generated secrets, encrypted with ansible-vault"),
        "  " + _("vault password").ljust(27)
        + _("{path} (mode 0600; keep a copy in a safe place)").format(path=password_file),
        "",
        _("Next:"),
        f"  dspace-deploy validate -i {shown}   # " + _("check the inventory"),
        f"  dspace-deploy check -i {shown}      # "
        + _("check that the host is reachable and fits"),
        f"  dspace-deploy up -i {shown}         # " + _("deploy"),
    ]
    typer.echo("\n".join(lines))


def validate(
    inventory: options.Inventory = None,
    vault_password_file: options.VaultPasswordFile = None,
    no_vault: Annotated[bool, typer.Option("--no-vault", help="Do not open the vault (e.g. in "
                                           "CI without the password); secrets are not "
                                           "checked.")] = False,
    json_output: options.Json = False,
) -> None:
    """Check the site inventory (every problem at once, with a fix each). Contacts no host."""
    from dspace_deploy.i18n import _, ngettext
    from dspace_deploy.inventory.validate import load_site, site_summary

    path = options.resolve_inventory(inventory)
    site = load_site(path, vault_password_file, require_vault=not no_vault)
    summary = site_summary(site)
    if json_output:
        _emit({"ok": True, "inventory": str(path), **summary})
        return
    hosts = summary["hosts"]
    count = sum(len(h["instances"]) for h in hosts)
    counted = _("Site {site}: {hosts}, {instances}; no problem found").format(
        site=site.name,
        hosts=ngettext("{count} host", "{count} hosts", len(hosts)).format(count=len(hosts)),
        instances=ngettext("{count} instance", "{count} instances", count).format(count=count))
    typer.echo(counted + (" " + _("(vault not checked).") if no_vault else "."))
    for h in hosts:
        described = ", ".join(f"{i['name']} ({i['hostname']}, DSpace {i['line']}"
                              f"{' CRIS' if i['flavor'] == 'cris' else ''})"
                              for i in h["instances"])
        typer.echo(f"  {h['name']}: {described}")


def secrets_sync(
    inventory: options.Inventory = None,
    vault_password_file: options.VaultPasswordFile = None,
) -> None:
    """Generate the secrets of instances that have none yet (existing secrets are never
    changed) and encrypt the vault."""
    from dspace_deploy.i18n import _, ngettext
    from dspace_deploy.inventory.vault import ensure_secrets

    path = options.resolve_inventory(inventory)
    added = ensure_secrets(path, vault_password_file)
    if added:
        typer.echo(ngettext("Added {count} secret to the vault:",
                            "Added {count} secrets to the vault:", len(added)).format(
                                count=len(added)))
        for name in added:
            typer.echo(f"  {name}")
    else:
        typer.echo(_("Every instance already has its secrets; nothing changed."))


def _emit(document: dict[str, Any]) -> None:
    from dspace_deploy.cli.output import emit

    emit(document)
