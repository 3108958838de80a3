#!/usr/bin/python
"""A set of systemd unit files converged in one call (dspace-deploy's roles' timers)."""
# ruff: noqa: E402  (Ansible modules carry their documentation before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: systemd_unit_set
short_description: Write, enable, start and prune a set of systemd unit files in one call
description:
  - Converges the unit files a role owns in one unit directory, in one call to the host
    instead of one module call per file and per unit (docs/performance.md).
  - Writes the units of I(units) whose content, mode or owner differ (each one through a
    temporary file renamed over it); leaves the others untouched.
  - Finds the units no longer wanted, the regular files of I(unit_dir) whose name matches
    one of I(patterns) and whose content holds the I(marker) line, and that I(units) does not
    name; stops and disables those that are timers (a run of their service in progress is left
    to finish), then removes their files. Files without the marker line are never touched,
    unless I(owned) names them.
  - Runs C(systemctl daemon-reload) once when a unit file was written or removed.
  - Enables and starts the units of I(active) that are not enabled or not active, asking
    systemd for the state of all of them (and of the timers it removes) in one
    C(systemctl show) call.
  - Restarts the units of I(active) whose file it wrote and which were active before. For
    a timer this re-arms it (its next run is computed from the new schedule) and never starts or
    stops the service it triggers, so a task in progress goes on.
  - In check mode it reports what it would do and changes nothing (it only asks systemd).
version_added: "1.0.0"
author: dspace-deploy maintainers
options:
  unit_dir:
    description: The directory of the unit files, e.g. C(/etc/systemd/system). It must exist.
    type: path
    required: true
  units:
    description:
      - The wanted units, file name to content, rendered on the controller (for
        instance with C(lookup('ansible.builtin.template', ...))).
      - Each name must match one of I(patterns) and each content must hold the I(marker) line,
        so that a later call finds the unit when it is no longer wanted.
    type: dict
    required: true
  marker:
    description:
      - The line (whole, without its newline) that marks the units this caller owns, for
        instance C(# dspace-deploy dspace_tasks instance) followed by the instance name.
    type: str
    required: true
  patterns:
    description:
      - Shell patterns of the names of the caller's units in I(unit_dir), e.g.
        C(dspace-repo-*.timer). A file that matches one, holds the marker line and is not in
        I(units) is removed.
    type: list
    elements: str
    required: true
  owned:
    description:
      - Exact names of unit files in I(unit_dir) that are the caller's even without the
        marker line (files an earlier version of the caller wrote before it had one). When
        I(units) does not name them they are removed like the caller's other units no longer
        wanted (a timer stopped and disabled first). Each must match one of I(patterns).
    type: list
    elements: str
    default: []
  active:
    description:
      - Units of I(units) to keep enabled and active (started), and to restart when their
        file changed while they were active.
      - Default every C(.timer) of I(units).
    type: list
    elements: str
  owner:
    description: Owner of the unit files (a name or a number).
    type: str
    default: root
  group:
    description: Group of the unit files (a name or a number).
    type: str
    default: root
  mode:
    description: Mode of the unit files, as an octal string.
    type: str
    default: "0644"
notes:
  - Supports check mode and diff mode. The diff shows the content of each unit written or
    removed, so keep secrets out of unit files, or set C(no_log) on the task.
"""

EXAMPLES = r"""
- name: Install, enable and start the timers of the instance's tasks; remove the others
  dspace.deploy.systemd_unit_set:
    unit_dir: /etc/systemd/system
    # Rendered on the controller: no call to the host per file.
    units:
      dspace-repo-checker.service: >-
        {{ lookup('ansible.builtin.template', 'task.service.j2',
                  template_vars={'task': 'checker'}) }}
      dspace-repo-checker.timer: >-
        {{ lookup('ansible.builtin.template', 'task.timer.j2',
                  template_vars={'task': 'checker'}) }}
    marker: "# dspace-deploy dspace_tasks instance: repo"
    patterns: [dspace-repo-*.service, dspace-repo-*.timer]
    # active: default every .timer of units
  register: _units
"""

RETURN = r"""
written:
  description: Unit files written (new, or whose content, mode or owner differed), sorted.
  type: list
  elements: str
  returned: always
removed:
  description: Unit files of units no longer wanted that were removed, sorted.
  type: list
  elements: str
  returned: always
stopped:
  description: Timers no longer wanted that were stopped and disabled before their removal.
  type: list
  elements: str
  returned: always
reloaded:
  description: Whether C(systemctl daemon-reload) ran.
  type: bool
  returned: always
enabled:
  description: Units of I(active) that were not enabled and were enabled.
  type: list
  elements: str
  returned: always
started:
  description: Units of I(active) that were not active and were started.
  type: list
  elements: str
  returned: always
rearmed:
  description: Units of I(active) restarted because their file changed while they were active.
  type: list
  elements: str
  returned: always
"""

import fnmatch
import os
import stat
import subprocess
from collections.abc import Callable, Collection
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dspace.deploy.plugins.module_utils.files import (
    FileAttributeError,
    file_mode,
    owner_ids,
    write_atomic,
)

_ACTIVE = {"active", "reloading"}
_ENABLED = {"enabled", "enabled-runtime", "alias"}
_PROPERTIES = "--property=Id,UnitFileState,ActiveState"

Runner = Callable[[list[str]], str]


class UnitSetError(Exception):
    """Bad input, or a systemctl call that failed: the module fails with its message."""


def systemctl(args: list[str]) -> str:
    """Run systemctl (from PATH) with `args`; its output, or UnitSetError when it fails."""
    try:
        done = subprocess.run(["systemctl", *args], capture_output=True, text=True,
                              check=False)
    except OSError as problem:
        raise UnitSetError(f"systemctl {args[0]} could not run: {problem}") from problem
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise UnitSetError(f"systemctl {' '.join(args)} failed: {message}")
    return done.stdout


def has_line(text: str, line: str) -> bool:
    return line in text.splitlines()


def check_input(units: dict[str, str], marker: str, patterns: list[str],
                active: list[str], owned: Collection[str] = ()) -> None:
    """UnitSetError naming the first unit that a later call could not manage."""
    if not marker.strip() or "\n" in marker:
        raise UnitSetError("marker must be one non-empty line")
    if not patterns:
        raise UnitSetError("patterns must name at least one pattern")
    for name, content in units.items():
        if (os.sep in name or name.startswith(".") or any(c in name for c in "*?[")
                or not name):
            raise UnitSetError(f"{name!r} is not a unit file name")
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            raise UnitSetError(f"{name} matches none of the patterns {', '.join(patterns)}")
        if not isinstance(content, str) or not has_line(content, marker):
            raise UnitSetError(f"{name} does not hold the marker line {marker!r}")
    for name in owned:
        if os.sep in name or not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            raise UnitSetError(f"owned names {name!r}, which matches none of the patterns "
                               f"{', '.join(patterns)}")
    unknown = sorted(set(active) - set(units))
    if unknown:
        raise UnitSetError(f"active names {', '.join(unknown)}, which units does not hold")


def current(path: str) -> tuple[os.stat_result | None, str | None]:
    """A unit file's lstat and text (None, None when missing; text None when not a file)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None, None
    if not stat.S_ISREG(info.st_mode):
        return info, None
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        return info, handle.read()


def differs(path: str, content: str, mode: int, uid: int, gid: int) -> bool:
    info, text = current(path)
    return (info is None or text != content or stat.S_IMODE(info.st_mode) != mode
            or info.st_uid != uid or info.st_gid != gid)


def stale_units(unit_dir: str, units: dict[str, str], marker: str,
                patterns: list[str], owned: Collection[str] = ()) -> list[str]:
    """The caller's unit files no longer wanted: names matching a pattern, regular files
    holding the marker line (or named in `owned`), not in `units`."""
    found = []
    for name in sorted(os.listdir(unit_dir)):
        if name in units or not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        _info, text = current(os.path.join(unit_dir, name))
        if text is not None and (name in owned or has_line(text, marker)):
            found.append(name)
    return found


def unit_states(units: list[str], run: Runner) -> dict[str, dict[str, str]]:
    """{unit: {Id, UnitFileState, ActiveState}} of every unit, in one `systemctl show` call
    (one block per unit, in order, also for a unit systemd does not know)."""
    if not units:
        return {}
    text = run(["show", _PROPERTIES, "--", *units]).strip()
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
              for block in text.split("\n\n")] if text else []
    if len(blocks) != len(units):
        raise UnitSetError(f"systemctl show answered {len(blocks)} blocks for "
                           f"{len(units)} units")
    return dict(zip(units, blocks, strict=True))


def converge(unit_dir: str, units: dict[str, str], marker: str, patterns: list[str],
             active: list[str] | None = None, owner: str = "root", group: str = "root",
             mode: str = "0644", check_mode: bool = False, diff: bool = False,
             run: Runner = systemctl, owned: Collection[str] = ()) -> dict[str, Any]:
    """Write, prune, reload, enable and start, re-arm: the module's whole work."""
    wanted_active = [u for u in units if u.endswith(".timer")] if active is None else active
    check_input(units, marker, patterns, wanted_active, owned)
    try:
        uid, gid = owner_ids(owner, group)
        bits = file_mode(mode)
    except FileAttributeError as problem:
        raise UnitSetError(str(problem)) from problem
    if not os.path.isdir(unit_dir):
        raise UnitSetError(f"the unit directory {unit_dir} does not exist")

    written = sorted(name for name, content in units.items()
                     if differs(os.path.join(unit_dir, name), content, bits, uid, gid))
    removed = stale_units(unit_dir, units, marker, patterns, owned)
    stale_timers = [name for name in removed if name.endswith(".timer")]
    states = unit_states(list(dict.fromkeys(wanted_active + stale_timers)), run)

    def is_active(unit: str) -> bool:
        return states[unit].get("ActiveState", "") in _ACTIVE

    def is_enabled(unit: str) -> bool:
        return states[unit].get("UnitFileState", "") in _ENABLED

    stopped = [u for u in stale_timers if is_active(u) or is_enabled(u)]
    enabled = [u for u in wanted_active if not is_enabled(u)]
    started = [u for u in wanted_active if not is_active(u)]
    # A unit just started runs with its new file already; only one that was active is
    # restarted (a timer re-armed: the service it triggers is neither started nor stopped).
    rearmed = [u for u in wanted_active if u in written and is_active(u)]
    result: dict[str, Any] = {
        "written": written, "removed": removed, "stopped": stopped,
        "reloaded": bool(written or removed), "enabled": enabled, "started": started,
        "rearmed": rearmed,
    }
    result["changed"] = bool(written or removed or stopped or enabled or started or rearmed)
    if diff:
        result["diff"] = [
            {"before_header": os.path.join(unit_dir, name), "after_header":
             os.path.join(unit_dir, name),
             "before": current(os.path.join(unit_dir, name))[1] or "",
             "after": units.get(name, "")}
            for name in written + removed]
    if check_mode:
        return result

    if stopped:
        run(["disable", "--now", "--", *stopped])
    for name in removed:
        os.unlink(os.path.join(unit_dir, name))
    for name in written:
        write_atomic(os.path.join(unit_dir, name), units[name], bits, uid, gid)
    if result["reloaded"]:
        run(["daemon-reload"])
    if enabled or started:
        run(["enable", "--now", "--", *dict.fromkeys(enabled + started)])
    if rearmed:
        run(["restart", "--", *rearmed])
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "unit_dir": {"type": "path", "required": True},
            "units": {"type": "dict", "required": True},
            "marker": {"type": "str", "required": True},
            "patterns": {"type": "list", "elements": "str", "required": True},
            "active": {"type": "list", "elements": "str"},
            "owned": {"type": "list", "elements": "str", "default": []},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str", "default": "0644"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = converge(p["unit_dir"], {str(k): v for k, v in p["units"].items()},
                          p["marker"], p["patterns"], p["active"], p["owner"], p["group"],
                          p["mode"], check_mode=module.check_mode, diff=module._diff,
                          owned=p["owned"])
    except (OSError, UnitSetError) as problem:
        module.fail_json(msg=f"systemd_unit_set {p['unit_dir']}: {problem}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
