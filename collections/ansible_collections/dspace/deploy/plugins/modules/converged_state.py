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
  - The stamp stores hashes only (the inputs with a random salt), as inputs may hold secrets,
    and the lists of paths and units it covers.
  - C(state=survey) looks at every stamp of the host in one call (the start of a run); for
    each, the live state of its paths and units, and the salted hash of its inputs, which
    the controller compares with the role's inputs (filter C(dspace.deploy.stamp_verdict)),
    so that a converged role costs no further call to the host.
  - C(state=survey) also reads the small text files given as I(records) (the instances'
    version records, for C(up)) and reports the host's memory size as the fact
    C(memtotal_mb) (as the C(hardware) subset of C(setup) computes it, the one hardware fact
    the roles use), so that the start of a run costs one call to the host and a C(setup) of
    the minimal subset.
version_added: "1.0.0"
author: dspace-deploy maintainers
options:
  name:
    description:
      - Stamp name, e.g. C(common) or C(dspace_ui-demo) (letters, digits, C(._-)).
      - Required unless I(state=survey).
    type: str
  state:
    description:
      - C(check) compares (never changes anything), C(stamp) writes the stamp when the stored
        one differs, C(absent) removes it, C(survey) reports every stamp of I(stamp_dir)
        (never changes anything).
    type: str
    choices: [check, stamp, absent, survey]
    default: check
  inputs:
    description: Any JSON data; only its salted hash is stored.
    type: raw
  paths:
    description:
      - Managed files and directories (absolute names). A file counts with its content, a
        directory with its own mode and owner only. A missing path is recorded as missing.
    type: list
    elements: str
    default: []
  trees:
    description: Directories whose whole content (recursively) counts, like I(paths).
    type: list
    elements: str
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
  records:
    description:
      - With I(state=survey), small text files to read along, a mapping of key to path; returned
        as I(records). At most 64 KiB of each is read.
    type: dict
    default: {}
  survey:
    description:
      - With I(state=stamp), after writing the stamp, also survey every stamp of I(stamp_dir)
        as I(state=survey) does (without I(records) and the memory fact), in the same call;
        the gate of the roles (C(dspace.deploy.action)) decides the later roles of a run from
        this survey, taken after the role's steps.
    type: bool
    default: false
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
  returned: state is not survey
stamps:
  description:
    - With I(state=survey), per stamp name, C(salt) and C(inputs) (the stored salted hash),
      C(spec) (the paths, trees, excluded names and units the stamp covers) and C(problem)
      (what differs on the host now, e.g. C(/etc/x changed) or C(solr is inactive); empty
      when nothing does).
  type: dict
  returned: state is survey, or state is stamp with survey
ansible_facts:
  description: With I(state=survey), C(memtotal_mb) (MiB, from C(/proc/meminfo)) when readable.
  type: dict
  returned: state is survey
records:
  description:
    - With I(state=survey), per key of I(records), the file's text without surrounding
      whitespace; the empty string when the file is missing or cannot be read.
  type: dict
  returned: state is survey
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

# 2: the stamp holds its spec (paths and units covered), so that a survey can re-check it.
STAMP_FORMAT = 2
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ACTIVE = {"active", "reloading"}
_ENABLED = {"enabled", "enabled-runtime", "alias"}

Runner = Callable[[list[str]], str]
SPEC_KEYS = ("paths", "trees", "exclude", "units_active", "units_enabled")


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
                  run: Runner = systemctl,
                  states: dict[str, list[dict[str, str]]] | None = None) -> str:
    """The first unit not in its wanted state, as a reason; '' when all are. A pattern must
    match at least one loaded unit, and every unit it matches must be in the state. `states`
    (from unit_states) saves the call to systemctl."""
    if states is None:
        states = unit_states(list(dict.fromkeys(units_active + units_enabled)), run)
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


def plain(data: Any) -> Any:
    """`data` as plain JSON types (mappings, sequences, strings of any subclass), so that the
    controller (filter stamp_verdict) hashes the inputs exactly as this module receives them."""
    if isinstance(data, dict) or hasattr(data, "items"):
        return {str(key): plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(item) for item in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int):
        return int(data)
    if isinstance(data, float):
        return float(data)
    return str(data)


def inputs_hash(inputs: Any, salt: str) -> str:
    """The salted hash of a role's inputs, as the stamp stores it."""
    return _hash(plain(inputs), salt)


def make_spec(paths: list[str], trees: list[str], exclude: list[str] | tuple[str, ...],
              units_active: list[str], units_enabled: list[str]) -> dict[str, list[str]]:
    """What a stamp covers, as stored in it (names only)."""
    return {"paths": [str(p) for p in paths], "trees": [str(t) for t in trees],
            "exclude": [str(e) for e in exclude],
            "units_active": [str(u) for u in units_active],
            "units_enabled": [str(u) for u in units_enabled]}


def spec_difference(stored: Any, spec: dict[str, list[str]]) -> str:
    """Why a stamp's stored spec differs from `spec` ('' when it does not)."""
    if not isinstance(stored, dict):
        return "managed paths changed"
    for key in ("paths", "trees", "exclude"):
        if stored.get(key) != spec[key]:
            return "managed paths changed"
    for key in ("units_active", "units_enabled"):
        if stored.get(key) != spec[key]:
            return "managed units changed"
    return ""


def stamp_problem(stored: dict[str, Any] | None) -> str:
    """Why a stamp cannot be compared at all ('' when it can)."""
    if stored is None:
        return "no stamp"
    if stored.get("format") != STAMP_FORMAT or not isinstance(stored.get("paths"), dict):
        if isinstance(stored.get("format"), int) and stored["format"] < STAMP_FORMAT:
            return "stamp of an older dspace-deploy"
        return "stamp unreadable"
    return ""


def compare(stored: dict[str, Any] | None, inputs: Any, paths: dict[str, str],
            spec: dict[str, list[str]]) -> str:
    """Why the host differs from the stamp ('' when it does not): stamp, inputs, what it
    covers, then paths."""
    problem = stamp_problem(stored)
    if problem or stored is None:
        return problem or "no stamp"
    if inputs_hash(inputs, stored.get("salt", "")) != stored.get("inputs"):
        return "inputs changed"
    covered = spec_difference(stored.get("spec"), spec)
    if covered:
        return covered
    return paths_difference(stored["paths"], paths)


def paths_difference(old: dict[str, str], paths: dict[str, str]) -> str:
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
    excluded = tuple(exclude or ())
    reason = compare(read_stamp(location), inputs, paths_digest(paths, trees, excluded),
                     make_spec(paths, trees, excluded, units_active, units_enabled))
    if not reason:
        reason = units_problem(units_active, units_enabled, run)
    return {"converged": not reason, "reason": reason, "stamp": location, "changed": False}


def stamp(name: str, inputs: Any, paths: list[str], trees: list[str], units_active: list[str],
          units_enabled: list[str], stamp_dir: str, exclude: list[str] | None = None,
          check_mode: bool = False, run: Runner = systemctl,
          then_survey: bool = False) -> dict[str, Any]:
    """state=stamp: write the stamp unless the stored one already matches; with
    `then_survey`, then survey every stamp of `stamp_dir` (its `stamps`) in the same call."""
    location = stamp_path(stamp_dir, name)
    stored = read_stamp(location)
    excluded = tuple(exclude or ())
    digests = paths_digest(paths, trees, excluded)
    spec = make_spec(paths, trees, excluded, units_active, units_enabled)
    reason = compare(stored, inputs, digests, spec)
    result: dict[str, Any] = {"stamp": location, "changed": bool(reason), "reason": reason}
    if reason and not check_mode:
        salt = (stored or {}).get("salt") or secrets.token_hex(16)
        write_stamp(location, {"format": STAMP_FORMAT, "salt": salt,
                               "inputs": inputs_hash(inputs, salt), "paths": digests,
                               "spec": spec})
    # Units are checked live on every probe; a unit not yet in its state is reported only.
    problem = units_problem(units_active, units_enabled, run)
    result["converged"] = not problem
    if problem:
        result["warnings"] = [f"stamp {name} written, but {problem}: the next run converges again"]
    if then_survey:
        result["stamps"] = survey(stamp_dir, run=run)["stamps"]
    return result


RECORD_LIMIT = 64 * 1024


def read_record(path: str) -> str:
    """A small text file's content without surrounding whitespace; '' when it is missing or
    cannot be read (as a version record that was never written)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(RECORD_LIMIT).strip()
    except (OSError, ValueError):
        return ""


def memory_facts(meminfo: str = "/proc/meminfo") -> dict[str, int]:
    """{memtotal_mb}: MemTotal in MiB, computed as setup's hardware subset does (kB // 1024);
    {} when /proc/meminfo cannot be read."""
    try:
        with open(meminfo, encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key == "MemTotal":
                    return {"memtotal_mb": int(value.split()[0]) // 1024}
    except (OSError, ValueError, IndexError):
        pass
    return {}


def survey(stamp_dir: str, run: Runner = systemctl,
           records: dict[str, str] | None = None,
           meminfo: str = "/proc/meminfo") -> dict[str, Any]:
    """state=survey: every stamp of `stamp_dir` with what differs on the host now (its paths,
    then its units: one systemctl call for the units of all stamps), and its salted inputs
    hash and spec for the controller to compare with the role's (filter stamp_verdict); and
    the text of each of `records` ({key: path}), so that the run needs no other call to read
    them; and the memory size as a fact, so that the run needs no hardware facts."""
    stored: dict[str, dict[str, Any]] = {}
    try:
        names = sorted(os.listdir(stamp_dir))
    except FileNotFoundError:
        names = []
    for entry in names:
        name, suffix = os.path.splitext(entry)
        if suffix == ".json" and _NAME.match(name):
            stored[name] = read_stamp(os.path.join(stamp_dir, entry)) or {}
    specs = {name: data["spec"] for name, data in stored.items()
             if not stamp_problem(data) and isinstance(data.get("spec"), dict)}
    units = [unit for spec in specs.values()
             for unit in list(spec.get("units_active", [])) + list(spec.get("units_enabled", []))]
    states = unit_states(list(dict.fromkeys(units)), run) if units else {}
    stamps = {}
    for name, data in stored.items():
        problem = stamp_problem(data)
        spec = specs.get(name)
        if not problem and spec is None:
            problem = "stamp unreadable"
        if not problem and spec is not None:
            problem = paths_difference(data["paths"], paths_digest(
                list(spec.get("paths", [])), list(spec.get("trees", [])),
                tuple(spec.get("exclude", []))))
            problem = problem or units_problem(list(spec.get("units_active", [])),
                                               list(spec.get("units_enabled", [])),
                                               states=states)
        stamps[name] = {"salt": data.get("salt", ""), "inputs": data.get("inputs", ""),
                        "spec": spec, "problem": problem}
    read = {str(key): read_record(str(path)) for key, path in (records or {}).items()}
    return {"stamps": stamps, "records": read, "ansible_facts": memory_facts(meminfo),
            "changed": False}


def verdict(survey_result: Any, name: str, inputs: Any,
            spec: dict[str, list[str]]) -> str:
    """Why a role differs from its stamp as surveyed at the start of the run ('' when it
    does not): the same reasons as check, in the same order, decided on the controller."""
    stamps = (survey_result or {}).get("stamps") or {}
    found = stamps.get(name)
    if found is None:
        return "no stamp"
    problem = str(found.get("problem") or "")
    if problem in ("no stamp", "stamp unreadable", "stamp of an older dspace-deploy"):
        return problem
    if inputs_hash(inputs, str(found.get("salt") or "")) != found.get("inputs"):
        return "inputs changed"
    return spec_difference(found.get("spec"), spec) or problem


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
            "name": {"type": "str"},
            "state": {"type": "str", "default": "check",
                      "choices": ["check", "stamp", "absent", "survey"]},
            "inputs": {"type": "raw"},
            # str, not path: the stamp holds the names as the role gives them, which the
            # controller compares with the role's own (stamp_verdict) without expanding them.
            "paths": {"type": "list", "elements": "str", "default": []},
            "trees": {"type": "list", "elements": "str", "default": []},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "units_active": {"type": "list", "elements": "str", "default": []},
            "units_enabled": {"type": "list", "elements": "str", "default": []},
            "stamp_dir": {"type": "path", "default": "/var/lib/dspace-deploy/stamps"},
            "records": {"type": "dict", "default": {}},
            "survey": {"type": "bool", "default": False},
        },
        required_if=[("state", "check", ["name"]), ("state", "stamp", ["name"]),
                     ("state", "absent", ["name"])],
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
            result = stamp(**common, check_mode=module.check_mode, then_survey=p["survey"])
        elif p["state"] == "survey":
            result = survey(p["stamp_dir"], records=p["records"])
        else:
            result = absent(p["name"], p["stamp_dir"], check_mode=module.check_mode)
    except (OSError, ValueError) as problem:
        what = p["name"] or p["stamp_dir"]
        module.fail_json(msg=f"converged_state {p['state']} {what}: {problem}")
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
