#!/usr/bin/python
"""An archive unpacked once into a directory named after its SHA-256, verified and moved into
place whole (dspace-deploy's installer and UI releases)."""
# ruff: noqa: E402  (Ansible modules carry their documentation before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: staged_archive
short_description: Copy, verify and unpack an archive once, into a directory named after its SHA-256
description:
  - Installs the tree of a C(.tar.gz) archive as I(root)/<first I(digits) hex digits of the
    archive's SHA-256>, in one task instead of a stat, copy, checksum, unpack, check and move
    each (docs/performance.md).
  - The directory counts as installed when I(require) exists in it. Then nothing is copied or
    changed; the task reports C(changed=false).
  - Otherwise the archive is copied from the controller to a temporary file on the host (with
    I(remote_src), the host's file is used), its SHA-256 is compared with the controller's
    (or with I(checksum)), it is unpacked into the scratch directory
    I(root)/.<name>.unpacking, its layout is checked (I(require), and with I(top) one top
    directory), and the tree is renamed into place; the scratch directory is removed. A
    failure at any step leaves nothing at I(root)/<name>, so an interrupted or refused
    unpack never looks installed.
  - The installed directory gets mode 0755 and the modification time of the installation.
  - An action plugin of the same name does the controller's part (the checksum, the missing
    file, the transfer only when the directory is not installed yet).
  - In check mode it reports whether it would install (the archive is neither copied nor
    unpacked).
version_added: "1.1.0"
author: dspace-deploy maintainers
options:
  src:
    description:
      - The archive, an absolute path on the controller (on the host with I(remote_src)).
    type: path
    required: true
  remote_src:
    description: Whether I(src) is on the host (nothing is copied from the controller).
    type: bool
    default: false
  checksum:
    description:
      - The SHA-256 I(src) must have on the host. Set by the action plugin to the
        controller's file's; with I(remote_src) optional.
    type: str
  root:
    description:
      - The directory that holds the installed trees. Created (mode 0755, owned by root)
        when missing.
    type: path
    required: true
  digits:
    description: How many hex digits of the SHA-256 name the installed directory (1 to 64).
    type: int
    default: 64
  top:
    description:
      - false, the installed directory holds what the archive holds at its top.
      - true, the archive must hold one top directory (whatever its name), which becomes the
        installed directory.
    type: bool
    default: false
  require:
    description:
      - A path relative to the installed directory that must exist in the archive, e.g.
        C(dist/server/main.js). Its presence also tells that the directory is installed.
    type: str
    required: true
  owner:
    description: Owner of every unpacked file and directory (a name or a number).
    type: str
    default: root
  group:
    description:
      - Group of every unpacked file and directory (a name or a number). Default the
        group the archive records.
    type: str
  missing_msg:
    description:
      - The failure message when I(src) is not an absolute path of a regular file. Default
        a sentence naming I(src).
    type: str
  layout_hint:
    description:
      - A sentence appended to the failure message of an archive without the expected layout.
    type: str
notes:
  - Supports check mode.
  - The archive is unpacked with GNU tar as root (owners and modes as recorded, then
    I(owner) and I(group) applied to the whole tree).
"""

EXAMPLES = r"""
- name: Copy, verify and unpack the installer (once per checksum)
  dspace.deploy.staged_archive:
    src: /srv/bundles/dspace-9.3/dspace-installer.tar.gz
    root: /var/cache/dspace-deploy/dspace-installer
    require: dspace-installer/build.xml
    owner: dspace
    missing_msg: The installer is not a file on the controller.
  register: _installer
  # _installer.path ~ '/dspace-installer' is the installer; _installer.checksum its SHA-256

- name: Unpack a UI release whose one top directory holds dist/server/main.js
  dspace.deploy.staged_archive:
    src: /srv/bundles/dspace-9.3/ui/dspace-ui.tar.gz
    root: /srv/dspace-ui/repo/releases
    digits: 16
    top: true
    require: dist/server/main.js
    owner: root
    group: root
"""

RETURN = r"""
checksum:
  description: The archive's SHA-256 (hex).
  type: str
  returned: success
path:
  description: The installed directory, I(root)/<name>.
  type: str
  returned: success
"""

import grp
import hashlib
import os
import pwd
import shutil
import subprocess
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC: dict[str, Any] = {
    "src": {"type": "path", "required": True},
    "remote_src": {"type": "bool", "default": False},
    "checksum": {"type": "str"},
    "root": {"type": "path", "required": True},
    "digits": {"type": "int", "default": 64},
    "top": {"type": "bool", "default": False},
    "require": {"type": "str", "required": True},
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str"},
    "missing_msg": {"type": "str"},
    "layout_hint": {"type": "str"},
}


class Refused(Exception):
    """A failure with its message for the user; nothing is left installed."""


def sha256(path: str) -> str:
    """The file's SHA-256 (hex). Python 3.11+ (Debian 12 and 13)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def destination(root: str, checksum: str, digits: int) -> str:
    if not 1 <= digits <= 64:
        raise Refused(f"digits is {digits}; give 1 to 64.")
    return os.path.join(root, checksum[:digits])


def installed(dest: str, require: str) -> bool:
    return os.path.lexists(os.path.join(dest, require))


def _uid(owner: str) -> int:
    return int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid


def _gid(group: str | None) -> int:
    if group is None:
        return -1
    return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid


def _chown_tree(top: str, uid: int, gid: int) -> None:
    os.lchown(top, uid, gid)
    for base, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(os.path.join(base, name), uid, gid)


def _makedirs(path: str) -> None:
    """Create path and its missing parents, mode 0755, owned by root."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        os.mkdir(directory)
        os.chmod(directory, 0o755)
        os.chown(directory, 0, 0)


def install(params: dict[str, Any], src: str, checksum: str, dest: str) -> None:
    """Unpack src into a scratch directory, check its layout and rename the tree to dest."""
    try:
        uid, gid = _uid(params["owner"]), _gid(params["group"])
    except KeyError as error:
        raise Refused(f"No such user or group on the host: {error}.") from None
    root, name = os.path.split(dest)
    _makedirs(root)
    scratch = os.path.join(root, f".{name}.unpacking")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        os.mkdir(scratch)
        os.chmod(scratch, 0o755)
        os.lchown(scratch, uid, gid)
        done = subprocess.run(["tar", "--extract", "--file", src, "--directory", scratch],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Refused(f"The archive {params['src']} (SHA-256 {checksum}) could not be "
                          f"unpacked: {done.stderr.strip() or f'tar exited {done.returncode}'}. "
                          "Nothing was installed.")
        unpacked = scratch
        entries = sorted(os.listdir(scratch))
        single = os.path.join(scratch, entries[0]) if len(entries) == 1 else ""
        if params["top"] and os.path.isdir(single) and not os.path.islink(single):
            unpacked = single
        if (params["top"] and unpacked == scratch) or not installed(unpacked, params["require"]):
            layout = (f"one top directory holding {params['require']}" if params["top"]
                      else params["require"])
            hint = f" {params['layout_hint']}" if params["layout_hint"] else ""
            raise Refused(f"The archive {params['src']} must hold {layout}; it holds "
                          f"{', '.join(entries) or 'nothing'} at its top. Nothing was "
                          f"installed.{hint}")
        _chown_tree(unpacked, uid, gid)
        os.chmod(unpacked, 0o755)
        aside = os.path.join(root, f".{name}.replaced")
        if os.path.lexists(dest):  # a directory without `require`: never a whole install
            shutil.rmtree(aside, ignore_errors=True)
            os.rename(dest, aside)
        os.rename(unpacked, dest)
        os.utime(dest, (os.stat(dest).st_atime, time.time()))
        shutil.rmtree(aside, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """The module's work on the host: the result, or Refused."""
    src = params["src"]
    if not (os.path.isabs(src) and os.path.isfile(src)):
        raise Refused(params["missing_msg"]
                      or f"{src} is not an absolute path of a file on the host.")
    checksum = sha256(src)
    if params["checksum"] and checksum != params["checksum"].lower():
        raise Refused(f"The copy of {params['src']} on the host has SHA-256 {checksum}, not "
                      f"{params['checksum'].lower()}. Nothing was unpacked; run again.")
    dest = destination(params["root"], checksum, params["digits"])
    result = {"changed": False, "checksum": checksum, "path": dest}
    if installed(dest, params["require"]):
        return result
    if not check_mode:
        install(params, src, checksum, dest)
    return {**result, "changed": True}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module.params, module.check_mode)
    except Refused as error:
        module.fail_json(msg=str(error))
    except OSError as error:
        module.fail_json(msg=f"{error.strerror}: {error.filename}. Nothing was installed.")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
