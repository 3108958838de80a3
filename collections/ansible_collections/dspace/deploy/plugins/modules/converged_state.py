#!/usr/bin/python
"""Converged-state stamps of dspace-deploy's roles (the fast path of a re-run)."""
# ruff: noqa: E402  (Ansible modules carry their documentation before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: converged_state
short_description: Tell whether a role's managed state is unchanged since its last full run
description:
  - Computes a digest of what a role manages on the host (files and directories with their
    content hash, mode and ownership) together with a hash of the role's inputs (its
    parameters, the hash of its code, the host facts it uses), and compares it with the stamp
    the role wrote at the end of its last successful run, in
    C(/var/lib/dspace-deploy/stamps/<name>.json).
  - Units are checked live on every probe (one C(systemctl show) call for all of them).
  - The stamp stores hashes only (the inputs with a random salt), as inputs may hold secrets.
version_added: "1.0.0"
author: dspace-deploy maintainers
options:
  name:
    description: Stamp name, e.g. C(common) or C(dspace_ui-demo) (letters, digits, C(._-)).
    type: str
    required: true
  state:
    description:
      - C(check) compares (never changes anything), C(stamp) writes the stamp when the stored
        one differs, C(absent) removes it.
    type: str
    choices: [check, stamp, absent]
    default: check
  inputs:
    description: Any JSON data; only its salted hash is stored.
    type: raw
  paths:
    description:
      - Managed files and directories. A file counts with its content, a directory with its
        own mode and owner only. A missing path is recorded as missing.
    type: list
    elements: path
    default: []
  trees:
    description: Directories whose whole content (recursively) counts, like I(paths).
    type: list
    elements: path
    default: []
  exclude:
    description: Names (shell patterns) left out of I(trees), e.g. markers another program writes.
    type: list
    elements: str
    default: []
  units_active:
    description:
      - Units that must be active (ActiveState active or reloading).
      - A shell pattern (e.g. C(postgresql@*-main.service)) must match at least one loaded unit,
        and every unit it matches must be active.
    type: list
    elements: str
    default: []
  units_enabled:
    description: Units that must be enabled at boot.
    type: list
    elements: str
    default: []
  stamp_dir:
    description: Directory of the stamps.
    type: path
    default: /var/lib/dspace-deploy/stamps
"""

EXAMPLES = r"""
- name: Probe whether Solr is converged
  dspace.deploy.converged_state:
    name: solr
    inputs: "{{ {'params': solr_params, 'code': role_path | dspace.deploy.content_hash} }}"
    paths: [/etc/default/solr.in.sh, /etc/systemd/system/solr.service]
    units_active: [solr]
    units_enabled: [solr]
  register: _solr_state

- name: Stamp the converged state of Solr
  dspace.deploy.converged_state:
    name: solr
    state: stamp
    inputs: "{{ {'params': solr_params, 'code': role_path | dspace.deploy.content_hash} }}"
    paths: [/etc/default/solr.in.sh, /etc/systemd/system/solr.service]
    units_active: [solr]
    units_enabled: [solr]
"""

RETURN = r"""
converged:
  description: Whether the stamp matches the host (state check and stamp, before writing).
  type: bool
  returned: always
reason:
  description:
    - What differs, e.g. C(no stamp), C(inputs changed), C(/etc/x changed), C(solr is inactive).
    - Empty when converged.
  type: str
  returned: always
stamp:
  description: Path of the stamp file.
  type: str
  returned: always
"""

import fnmatch
import hashlib
import json
import os
import re
import secrets
import stat
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule

STAMP_FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ACTIVE = {"active", "reloading"}
_ENABLED = {"enabled", "enabled-runtime", "alias"}

Runner = Callable[[list[str]], str]


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(path: str) -> dict[str, Any]:
    """One path's record: type, mode, owner, group, and content hash (file) or target (link)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    record: dict[str, Any] = {
        "exists": True,
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
        "uid": info.st_uid,
        "gid": info.st_gid,
    }
    if stat.S_ISLNK(info.st_mode):
        record["type"] = "link"
        record["target"] = os.readlink(path)
    elif stat.S_ISDIR(info.st_mode):
        record["type"] = "directory"
    elif stat.S_ISREG(info.st_mode):
        record["type"] = "file"
        record["sha256"] = _sha256_file(path)
    else:
        record["type"] = "other"
    return record


def path_record(path: str, recurse: bool = False,
                exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record of a path; with recurse, a directory's entries (relative names) as well,
    leaving out entries whose name matches a pattern of `exclude`."""
    record = _entry(path)
    if recurse and record.get("type") == "directory":
        entries: dict[str, Any] = {}
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not _excluded(d, exclude))
            for name in sorted(dirs + [f for f in files if not _excluded(f, exclude)]):
                full = os.path.join(root, name)
                entries[os.path.relpath(full, path)] = _entry(full)
        record["entries"] = entries
    return record


def _excluded(name: str, exclude: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)


def _hash(data: Any, salt: str = "") -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((salt + text).encode("utf-8")).hexdigest()


def paths_digest(paths: list[str], trees: list[str],
                 exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """{path: hash of its record}; trees count recursively (without excluded names)."""
    result = {p: _hash(path_record(p)) for p in paths}
    result.update({p: _hash(path_record(p, True, exclude)) for p in trees})
    return result


def systemctl(args: list[str]) -> str:
    done = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)
    return done.stdout


def _is_pattern(unit: str) -> bool:
    return any(c in unit for c in "*?[")


def _blocks(output: str) -> list[dict[str, str]]:
    text = output.strip()
    if not text:
        return []
    return [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            for block in text.split("\n\n")]


def unit_states(units: list[str], run: Runner = systemctl) -> dict[str, list[dict[str, str]]]:
    """{unit: [{Id, ActiveState, UnitFileState, LoadState}, ...]}: one `systemctl show` call
    for the plain names (one block each, in order), one more only when there are patterns
    (e.g. postgresql@*-main.service: the loaded units whose Id matches)."""
    plain = [u for u in units if not _is_pattern(u)]
    patterns = [u for u in units if _is_pattern(u)]
    props = ["--property=Id,LoadState,ActiveState,UnitFileState"]
    states: dict[str, list[dict[str, str]]] = {}
    if plain:
        blocks = _blocks(run(["show", *props, "--", *plain]))
        for unit, block in zip(plain, blocks, strict=False):
            states[unit] = [block]
    if patterns:
        blocks = _blocks(run(["show", *props, "--", *patterns]))
        for pattern in patterns:
            states[pattern] = [b for b in blocks if fnmatch.fnmatchcase(b.get("Id", ""), pattern)]
    for unit in units:
        states.setdefault(unit, [{}])
    return states


def units_problem(units_active: list[str], units_enabled: list[str],
                  run: Runner = systemctl) -> str:
    """The first unit not in its wanted state, as a reason; '' when all are. A pattern must
    match at least one loaded unit, and every unit it matches must be in the state."""
    wanted = list(dict.fromkeys(units_active + units_enabled))
    states = unit_states(wanted, run)
    for unit in units_active:
        if not states[unit]:
            return f"no unit {unit} is loaded"
        for found in states[unit]:
            active = found.get("ActiveState", "") or "unknown"
            if active not in _ACTIVE:
                return f"{found.get('Id') if _is_pattern(unit) else unit} is {active}"
    for unit in units_enabled:
        for found in states[unit]:
            enabled = found.get("UnitFileState", "") or "not installed"
            if enabled not in _ENABLED:
                return f"{found.get('Id') if _is_pattern(unit) else unit} is {enabled}"
    return ""


def stamp_path(stamp_dir: str, name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"stamp name {name!r} may hold letters, digits and ._- only")
    return os.path.join(stamp_dir, f"{name}.json")


def read_stamp(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def compare(stored: dict[str, Any] | None, inputs: Any, paths: dict[str, str]) -> str:
    """Why the host differs from the stamp ('' when it does not): stamp, inputs, then paths."""
    if stored is None:
        return "no stamp"
    if stored.get("format") != STAMP_FORMAT or not isinstance(stored.get("paths"), dict):
        return "stamp unreadable"
    if _hash(inputs, stored.get("salt", "")) != stored.get("inputs"):
        return "inputs changed"
    old = stored["paths"]
    if set(old) != set(paths):
        return "managed paths changed"
    for path, digest in paths.items():
        if old[path] != digest:
            return f"{path} changed"
    return ""


def check(name: str, inputs: Any, paths: list[str], trees: list[str], units_active: list[str],
          units_enabled: list[str], stamp_dir: str, exclude: list[str] | None = None,
          run: Runner = systemctl) -> dict[str, Any]:
    """state=check: {converged, reason, stamp}."""
    location = stamp_path(stamp_dir, name)
    reason = compare(read_stamp(location), inputs,
                     paths_digest(paths, trees, tuple(exclude or ())))
    if not reason:
        reason = units_problem(units_active, units_enabled, run)
    return {"converged": not reason, "reason": reason, "stamp": location, "changed": False}


def stamp(name: str, inputs: Any, paths: list[str], trees: list[str], units_active: list[str],
          units_enabled: list[str], stamp_dir: str, exclude: list[str] | None = None,
          check_mode: bool = False, run: Runner = systemctl) -> dict[str, Any]:
    """state=stamp: write the stamp unless the stored one already matches."""
    location = stamp_path(stamp_dir, name)
    stored = read_stamp(location)
    digests = paths_digest(paths, trees, tuple(exclude or ()))
    reason = compare(stored, inputs, digests)
    result: dict[str, Any] = {"stamp": location, "changed": bool(reason), "reason": reason}
    if reason and not check_mode:
        salt = (stored or {}).get("salt") or secrets.token_hex(16)
        write_stamp(location, {"format": STAMP_FORMAT, "salt": salt,
                               "inputs": _hash(inputs, salt), "paths": digests})
    # Units are checked live on every probe; a unit not yet in its state is reported only.
    problem = units_problem(units_active, units_enabled, run)
    result["converged"] = not problem
    if problem:
        result["warnings"] = [f"stamp {name} written, but {problem}: the next run converges again"]
    return result


def write_stamp(location: str, data: dict[str, Any]) -> None:
    directory = os.path.dirname(location)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=directory, prefix=".stamp-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True, indent=1)
            out.write("\n")
        os.chmod(temp, 0o600)
        os.replace(temp, location)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def absent(name: str, stamp_dir: str, check_mode: bool = False) -> dict[str, Any]:
    location = stamp_path(stamp_dir, name)
    exists = os.path.lexists(location)
    if exists and not check_mode:
        os.unlink(location)
    return {"changed": exists, "converged": False, "reason": "no stamp", "stamp": location}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "default": "check", "choices": ["check", "stamp", "absent"]},
            "inputs": {"type": "raw"},
            "paths": {"type": "list", "elements": "path", "default": []},
            "trees": {"type": "list", "elements": "path", "default": []},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "units_active": {"type": "list", "elements": "str", "default": []},
            "units_enabled": {"type": "list", "elements": "str", "default": []},
            "stamp_dir": {"type": "path", "default": "/var/lib/dspace-deploy/stamps"},
        },
        supports_check_mode=True,
    )
    p = module.params
    common = {"name": p["name"], "inputs": p["inputs"], "paths": p["paths"], "trees": p["trees"],
              "exclude": p["exclude"], "units_active": p["units_active"],
              "units_enabled": p["units_enabled"],
              "stamp_dir": p["stamp_dir"]}
    try:
        if p["state"] == "check":
            result = check(**common)
        elif p["state"] == "stamp":
            result = stamp(**common, check_mode=module.check_mode)
        else:
            result = absent(p["name"], p["stamp_dir"], check_mode=module.check_mode)
    except (OSError, ValueError) as problem:
        module.fail_json(msg=f"converged_state {p['state']} {p['name']}: {problem}")
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
