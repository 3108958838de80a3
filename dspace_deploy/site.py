"""The typed core's view of a site: what `init` asks for and what validation returns.

A *site* is an Ansible inventory directory (hosts.yml + group_vars/ + host_vars/) with an
ansible-vault file of generated secrets. These dataclasses are the contract between the
CLI, the scaffolder, the validator, the lab and the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The inventory group every DSpace host belongs to; the site playbook targets it.
DSPACE_GROUP = "dspace"


@dataclass
class InstanceAnswers:
    """One DSpace instance as `init` asks for it (toolkit variable `dspace_instances`)."""

    name: str  # short id: directories, database, services and timers are named after it
    hostname: str  # public host name of the repository (UI and REST)
    line: str = "9"  # DSpace line: "8", "9" or "10"
    flavor: str = "dspace"  # "dspace" or "cris"
    tls_mode: str = "selfsigned"  # "selfsigned", "acme" or "provided"
    handle_prefix: str = "123456789"
    admin_email: str = "admin@example.org"


@dataclass
class SiteAnswers:
    site_name: str
    instances: list[InstanceAnswers]
    timezone: str = "Etc/UTC"


@dataclass
class HostEntry:
    """A host to write into hosts.yml, with its connection variables."""

    name: str
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Site:
    """A validated site. Holds no secret except in `secrets` (for redaction only)."""

    path: Path  # the inventory directory
    name: str  # site_name
    hosts: list[str]  # every host in the dspace group
    hostvars: dict[str, dict[str, Any]]  # effective toolkit variables per host, no secrets
    vault_file: Path
    vault_password_file: Path
    secrets: list[str] = field(default_factory=list, repr=False)
