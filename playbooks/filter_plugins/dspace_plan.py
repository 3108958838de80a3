"""Ansible filters: a host's `dspace_instances` -> instance plans (docs/stack.md).

Ansible loads this file because it sits in `filter_plugins/` next to the playbooks, so plain
`ansible-playbook -i INVENTORY playbooks/site.yml` users get it too. Filters:

  dspace_instance_plan(instances, service_user='dspace', debian=None) -> [plan, ...]
  dspace_host_java_major(plans)                            -> int (the host's one JDK)
  dspace_host_node_major(plans)                            -> int (the host's one Node.js)
  dspace_host_solr_version(plans)                          -> str (the host's one Solr)
  dspace_postgresql_databases(plans, vault_instance_secrets) -> postgresql_databases
  dspace_solr_cores(plans)                                 -> solr_cores

The facts per DSpace line come from `dspace_deploy/lines.py` only. That module is pure
standard-library Python and ships with this content in both layouts: in a checkout it is
`<repo>/dspace_deploy/lines.py`, in a wheel `dspace_deploy/_content/playbooks/` sits inside
the package next to `lines.py`. The plugin loads that sibling file by path first, so the facts
always match the roles they ship with, and it works from plain Ansible on a machine (or in a
Python) where the dspace_deploy package is not installed; `import dspace_deploy.lines` is the
fallback when the content was copied elsewhere.

One host has one JDK, one Node.js and one Solr server, so `java_major`, `node_major` and
`solr_version` are the same in every plan of a host. Java: the highest major any instance
needs (newer majors run older lines; an explicit java_version pins it). Node.js: a major
every instance's UI supports. Given the host's Debian release (`debian`, e.g.
`ansible_facts.distribution_major_version`), the majors Debian itself packages are preferred
where every instance accepts them (OpenJDK 21 and Node.js 20 on Debian 13), so hosts need no
other package source; without it, Java is the lowest sufficient major and Node.js the newest
supported one. Instances that cannot share these raise an error (validation reports the same
conflicts earlier: dspace_deploy/inventory/rules.py).

The plan is pure data: no secret enters it (database passwords go through
dspace_postgresql_databases only) and it touches no host.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

try:
    from ansible.errors import AnsibleFilterError as PlanError
except ImportError:  # used without Ansible (unit tests of the pure functions)

    class PlanError(Exception):  # type: ignore[no-redef]
        """An instance list the plan cannot be made from."""


_HERE = Path(__file__).resolve().parent
_LINES_MODULE = "_dspace_deploy_plan_lines"

# Defaults of the instance options, as dspace_deploy/inventory/site_spec.yml declares them
# (a unit test keeps the two equal). Ansible does not apply a site spec's nested defaults.
INSTANCE_DEFAULTS: dict[str, Any] = {
    "line": "9",
    "flavor": "dspace",
    "tls_mode": "selfsigned",
    "handle_prefix": "123456789",
    "handle_registered": False,
    "acme_directory_url": "https://acme-v02.api.letsencrypt.org/directory",
    "extra_config": {},
    "content": "none",
}

DSPACE_ROOT = "/srv/dspace"
UI_ROOT = "/srv/dspace-ui"
DB_HOST = "127.0.0.1"
DB_PORT = 5432
SOLR_URL = "http://127.0.0.1:8983/solr"


def _load_lines() -> ModuleType:
    """dspace_deploy/lines.py of this content tree (see the module docstring)."""
    if _LINES_MODULE in sys.modules:
        return sys.modules[_LINES_MODULE]
    candidates = (
        _HERE.parents[1] / "dspace_deploy" / "lines.py",  # checkout: <repo>/playbooks/...
        _HERE.parents[2] / "lines.py",  # wheel: dspace_deploy/_content/playbooks/...
    )
    for path in candidates:
        if path.is_file():
            spec = importlib.util.spec_from_file_location(_LINES_MODULE, path)
            if spec is None or spec.loader is None:  # pragma: no cover - defensive
                continue
            module = importlib.util.module_from_spec(spec)
            sys.modules[_LINES_MODULE] = module  # dataclasses look their module up
            try:
                spec.loader.exec_module(module)
            except Exception:
                del sys.modules[_LINES_MODULE]
                raise
            return module
    try:
        from dspace_deploy import lines
    except ImportError as exc:
        raise PlanError(
            "dspace_plan: cannot find dspace_deploy/lines.py next to the playbooks, and the "
            "dspace_deploy package is not installed; run the playbooks from a dspace-deploy "
            "checkout or install dspace-deploy"
        ) from exc
    return lines


_lines = _load_lines()
LINES: Mapping[str, Any] = _lines.LINES


# ------------------------------------------------------------------------------------------------
# Helpers


def _where(index: int, name: Any = None) -> str:
    return (f"instance {name} (dspace_instances[{index}])" if name
            else f"dspace_instances[{index}]")


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise PlanError(f"dspace_plan: {what} must be a whole number, not {value!r}")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise PlanError(f"dspace_plan: {what} must be a whole number, not {value!r}") from None


def _line(value: Any, where: str) -> str:
    """The line as a string: YAML `line: 9` is the int 9."""
    if isinstance(value, bool):
        value = None
    line = str(value).strip() if value is not None else ""
    if line not in LINES:
        raise PlanError(
            f"dspace_plan: {where}: line is {value!r}; supported lines: {', '.join(LINES)}"
        )
    return line


def _text(value: Any, default: str) -> str:
    return default if value is None or value == "" else str(value)


# ------------------------------------------------------------------------------------------------
# dspace_instance_plan


def instance_plan(instances: Any, service_user: str = "dspace",
                  debian: Any = None) -> list[dict[str, Any]]:
    """One plan per instance of a host; see docs/stack.md, "The instance plan"."""
    if instances is None:
        instances = []
    if not isinstance(instances, list):
        raise PlanError(f"dspace_plan: dspace_instances must be a list, not {instances!r}")
    drafts = []
    for index, raw in enumerate(instances):
        if not isinstance(raw, Mapping):
            raise PlanError(f"dspace_plan: {_where(index)} must be a mapping, not {raw!r}")
        inst = {**INSTANCE_DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
        for key in ("name", "hostname"):
            if not inst.get(key):
                raise PlanError(f"dspace_plan: {_where(index)}: {key} is required")
        where = _where(index, inst["name"])
        line = _line(inst["line"], where)
        facts = LINES[line]
        flavor = str(inst["flavor"])
        if flavor not in ("dspace", "cris"):
            raise PlanError(f"dspace_plan: {where}: flavor is {flavor!r}; use dspace or cris")
        if flavor == "cris" and line not in _lines.CRIS:
            raise PlanError(f"dspace_plan: {where}: there is no DSpace-CRIS on line {line}")
        slot_value = inst.get("port_slot")
        slot = index if slot_value is None else _as_int(slot_value, f"{where}: port_slot")
        java = inst.get("java_version")
        node = inst.get("node_version")
        drafts.append({
            "inst": inst,
            "where": where,
            "line": line,
            "facts": facts,
            "flavor": flavor,
            "slot": slot,
            "java": (_lines.java_min(line, flavor) if java is None
                     else _as_int(java, f"{where}: java_version")),
            "java_explicit": java is not None,
            "nodes": ({_as_int(node, f"{where}: node_version")} if node is not None
                      else set(facts.node_majors)),
            "solr": _text(inst.get("solr_version"), facts.solr_version),
        })
    _check_apart(drafts)
    java_major, node_major, solr_version = _host_runtimes(drafts, _debian_runtimes(debian))
    return [_plan(d, service_user, java_major, node_major, solr_version) for d in drafts]


def _check_apart(drafts: list[dict[str, Any]]) -> None:
    """Instances of one host need their own names (directories, databases, cores) and ports."""
    names: dict[str, str] = {}
    ports: dict[int, str] = {}
    for d in drafts:
        name = str(d["inst"]["name"])
        if name in names:
            raise PlanError(f"dspace_plan: {d['where']}: the name is also used by "
                            f"{names[name]}; give each instance of a host its own name")
        names[name] = d["where"]
        if not 0 <= d["slot"] <= _lines.PORT_SLOT_MAX:
            raise PlanError(f"dspace_plan: {d['where']}: port_slot {d['slot']} is outside "
                            f"0..{_lines.PORT_SLOT_MAX}")
        for port in _lines.instance_ports(d["slot"]).values():
            if port in ports:
                raise PlanError(f"dspace_plan: {d['where']}: port {port} (port slot "
                                f"{d['slot']}) is also used by {ports[port]}; set port_slot")
        for port in _lines.instance_ports(d["slot"]).values():
            ports[port] = d["where"]


def _debian_runtimes(debian: Any) -> dict[str, int]:
    """Java and Node.js majors of the host's Debian release ({} when unknown)."""
    try:
        major = int(str(debian).strip())
    except (TypeError, ValueError):
        return {}
    runtimes: dict[str, int] = _lines.DEBIAN_RUNTIMES.get(major, {})
    return runtimes


def _host_runtimes(drafts: list[dict[str, Any]],
                   os_runtimes: dict[str, int]) -> tuple[int, int, str]:
    """The host's one JDK, Node.js and Solr: what every instance on it runs with."""
    if not drafts:
        return 0, 0, ""
    # Newer Java majors run older lines, so the host gets the highest one any instance needs;
    # the OS's own JDK when it is newer still and no instance pins its Java.
    java = max(d["java"] for d in drafts)
    os_java = os_runtimes.get("java", 0)
    if os_java > java and not any(d["java_explicit"] for d in drafts):
        java = os_java
    for d in drafts:
        if d["java_explicit"] and d["java"] != java:
            other = next(o for o in drafts if o["java"] == java)
            raise PlanError(
                f"dspace_plan: {d['where']} asks for Java {d['java']}, but the host's one JDK "
                f"is Java {java} (needed by {other['where']}); set java_version {java} or "
                "remove it"
            )
    common = set.intersection(*(d["nodes"] for d in drafts))
    if not common:
        wanted = "; ".join(f"{d['where']}: {sorted(d['nodes'])}" for d in drafts)
        raise PlanError(
            "dspace_plan: the instances of one host share one Node.js, but no major suits "
            f"them all ({wanted}); change node_version or move an instance to another host"
        )
    solr = {d["solr"] for d in drafts}
    if len(solr) > 1:
        wanted = "; ".join(f"{d['where']}: {d['solr']}" for d in drafts)
        raise PlanError(
            "dspace_plan: the instances of one host share one Solr server, but they need "
            f"different Solr releases ({wanted}); align solr_version or use separate hosts"
        )
    os_node = os_runtimes.get("node")
    node = os_node if os_node in common else max(common)
    return java, node, solr.pop()


def _plan(d: dict[str, Any], user: str, java: int, node: int, solr: str) -> dict[str, Any]:
    inst, facts, line = d["inst"], d["facts"], d["line"]
    name = str(inst["name"])
    hostname = str(inst["hostname"])
    version = _text(inst.get("version"), facts.newest)
    cris = _lines.CRIS.get(line) if d["flavor"] == "cris" else None
    ports = _lines.instance_ports(d["slot"])
    admin_email = _text(inst.get("admin_email"), "")
    dspace_dir = f"{DSPACE_ROOT}/{name}"
    extra = dict(inst.get("extra_config") or {})
    # handle.dir and assetstore.dir (dspace.cfg and modules/assetstore.cfg:
    # ${dspace.dir}/handle-server, ${dspace.dir}/assetstore) unless extra_config moves them
    handle_dir = _text(extra.get("handle.dir"), f"{dspace_dir}/handle-server").replace(
        "${dspace.dir}", dspace_dir)
    assetstore_dir = _text(extra.get("assetstore.dir"), f"{dspace_dir}/assetstore").replace(
        "${dspace.dir}", dspace_dir)
    return {
        "name": name,
        "hostname": hostname,
        "line": line,
        "version": version,
        # The release the instance runs when current: the DSpace version, or the DSpace-CRIS
        # release of the line (4Science names its releases 2025.02.01; they report
        # dspaceVersion 9.2, which is also a DSpace release). The upgrade record and the
        # health gates name releases this way.
        "release": cris.release if cris else version,
        "flavor": d["flavor"],
        "title": _text(inst.get("title"), hostname),
        "dspace_dir": dspace_dir,
        "ui_dir": f"{UI_ROOT}/{name}",
        "handle_dir": handle_dir,
        "assetstore_dir": assetstore_dir,
        # Scheduled tasks take a lock file here per task (dspace_tasks); a backup takes the
        # cleanup task's lock so no bitstream file is deleted while it runs (dspace_backup).
        "task_lock_dir": f"{DSPACE_ROOT}/{name}/var/tasks",
        "user": user,
        "db": {
            "name": f"dspace_{name}",
            "user": f"dspace_{name}",
            "host": DB_HOST,
            "port": DB_PORT,
            "extensions": ["pgcrypto"] if facts.pgcrypto else [],
        },
        "port_slot": d["slot"],
        "ports": ports,
        "solr": {"url": SOLR_URL, "prefix": f"{name}-"},
        "cores": list(_lines.line_cores(line, d["flavor"])),
        "urls": {
            "ui": f"https://{hostname}",
            "server": f"https://{hostname}/server",
            "ssr": f"http://127.0.0.1:{ports['backend']}/server",
        },
        "java_major": java,
        "node_major": node,
        "solr_version": solr,
        "tls_mode": str(inst["tls_mode"]),
        "tls_certificate_file": inst.get("tls_certificate_file"),
        "tls_key_file": inst.get("tls_key_file"),
        "acme_email": _text(inst.get("acme_email"), admin_email),
        "acme_directory_url": str(inst["acme_directory_url"]),
        "handle_prefix": str(inst["handle_prefix"]),
        "handle_registered": bool(inst["handle_registered"]),
        "admin_email": admin_email,
        "extra_config": extra,
        # sample content to seed (roles/dspace_content): none, sample-en, sample-es
        "content": _text(inst.get("content"), "none"),
    }


# ------------------------------------------------------------------------------------------------
# Host-level values derived from the plans


def _plans(plans: Any) -> list[Mapping[str, Any]]:
    if not isinstance(plans, list) or not all(isinstance(p, Mapping) for p in plans):
        raise PlanError("dspace_plan: expected the list dspace_instance_plan returns")
    return plans


def host_java_major(plans: Any) -> int:
    """The Java major of the host's one JDK: the highest any instance needs (0: none)."""
    return max((int(p["java_major"]) for p in _plans(plans)), default=0)


def host_node_major(plans: Any) -> int:
    """The Node.js major of the host's one Node (0: no instance)."""
    return max((int(p["node_major"]) for p in _plans(plans)), default=0)


def host_solr_version(plans: Any) -> str:
    """The release of the host's one Solr server ('' when the host has no instance)."""
    versions = {str(p["solr_version"]) for p in _plans(plans)}
    if len(versions) > 1:
        raise PlanError(f"dspace_plan: one Solr per host, but plans ask for {sorted(versions)}")
    return versions.pop() if versions else ""


def postgresql_databases(plans: Any, secrets: Any) -> list[dict[str, Any]]:
    """postgresql_databases for the postgresql role: one database and owner per instance."""
    result = []
    table = secrets if isinstance(secrets, Mapping) else {}
    for plan in _plans(plans):
        name = plan["name"]
        entry = table.get(name)
        password = entry.get("db_password") if isinstance(entry, Mapping) else None
        if not password:
            raise PlanError(
                f"dspace_plan: vault_instance_secrets has no db_password for instance {name}; "
                "run `dspace-deploy secrets sync -i INVENTORY` to generate it"
            )
        result.append({
            "name": plan["db"]["name"],
            "owner": plan["db"]["user"],
            "password": password,
            "extensions": list(plan["db"].get("extensions", [])),
        })
    return result


def solr_cores(plans: Any) -> list[dict[str, str]]:
    """solr_cores for the solr role: each instance's cores under its prefix, from its
    installed configuration `[dspace]/solr/<core>` (contract 6.3)."""
    return [
        {
            "name": f"{plan['solr']['prefix']}{core}",
            "conf_source": f"{plan['dspace_dir']}/solr/{core}",
        }
        for plan in _plans(plans)
        for core in plan["cores"]
    ]


def plan_bundle(plan: Any, bundles: Any, version: Any = None) -> dict[str, Any]:
    """The verified artifact bundle (`dspace_bundles` entry) serving a plan, or {} when the
    instance has none and its roles obtain the official releases themselves.

    A bundle is found by line, flavor AND release: `version` (default: the release the plan
    asks for, its version or its line's DSpace-CRIS release) may be another release, e.g. the
    one an upgrade rolls back to (`plan | dspace_plan_bundle(dspace_bundles, record.from)`);
    its line follows from it (8.4 is line 8 even when the plan says 9). Entries are keyed
    `<line>-<flavor>-<release>` and carry line, flavor and version; an entry of the older
    shape, keyed `<line>-<flavor>`, serves when its dspace_version is the release (or unset)."""
    if not isinstance(plan, Mapping):
        raise PlanError("dspace_plan: dspace_plan_bundle expects one instance plan")
    table = bundles if isinstance(bundles, Mapping) else {}
    flavor = str(plan.get("flavor", "dspace"))
    line = str(plan["line"])
    release = str(version) if version else str(plan["release"])
    if flavor == "cris":
        line = next((str(k) for k, c in _lines.CRIS.items() if c.release == release), line)
    elif release.split(".")[0] in LINES:
        line = release.split(".")[0]
    for entry in table.values():
        if isinstance(entry, Mapping) and "version" in entry and (
                str(entry.get("line")), str(entry.get("flavor")), str(entry["version"])) == (
                line, flavor, release):
            return dict(entry)
    legacy = table.get(f"{line}-{flavor}")
    if isinstance(legacy, Mapping) and "version" not in legacy:
        held = legacy.get("dspace_version")
        if flavor == "cris" or held is None or str(held) == release:
            return dict(legacy)
    return {}


def proxy_sites(plans: Any) -> list[dict[str, Any]]:
    """proxy_sites for the proxy role: one HTTPS virtual host per instance, `/server` to its
    backend and everything else to its UI."""
    return [
        {
            "name": plan["name"],
            "hostname": plan["hostname"],
            "backend_port": plan["ports"]["backend"],
            "ui_port": plan["ports"]["ui"],
            "tls_mode": plan["tls_mode"],
            "tls_certificate_file": plan.get("tls_certificate_file") or "",
            "tls_key_file": plan.get("tls_key_file") or "",
            "acme_email": plan.get("acme_email") or "",
            "acme_directory_url": plan["acme_directory_url"],
        }
        for plan in _plans(plans)
    ]


class FilterModule:
    """Ansible's entry point for filter plugins."""

    def filters(self) -> dict[str, Any]:
        return {
            "dspace_instance_plan": instance_plan,
            "dspace_host_java_major": host_java_major,
            "dspace_host_node_major": host_node_major,
            "dspace_host_solr_version": host_solr_version,
            "dspace_postgresql_databases": postgresql_databases,
            "dspace_solr_cores": solr_cores,
            "dspace_plan_bundle": plan_bundle,
            "dspace_proxy_sites": proxy_sites,
        }
