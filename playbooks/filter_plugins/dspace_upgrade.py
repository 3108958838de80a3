"""Ansible filters: the upgrade path of an instance and its prechecks (docs/operations.md,
"Upgrades"). Pure data, standard library only; the facts per line come from
`dspace_deploy/lines.py`, loaded by path exactly as dspace_plan.py does.

  dspace_upgrade_target(plan)                       -> str (the release the inventory asks for)
  dspace_upgrade_path(plan, installed_version)      -> path (below)
  dspace_upgrade_old_plan(plan, installed_version)  -> the plan as it ran the installed
      release (release, version, line and cores of that release): what a rollback returns to
  dspace_running_plans(plans, running)              -> the plans as the host runs them: an
      instance waiting for an upgrade is planned as its installed release (its line's cores)
  dspace_pending_upgrades(plans, running)           -> [{instance, running, inventory,
      holds_solr}]: the instances `up` leaves alone (their host runs another release than
      the inventory asks for); holds_solr: moving it changes the host's Solr major, so `up`
      leaves the host's Solr alone too
  dspace_upgrade_prechecks(plan, path, host_facts, host_plans) -> [{name, ok, detail, fix}]
  dspace_upgrade_estimate(path, host_facts)         -> {disk_needed_bytes, disk_needed,
                                                        downtime_estimate_s}
  dspace_upgrade_plan_report(plan, host_facts, host_plans) -> one instance's entry of
      dspace_upgrade_report in plan mode: {instance, from, to, kind, supported, reason,
      steps, prechecks, disk_needed_bytes, downtime_estimate_s, jumps} (what the CLI reads,
      dspace_deploy/upgrades.py)

Versions. A DSpace release is named by its version ("9.2"); a DSpace-CRIS release by its
4Science release ("2024.02.04"), never by the dspaceVersion its REST root reports (2025.02.01
reports 9.2, which is also a DSpace release). `installed_version` is what the host runs, as the
upgrade record / version fact names it ('' or None: nothing installed).

The path:

  {from, to, flavor, supported: bool, reason: str, kind: none|patch|minor|major|cris,
   jumps: [jump], steps: [str]}

  kind patch: the next release of a line (9.2 to 9.3, 8.3 to 8.4; DSpace numbers its bug-fix
  releases x.y); minor: further within a line (9.1 to 9.3); major: the next line (8 to 9,
  9 to 10); cris: DSpace-CRIS 2024.02 to 2025.02.
  kind none: nothing to do (same release, or nothing installed yet: `up` installs it).
  Refused (supported false, reason says why and the way out): a jump over a major (8 to 10:
  each major changes prerequisites and needs its own gate: "set version 9.3, upgrade, then
  10.0"), a downgrade (`dspace-deploy rollback` right after an upgrade, else a restore), a
  flavor change, a line dspace-deploy does not manage.

A jump (one per path today: a patch/minor, or one major, or CRIS 2024.02 to 2025.02):

  {from, to, from_line, to_line, solr_major_from, solr_major_to, java_min, node_majors,
   new_cores: [core], rebuild_search: bool, search_reindex: rebuild|update,
   oai_import: bool, oai_import_clean: bool, carry_solr_data: [core],
   migrate_ignored_expected: bool, ui_toolchain_change: str ('' when none),
   ocr_plugin: str (DSpace-CRIS: the ocr core's plugin jar of the target, else '')}

Sources of every value: shared/dspace-upgrade-fleet-cloud-facts.md sections 1.3-1.12 and the
tags cited next to the tables below.

host_facts (what upgrade.yml's precheck phase gathers on the host, per instance). Every key
is required; a fact that could not be gathered is null and its precheck fails with "could not
be checked" instead of passing:

  installed_version   str|''   release the instance runs ('' nothing installed)
  os_major            int      Debian major (ansible distribution_major_version)
  java_majors         [int]    majors of the JDKs/JREs installed
  node_major          int|0    major of the installed Node.js (0: none installed)
  solr_version        str|''   release of the host's Solr server ('' none installed)
  solr_lib_enabled    bool     Solr started with -Dsolr.config.lib.enabled=true
  free_bytes          {dspace, ui, var, tmp: int}  free bytes on the filesystem holding
                      <dspace_dir>, <ui_dir>, /var/lib (PostgreSQL, Solr data, backup staging)
                      and /tmp
  filesystems         {dspace, ui, var, tmp: str}  an id of each of those filesystems (st_dev);
                      optional: keys with the same id share their free bytes
  db_bytes            int      pg_database_size of the instance's database
  solr_bytes          int      bytes of the instance's Solr core data directories
  release_bytes       int | {backend: int, ui: int}  bytes of the installed release (<dspace>
                      bin, lib, webapps, config, solr; <ui_dir> dist): the new one is as big
  healthy             bool     the instance answers now (REST root + actuator, UI)
  health_detail       str      what did not answer, when not healthy
  last_backup         {ok: bool|None, finished: str, error: str}  the latest backup run
                      (ok None: no backup ran yet)
  local_cfg_keys      [str]    keys set in the instance's local.cfg
  ui_config_keys      [str]    dotted keys of the instance's UI config.prod.yml
  cris_jars           [str]|'source'  DSpace-CRIS: jar names in solr/*/lib of the TARGET
                      installer (its bundle, listed on the controller); 'source': no bundle,
                      the target is built on the host and cannot be looked into before
                      (the bundle's, or the release the upgrade installs); [] for DSpace
  record              {}|{...} the instance's upgrade record (H4's
                      /var/lib/dspace-deploy/upgrade/<instance>.json); {} when none exists
  host_instances      [{instance, running, upgrading}]  every instance of the host: the
                      release it runs ('' none) and whether this same run upgrades it

host_plans: the host's plans (dspace_instance_plan), to know what the other instances of the
host will run after this run (one Solr server per host).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

try:
    from ansible.errors import AnsibleFilterError as UpgradeError
except ImportError:  # used without Ansible (unit tests of the pure functions)

    class UpgradeError(Exception):  # type: ignore[no-redef]
        """Input the upgrade filters cannot work with."""


_HERE = Path(__file__).resolve().parent


def _load_plan_filters() -> ModuleType:
    """The sibling dspace_plan.py, whose loader finds lines.py in both layouts (checkout and
    wheel) and shares one loaded copy of it."""
    name = "_dspace_deploy_plan_filters"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _HERE / "dspace_plan.py")
        if spec is None or spec.loader is None:  # pragma: no cover - defensive
            raise UpgradeError("dspace_upgrade: cannot load dspace_plan.py beside it")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


_lines: ModuleType = _load_plan_filters()._lines
LINES: Mapping[str, Any] = _lines.LINES
CRIS: Mapping[str, Any] = _lines.CRIS

PHASES = ("precheck", "pause_tasks", "snapshot", "maintenance", "stop", "install", "migrate",
          "solr", "start", "reindex", "ui", "finish")

# Solr cores whose data cannot be rebuilt from the database: carried to a new Solr major
# (export before, import after, counts compared; facts 1.9, 1.4). search and oai are rebuilt.
# DSpace-CRIS adds audit (the audit log) and dedup (duplicate decisions).
CARRIED_CORES = ("audit", "authority", "dedup", "qaevent", "statistics", "suggestion")

# Releases that carry the back-dated migrations V7.6_2026.03.25 and V8.4_2026.03.28, which a
# plain `database migrate` leaves Ignored on a DB already past them (facts 1.6): from 8.4 on
# line 8, 9.3 on line 9, every 10.x; DSpace-CRIS 2025.02.01 (facts 1.12).
_BACKDATED_FROM = {"8": "8.4", "9": "9.3", "10": "10.0"}

# Keys of the backend configuration a target no longer reads or renamed. `gone` names the
# first release of each line without the key (a line not listed keeps it; "cris-<line>": the
# DSpace-CRIS release of that line). Found by diffing the keys (set or commented) of
# dspace/config/**.cfg between the tags, then checking the Java code still reads them.
BACKEND_KEYS: tuple[dict[str, Any], ...] = (
    {   # DSpace/DSpace@dspace-8.4:dspace/config/dspace.cfg:1421 (8.3: :1407); read no more by
        # BitstreamRestController (8.4: :241 reads webui.content_disposition_inline)
        "keys": ("webui.content_disposition_format",),
        "gone": {"8": "8.4", "9": "9.3", "10": "10.0", "cris-9": True},
        "fix": "use webui.content_disposition_inline instead: it lists the formats served "
               "inline (an allow-list), where the old key listed formats always downloaded",
    },
    {   # removed from modules/authentication-ldap.cfg:30 at dspace-9.3 (no Java read it since
        # 8.x); LDAP is enabled by listing it in plugin.sequence...AuthenticationMethod
        "keys": ("authentication-ldap.enable",),
        "gone": {"9": "9.3", "10": "10.0", "cris-9": True},
        "fix": "remove it: LDAP is enabled by listing org.dspace.authenticate.LDAPAuthentication "
               "in plugin.sequence.org.dspace.authenticate.AuthenticationMethod "
               "(modules/authentication.cfg)",
    },
    {   # modules/citation-page.cfg@dspace-8.4:31-43 -> @dspace-9.3:30 cover-template
        "keys": ("citation-page.header1", "citation-page.header2", "citation-page.fields",
                 "citation-page.footer"),
        "gone": {"9": "9.0", "10": "10.0", "cris-9": True},
        "fix": "DSpace 9 draws the citation cover page from a template: set "
               "citation-page.cover-template (modules/citation-page.cfg) instead",
    },
    {   # dspace.cfg@dspace-8.4:372,389 -> @dspace-9.3:372,389 (spelling fixed)
        "keys": ("core.authorization.community-admin.item.reinstatiate",
                 "core.authorization.collection-admin.item.reinstatiate"),
        "gone": {"9": "9.0", "10": "10.0", "cris-9": True},
        "fix": "rename it: the key is spelled ...item.reinstate from DSpace 9 on",
    },
    {   # dspace.cfg@dspace-9.3:1482,1489; dspace-10.0 reads openpolicyfinder.* and warns on
        # the old names (OpenPolicyFinderService.java:66-86)
        "keys": ("sherpa.romeo.url", "sherpa.romeo.apikey"),
        "gone": {"10": "10.0", "cris-9": True},
        "fix": "rename it to openpolicyfinder.url / openpolicyfinder.apikey (DSpace 10 still "
               "reads the old name but warns that it is deprecated)",
    },
    {   # modules/duplicate-detection.cfg@dspace-9.3:29 -> @dspace-10.0:47-48
        "keys": ("duplicate.comparison.solr.field",),
        "gone": {"10": "10.0"},
        "fix": "DSpace 10 reads duplicate.comparison.solr.field.prefix and .suffix instead "
               "(default deduplication + keyword)",
    },
)

# UI keys (dotted paths of config.yml) a target renamed or dropped (facts 1.3-1.6;
# DSpace/dspace-angular config/config.example.yml at each tag).
UI_KEYS: tuple[dict[str, Any], ...] = (
    {   # `ssr:` since 8.0 (config.example.yml@dspace-8.3:21); a `universal:` block is ignored
        "keys": ("universal",),
        "gone": {"8": "8.0", "9": "9.0", "10": "10.0", "cris-8": True, "cris-9": True},
        "fix": "rename the universal: block to ssr: (same sub-keys)",
    },
    {   # config.example.yml@dspace-8.4:245 defaultLanguage -> @dspace-9.2:239 fallbackLanguage
        "keys": ("defaultLanguage",),
        "gone": {"9": "9.0", "10": "10.0", "cris-9": True},
        "fix": "rename defaultLanguage to fallbackLanguage",
    },
    {   # config.example.yml@dspace-9.3:17-19 max -> @dspace-10.0:17-22 limit (server.ts:188)
        "keys": ("ui.rateLimiter.max",),
        "gone": {"10": "10.0"},
        "fix": "rename ui.rateLimiter.max to ui.rateLimiter.limit",
    },
)

# Where the site's own overrides of each configuration live in the inventory.
_OVERRIDES = {"backend_config": "the instance's extra_config, written to local.cfg",
              "ui_config": "dspace_ui_config_overrides, merged into config.prod.yml"}

# ui.baseUrl is required from 8.4, 9.3 and 10.0 (SSR only when Host matches it from 9.3;
# config.example.yml@dspace-8.4:12-13, @dspace-9.3:12-13; facts 1.6).
_BASE_URL_FROM = {"8": "8.4", "9": "9.3", "10": "10.0"}

# Rough figures for the downtime estimate (the benchmark measures the real ones).
_FIXED_DOWNTIME_S = 180  # stop + start of the backend and the UI, health gates, snapshot setup
_DUMP_RATE = 40 << 20  # bytes/s: pg_dump + local DB copy
_SOLR_COPY_RATE = 60 << 20  # bytes/s: Solr data copied / exported and imported
_REINDEX_RATE = 4 << 20  # bytes of database per second of index-discovery -b
_MARGIN = 1.1  # free space kept beyond the estimate


# ------------------------------------------------------------------------------------------------
# Versions


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _is_version(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+(\.[0-9]+){1,3}", text))


def _cris_line(release: str) -> str | None:
    """The DSpace line of a DSpace-CRIS release, or None when it is not one we know."""
    for line, facts in CRIS.items():
        if facts.release == release:
            return str(line)
    return None


def target_version(plan: Any) -> str:
    """The release the inventory asks for: the plan's version (DSpace) or the DSpace-CRIS
    release of its line."""
    if not isinstance(plan, Mapping):
        raise UpgradeError("dspace_upgrade: expected one instance plan (dspace_instance_plan)")
    return str(plan["release"])


def release_line(version: str, flavor: str = "dspace") -> str | None:
    """The DSpace line of a release name (None: not a release of a managed line)."""
    if flavor == "cris":
        return _cris_line(version)
    if not _is_version(version):
        return None
    line = version.split(".")[0]
    return line if line in LINES else None


def _gone(entry: Mapping[str, Any], line: str, flavor: str, version: str) -> bool:
    """Whether the key table entry's keys are gone at this target release."""
    if flavor == "cris":
        return bool(entry["gone"].get(f"cris-{line}"))
    first = entry["gone"].get(line)
    return isinstance(first, str) and _numbers(version) >= _numbers(first)


def _has_backdated(line: str, flavor: str, version: str) -> bool:
    if flavor == "cris":
        return line == "9"
    first = _BACKDATED_FROM.get(line)
    return first is not None and _numbers(version) >= _numbers(first)


# ------------------------------------------------------------------------------------------------
# dspace_upgrade_path


def upgrade_path(plan: Any, installed_version: Any) -> dict[str, Any]:
    """The path from what the host runs to what the inventory asks for (module docstring)."""
    to = target_version(plan)
    flavor = str(plan.get("flavor", "dspace"))
    to_line = str(plan["line"])
    installed = "" if installed_version is None else str(installed_version).strip()
    path: dict[str, Any] = {"from": installed, "to": to, "flavor": flavor, "supported": True,
                            "reason": "", "kind": "none", "jumps": [], "steps": []}
    name = release_name = _name(flavor, to)

    def refuse(reason: str) -> dict[str, Any]:
        path.update(supported=False, reason=reason)
        return path

    if not installed:
        path["reason"] = (f"nothing is installed yet: `dspace-deploy up` installs {name}")
        return path
    if installed == to:
        path["reason"] = f"already runs {release_name}"
        return path
    from_line = release_line(installed, flavor)
    if from_line is None:
        other = "dspace" if flavor == "cris" else "cris"
        if release_line(installed, other) is not None:
            return refuse(
                f"the host runs {_name(other, installed)} but the inventory asks for "
                f"{name}: changing between DSpace and DSpace-CRIS is a migration, not an "
                "upgrade; set the flavor back, or deploy a new instance and move the content")
        return refuse(
            f"the host runs {installed!r}, which is not a release of a line dspace-deploy "
            f"manages ({', '.join(LINES)}); upgrade it by hand to a managed release first")
    if flavor == "cris":
        newer = _numbers(to_line) > _numbers(from_line)
    else:
        newer = _numbers(to) > _numbers(installed)
    if not newer:
        return refuse(
            f"{_name(flavor, installed)} is newer than {name}: downgrades are refused; "
            f"right after an upgrade `dspace-deploy rollback --instance {plan.get('name')}` "
            "returns to the previous release, otherwise restore a backup; or set the inventory "
            f"version back to {installed}")
    steps_over = int(to_line) - int(from_line)
    if steps_over > 1:
        between = str(int(from_line) + 1)
        via = (str(CRIS[between].release) if flavor == "cris" and between in CRIS
               else str(LINES[between].newest))
        return refuse(
            f"{_name(flavor, installed)} to {name} crosses {steps_over} majors; each major "
            "changes prerequisites (Solr, Java) and needs its own gate and checks: set version "
            f"{via}, upgrade, then set {to} and upgrade again")
    if flavor == "cris":
        kind = "cris"
    elif steps_over == 1:
        kind = "major"
    elif _numbers(to)[1] - _numbers(installed)[1] <= 1:
        kind = "patch"  # the next release of the line (DSpace numbers them x.y): 9.2 to 9.3
    else:
        kind = "minor"
    jump = _jump(installed, to, from_line, to_line, flavor)
    path.update(kind=kind, jumps=[jump], steps=_steps(path, jump, plan))
    return path


def old_plan(plan: Any, installed_version: Any) -> dict[str, Any]:
    """The plan of the release the host ran before the upgrade: the same instance (name,
    ports, directories, host runtimes) with that release's line, version and cores. A release
    of no managed line keeps the plan's line (the path refused it before any change)."""
    if not isinstance(plan, Mapping):
        raise UpgradeError("dspace_upgrade_old_plan: expected one instance plan")
    installed = str(installed_version or "").strip()
    flavor = str(plan.get("flavor", "dspace"))
    line = release_line(installed, flavor) or str(plan["line"])
    return {**plan, "release": installed, "line": line,
            "version": LINES[line].newest if flavor == "cris" else installed,
            "cores": list(_lines.line_cores(line, flavor))}


def running_plans(plans: Any, running: Any) -> list[dict[str, Any]]:
    """Each plan as its host runs it: the plan itself, or for an instance whose recorded
    release differs from the inventory's, the plan of the installed release (old_plan). What
    `up` gives host-level roles that must match the installed code, such as the Solr cores
    copied from each instance's [dspace]/solr (a 9.3 install has no audit core yet)."""
    table = running if isinstance(running, Mapping) else {}
    out = []
    for plan in plans or []:
        was = str(table.get(plan["name"]) or "").strip()
        out.append(old_plan(plan, was) if was and was != str(plan["release"]) else dict(plan))
    return out


def pending_upgrades(plans: Any, running: Any) -> list[dict[str, Any]]:
    """Instances whose inventory release differs from the release their host runs (an
    instance without a recorded release runs its inventory release: installed as before).
    An instance still on a line of another Solr major (8.4 -> 9.3) holds the host's Solr:
    one Solr server serves every instance of a host, and moving it is the upgrade's job."""
    table = running if isinstance(running, Mapping) else {}
    pending = []
    for plan in plans or []:
        was = str(table.get(plan["name"]) or "").strip()
        if not was or was == str(plan["release"]):
            continue
        was_line = release_line(was, str(plan.get("flavor", "dspace")))
        holds_solr = (was_line is None or
                      LINES[was_line].solr_major != _numbers(str(plan["solr_version"]))[0])
        pending.append({"instance": plan["name"], "running": was,
                        "inventory": str(plan["release"]), "holds_solr": holds_solr})
    return pending


def _name(flavor: str, version: str) -> str:
    return f"DSpace-CRIS {version}" if flavor == "cris" else f"DSpace {version}"


def _jump(frm: str, to: str, from_line: str, to_line: str, flavor: str) -> dict[str, Any]:
    old, new = LINES[from_line], LINES[to_line]
    solr_change = old.solr_major != new.solr_major
    major = from_line != to_line
    old_cores = set(_lines.line_cores(from_line, flavor))
    new_cores = sorted(set(_lines.line_cores(to_line, flavor)) - old_cores)
    toolchain = []
    if old.ui_package_manager != new.ui_package_manager:
        toolchain.append(f"{old.ui_package_manager} to {new.ui_package_manager}")
    if set(old.node_majors) != set(new.node_majors):
        toolchain.append("Node.js " + "/".join(str(n) for n in new.node_majors))
    return {
        "from": frm,
        "to": to,
        "from_line": from_line,
        "to_line": to_line,
        "solr_major_from": old.solr_major,
        "solr_major_to": new.solr_major,
        "java_min": _lines.java_min(to_line, flavor),
        "node_majors": list(new.node_majors),
        "new_cores": new_cores,
        # 8->9: Solr 9 and a new search schema; 9->10: *_s becomes multiValued (facts 1.4,
        # 1.5, 1.11). A patch keeps the schema (git diff dspace-9.2..9.3 -- dspace/solr is
        # whitespace only) but its migrations may change what is indexed: update the index.
        "rebuild_search": major,
        "search_reindex": "rebuild" if major else "update",
        "oai_import": major,
        "oai_import_clean": solr_change,  # new Solr major: the oai core starts empty
        "carry_solr_data": sorted(c for c in _lines.line_cores(to_line, flavor)
                                  if c in CARRIED_CORES and c in old_cores) if solr_change else [],
        "migrate_ignored_expected": (_has_backdated(to_line, flavor, to)
                                     and not _has_backdated(from_line, flavor, frm)),
        "ui_toolchain_change": ", ".join(toolchain),
        "ocr_plugin": str(CRIS[to_line].ocr_plugin) if flavor == "cris" else "",
    }


def _steps(path: Mapping[str, Any], jump: Mapping[str, Any], plan: Mapping[str, Any]) -> list[str]:
    """The jump in the words the plan shows, in phase order."""
    frm, to, flavor = path["from"], path["to"], path["flavor"]
    steps = [
        "show a maintenance page (HTTP 503, Retry-After) for the UI and the REST API",
        "pause the scheduled tasks and wait for running ones",
        "take a pre-upgrade snapshot (dspace-backup, tag pre-upgrade) and a local copy of the "
        "database and the Solr data",
        "stop the backend",
        f"install {_name(flavor, to)} beside {frm} (the old code is kept for rollback)",
    ]
    migrate = "migrate the database explicitly (database migrate, database info"
    if jump["migrate_ignored_expected"]:
        migrate += ", then migrate ignored for the back-dated migrations a plain migrate leaves " \
                   "Ignored"
    steps.append(migrate + ")")
    if jump["solr_major_from"] != jump["solr_major_to"]:
        carried = ", ".join(jump["carry_solr_data"])
        steps.append(f"move to Solr {jump['solr_major_to']}: export {carried}, install the "
                     f"new Solr server, create the cores from the new configsets, import and "
                     "compare the document counts")
    else:
        steps.append("update the Solr configsets of the instance's cores")
    if jump["new_cores"]:
        steps.append(f"create the new Solr core{'s' if len(jump['new_cores']) > 1 else ''} "
                     + ", ".join(jump["new_cores"]))
    steps.append(f"start the backend; it must report dspaceVersion {_reported(flavor, to)} and "
                 "a healthy actuator")
    if jump["rebuild_search"]:
        steps.append("rebuild the search index (index-discovery -b)")
    else:
        steps.append("update the search index (index-discovery)")
    if jump["oai_import"]:
        steps.append("rebuild OAI (oai import -c)" if jump["oai_import_clean"]
                     else "update OAI (oai import)")
    ui = f"install the {_name(flavor, to)} UI and switch to it; it must render through the proxy"
    if jump["ui_toolchain_change"]:
        ui += f" (UI toolchain: {jump['ui_toolchain_change']})"
    steps.append(ui)
    steps.append("remove the maintenance page, resume the scheduled tasks, run verify")
    return steps


def _reported(flavor: str, version: str) -> str:
    if flavor == "cris":
        line = _cris_line(version)
        return str(CRIS[line].dspace_version) if line else version
    return version


# ------------------------------------------------------------------------------------------------
# dspace_upgrade_prechecks


def _check(name: str, ok: bool, detail: str, fix: str = "") -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "detail": detail, "fix": "" if ok else fix}


def _unknown(name: str, what: str) -> dict[str, Any]:
    return _check(name, False, f"could not be checked: the host did not report {what}",
                  "rerun `dspace-deploy upgrade --plan`; if it persists, check the host "
                  "(the precheck phase's task output names what failed)")


def _missing(facts: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        if facts.get(key) is None:
            return key
    return None


def upgrade_prechecks(plan: Any, path: Any, host_facts: Any,
                      host_plans: Any = None) -> list[dict[str, Any]]:
    """Every precheck of one instance's upgrade, all evaluated (module docstring)."""
    if not isinstance(plan, Mapping) or not isinstance(path, Mapping):
        raise UpgradeError("dspace_upgrade_prechecks: expected a plan and its upgrade path")
    facts: Mapping[str, Any] = host_facts if isinstance(host_facts, Mapping) else {}
    plans = [p for p in host_plans or [] if isinstance(p, Mapping)]
    checks = [_check_path(path)]
    if path.get("kind") == "none" and path.get("supported"):
        return checks
    line, flavor, to = str(plan["line"]), str(path.get("flavor", "dspace")), str(path["to"])
    checks.append(_check_java(plan, facts, line, flavor))
    checks.append(_check_node(plan, facts, line))
    checks.append(_check_solr(plan, path, facts, line))
    jump = path["jumps"][0] if path.get("jumps") else None
    if jump and jump["solr_major_from"] != jump["solr_major_to"]:
        checks.append(_check_solr_host(plan, jump, facts, plans))
    checks.append(_check_disk(path, facts))
    checks.append(_check_health(facts))
    checks.append(_check_backup(plan, facts))
    checks.append(_check_keys("backend_config", "local.cfg", BACKEND_KEYS,
                              _backend_keys(plan, facts), line, flavor, to, facts,
                              "local_cfg_keys"))
    checks.append(_check_ui_keys(facts, line, flavor, to))
    if flavor == "cris":
        checks.append(_check_cris_jars(facts, line))
    checks.append(_check_record(plan, path, facts))
    return checks


def _check_path(path: Mapping[str, Any]) -> dict[str, Any]:
    if not path.get("supported"):
        return _check("path", False, str(path.get("reason")),
                      "change the instance's version in the inventory as the reason says")
    if path.get("kind") == "none":
        return _check("path", True, str(path.get("reason")))
    return _check("path", True, f"{path.get('kind')} upgrade {path.get('from')} to "
                                f"{path.get('to')}")


def _check_java(plan: Mapping[str, Any], facts: Mapping[str, Any], line: str,
                flavor: str) -> dict[str, Any]:
    if (key := _missing(facts, "java_majors", "os_major")) is not None:
        return _unknown("java", key)
    want = int(plan.get("java_major") or _lines.java_min(line, flavor))
    installed = [int(j) for j in facts["java_majors"]]
    return _check_runtime(
        "java", "Java", want, _list(installed), want in installed, int(facts["os_major"]), line,
        f"{_lines.release_name(line, flavor)} needs Java {_lines.java_min(line, flavor)}+, "
        f"the host's one JDK is {want}", "Adoptium Temurin")


def _check_node(plan: Mapping[str, Any], facts: Mapping[str, Any], line: str) -> dict[str, Any]:
    if (key := _missing(facts, "node_major", "os_major")) is not None:
        return _unknown("node", key)
    accepted = LINES[line].node_majors
    want = int(plan.get("node_major") or max(accepted))
    installed = int(facts["node_major"] or 0)
    return _check_runtime(
        "node", "Node.js", want, str(installed or ""), installed in accepted,
        int(facts["os_major"]), line, f"the DSpace {line} UI needs Node.js {_list(accepted)}",
        "NodeSource")


def _check_runtime(name: str, what: str, want: int, have: str, have_fits: bool,
                   os_major: int, line: str, needs: str, source: str) -> dict[str, Any]:
    """Java or Node.js: installed already, or from the host's Debian, or the way out."""
    packaged = _lines.DEBIAN_RUNTIMES.get(os_major, {}).get(name)
    if have_fits:
        return _check(name, True, f"{what} {have} is installed ({needs})")
    if packaged == want:
        return _check(name, True, f"{what} {want} will be installed from Debian {os_major}'s "
                                  f"own packages ({needs})")
    cannot = (f": Debian {os_major} cannot run DSpace {line} from its own packages"
              if os_major not in LINES[line].debian else "")
    return _check(
        name, False,
        f"{needs}; the host has {have or 'none'} and Debian {os_major} packages {what} "
        f"{packaged or '?'} only{cannot}",
        f"move the instance to a Debian {_debian_for(line)} host (a new host and a restore, or "
        f"upgrade the OS first), or add an APT source that provides {what} {want} (e.g. "
        f"{source}), run `apt-get update`, and plan again")


def _debian_for(line: str) -> str:
    return " or ".join(str(d) for d in LINES[line].debian)


def _list(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def _check_solr(plan: Mapping[str, Any], path: Mapping[str, Any], facts: Mapping[str, Any],
                line: str) -> dict[str, Any]:
    if (key := _missing(facts, "solr_version")) is not None:
        return _unknown("solr", key)
    want = LINES[line].solr_major
    target = str(plan.get("solr_version") or LINES[line].solr_version)
    running = str(facts["solr_version"])
    jump = path["jumps"][0] if path.get("jumps") else None
    if not running:
        return _check("solr", False, "no Solr server is installed on the host",
                      "run `dspace-deploy up` first to repair the host, then plan again")
    major = int(running.split(".")[0]) if running.split(".")[0].isdigit() else 0
    if jump and jump["solr_major_from"] != jump["solr_major_to"]:
        if major == jump["solr_major_from"]:
            return _check("solr", True, f"Solr {running} is replaced by Solr {target} in "
                                        "phase solr, its data carried over")
        if major != want:
            return _check("solr", False, f"the host runs Solr {running}; the jump expects "
                                         f"Solr {jump['solr_major_from']}",
                          "run `dspace-deploy check` to find out what installed it")
    if major != want:
        return _check("solr", False, f"the host runs Solr {running}; DSpace {line} needs "
                                     f"Solr {want}",
                      f"set solr_version to a Solr {want}.x release, or remove it")
    if want >= 9 and _numbers(running)[:2] >= (9, 8):
        enabled = facts.get("solr_lib_enabled")
        if enabled is None:
            return _unknown("solr", "solr_lib_enabled")
        if not enabled:
            return _check(
                "solr", False,
                f"Solr {running} runs without -Dsolr.config.lib.enabled=true: from 9.8 it "
                "ignores the <lib> directives of DSpace's configsets (ICU analysis classes "
                "missing; facts 1.4)",
                "run `dspace-deploy up` (the solr role sets it) and plan again")
    return _check("solr", True, f"Solr {running} serves DSpace {line}")


def _check_solr_host(plan: Mapping[str, Any], jump: Mapping[str, Any],
                     facts: Mapping[str, Any], plans: list[Mapping[str, Any]]) -> dict[str, Any]:
    """A new Solr major replaces the host's one Solr server: every instance must move."""
    others = facts.get("host_instances")
    if others is None:
        return _unknown("solr_host", "host_instances")
    targets = {str(p.get("name")): p for p in plans}
    staying = []
    for other in others:
        name = str(other.get("instance"))
        if name == str(plan.get("name")):
            continue
        running = str(other.get("running") or "")
        other_plan = targets.get(name)
        if other.get("upgrading") and other_plan is not None:
            after_line = str(other_plan["line"])
        else:
            after_line = release_line(running, str((other_plan or plan).get("flavor",
                                                                              "dspace")))
            if not running:
                after_line = str(other_plan["line"]) if other_plan else None
        if after_line is None or after_line not in LINES:
            continue
        if LINES[after_line].solr_major != jump["solr_major_to"]:
            staying.append(f"{name} ({running or 'new'} on DSpace {after_line})")
    if staying:
        return _check(
            "solr_host", False,
            f"Solr {jump['solr_major_from']} to {jump['solr_major_to']} replaces the host's one "
            f"Solr server, but {', '.join(staying)} would stay on Solr "
            f"{jump['solr_major_from']}",
            f"set line {jump['to_line']} (and its version) on every instance of the host and "
            "upgrade them in the same run: `dspace-deploy upgrade --limit HOST` without "
            "--instance")
    return _check("solr_host", True, f"every instance of the host moves to Solr "
                                     f"{jump['solr_major_to']} in this run")


def estimate(path: Any, host_facts: Any) -> dict[str, Any]:
    """Disk the upgrade needs per filesystem key, and a rough downtime in seconds."""
    facts: Mapping[str, Any] = host_facts if isinstance(host_facts, Mapping) else {}
    jumps = path.get("jumps") if isinstance(path, Mapping) else None
    jump = jumps[0] if jumps else None
    db = int(facts.get("db_bytes") or 0)
    solr = int(facts.get("solr_bytes") or 0)
    release = facts.get("release_bytes") or 0
    if isinstance(release, Mapping):
        backend, ui = int(release.get("backend") or 0), int(release.get("ui") or 0)
    else:
        backend, ui = int(release), 0
    solr_change = bool(jump) and jump["solr_major_from"] != jump["solr_major_to"]
    need = {
        # the new release beside the old one
        "dspace": backend,
        "ui": ui,
        # the snapshot's dump and Solr exports (staged under /var/lib), the local copy of the
        # database (CREATE DATABASE ... TEMPLATE) and of the Solr data dirs, and for a new
        # Solr major the carried cores exported once more
        "var": 2 * db + 2 * solr + (solr if solr_change else 0),
        "tmp": 0,
    }
    need = {k: int(v * _MARGIN) for k, v in need.items()}
    downtime = 0
    if jump:
        downtime = _FIXED_DOWNTIME_S + db // _DUMP_RATE + 2 * solr // _SOLR_COPY_RATE
        if jump["rebuild_search"]:
            downtime += db // _REINDEX_RATE
    return {"disk_needed_bytes": sum(need.values()), "disk_needed": need,
            "downtime_estimate_s": int(downtime)}


def _check_disk(path: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    if (key := _missing(facts, "free_bytes", "db_bytes", "solr_bytes",
                        "release_bytes")) is not None:
        return _unknown("disk", key)
    need = estimate(path, facts)["disk_needed"]
    free = facts["free_bytes"]
    fs = facts.get("filesystems") or {}
    groups: dict[str, list[str]] = {}
    for key in need:
        groups.setdefault(str(fs.get(key, key)), []).append(key)
    short = []
    for keys in groups.values():
        wanted = sum(need[k] for k in keys)
        if not wanted:
            continue
        have = [free.get(k) for k in keys if free.get(k) is not None]
        if not have:
            return _unknown("disk", f"free_bytes.{keys[0]}")
        if wanted > int(have[0]):
            short.append(f"{'+'.join(keys)}: needs {_size(wanted)}, {_size(int(have[0]))} free")
    total = sum(need.values())
    if short:
        return _check("disk", False,
                      f"not enough free disk for the dump, the Solr copies, the new release "
                      f"and the old one kept ({'; '.join(short)})",
                      "free space (old logs, old release copies under releases/) or grow "
                      "the filesystem, and plan again")
    return _check("disk", True, f"{_size(total)} needed, available")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _check_health(facts: Mapping[str, Any]) -> dict[str, Any]:
    if facts.get("healthy") is None:
        return _unknown("healthy", "healthy")
    if facts["healthy"]:
        return _check("healthy", True, "the instance answers (REST, actuator, UI)")
    return _check("healthy", False,
                  f"the instance is not healthy now: {facts.get('health_detail') or 'no detail'}",
                  "repair it first (`dspace-deploy status`, `dspace-deploy up`): an upgrade "
                  "starts from a healthy instance, the state a rollback returns to")


def _check_backup(plan: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    last = facts.get("last_backup")
    if not isinstance(last, Mapping):
        return _unknown("backup", "last_backup")
    name = plan.get("name")
    if last.get("ok") is None:
        return _check("backup", False, "no backup of the instance has run yet",
                      f"run `dspace-deploy backup --instance {name}` and plan again")
    if not last["ok"]:
        return _check("backup", False,
                      f"the latest backup ({last.get('finished') or 'time unknown'}) failed: "
                      f"{last.get('error') or 'no detail'}",
                      f"fix the backup (`dspace-deploy backup list` shows the targets), run "
                      f"`dspace-deploy backup --instance {name}`, and plan again")
    return _check("backup", True, f"the latest backup succeeded ({last.get('finished')})")


def _backend_keys(plan: Mapping[str, Any], facts: Mapping[str, Any]) -> list[str] | None:
    keys = facts.get("local_cfg_keys")
    if keys is None:
        return None
    return sorted({str(k) for k in keys} | {str(k) for k in plan.get("extra_config") or {}})


def _check_keys(name: str, where: str, table: tuple[dict[str, Any], ...],
                keys: list[str] | None, line: str, flavor: str, to: str,
                facts: Mapping[str, Any], fact: str) -> dict[str, Any]:
    if keys is None:
        return _unknown(name, fact)
    found, fixes = [], []
    present = set(keys)
    for entry in table:
        if not _gone(entry, line, flavor, to):
            continue
        hits = [k for k in entry["keys"] if k in present
                or any(p.startswith(k + ".") for p in present)]
        if hits:
            found.extend(hits)
            fixes.append(f"{', '.join(hits)}: {entry['fix']}")
    if found:
        return _check(name, False,
                      f"{where} sets {', '.join(found)}, which {_name(flavor, to)} renamed or "
                      "no longer reads",
                      "; ".join(fixes) + f" ({_OVERRIDES[name]} in the inventory)")
    return _check(name, True, f"no key of {where} is renamed or removed by {_name(flavor, to)}")


def _check_ui_keys(facts: Mapping[str, Any], line: str, flavor: str,
                   to: str) -> dict[str, Any]:
    keys = facts.get("ui_config_keys")
    result = _check_keys("ui_config", "the UI configuration", UI_KEYS,
                         None if keys is None else [str(k) for k in keys], line, flavor, to,
                         facts, "ui_config_keys")
    if keys is None:
        return result
    first = _BASE_URL_FROM.get(line)
    needs_base = flavor == "cris" or (first is not None and _numbers(to) >= _numbers(first))
    if needs_base and "ui.baseUrl" not in {str(k) for k in keys}:
        missing = ("the UI configuration has no ui.baseUrl, which " + _name(flavor, to)
                   + " requires (SSR only when the Host header matches it; redirects, "
                   "robots.txt)")
        fix = "run `dspace-deploy up` so the dspace_ui role writes it, and plan again"
        if result["ok"]:
            return _check("ui_config", False, missing, fix)
        result["detail"] += "; " + missing
        result["fix"] += "; " + fix
    return result


def _check_cris_jars(facts: Mapping[str, Any], line: str) -> dict[str, Any]:
    jars = facts.get("cris_jars")
    if jars == "source":
        return _check("cris_plugins", True, "not checked before the upgrade: no bundle, the "
                      "target is built on the host from source")
    if jars is None:
        return _unknown("cris_plugins", "cris_jars")
    jar = str(CRIS[line].ocr_plugin)
    if jar in {str(j) for j in jars}:
        return _check("cris_plugins", True, f"the ocr core's plugin {jar} is in the release")
    return _check("cris_plugins", False,
                  f"the target release lacks solr/ocr/lib/{jar}, the ocr core's plugin: its "
                  "core would not load (4Science/DSpace#495)",
                  "rebuild the bundle from the complete DSpace-CRIS source "
                  f"(`dspace-deploy build --line {line} --flavor cris`)")


def _check_record(plan: Mapping[str, Any], path: Mapping[str, Any],
                  facts: Mapping[str, Any]) -> dict[str, Any]:
    record = facts.get("record")
    if not isinstance(record, Mapping):
        return _unknown("record", "record")
    status = record.get("status")
    name = plan.get("name")
    if status == "running":
        if record.get("to") == path.get("to") and record.get("from") == path.get("from"):
            return _check("record", True,
                          f"an upgrade {record.get('from')} to {record.get('to')} was "
                          f"interrupted in phase {record.get('phase')}: this run resumes it "
                          "or rolls it back")
        return _check("record", False,
                      f"an upgrade {record.get('from')} to {record.get('to')} is unfinished "
                      f"(phase {record.get('phase')}, started {record.get('started')})",
                      f"finish it first: set version {record.get('to')} again and run "
                      f"`dspace-deploy upgrade --instance {name}`, or undo it with "
                      f"`dspace-deploy rollback --instance {name}`")
    if status == "rollback_failed":
        snap = record.get("snapshot") or {}
        return _check("record", False,
                      f"the rollback of the upgrade {record.get('from')} to "
                      f"{record.get('to')} failed ({(record.get('error') or {}).get('message')})",
                      f"set the inventory version back to {record.get('from')}, run `dspace-deploy "
                      f"up`, restore the pre-upgrade snapshot (`dspace-deploy restore --instance "
                      f"{name} --snapshot {snap.get('id')}`), then plan again")
    return _check("record", True, "no unfinished upgrade" if not status
                  else f"the last upgrade ended {status}")


def plan_report(plan: Any, host_facts: Any, host_plans: Any = None) -> dict[str, Any]:
    """One instance's entry of the plan-mode `dspace_upgrade_report`: the path from the
    installed release (host_facts.installed_version), every precheck, the estimate."""
    facts: Mapping[str, Any] = host_facts if isinstance(host_facts, Mapping) else {}
    path = upgrade_path(plan, facts.get("installed_version"))
    figures = estimate(path, facts)
    return {
        "instance": str(plan.get("name")),
        "from": path["from"],
        "to": path["to"],
        "kind": path["kind"],
        "supported": path["supported"],
        "reason": path["reason"],
        "steps": path["steps"],
        "jumps": path["jumps"],
        "prechecks": upgrade_prechecks(plan, path, facts, host_plans),
        "disk_needed_bytes": figures["disk_needed_bytes"] if path["jumps"] else 0,
        "downtime_estimate_s": figures["downtime_estimate_s"],
    }


class FilterModule:
    """Ansible's entry point for filter plugins."""

    def filters(self) -> dict[str, Any]:
        return {
            "dspace_upgrade_target": target_version,
            "dspace_upgrade_path": upgrade_path,
            "dspace_pending_upgrades": pending_upgrades,
            "dspace_running_plans": running_plans,
            "dspace_upgrade_old_plan": old_plan,
            "dspace_upgrade_prechecks": upgrade_prechecks,
            "dspace_upgrade_estimate": estimate,
            "dspace_upgrade_plan_report": plan_report,
        }
