#!/usr/bin/python
"""A set of directories and small files converged in one call, and the files no longer
wanted pruned (instead of one file/copy/template task or loop item per path)."""
# ruff: noqa: E402  (Ansible modules carry their documentation before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_set
short_description: Converge a set of directories and small files in one call, and prune others
description:
  - Converges, in one call to the host, directories and small files whose content was rendered
    on the controller (C(lookup('ansible.builtin.template', ...)) or a literal), instead of one
    C(file), C(copy) or C(template) task or loop item per path (docs/performance.md).
  - Directories come first, in the order of I(directories); each is created when missing (its
    parent must exist or come earlier in the list) and its mode, owner and group are fixed when
    they differ. A directory is never removed.
  - A file of I(files) with I(state=present) is written (through a temporary file renamed over
    it) when its content, mode, owner or group differ; its parent must exist or be in
    I(directories). A file with I(state=absent) is removed when it exists (a regular file or a
    symbolic link; a directory there is an error).
  - Each entry of I(prune) removes the regular files and symbolic links directly in its
    directory whose name matches one of its patterns and that I(files) does not list as
    present (not recursive).
  - Owner and group are compared by their numeric ids.
  - Bad input fails the module with one message before anything changes.
  - In check mode it reports what it would do and changes nothing. A user, group or parent
    directory that does not exist yet is then taken as one an earlier task of the same check
    run would have created (the file or directory counts as to be written or created).
version_added: "1.0.0"
author: dspace-deploy maintainers
options:
  directories:
    description: Directories to create or fix, in order (parents before children).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: str
        required: true
      mode:
        description: Mode as a quoted octal string, e.g. C("0755") or C("2750").
        type: str
        required: true
      owner:
        description: Owner, a user name or a number.
        type: str
        default: root
      group:
        description: Group, a group name or a number.
        type: str
        default: root
  files:
    description: Files to write or remove.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: str
        required: true
      state:
        description: Whether the file should exist.
        type: str
        choices: [present, absent]
        default: present
      content:
        description:
          - The exact content of the file (written as UTF-8). Required when present.
        type: str
      mode:
        description:
          - Mode as a quoted octal string, e.g. C("0644") or C("0600"). Required when present.
        type: str
      owner:
        description: Owner, a user name or a number.
        type: str
        default: root
      group:
        description: Group, a group name or a number.
        type: str
        default: root
      label:
        description:
          - A name returned in I(labels) when this file is written or removed, to tell
            handlers what changed.
        type: str
  prune:
    description: Directories in which files no longer wanted are removed.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description:
          - Absolute path of a directory; when it does not exist there is nothing to prune.
        type: str
        required: true
      patterns:
        description:
          - Shell patterns of the names to remove when I(files) does not list them as present.
        type: list
        elements: str
        required: true
      label:
        description: A name returned in I(labels) when this entry removes a file.
        type: str
notes:
  - Supports check mode and diff mode. The diff shows the content of each file written or
    removed, so a task whose files hold secrets sets C(no_log).
"""

EXAMPLES = r"""
- name: Configure chrony and the message of the day in one call
  dspace.deploy.file_set:
    directories:
      - {path: /etc/chrony/conf.d, mode: "0755"}
    files:
      # Rendered on the controller: no call to the host per file.
      - path: /etc/chrony/conf.d/dspace.conf
        content: "{{ lookup('ansible.builtin.template', 'chrony.conf.j2') }}"
        mode: "0644"
        label: chrony
      - path: /etc/motd
        content: "Managed by dspace-deploy\n"
        mode: "0644"
      - {path: /etc/chrony/conf.d/old.conf, state: absent, label: chrony}
    prune:
      - {path: /etc/chrony/conf.d, patterns: ["dspace-*.conf"], label: chrony}
  register: _common_files
  notify: Restart chrony

# handlers/main.yml
- name: Restart chrony
  ansible.builtin.systemd_service:
    name: chrony
    state: restarted
  when: "'chrony' in _common_files.labels"
"""

RETURN = r"""
directories:
  description: Directories created or whose mode, owner or group were fixed, sorted.
  type: list
  elements: str
  returned: always
written:
  description: Files written (new, or whose content, mode, owner or group differed), sorted.
  type: list
  elements: str
  returned: always
removed:
  description: Files removed, by I(state=absent) or by I(prune), sorted.
  type: list
  elements: str
  returned: always
labels:
  description:
    - The labels of the files written or removed (a file removed by I(prune) carries the
      prune entry's label), sorted, each once.
  type: list
  elements: str
  returned: always
"""

import fnmatch
import os
import re
import stat
from typing import Any, NamedTuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dspace.deploy.plugins.module_utils.files import (
    FileAttributeError,
    file_mode,
    group_id,
    user_id,
    write_atomic,
)

_MODE = re.compile(r"[0-7]{3,4}")
_KEYS = {
    "directories": {"path", "mode", "owner", "group"},
    "files": {"path", "state", "content", "mode", "owner", "group", "label"},
    "prune": {"path", "patterns", "label"},
}


class FileSetError(Exception):
    """Bad input, or a path that cannot be what it should: the module fails with its message."""


class Wanted(NamedTuple):
    """A directory or a file of the input, checked: its path normalised, mode bits, ids
    (-1 for a user or group not created yet, in check mode)."""

    path: str
    present: bool = True
    content: str = ""
    mode: int = 0
    uid: int = 0
    gid: int = 0
    label: str | None = None


def _where(option: str, index: int, entry: Any) -> str:
    path = entry.get("path") if isinstance(entry, dict) else None
    return f"{option}[{index}] ({path})" if path else f"{option}[{index}]"


def _mode(where: str, mode: Any) -> int:
    if not isinstance(mode, str) or not _MODE.fullmatch(mode):
        raise FileSetError(f"{where}: mode {mode!r} is not a quoted octal string such as "
                           "'0644', '0600' or '2750'")
    return file_mode(mode)


def _ids(where: str, entry: dict[str, Any], check_mode: bool) -> tuple[int, int]:
    """The entry's numeric owner and group; in check mode -1 (differs from every file) for a
    user or group not created yet (the run that would create it is a check too)."""
    ids = []
    for key, lookup in (("owner", user_id), ("group", group_id)):
        value = entry.get(key)
        value = "root" if value is None else value
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise FileSetError(f"{where}: {key} {value!r} is not a name or a number")
        try:
            ids.append(lookup(value))
        except FileAttributeError as problem:
            if not check_mode:
                raise FileSetError(f"{where}: {problem}") from None
            ids.append(-1)
    return ids[0], ids[1]


def _path(where: str, entry: Any, option: str) -> str:
    if not isinstance(entry, dict):
        raise FileSetError(f"{where}: each entry of {option} must be a dict, not {entry!r}")
    unknown = sorted(set(entry) - _KEYS[option])
    if unknown:
        raise FileSetError(f"{where}: unknown key {', '.join(map(str, unknown))} (known: "
                           f"{', '.join(sorted(_KEYS[option]))})")
    path = entry.get("path")
    if not isinstance(path, str) or not os.path.isabs(path):
        raise FileSetError(f"{where}: path {path!r} is not an absolute path")
    return os.path.normpath(path)


def _label(where: str, entry: dict[str, Any]) -> str | None:
    label = entry.get("label")
    if label is not None and (not isinstance(label, str) or not label):
        raise FileSetError(f"{where}: label {label!r} is not a non-empty string")
    return label


def check_input(directories: list[Any], files: list[Any], prune: list[Any],
                check_mode: bool = False
                ) -> tuple[list[Wanted], list[Wanted], list[tuple[str, list[str], str | None]]]:
    """The entries checked (FileSetError naming the first bad one): directories, files and
    prune entries (path, patterns, label)."""
    seen: set[str] = set()

    def once(where: str, path: str) -> None:
        if path in seen:
            raise FileSetError(f"{where}: {path} is listed twice")
        seen.add(path)

    wanted_dirs = []
    for index, entry in enumerate(directories):
        where = _where("directories", index, entry)
        path = _path(where, entry, "directories")
        once(where, path)
        uid, gid = _ids(where, entry, check_mode)
        wanted_dirs.append(Wanted(path, mode=_mode(where, entry.get("mode")), uid=uid, gid=gid))
    wanted_files = []
    for index, entry in enumerate(files):
        where = _where("files", index, entry)
        path = _path(where, entry, "files")
        once(where, path)
        state = entry.get("state") or "present"
        if state not in ("present", "absent"):
            raise FileSetError(f"{where}: state {state!r} is neither present nor absent")
        label = _label(where, entry)
        if state == "absent":
            wanted_files.append(Wanted(path, present=False, label=label))
            continue
        content = entry.get("content")
        if not isinstance(content, str):
            raise FileSetError(f"{where}: a present file needs its content (a string)")
        if entry.get("mode") is None:
            raise FileSetError(f"{where}: a present file needs its mode, e.g. '0644'")
        uid, gid = _ids(where, entry, check_mode)
        wanted_files.append(Wanted(path, content=content, mode=_mode(where, entry["mode"]),
                                   uid=uid, gid=gid, label=label))
    wanted_prune = []
    for index, entry in enumerate(prune):
        where = _where("prune", index, entry)
        path = _path(where, entry, "prune")
        patterns = entry.get("patterns")
        if (not isinstance(patterns, list) or not patterns
                or not all(isinstance(p, str) and p for p in patterns)):
            raise FileSetError(f"{where}: patterns must be a non-empty list of shell patterns")
        wanted_prune.append((path, patterns, _label(where, entry)))
    return wanted_dirs, wanted_files, wanted_prune


def lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def attributes_differ(info: os.stat_result, mode: int, uid: int, gid: int) -> bool:
    return stat.S_IMODE(info.st_mode) != mode or info.st_uid != uid or info.st_gid != gid


def read_text(path: str) -> str:
    """A file's content as the diff shows it (bytes that are no UTF-8 replaced)."""
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", errors="replace")


def file_differs(path: str, info: os.stat_result | None, want: Wanted) -> bool:
    if info is None or not stat.S_ISREG(info.st_mode):
        return True  # missing, or a symbolic link (or another kind) replaced by the file
    if attributes_differ(info, want.mode, want.uid, want.gid):
        return True
    if info.st_size != len(want.content.encode("utf-8", errors="surrogateescape")):
        return True
    with open(path, "rb") as handle:
        return handle.read() != want.content.encode("utf-8", errors="surrogateescape")


def plan(directories: list[Wanted], files: list[Wanted],
         prune: list[tuple[str, list[str], str | None]], check_mode: bool = False
         ) -> tuple[list[tuple[Wanted, bool]], list[Wanted], list[tuple[str, str | None]]]:
    """What to do, found without changing anything (FileSetError for a path that cannot be
    what it should): directories to create (True) or fix (False), files to write, and files
    to remove with their label."""
    made: set[str] = set()  # directories this call creates
    dir_work = []
    for want in directories:
        info = lstat(want.path)
        if info is not None and stat.S_ISLNK(info.st_mode) and os.path.isdir(want.path):
            info = os.stat(want.path)  # a link to a directory: the directory is fixed
        if info is None:
            parent = os.path.dirname(want.path)
            if not (parent in made or os.path.isdir(parent) or check_mode):
                raise FileSetError(f"directory {want.path}: its parent {parent} does not "
                                   "exist (list it earlier in directories)")
            made.add(want.path)
            dir_work.append((want, True))
        elif not stat.S_ISDIR(info.st_mode):
            raise FileSetError(f"directory {want.path}: a file is there, not a directory")
        elif attributes_differ(info, want.mode, want.uid, want.gid):
            dir_work.append((want, False))
    writes: list[Wanted] = []
    removals: list[tuple[str, str | None]] = []
    for want in files:
        info = lstat(want.path)
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise FileSetError(f"file {want.path}: a directory is there, not a file")
        if not want.present:
            if info is not None:
                removals.append((want.path, want.label))
            continue
        parent = os.path.dirname(want.path)
        if parent not in made and not os.path.isdir(parent) and not check_mode:
            raise FileSetError(f"file {want.path}: its directory {parent} does not exist "
                               "(list it in directories)")
        if file_differs(want.path, info, want):
            writes.append(want)
    listed = {want.path for want in files if want.present}
    pruned = {path for path, _label in removals}
    for directory, patterns, label in prune:
        info = lstat(directory)
        if info is None:
            continue
        if not os.path.isdir(directory):
            raise FileSetError(f"prune {directory}: not a directory")
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if (path in listed or path in pruned
                    or not any(fnmatch.fnmatchcase(name, p) for p in patterns)):
                continue
            kind = os.lstat(path).st_mode
            if stat.S_ISREG(kind) or stat.S_ISLNK(kind):
                pruned.add(path)
                removals.append((path, label))
    return dir_work, writes, removals


def converge(directories: list[Any], files: list[Any], prune: list[Any],
             check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
    """Check, plan, then create and fix, remove, write: the module's whole work."""
    dir_work, writes, removals = plan(*check_input(directories, files, prune, check_mode),
                                      check_mode=check_mode)
    labels = {want.label for want in writes} | {label for _gone, label in removals}
    result: dict[str, Any] = {
        "directories": sorted(want.path for want, _new in dir_work),
        "written": sorted(want.path for want in writes),
        "removed": sorted(path for path, _label in removals),
        "labels": sorted(label for label in labels if label),
    }
    result["changed"] = bool(dir_work or writes or removals)
    if diff:
        def before(path: str) -> str:
            info = lstat(path)
            return read_text(path) if info and stat.S_ISREG(info.st_mode) else ""

        result["diff"] = (
            [{"before_header": w.path, "after_header": w.path, "before": before(w.path),
              "after": w.content} for w in sorted(writes, key=lambda w: w.path)]
            + [{"before_header": path, "after_header": path, "before": before(path),
                "after": ""} for path in result["removed"]])
    if check_mode:
        return result

    for want, new in dir_work:
        if new:
            os.mkdir(want.path, 0o700)
        os.chown(want.path, want.uid, want.gid)
        os.chmod(want.path, want.mode)  # after chown, which may clear set-id bits
    for path, _label in removals:
        os.unlink(path)
    for want in writes:
        write_atomic(want.path, want.content, want.mode, want.uid, want.gid)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directories": {"type": "list", "elements": "dict", "default": []},
            "files": {"type": "list", "elements": "dict", "default": []},
            "prune": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = converge(p["directories"], p["files"], p["prune"],
                          check_mode=module.check_mode, diff=module._diff)
    except (OSError, FileSetError) as problem:
        module.fail_json(msg=f"file_set: {problem}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
