"""Cross-field rules, checked on each DSpace host's effective variables.

Per-file checks (types, choices, patterns, unknown keys) happen in validate.py where each
value is written; these rules need several values at once: required variables, duplicate
names, a DSpace line against the Java, Solr and Node versions asked for, TLS settings, and
the secrets each instance needs. A problem that several hosts share is reported once, with
the hosts named.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dspace_deploy.errors import Problem
from dspace_deploy.i18n import _
from dspace_deploy.lines import CRIS, LINES, instance_ports, java_min, release_name

if TYPE_CHECKING:
    from dspace_deploy.inventory.loader import InventoryData, VarEntry
    from dspace_deploy.inventory.specs import Catalog

LETS_ENCRYPT = "letsencrypt.org"
# Names no public CA certifies: special-use and private top-level domains.
PRIVATE_SUFFIXES = (".local", ".localhost", ".test", ".lab", ".internal", ".example",
                    ".invalid", ".lan", ".home", ".corp", ".intranet", ".localdomain")


@dataclass(frozen=True)
class HostFinding:
    location: str  # file[:line]
    key: str
    what: str
    fix: str
    host: str


def check_site(inv: InventoryData, effective: dict[str, dict[str, VarEntry]], catalog: Catalog,
               *, vault_checked: bool, secrets_command: str) -> list[Problem]:
    """Every cross-field problem of the site's DSpace hosts."""
    from dspace_deploy.inventory.loader import display_path

    root = display_path(inv.root)
    findings: list[HostFinding] = []
    instances_by_host: dict[str, list[Instance]] = {}
    for host, entries in effective.items():
        host_findings, instances = _check_host(host, entries, catalog, root, inv.root)
        findings.extend(host_findings)
        instances_by_host[host] = instances
    findings.extend(_site_name_consistency(effective))
    findings.extend(_duplicate_hostnames(instances_by_host))
    tasks = _known_tasks()
    for host, entries in effective.items():
        findings.extend(_backup_targets(host, entries.get("dspace_backup_targets")))
        findings.extend(_scheduled_targets(host, entries, catalog))
        findings.extend(_task_names(host, entries, catalog, tasks))
        findings.extend(_lareferencia_stats(host, entries))
    if vault_checked:
        findings.extend(_secrets(effective, instances_by_host, inv, secrets_command))
        findings.extend(_backup_secrets(effective, instances_by_host, inv, secrets_command))
        findings.extend(_lareferencia_tokens(effective, instances_by_host, inv))
    return _merge_hosts(findings)


# What each kind of backup target needs (the dspace_backup role's spec declares the keys).
BACKUP_TARGET_NEEDS = {
    "local": ("path",),
    "sftp": ("host", "path"),
    "s3": ("bucket",),
}


def _backup_targets(host: str, entry: VarEntry | None) -> list[HostFinding]:
    """Backup targets: unique names, and the keys their type needs, well-formed."""
    if entry is None or not isinstance(entry.value, list):
        return []
    found = []
    seen: set[str] = set()
    for index, target in enumerate(entry.value):
        if not isinstance(target, dict):
            continue  # the spec check reports it
        name = str(target.get("name", ""))
        key = f"dspace_backup_targets[{index}]"
        if name in seen:
            found.append(HostFinding(entry.location, f"{key}.name",
                                     _("{name} names two targets").format(name=repr(name)),
                                     _("give each target its own name (it keys the target's "
                                       "secrets in the vault)"), host))
        seen.add(name)
        kind = str(target.get("type", "local"))
        for needed in BACKUP_TARGET_NEEDS.get(kind, ()):
            if not target.get(needed):
                found.append(HostFinding(entry.location, f"{key}.{needed}",
                                         _("is not set, and a {type} target needs it").format(
                                             type=kind),
                                         _("see docs/backup.md, \"Targets\""), host))
        path = str(target.get("path") or "")
        if kind in ("local", "sftp") and path and not path.startswith("/"):
            found.append(HostFinding(entry.location, f"{key}.path",
                                     _("is {path}, not an absolute path").format(
                                         path=repr(path)),
                                     _("give the directory from / (e.g. /var/backups/dspace)"),
                                     host))
        endpoint = str(target.get("endpoint") or "")
        if endpoint and not endpoint.startswith(("http://", "https://")):
            found.append(HostFinding(entry.location, f"{key}.endpoint",
                                     _("is {endpoint}, not an http(s):// URL").format(
                                         endpoint=repr(endpoint)),
                                     _("give the S3 endpoint as a URL, e.g. {example}").format(
                                         example="https://s3.eu-central-1.wasabisys.com"),
                                     host))
    return found


def _entry_location(entry: VarEntry, line: int) -> str:
    from dspace_deploy.inventory.loader import display_path

    base = display_path(entry.path)
    return f"{base}:{line or entry.line}" if line or entry.line else base


def _scheduled_targets(host: str, entries: dict[str, VarEntry],
                       catalog: Catalog) -> list[HostFinding]:
    """Every name of dspace_backup_scheduled_targets is a target of the host."""
    from dspace_deploy.inventory.loader import YamlList
    from dspace_deploy.inventory.validate import is_template

    entry = entries.get("dspace_backup_scheduled_targets")
    if entry is None or not isinstance(entry.value, list):
        return []
    targets_entry = entries.get("dspace_backup_targets")
    spec = catalog.get("dspace_backup_targets")
    targets = (targets_entry.value if targets_entry is not None
               else spec.default if spec is not None else None)
    if not isinstance(targets, list):
        return []  # broken targets are reported where they are written
    names = [str(t.get("name")) for t in targets if isinstance(t, dict)]
    lines = entry.value.lines if isinstance(entry.value, YamlList) else []
    found = []
    for index, name in enumerate(entry.value):
        if not isinstance(name, str) or is_template(name) or name in names:
            continue
        line = lines[index] if index < len(lines) else 0
        found.append(HostFinding(
            _entry_location(entry, line), f"dspace_backup_scheduled_targets[{index}]",
            _("{name} is not a backup target of the host").format(name=repr(name)),
            _("use a name of dspace_backup_targets ({names}), or remove it").format(
                names=", ".join(names) or _("none")), host))
    return found


# Variables keyed by the name of a scheduled task of the dspace_tasks role.
TASK_KEYED = ("dspace_tasks_schedules", "dspace_tasks_schedule_overrides",
              "dspace_tasks_java_opts_overrides")


def _known_tasks() -> list[str] | None:
    """The tasks of the dspace_tasks role (its constant dspace_tasks_catalog), if it is
    there."""
    from dspace_deploy.inventory.specs import role_constant

    tasks = role_constant("dspace_tasks", "dspace_tasks_catalog")
    return sorted(str(name) for name in tasks) if isinstance(tasks, dict) else None


def _task_names(host: str, entries: dict[str, VarEntry], catalog: Catalog,
                tasks: list[str] | None) -> list[HostFinding]:
    """The keys of the task variables are tasks the dspace_tasks role knows: its precheck
    refuses any other on the host."""
    from dspace_deploy.inventory.loader import YamlDict
    from dspace_deploy.inventory.validate import suggest

    if tasks is None:
        return []
    found = []
    for variable in TASK_KEYED:
        entry = entries.get(variable)
        if entry is None or not isinstance(entry.value, dict) or variable not in catalog.variables:
            continue
        lines = entry.value.lines if isinstance(entry.value, YamlDict) else {}
        for key in entry.value:
            if key in tasks:
                continue
            found.append(HostFinding(
                _entry_location(entry, lines.get(key, 0)), f"{variable}.{key}",
                _("{name} is not a task of the dspace_tasks role").format(name=repr(key)),
                suggest(str(key), tasks, listing=_("remove it; known tasks: {names}")),
                host))
    return found


# What LA Referencia's national node gives each repository (roles/lareferencia_stats).
LAREFERENCIA_FIELDS = {
    "site_id": re.compile(r"[1-9][0-9]*"),
    "repository_id": re.compile(r"\S+"),
    "country": re.compile(r"[A-Z]{2}"),
}


def _lareferencia_fix(field: str) -> str:
    """What to set a setting to (translated when the inventory is checked, not at import)."""
    return {"site_id": _("set it to the Matomo idSite number the national node gave"),
            "repository_id": _("set it to the repository's OpenDOAR id"),
            "country": _("set it to an ISO 3166 code of two capital letters, such as PE"),
            }[field]


def _lareferencia_on(entries: dict[str, VarEntry]) -> dict[str, Any] | None:
    """lareferencia_stats_instances of a host when the site switch is on, else None."""
    switch = entries.get("lareferencia_stats_enabled")
    if switch is None or switch.value is not True:
        return None
    table = entries.get("lareferencia_stats_instances")
    return table.value if table is not None and isinstance(table.value, dict) else {}


def _lareferencia_stats(host: str, entries: dict[str, VarEntry]) -> list[HostFinding]:
    """Each instance that sends usage statistics has the three settings, well formed."""
    table = _lareferencia_on(entries)
    if not table:
        return []
    entry = entries["lareferencia_stats_instances"]
    found = []
    for name, settings in table.items():
        values = settings if isinstance(settings, dict) else {}
        for field, pattern in LAREFERENCIA_FIELDS.items():
            if not pattern.fullmatch(str(values.get(field, ""))):
                found.append(HostFinding(
                    _entry_location(entry, 0), f"lareferencia_stats_instances.{name}.{field}",
                    _("is {value}").format(value=repr(values.get(field))) if field in values
                    else _("is required but missing"),
                    _lareferencia_fix(field), host))
    return found


def _lareferencia_tokens(effective: dict[str, dict[str, VarEntry]],
                         instances_by_host: dict[str, list[Instance]],
                         inv: InventoryData) -> list[HostFinding]:
    """Each instance of a host that sends usage statistics has its Matomo token in the vault."""
    from dspace_deploy.inventory.loader import VAULT_REL, display_path

    vault_location = display_path(inv.root / VAULT_REL)
    found = []
    for host, instances in instances_by_host.items():
        table = _lareferencia_on(effective[host]) or {}
        entry = effective[host].get("vault_lareferencia_stats_secrets")
        tokens = entry.value if entry is not None and isinstance(entry.value, dict) else {}
        for inst in instances:
            name = inst.values.get("name")
            secret = tokens.get(name)
            if name in table and not (isinstance(secret, dict) and secret.get("token_auth")):
                found.append(HostFinding(
                    vault_location, f"vault_lareferencia_stats_secrets.{name}.token_auth",
                    _("instance {name} sends usage statistics to LA Referencia but has no "
                      "token").format(name=name),
                    _("add the token the national node gave the repository with "
                      "`ansible-vault edit` (nothing generates it)"), host))
    return found


def _backup_secrets(effective: dict[str, dict[str, VarEntry]],
                    instances_by_host: dict[str, list[Instance]], inv: InventoryData,
                    command: str) -> list[HostFinding]:
    """Every backup target of a host with instances has its password in the vault."""
    from dspace_deploy.inventory.loader import VAULT_REL, display_path
    from dspace_deploy.inventory.vault import backup_target_names

    vault_location = display_path(inv.root / VAULT_REL)
    found = []
    for host, instances in instances_by_host.items():
        if not instances:
            continue
        entry = effective[host].get("vault_backup_secrets")
        table = entry.value if entry is not None and isinstance(entry.value, dict) else {}
        targets = effective[host].get("dspace_backup_targets")
        names = backup_target_names(
            {host: {"dspace_backup_targets": targets.value} if targets is not None else {}})
        for name in names:
            secret = table.get(name)
            if not isinstance(secret, dict) or not secret.get("password"):
                found.append(HostFinding(
                    vault_location, f"vault_backup_secrets.{name}.password",
                    _("backup target {name} has no repository password").format(name=name),
                    _("run `{command}` to generate it (existing secrets are kept)").format(
                        command=command), host))
    return found


@dataclass
class Instance:
    """One dspace_instances item: values with defaults applied, plus where it is written."""

    index: int
    values: dict[str, Any]
    raw: Any
    entry: VarEntry

    def location(self, key: str | None = None) -> str:
        from dspace_deploy.inventory.loader import YamlDict, display_path

        line = self.entry.line
        if isinstance(self.raw, YamlDict):
            line = self.raw.lines.get(key, self.raw.line) if key else self.raw.line or line
        base = display_path(self.entry.path)
        return f"{base}:{line}" if line else base

    def key(self, name: str) -> str:
        return f"dspace_instances[{self.index}].{name}"

    @property
    def name(self) -> str:
        return str(self.values.get("name", f"#{self.index}"))


def _check_host(host: str, entries: dict[str, VarEntry], catalog: Catalog, root: str,
                root_path: Path) -> tuple[list[HostFinding], list[Instance]]:
    from dspace_deploy.inventory.specs import playbook_parameters
    from dspace_deploy.inventory.validate import apply_defaults, check_value

    found: list[HostFinding] = []
    provided = playbook_parameters()
    for opt in catalog.required():
        if opt.name not in entries and opt.name not in provided:
            found.append(HostFinding(
                root, opt.name, _("is not set"),
                _("set it in group_vars/all/site.yml (every host) or in host_vars/HOST.yml (one "
                  "host); see docs/variables.md"), host))
    instances: list[Instance] = []
    entry = entries.get("dspace_instances")
    spec = catalog.get("dspace_instances")
    if entry is None or spec is None:
        return found, instances
    value, problems = check_value(spec, entry.value, "dspace_instances", entry.line)
    if not isinstance(value, list):
        return found, instances
    # An empty list for one host (hosts.yml or host_vars/) deliberately gives that host the
    # base system only; for a whole group it is a site that describes no repository.
    if not value and not problems and "group_vars" in entry.path.parts:
        found.append(HostFinding(entry.location, "dspace_instances", _("is an empty list"),
                                 _("describe at least one instance (name, hostname, "
                                   "admin_email)"), host))
    raw_items = entry.value if isinstance(entry.value, list) else []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            raw = raw_items[i] if i < len(raw_items) else item
            instances.append(Instance(i, apply_defaults(spec, [item])[0], raw, entry))
    # Rules on one instance need its own values to be valid; broken values were reported.
    broken = {p.key.split(".")[0] for p in problems}
    valid = [inst for inst in instances if inst.key("").rstrip(".") not in broken]
    found.extend(_duplicate_names(host, instances))
    found.extend(_shared_host(host, valid))
    found.extend(_scheduled_twice(host, entries, valid))
    for inst in valid:
        for rule in INSTANCE_RULES:
            for key, what, fix in rule(inst.values, root_path):
                found.append(HostFinding(inst.location(key), inst.key(key), what, fix, host))
    return found, instances


# --------------------------------------------------------------------------------------
# Rules on one instance: each yields (option name, what, fix)

Issue = tuple[str, str, str]


def _line_rules(v: dict[str, Any], _root: Path) -> list[Issue]:
    facts = LINES.get(str(v.get("line")))
    if facts is None:
        return []
    issues: list[Issue] = []
    line = facts.line
    java = v.get("java_version")
    flavor = str(v.get("flavor") or "dspace")
    needed = java_min(line, flavor)
    if isinstance(java, int) and java < needed:
        issues.append(("java_version",
                       _("{release} needs Java {needed} or newer, not {java}").format(
                           release=release_name(line, flavor), needed=needed, java=java),
                       _("remove java_version or set {needed}").format(needed=needed)))
    solr = v.get("solr_version")
    if isinstance(solr, str) and solr.split(".")[0].isdigit():
        major = int(solr.split(".")[0])
        if major != facts.solr_major:
            issues.append(("solr_version",
                           _("DSpace {line} uses Solr {needed}; Solr {major} cannot load its "
                             "cores").format(line=line, needed=facts.solr_major, major=major),
                           _("remove solr_version (default {default}) or use a Solr {needed}.x "
                             "release").format(default=facts.solr_version,
                                               needed=facts.solr_major)))
    node = v.get("node_version")
    if isinstance(node, int) and node not in facts.node_majors:
        supported = ", ".join(str(n) for n in facts.node_majors)
        issues.append(("node_version",
                       _("the DSpace {line} UI does not support Node.js {node}").format(
                           line=line, node=node),
                       _("remove node_version or use one of {supported}").format(
                           supported=supported)))
    version = v.get("version")
    if isinstance(version, str) and version and not version.startswith(f"{line}."):
        issues.append(("version", _("release {version} is not of the DSpace {line} line").format(
                           version=version, line=line),
                       _("use a {line}.x release such as {newest}, or change line").format(
                           line=line, newest=facts.newest)))
    if v.get("flavor") == "cris" and line not in CRIS:
        with_cris = ", ".join(CRIS)
        issues.append(("flavor", _("there is no DSpace-CRIS release for DSpace {line}").format(
                           line=line),
                       _("use flavor dspace, or a line with DSpace-CRIS ({lines})").format(
                           lines=with_cris)))
    return issues


def _tls_rules(v: dict[str, Any], root: Path) -> list[Issue]:
    issues: list[Issue] = []
    mode = v.get("tls_mode")
    cert, key = v.get("tls_certificate_file"), v.get("tls_key_file")
    if mode == "provided":
        for name, value in (("tls_certificate_file", cert), ("tls_key_file", key)):
            if not value:
                issues.append((name, _("is required with tls_mode provided"),
                               _("set {name} to a PEM file on the controller, or choose "
                                 "tls_mode selfsigned or acme").format(name=name)))
            elif isinstance(value, str) and "{{" not in value:
                path = controller_path(value, root)
                if not path.is_file():
                    issues.append((name, _("file {path} does not exist on this machine").format(
                                       path=path),
                                   _("fix the path (relative paths start at the inventory "
                                     "directory)")))
    elif cert or key:
        name = "tls_certificate_file" if cert else "tls_key_file"
        issues.append((name, _("is set but tls_mode is {mode}, so it is not used").format(
                           mode=mode),
                       _("set tls_mode: provided, or remove the certificate settings")))
    if mode == "acme":
        hostname = str(v.get("hostname", ""))
        directory = str(v.get("acme_directory_url") or "")
        reason = not_publicly_certifiable(hostname)
        if reason and LETS_ENCRYPT in directory:
            issues.append(("tls_mode",
                           _("Let's Encrypt cannot certify {hostname}: {reason}").format(
                               hostname=hostname, reason=reason),
                           _("use tls_mode selfsigned (or provided), a public hostname, or an "
                             "internal ACME CA in acme_directory_url")))
    return issues


def controller_path(value: str, root: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def not_publicly_certifiable(hostname: str) -> str | None:
    """Why a public CA will not issue a certificate for this name (None when it may)."""
    name = hostname.strip().lower().rstrip(".")
    try:
        ipaddress.ip_address(name)
        return _("it is an IP address")
    except ValueError:
        pass
    if name == "localhost" or name.endswith(".localhost"):
        return _("it is localhost")
    if "." not in name:
        return _("it is a single-label name, not a public DNS name")
    for suffix in PRIVATE_SUFFIXES:
        if name.endswith(suffix):
            return _("{suffix} is not a public domain").format(suffix=suffix)
    return None


# port_slot's range (0..PORT_SLOT_MAX) is in the site spec (min, max).
INSTANCE_RULES: list[Callable[[dict[str, Any], Path], list[Issue]]] = [_line_rules, _tls_rules]


# --------------------------------------------------------------------------------------
# Rules across instances and hosts


def _duplicate_names(host: str, instances: list[Instance]) -> list[HostFinding]:
    found = []
    seen: dict[str, Instance] = {}
    for inst in instances:
        name = inst.values.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            found.append(HostFinding(
                inst.location("name"), inst.key("name"),
                _("instance name {name} is used twice on the host (also {other})").format(
                    name=name, other=f"dspace_instances[{seen[name].index}]"),
                _("give each instance of a host its own name"), host))
        else:
            seen[name] = inst
    return found


def _shared_host(host: str, instances: list[Instance]) -> list[HostFinding]:
    """The instances of one host share its ports, its JDK, its Node.js and its Solr server
    (docs/stack.md); the plan filter (playbooks/filter_plugins/dspace_plan.py) refuses the
    same conflicts when Ansible runs without dspace-deploy."""
    known = [inst for inst in instances if str(inst.values.get("line")) in LINES]
    return (_port_conflicts(host, known) + _java_conflicts(host, known)
            + _node_conflicts(host, known) + _solr_conflicts(host, known))


# Jobs the DSpace webapp schedules itself when its cron key is set (dspace.cfg sets both;
# WebApplication.java:65,86 at dspace-9.3) and the dspace_tasks timer that runs the same
# command. The backend role sets the keys to "-"; an instance's extra_config may turn a key
# back on only when the timer is off.
WEBAPP_JOBS = {"sitemap.cron": "generate-sitemaps",
               "solr-database-resync.cron": "solr-database-resync"}


def _scheduled_twice(host: str, entries: dict[str, VarEntry],
                     instances: list[Instance]) -> list[HostFinding]:
    schedules = entries.get("dspace_tasks_schedules")
    overrides = entries.get("dspace_tasks_schedule_overrides")
    base = schedules.value if schedules and isinstance(schedules.value, dict) else None
    changed = overrides.value if overrides and isinstance(overrides.value, dict) else {}

    def timer_on(task: str) -> bool:
        if task in changed:
            return bool(changed[task])
        return base is None or bool(base.get(task))  # the role's default schedules it

    found = []
    for inst in instances:
        extra = inst.values.get("extra_config")
        if not isinstance(extra, dict):
            continue
        for key, task in WEBAPP_JOBS.items():
            value = str(extra.get(key, "-")).strip()
            if value not in ("-", "") and timer_on(task):
                found.append(HostFinding(
                    inst.location("extra_config"), inst.key(f"extra_config.{key}"),
                    _("is {value}, so the DSpace webapp runs {task} on its own schedule, and "
                      "the dspace_tasks timer {task} runs it too").format(value=repr(value),
                                                                          task=task),
                    _("remove {key} from extra_config (the deployment sets it to \"-\"), or "
                      "turn the timer off with {setting}").format(
                          key=key,
                          setting=f'dspace_tasks_schedule_overrides: {{"{task}": ""}}'), host))
    return found


def _slot(inst: Instance) -> int:
    slot = inst.values.get("port_slot")
    return slot if isinstance(slot, int) and not isinstance(slot, bool) else inst.index


def _port_conflicts(host: str, instances: list[Instance]) -> list[HostFinding]:
    found = []
    for i, inst in enumerate(instances):
        ports = instance_ports(_slot(inst))
        for other in instances[:i]:
            if _slot(other) == _slot(inst):
                what = _("port slot {slot} is also the slot of instance {other} ({key}) on "
                         "the host").format(slot=_slot(inst), other=other.name,
                                            key=f"dspace_instances[{other.index}]")
            else:
                taken = set(instance_ports(_slot(other)).values())
                clash = sorted(p for p in ports.values() if p in taken)
                if not clash:
                    continue
                what = _("port {port} of port slot {slot} is also used by instance {other} "
                         "(port slot {other_slot}) on the host").format(
                             port=clash[0], slot=_slot(inst), other=other.name,
                             other_slot=_slot(other))
            found.append(HostFinding(
                inst.location("port_slot"), inst.key("port_slot"), what,
                _("give each instance of a host its own port_slot (unset means its position in "
                  "the list), avoiding 80 to 99 next to slots 0 and 1"), host))
            break
    return found


def _java_conflicts(host: str, instances: list[Instance]) -> list[HostFinding]:
    needs = {}
    for inst in instances:
        java = inst.values.get("java_version")
        line_min = java_min(str(inst.values["line"]), str(inst.values.get("flavor") or "dspace"))
        needs[inst.index] = java if isinstance(java, int) else line_min
    if not needs:
        return []
    top = max(needs.values())
    found = []
    for inst in instances:
        java = inst.values.get("java_version")
        if isinstance(java, int) and java != top:
            other = next(o for o in instances if needs[o.index] == top)
            found.append(HostFinding(
                inst.location("java_version"), inst.key("java_version"),
                _("asks for Java {java}, but the host has one JDK and instance {other} needs "
                  "Java {top}").format(java=java, other=other.name, top=top),
                _("set java_version {top} or remove it").format(top=top), host))
    return found


def _node_majors(inst: Instance) -> set[int]:
    node = inst.values.get("node_version")
    if isinstance(node, int):
        return {node}
    return set(LINES[str(inst.values["line"])].node_majors)


def _node_conflicts(host: str, instances: list[Instance]) -> list[HostFinding]:
    found = []
    for inst in instances:
        node = inst.values.get("node_version")
        others = [o for o in instances if o is not inst]
        if not isinstance(node, int) or not others:
            continue
        common = set.intersection(*(_node_majors(o) for o in others))
        if node not in common:
            fit = ", ".join(str(n) for n in sorted(common)) or _("none")
            found.append(HostFinding(
                inst.location("node_version"), inst.key("node_version"),
                _("asks for Node.js {node}, but the host has one Node.js and the other "
                  "instances accept only: {fit}").format(node=node, fit=fit),
                _("remove node_version, use a major all instances of the host accept, or move "
                  "the instance to another host"), host))
    return found


def _solr_conflicts(host: str, instances: list[Instance]) -> list[HostFinding]:
    def solr(inst: Instance) -> str:
        return str(inst.values.get("solr_version") or LINES[str(inst.values["line"])].solr_version)

    found: list[HostFinding] = []
    if not instances:
        return found
    first, first_solr = instances[0], solr(instances[0])
    for inst in instances[1:]:
        if solr(inst) != first_solr:
            key = "solr_version" if inst.values.get("solr_version") else "line"
            found.append(HostFinding(
                inst.location(key), inst.key(key),
                _("needs Solr {solr}, but the host has one Solr server and instance {first} "
                  "needs Solr {first_solr}").format(solr=solr(inst), first=first.name,
                                                    first_solr=first_solr),
                _("align solr_version, or put DSpace 8 and DSpace 9/10 instances on different "
                  "hosts"), host))
    return found


def _duplicate_hostnames(instances_by_host: dict[str, list[Instance]]) -> list[HostFinding]:
    found = []
    first: dict[str, tuple[str, Instance]] = {}
    for host, instances in instances_by_host.items():
        for inst in instances:
            hostname = inst.values.get("hostname")
            if not isinstance(hostname, str):
                continue
            hostname = hostname.lower()
            if hostname in first:
                other_host, other = first[hostname]
                what = (_("hostname {hostname} is also used by instance {other} of the same "
                          "host") if other_host == host else
                        _("hostname {hostname} is also used by instance {other} on host "
                          "{other_host}")).format(hostname=hostname, other=other.name,
                                                  other_host=other_host)
                fix = (_("give each instance its own hostname") if other_host == host else
                       _("give each instance its own hostname; hosts that share group "
                         "variables need their own dspace_instances in host_vars/HOST.yml"))
                found.append(HostFinding(inst.location("hostname"), inst.key("hostname"),
                                         what, fix, host))
            else:
                first[hostname] = (host, inst)
    return found


def _site_name_consistency(effective: dict[str, dict[str, VarEntry]]) -> list[HostFinding]:
    names: dict[str, list[str]] = defaultdict(list)
    entries: dict[str, VarEntry] = {}
    for host, vars_ in effective.items():
        entry = vars_.get("site_name")
        if entry is not None and isinstance(entry.value, str):
            names[entry.value].append(host)
            entries.setdefault(entry.value, entry)
    if len(names) <= 1:
        return []
    common = max(names, key=lambda n: len(names[n]))
    found = []
    for name, hosts in names.items():
        if name == common:
            continue
        for host in hosts:
            found.append(HostFinding(entries[name].location, "site_name",
                                     _("is {name} here but {common} for other hosts").format(
                                         name=repr(name), common=repr(common)),
                                     _("set site_name once, in group_vars/all/site.yml"), host))
    return found


def _secrets(effective: dict[str, dict[str, VarEntry]],
             instances_by_host: dict[str, list[Instance]], inv: InventoryData,
             command: str) -> list[HostFinding]:
    from dspace_deploy.inventory.loader import VAULT_REL, display_path

    vault_location = display_path(inv.root / VAULT_REL)
    found = []
    for host, instances in instances_by_host.items():
        entry = effective[host].get("vault_instance_secrets")
        table = entry.value if entry is not None else None
        for inst in instances:
            name = inst.values.get("name")
            if not isinstance(name, str):
                continue
            if not isinstance(table, dict) or name not in table:
                found.append(HostFinding(
                    vault_location, f"vault_instance_secrets.{name}",
                    _("instance {name} has no secrets").format(name=name),
                    _("run `{command}` to generate the missing secrets (existing ones are "
                      "kept)").format(command=command), host))
    return found


def _merge_hosts(findings: list[HostFinding]) -> list[Problem]:
    """One problem per (location, key, what, fix), naming every host it concerns."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for f in findings:
        hosts = grouped.setdefault((f.location, f.key, f.what, f.fix), [])
        if f.host not in hosts:
            hosts.append(f.host)
    problems = []
    for (location, key, what, fix), hosts in grouped.items():
        if len(hosts) == 1:
            label = _("host {host}").format(host=hosts[0])
        elif len(hosts) <= 4:
            label = _("hosts {hosts}").format(hosts=", ".join(hosts))
        else:
            label = _("hosts {hosts} and {count} more").format(hosts=", ".join(hosts[:3]),
                                                                count=len(hosts) - 3)
        problems.append(Problem(f"{location} ({label})", key, what, fix))
    return problems

