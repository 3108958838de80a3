"""The site inventory of a lab, written by the same scaffolder as `dspace-deploy init`.

Layout (`<labdir>/inventory`):
  hosts.yml                 every host in group `dspace`, with its connection variables and
                            its own `dspace_instances` (one instance `repo`, named
                            `<host>.lab.test`, on the DSpace line its Debian release suits)
  group_vars/all/site.yml   site_name `lab-<lab>` (no site-wide instances: each host has its own)
  group_vars/all/lab.yml    common_extra_ca_certificates: the controller's extra CA
                            certificates, so that the hosts trust what the controller trusts
  group_vars/all/vault.yml  generated secrets; password where every site's is
                            (~/.config/dspace-deploy/vault-passwords/lab-<name>.txt)
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import yaml

from dspace_deploy.lab import images
from dspace_deploy.site import HostEntry, InstanceAnswers, SiteAnswers

if TYPE_CHECKING:
    from dspace_deploy.lab.labs import Lab, LabHost

LAB_VARS = "group_vars/all/lab.yml"


def site_name(lab_name: str) -> str:
    return f"lab-{lab_name}"


def instance(host: LabHost) -> InstanceAnswers:
    """The DSpace instance a lab host runs: the line its Debian release suits."""
    from dspace_deploy.lab.labs import HOST_DOMAIN, INSTANCE_NAME, LINE_FOR_OS

    return InstanceAnswers(
        name=INSTANCE_NAME, hostname=f"{host.name}.{HOST_DOMAIN}", line=LINE_FOR_OS[host.os]
    )


def host_entries(lab: Lab) -> list[HostEntry]:
    from dspace_deploy.lab.labs import host_vars

    return [
        HostEntry(
            name=host.name,
            vars={**host_vars(lab, host), "dspace_instances": [asdict(instance(host))]},
        )
        for host in lab.hosts
    ]


def group_vars(lab: Lab) -> dict[str, Any]:
    return {
        "common_extra_ca_certificates": [str(path) for path in images.controller_ca_certificates()],
    }


def lab_vars_text(lab: Lab) -> str:
    body = yaml.safe_dump(group_vars(lab), default_flow_style=False, sort_keys=False)
    return (
        "---\n"
        f"# Written by `dspace-deploy lab up` for lab {lab.name}.\n"
        "# Lab hosts trust the same extra CA certificates as this controller (needed behind\n"
        "# a TLS-inspecting proxy, for instance).\n"
        f"{body}"
    )


def write(lab: Lab) -> None:
    """(Re)write the lab's inventory; the secrets of an existing vault are kept."""
    from dspace_deploy.inventory.scaffold import create_site

    # Written first, so that create_site's final validation covers it too.
    extra = lab.inventory / LAB_VARS
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text(lab_vars_text(lab))
    create_site(
        lab.inventory,
        SiteAnswers(site_name=site_name(lab.name), instances=[]),
        host_entries(lab),
        vault_password_file=lab.vault_password_file,
        overwrite=True,
    )
    lab.vault_password_file.chmod(0o600)


def update_addresses(lab: Lab) -> None:
    """Put the hosts' current addresses into hosts.yml (podman may give a restarted
    container a new one), changing nothing else there; rewrite it if that fails."""
    hosts_file = lab.inventory / "hosts.yml"
    wanted = {host.name: host.address for host in lab.hosts}
    try:
        text = hosts_file.read_text()
    except OSError:
        write(lab)
        return
    hosts_file.write_text(replace_addresses(text, wanted))
    if _addresses(hosts_file.read_text()) != wanted:
        write(lab)


def replace_addresses(text: str, wanted: dict[str, str | None]) -> str:
    """hosts.yml text with each host's `ansible_host` set to `wanted[host]`."""
    lines = text.splitlines(keepends=True)
    current: str | None = None
    host_indent = -1
    for index, line in enumerate(lines):
        key = re.match(r"^(\s*)([^\s#][^:]*):\s*(\{\})?\s*$", line)
        if key:
            name = yaml.safe_load(key.group(2))
            if isinstance(name, str) and name in wanted:
                current, host_indent = name, len(key.group(1))
                continue
            if len(key.group(1)) <= host_indent:
                current = None
        setting = re.match(r"^(\s*)ansible_host:\s*\S.*?(\r?\n)?$", line)
        if setting and current is not None and len(setting.group(1)) > host_indent:
            value = wanted[current]
            lines[index] = (
                f"{setting.group(1)}ansible_host: {_yaml_scalar(value)}{setting.group(2) or ''}"
            )
    return "".join(lines)


def _yaml_scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True).strip()
    return text[: -len("...")].rstrip() if text.endswith("...") else text


def _addresses(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text) or {}
    hosts = data.get("all", {}).get("children", {}).get("dspace", {}).get("hosts", {}) or {}
    return {name: (item or {}).get("ansible_host") for name, item in hosts.items()}
