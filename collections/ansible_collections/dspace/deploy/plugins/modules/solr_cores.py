#!/usr/bin/python
"""A Solr server's cores (directory, core.properties, conf/) converged in one call (the role
solr's cores)."""
# ruff: noqa: E402  (Ansible modules carry their documentation before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: solr_cores
short_description: Converge the directories, core.properties and conf/ of Solr cores in one call
description:
  - Converges the cores of a standalone Solr server's home in one call to the host instead of
    one module call per core and per file (docs/performance.md).
  - First looks up every core's configuration source, C(<conf_source>/conf/solrconfig.xml),
    and fails naming every core whose source is missing, before anything is changed.
  - For each core of I(cores), C(<home>/<name>/) is a directory of I(owner), I(group), mode
    C(0750) (created, or its owner and mode corrected); C(<home>/<name>/core.properties) holds
    C(name=<name>), owned by I(owner), I(group), mode C(0640) (written through a temporary file
    renamed over it when its content, mode or owner differ).
  - C(<home>/<name>/conf/) is kept equal to C(<conf_source>/conf/) with
    C(rsync --recursive --links --checksum --delete --perms --chmod=D0750,F0640 --owner
    --group --chown=<owner>:<group> --itemize-changes), the names of I(exclude) left out, so a
    core's conf/ changes only when a file differs, is added or removed.
  - Nothing else is touched, C(<home>/<name>/data/) in particular, nor cores not listed.
  - It neither restarts nor reloads Solr; it returns which cores got a core.properties
    (Solr must restart for core discovery to load them) and which others had their conf/
    changed (to reload).
  - In check mode it reports what it would do and changes nothing (rsync runs with
    C(--dry-run)).
version_added: "1.0.0"
author: dspace-deploy maintainers
options:
  home:
    description: The Solr home (C(solr_home)), which must exist (in check mode it may be missing).
    type: path
    required: true
  cores:
    description:
      - The cores, each a dict with C(name) (the core's name and directory) and C(conf_source)
        (a directory on the host that holds C(conf/), e.g. C([dspace]/solr/search)).
    type: list
    elements: dict
    required: true
  owner:
    description: Owner of the core directories and files (a name or a number).
    type: str
    required: true
  group:
    description: Group of the core directories and files (a name or a number).
    type: str
    required: true
  exclude:
    description:
      - Names (rsync patterns) of C(conf/) left out of the copy and never deleted, e.g.
        C(reindex.flag), the marker DSpace writes after a migration.
    type: list
    elements: str
    default: []
notes:
  - Supports check mode. Needs C(rsync) on the host.
"""

EXAMPLES = r"""
- name: Install each core's directory, core.properties and conf/
  dspace.deploy.solr_cores:
    home: /var/solr/data
    cores:
      - {name: repo-search, conf_source: /srv/dspace/solr/search}
      - {name: repo-oai, conf_source: /srv/dspace/solr/oai}
    owner: solr
    group: solr
    exclude: [reindex.flag]
  register: _cores
  # _cores.properties: restart Solr; _cores.reload: reload these cores
"""

RETURN = r"""
created:
  description: Cores whose directory was created, in the order of I(cores).
  type: list
  elements: str
  returned: always
properties:
  description:
    - Cores whose core.properties was written (new, or whose content, mode or owner differed),
      in the order of I(cores). Solr loads a new core only when it starts.
  type: list
  elements: str
  returned: always
conf:
  description: Cores whose conf/ changed (a file differed, was added or removed), in order.
  type: list
  elements: str
  returned: always
reload:
  description: Cores of I(conf) that are not in I(properties) (to reload without a restart).
  type: list
  elements: str
  returned: always
fixed:
  description: Existing core directories whose owner or mode was corrected, in order.
  type: list
  elements: str
  returned: always
"""

import grp
import os
import pwd
import stat
import subprocess
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dspace.deploy.plugins.module_utils.files import write_atomic

DIR_MODE = 0o750
FILE_MODE = 0o640
_HINT = ("conf_source must be a directory on the host that holds conf/ (e.g. "
         "[dspace]/solr/search, installed by the DSpace backend).")


class CoresError(Exception):
    """Bad input, a missing source or a failed copy: the module fails with its message."""


def check_input(home: str, cores: list[dict[str, Any]], check_mode: bool = False) -> None:
    """CoresError naming the first bad entry, or every core whose source is missing. In
    check mode the home may be missing (the run that would create it is a check too)."""
    if not os.path.isdir(home) and not (check_mode and not os.path.lexists(home)):
        raise CoresError(f"the Solr home {home} does not exist")
    names = []
    for core in cores:
        name, source = core.get("name"), core.get("conf_source")
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name:
            raise CoresError(f"{name!r} is not a core name (cores entry {core!r})")
        if not isinstance(source, str) or not source:
            raise CoresError(f"core {name} has no conf_source")
        names.append(name)
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise CoresError(f"cores lists {', '.join(doubled)} more than once")
    missing = [f"Core {c['name']}: {c['conf_source']}/conf/solrconfig.xml does not exist."
               for c in cores if not os.path.isfile(f"{c['conf_source']}/conf/solrconfig.xml")]
    if missing:
        raise CoresError(" ".join([*missing, _HINT]))


def owner_ids(owner: str, group: str, check_mode: bool = False) -> tuple[int, int]:
    """The numeric owner and group; in check mode -1 (differs from every file) for a user or
    group not created yet (the run that would create it is a check too)."""
    try:
        uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
        gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError as problem:
        if check_mode:
            return -1, -1
        raise CoresError(f"no such user or group: {problem}") from problem
    return uid, gid


def attributes_differ(info: os.stat_result, mode: int, uid: int, gid: int) -> bool:
    return stat.S_IMODE(info.st_mode) != mode or info.st_uid != uid or info.st_gid != gid


def directory_state(path: str, uid: int, gid: int) -> str:
    """`missing`, `fix` (owner or mode differ) or `ok`; CoresError when not a directory."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    if not stat.S_ISDIR(info.st_mode):
        raise CoresError(f"{path} exists and is not a directory")
    return "fix" if attributes_differ(info, DIR_MODE, uid, gid) else "ok"


def properties_differ(path: str, content: str, uid: int, gid: int) -> bool:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    if not stat.S_ISREG(info.st_mode) or attributes_differ(info, FILE_MODE, uid, gid):
        return True
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        return handle.read() != content


def rsync_argv(source: str, dest: str, owner: str, group: str, exclude: list[str],
               dry_run: bool) -> list[str]:
    """The copy of a core's conf/ (the same as dspace-solr-upgrade's sync_conf)."""
    return (["rsync", "--recursive", "--links", "--checksum", "--delete", "--perms",
             "--chmod=D0750,F0640", "--owner", "--group", f"--chown={owner}:{group}",
             "--itemize-changes"]
            + [f"--exclude={pattern}" for pattern in exclude]
            + (["--dry-run"] if dry_run else [])
            + [f"{source}/conf/", f"{dest}/conf/"])


def sync_conf(argv: list[str]) -> bool:
    """Run rsync; whether it changed (or, dry, would change) anything."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as problem:
        raise CoresError(f"rsync could not run: {problem}") from problem
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise CoresError(f"{' '.join(argv)} failed: {message}")
    return bool(done.stdout.strip())


def converge(home: str, cores: list[dict[str, Any]], owner: str, group: str,
             exclude: list[str] | None = None, check_mode: bool = False) -> dict[str, Any]:
    """Directories, core.properties and conf/ of every core: the module's whole work."""
    check_input(home, cores, check_mode)
    uid, gid = owner_ids(owner, group, check_mode)
    created: list[str] = []
    fixed: list[str] = []
    properties: list[str] = []
    conf: list[str] = []
    for core in cores:
        name = core["name"]
        path = os.path.join(home, name)
        state = directory_state(path, uid, gid)
        if state == "missing":
            created.append(name)
            if not check_mode:
                os.mkdir(path, DIR_MODE)
        elif state == "fix":
            fixed.append(name)
        if state != "ok" and not check_mode:
            os.chown(path, uid, gid)
            os.chmod(path, DIR_MODE)
        content = f"name={name}\n"
        target = os.path.join(path, "core.properties")
        if properties_differ(target, content, uid, gid):
            properties.append(name)
            if not check_mode:
                write_atomic(target, content, FILE_MODE, uid, gid)
        if check_mode and (state == "missing" or uid < 0):
            conf.append(name)  # nothing to compare with: all of conf/ would be copied
        elif sync_conf(rsync_argv(core["conf_source"], path, owner, group, exclude or [],
                                  check_mode)):
            conf.append(name)
    return {
        "changed": bool(created or fixed or properties or conf),
        "created": created, "fixed": fixed, "properties": properties, "conf": conf,
        "reload": [name for name in conf if name not in properties],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "home": {"type": "path", "required": True},
            "cores": {"type": "list", "elements": "dict", "required": True},
            "owner": {"type": "str", "required": True},
            "group": {"type": "str", "required": True},
            "exclude": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = converge(p["home"], p["cores"], p["owner"], p["group"], p["exclude"],
                          check_mode=module.check_mode)
    except (OSError, CoresError) as problem:
        module.fail_json(msg=f"solr_cores {p['home']}: {problem}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
