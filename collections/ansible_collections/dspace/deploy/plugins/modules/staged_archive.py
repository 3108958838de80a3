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
  - With I(name), the directory has that fixed name instead (a release directory such as
    C(solr-9.8.1)); it is looked up before the archive is read, so an installed directory
    needs neither the archive nor its checksum. With I(subdir), one directory of the archive
    (such as C(solr-9.8.1/)) becomes the installed directory and the rest is dropped. With
    I(sha512), the archive must have that SHA-512 (checked on the controller before anything
    is copied, or on the host with I(remote_src)). With I(link), a symbolic link is pointed
    at the installed directory (as C(ansible.builtin.file) state=link force=true would).
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
  name:
    description:
      - The installed directory's name under I(root) (no slash), instead of the first
        I(digits) hex digits of the archive's SHA-256.
    type: str
  subdir:
    description:
      - A relative path of a directory in the archive that becomes the installed directory
        (the rest of the archive is dropped); I(require) is then relative to it. Excludes
        I(top).
    type: str
  sha512:
    description:
      - The SHA-512 (hex, any case) the archive must have. V("") (no digest found) refuses
        every archive. A mismatch installs nothing; with I(remove_src) the host's archive is
        removed.
    type: str
  sha512_origin:
    description: Where I(sha512) comes from, named in the failure message of a mismatch.
    type: str
  describe:
    description:
      - How failure messages of a checksum mismatch name the archive, e.g.
        C(Solr archive /srv/solr-9.8.1.tgz). Default C(archive) and I(src).
    type: str
  remove_src:
    description:
      - With I(remote_src), remove I(src) once installed, and when it does not match
        I(sha512) (a later run then fetches it again rather than finding the bad copy).
    type: bool
    default: false
  link:
    description:
      - An absolute path of a symbolic link to point at the installed directory (replaced
        when it points elsewhere; owned by I(owner) and I(group)). A directory there is an
        error.
    type: path
  probe:
    description:
      - Set by the action plugin with I(name) only, on its first call to the host; with
        I(name), only whether the directory is installed is reported (C(installed)), and
        I(link) is pointed at it when it is; nothing is unpacked and I(src) is not read.
    type: bool
    default: false
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
  returned: success, when the archive was read (with I(name), not when already installed)
path:
  description: The installed directory, I(root)/<name>.
  type: str
  returned: success
installed:
  description: With I(probe), whether the directory is installed.
  type: bool
  returned: with I(probe)
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
    "name": {"type": "str"},
    "subdir": {"type": "str"},
    "sha512": {"type": "str"},
    "sha512_origin": {"type": "str"},
    "describe": {"type": "str"},
    "remove_src": {"type": "bool", "default": False},
    "link": {"type": "path"},
    "probe": {"type": "bool", "default": False},
}


class Refused(Exception):
    """A failure with its message for the user; nothing is left installed."""


def sha256(path: str) -> str:
    """The file's SHA-256 (hex). Python 3.11+ (Debian 12 and 13)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def digests(path: str, sha512: bool) -> tuple[str, str]:
    """The file's SHA-256 and (when asked, else "") SHA-512, in one read."""
    if not sha512:
        return sha256(path), ""
    first, second = hashlib.sha256(), hashlib.sha512()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            first.update(chunk)
            second.update(chunk)
    return first.hexdigest(), second.hexdigest()


def sha512_refusal(params: dict[str, Any], got: str) -> str:
    """The failure message of an archive whose SHA-512 is not the expected one."""
    expected = (params["sha512"] or "").strip().lower()
    subject = params.get("describe") or f"archive {params['src']}"
    origin = f" ({params['sha512_origin']})" if params.get("sha512_origin") else ""
    return (f"The {subject} does not match its checksum: expected SHA-512 "
            f"{expected or '(none found)'}{origin}, got {got}. Nothing was unpacked. Fetch "
            "the archive again, or correct the expected checksum.")


def sha512_matches(params: dict[str, Any], got: str) -> bool:
    return params.get("sha512") is None or got == params["sha512"].strip().lower()


def named(root: str, name: str) -> str:
    """root/name for a fixed name (one path component)."""
    if not name or "/" in name or name in (".", ".."):
        raise Refused(f"name is {name!r}; give a directory name without a slash.")
    return os.path.join(root, name)


def destination(root: str, checksum: str, digits: int) -> str:
    if not 1 <= digits <= 64:
        raise Refused(f"digits is {digits}; give 1 to 64.")
    return os.path.join(root, checksum[:digits])


def point_link(link: str, dest: str, uid: int, gid: int, check_mode: bool) -> bool:
    """Point the symbolic link at dest (owned uid:gid); whether anything changed."""
    if not os.path.isabs(link):
        raise Refused(f"link is {link}; give an absolute path.")
    info = os.lstat(link) if os.path.lexists(link) else None
    if info is not None and not os.path.islink(link) and os.path.isdir(link):
        raise Refused(f"{link} is a directory, not a symbolic link; move it aside.")
    if info is not None and os.path.islink(link) and os.readlink(link) == dest:
        if (uid in (-1, info.st_uid)) and (gid in (-1, info.st_gid)):
            return False
        if not check_mode:
            os.lchown(link, uid, gid)
        return True
    if check_mode:
        return True
    new = f"{link}.new"
    if os.path.lexists(new):
        os.unlink(new)
    os.symlink(dest, new)
    os.lchown(new, uid, gid)
    os.rename(new, link)
    return True


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
        subdir = params.get("subdir")
        if subdir:
            inner = os.path.join(scratch, subdir)
            unpacked = inner if os.path.isdir(inner) and not os.path.islink(inner) else ""
        elif params["top"] and os.path.isdir(single) and not os.path.islink(single):
            unpacked = single
        if (not unpacked or (params["top"] and unpacked == scratch)
                or not installed(unpacked, params["require"])):
            layout = (f"{subdir.rstrip('/')}/{params['require']}" if subdir
                      else f"one top directory holding {params['require']}" if params["top"]
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


def _check_subdir(params: dict[str, Any]) -> None:
    subdir = params.get("subdir")
    if subdir is None:
        return
    parts = subdir.strip("/").split("/")
    if os.path.isabs(subdir) or not subdir.strip("/") or ".." in parts:
        raise Refused(f"subdir is {subdir!r}; give a relative path inside the archive.")
    if params["top"]:
        raise Refused("subdir and top exclude each other; give one.")


def _link(params: dict[str, Any], dest: str, check_mode: bool) -> bool:
    if not params.get("link"):
        return False
    try:
        uid, gid = _uid(params["owner"]), _gid(params["group"])
    except KeyError as error:
        raise Refused(f"No such user or group on the host: {error}.") from None
    return point_link(params["link"], dest, uid, gid, check_mode)


def run(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """The module's work on the host: the result, or Refused."""
    _check_subdir(params)
    src = params["src"]
    dest = named(params["root"], params["name"]) if params.get("name") is not None else ""
    if dest and installed(dest, params["require"]):
        changed = _link(params, dest, check_mode)
        return {"changed": changed, "path": dest,
                **({"installed": True} if params.get("probe") else {})}
    if dest and params.get("probe"):
        return {"changed": False, "path": dest, "installed": False}
    if not (os.path.isabs(src) and os.path.isfile(src)):
        raise Refused(params["missing_msg"]
                      or f"{src} is not an absolute path of a file on the host.")
    checksum, sha512 = digests(src, params.get("sha512") is not None)
    if params["checksum"] and checksum != params["checksum"].lower():
        raise Refused(f"The copy of {params['src']} on the host has SHA-256 {checksum}, not "
                      f"{params['checksum'].lower()}. Nothing was unpacked; run again.")
    if not sha512_matches(params, sha512):
        if params.get("remove_src") and params["remote_src"] and not check_mode:
            os.unlink(src)
        raise Refused(sha512_refusal(params, sha512))
    dest = dest or destination(params["root"], checksum, params["digits"])
    result = {"changed": False, "checksum": checksum, "path": dest}
    if installed(dest, params["require"]):
        return {**result, "changed": _link(params, dest, check_mode)}
    if not check_mode:
        install(params, src, checksum, dest)
        _link(params, dest, check_mode)
        if params.get("remove_src") and params["remote_src"]:
            os.unlink(src)
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
