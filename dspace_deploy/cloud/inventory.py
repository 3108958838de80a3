"""Put a site's cloud VMs into its inventory (and take them out again).

What `cloud up -i SITE` writes:
  hosts.yml                     `NAME: {}` lines under the `dspace` group's hosts, for VMs
                                not listed yet (a host already listed keeps its entry)
  host_vars/NAME/cloud.yml      the VM's connection: ansible_host (public address),
                                ansible_user admin (Debian's cloud user) with sudo, the SSH
                                key and the site's own known_hosts file; rewritten each run
  .cloud-aws.json               region, key, hosts and which hosts.yml lines were added; a
                                hidden file, which neither Ansible nor dspace-deploy's loader
                                reads as inventory
Nothing written holds a credential: AWS credentials stay in boto3's chain.
`cloud down` removes the cloud.yml files, the added hosts.yml lines and the state file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dspace_deploy.cloud.model import CloudHost, CloudPlan
from dspace_deploy.errors import InputError
from dspace_deploy.i18n import _
from dspace_deploy.inventory.loader import (
    DiskTree,
    YamlDict,
    find_hosts_file,
    load_inventory,
    parse_yaml,
)
from dspace_deploy.site import DSPACE_GROUP

STATE_FILE = ".cloud-aws.json"
HOST_VARS_FILE = "cloud.yml"
STATE_FORMAT = 1


@dataclass
class CloudState:
    site: str
    region: str
    key_path: str
    known_hosts: str
    hosts: list[dict[str, Any]] = field(default_factory=list)
    added_to_hosts_file: list[str] = field(default_factory=list)


def read_state(inventory: Path) -> CloudState | None:
    path = inventory / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        return None
    return CloudState(site=str(data.get("site", "")), region=str(data.get("region", "")),
                      key_path=str(data.get("key_path", "")),
                      known_hosts=str(data.get("known_hosts", "")),
                      hosts=list(data.get("hosts", [])),
                      added_to_hosts_file=[str(n) for n in data.get("added_to_hosts_file", [])])


def _write_state(inventory: Path, state: CloudState) -> None:
    document = {"format": STATE_FORMAT, "provider": "aws", "site": state.site,
                "region": state.region, "key_path": state.key_path,
                "known_hosts": state.known_hosts, "hosts": state.hosts,
                "added_to_hosts_file": state.added_to_hosts_file,
                "updated": datetime.now(UTC).isoformat(timespec="seconds")}
    (inventory / STATE_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def host_vars_text(plan: CloudPlan, host: CloudHost) -> str:
    import yaml

    settings = {
        "ansible_host": host.public_address,
        "ansible_port": 22,
        "ansible_user": host.user,
        "ansible_become": True,
        "ansible_ssh_private_key_file": str(plan.key_path),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={plan.known_hosts} "
                                   "-o StrictHostKeyChecking=accept-new",
    }
    body = yaml.safe_dump(settings, default_flow_style=False, sort_keys=False, width=200)
    return ("---\n"
            f"# Written by `dspace-deploy cloud up`: AWS {plan.region}, instance "
            f"{host.instance_id}.\n"
            "# Rewritten by each `cloud up`, removed by `cloud down`; edit the site's other "
            "files instead.\n"
            f"{body}")


def vm_names(site: str, listed: list[str], count: int) -> list[str]:
    """The inventory names of `count` VMs: the dspace group's hosts in hosts.yml order (so
    that `init` then `cloud up` gives the VM the host `init` wrote), then SITE-1, SITE-2, ...
    for the rest."""
    names = list(listed[:count])
    index = 1
    while len(names) < count:
        candidate = f"{site}-{index}"
        if candidate not in listed and candidate not in names:
            names.append(candidate)
        index += 1
    return names


def check(inventory: Path, names: list[str]) -> None:
    """Refuse, before anything is created, an inventory that would be invalid with the VMs
    in it (e.g. two hosts sharing the site-wide instances, whose hostnames must differ), or
    that cannot take the VMs' connection files."""
    from dspace_deploy.errors import ValidationFailed
    from dspace_deploy.inventory.loader import MemoryTree
    from dspace_deploy.inventory.validate import check_tree

    for name in names:
        for suffix in (".yml", ".yaml", ".json"):
            single = inventory / "host_vars" / f"{name}{suffix}"
            if single.is_file():
                raise InputError(
                    _("{path} is a file; dspace-deploy writes the VM's connection into "
                      "host_vars/{name}/{file}.").format(path=single, name=name,
                                                         file=HOST_VARS_FILE),
                    hint=_("Make host_vars/{name}/ a directory and move the file into it "
                           "(e.g. host_vars/{name}/main.yml).").format(name=name))
    files = {path.relative_to(inventory).as_posix():
             path.read_text(encoding="utf-8", errors="replace")
             for path in sorted(inventory.rglob("*")) if path.is_file()
             and not any(part.startswith(".") for part in path.relative_to(inventory).parts)}
    rel = find_hosts_file(DiskTree(inventory)) or "hosts.yml"
    missing = [name for name in names if name not in listed_hosts(inventory)]
    if missing:
        files[rel] = _with_hosts(files[rel], missing, inventory / rel)
    for name in names:
        files[f"host_vars/{name}/{HOST_VARS_FILE}"] = (
            "ansible_host: 192.0.2.1\nansible_port: 22\nansible_user: admin\n"
            "ansible_become: true\n")
    checked = check_tree(MemoryTree(inventory, files), require_vault=False)
    if checked.problems:
        raise ValidationFailed(checked.problems)


def write(inventory: Path, plan: CloudPlan, hosts: list[CloudHost]) -> list[Path]:
    """Write the VMs into the inventory; return the files written."""
    names = [host.name for host in hosts]
    previous = read_state(inventory)
    added = ensure_listed(inventory, names)
    written = [inventory / (find_hosts_file(DiskTree(inventory)) or "hosts.yml")] if added else []
    for host in hosts:
        path = inventory / "host_vars" / host.name / HOST_VARS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(host_vars_text(plan, host), encoding="utf-8")
        written.append(path)
    kept = previous.added_to_hosts_file if previous and previous.site == plan.site else []
    _write_state(inventory, CloudState(
        site=plan.site, region=plan.region, key_path=str(plan.key_path),
        known_hosts=str(plan.known_hosts), hosts=[host.as_dict() for host in hosts],
        added_to_hosts_file=sorted({*kept, *added})))
    written.append(inventory / STATE_FILE)
    return written


def listed_hosts(inventory: Path) -> list[str]:
    """The hosts of the dspace group (child groups included), as the loader reads them."""
    return load_inventory(DiskTree(inventory)).group_hosts(DSPACE_GROUP)


def ensure_listed(inventory: Path, names: list[str]) -> list[str]:
    """Add `NAME: {}` lines for the names the dspace group lacks; return the names added.
    The rest of hosts.yml (comments included) is left as it is."""
    rel = find_hosts_file(DiskTree(inventory))
    if rel is None:
        raise InputError(_("{path} has no hosts.yml, so it is not a site inventory.").format(
            path=inventory), hint=_("Create one with `dspace-deploy init DIR`."))
    path = inventory / rel
    missing = [name for name in names if name not in listed_hosts(inventory)]
    if not missing:
        return []
    original = path.read_text(encoding="utf-8")
    path.write_text(_with_hosts(original, missing, path), encoding="utf-8")
    if any(name not in listed_hosts(inventory) for name in missing):
        path.write_text(original, encoding="utf-8")
        raise _cannot_edit(path, missing)
    return missing


def _with_hosts(text: str, names: list[str], path: Path) -> str:
    data = parse_yaml(text, str(path)).data
    children = data.get("all", {}).get("children") if isinstance(data, dict) else None
    group = children.get(DSPACE_GROUP) if isinstance(children, YamlDict) else None
    if not isinstance(children, YamlDict) or DSPACE_GROUP not in children:
        raise _cannot_edit(path, names)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    group_line = children.lines[DSPACE_GROUP]
    group_indent = _indent(lines[group_line - 1])
    hosts = group.get("hosts") if isinstance(group, YamlDict) else None
    if isinstance(group, YamlDict) and "hosts" in group:
        key_line = group.lines["hosts"]
        if isinstance(hosts, YamlDict) and hosts:
            indent = _indent(lines[hosts.lines[next(iter(hosts))] - 1])
            position = key_line
        elif re.fullmatch(r"\s*hosts:\s*(\{\s*\})?\s*(#.*)?\n?", lines[key_line - 1]):
            key_indent = _indent(lines[key_line - 1])
            lines[key_line - 1] = f"{key_indent}hosts:\n"
            indent, position = key_indent + "  ", key_line
        else:
            raise _cannot_edit(path, names)
    elif isinstance(group, YamlDict) and group:
        # `dspace:` with children/vars but no hosts: a hosts key right under it
        child_indent = _indent(lines[group.lines[next(iter(group))] - 1])
        lines.insert(group_line, f"{child_indent}hosts:\n")
        indent, position = child_indent + "  ", group_line + 1
    elif re.fullmatch(rf"\s*{DSPACE_GROUP}:\s*(\{{\s*\}})?\s*(#.*)?\n?", lines[group_line - 1]):
        lines[group_line - 1] = f"{group_indent}{DSPACE_GROUP}:\n"
        lines.insert(group_line, f"{group_indent}  hosts:\n")
        indent, position = group_indent + "    ", group_line + 1
    else:
        raise _cannot_edit(path, names)
    lines[position:position] = [f"{indent}{name}: {{}}\n" for name in names]
    return "".join(lines)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" "))]


def _cannot_edit(path: Path, names: list[str]) -> InputError:
    example = "\n".join(f"        {name}: {{}}" for name in names)
    return InputError(
        _("Cannot add the cloud hosts to {path}: its group {group} is not written in a shape "
          "dspace-deploy edits (all: children: {group}: hosts:).").format(path=path,
                                                                       group=DSPACE_GROUP),
        hint=_("Add them under the group's hosts yourself and run `cloud up` again:\n"
               "{example}").format(example=example))


def remove(inventory: Path, site: str) -> list[Path]:
    """Take the site's VMs out of the inventory: their cloud.yml files, the hosts.yml lines
    `cloud up` added, the state file. Return the files changed or removed."""
    state = read_state(inventory)
    changed: list[Path] = []
    names = [str(host.get("name")) for host in state.hosts] if state else []
    for name in names:
        path = inventory / "host_vars" / name / HOST_VARS_FILE
        if path.is_file():
            path.unlink()
            changed.append(path)
            if not any(path.parent.iterdir()):
                path.parent.rmdir()
    rel = find_hosts_file(DiskTree(inventory))
    if state and state.site == site and state.added_to_hosts_file and rel:
        hosts_file = inventory / rel
        text = hosts_file.read_text(encoding="utf-8")
        added = set(state.added_to_hosts_file)
        kept = [line for line in text.splitlines(keepends=True)
                if not (m := re.fullmatch(r"\s*(\S+): \{\}\s*\n?", line))
                or m.group(1) not in added]
        if len(kept) != len(text.splitlines()):
            hosts_file.write_text("".join(kept), encoding="utf-8")
            changed.append(hosts_file)
    if (inventory / STATE_FILE).is_file():
        (inventory / STATE_FILE).unlink()
        changed.append(inventory / STATE_FILE)
    return changed
