"""Helpers shared by the modules of dspace.deploy (module_utils: Ansible ships them to the host
with each module that imports them)."""

from __future__ import annotations

import grp
import os
import pwd
import tempfile
from collections.abc import Callable


class FileAttributeError(ValueError):
    """An owner, group or mode that names no user, no group or no octal file mode."""


def _numeric_id(value: str | int, kind: str, lookup: Callable[[str], int]) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)
    except KeyError:
        raise FileAttributeError(f"no such {kind}: {text!r}") from None


def user_id(owner: str | int) -> int:
    """The numeric id of `owner`, a user name or a number."""
    return _numeric_id(owner, "user", lambda name: pwd.getpwnam(name).pw_uid)


def group_id(group: str | int) -> int:
    """The numeric id of `group`, a group name or a number."""
    return _numeric_id(group, "group", lambda name: grp.getgrnam(name).gr_gid)


def owner_ids(owner: str | int, group: str | int) -> tuple[int, int]:
    return user_id(owner), group_id(group)


def file_mode(mode: str) -> int:
    """The bits of an octal mode string such as '0644' or '2750'."""
    try:
        value = int(str(mode), 8)
    except ValueError:
        value = -1
    if not 0 <= value <= 0o7777:
        raise FileAttributeError(f"mode {mode!r} is not an octal file mode such as 0644")
    return value


def write_atomic(path: str, content: str, mode: int, uid: int, gid: int) -> None:
    """Write `content` to a temporary file beside `path` (owner, mode, fsync), then rename it
    over `path`: a reader sees the old file or the new one, never a part."""
    handle, temp = tempfile.mkstemp(dir=os.path.dirname(path),
                                    prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape",
                       newline="") as out:
            out.write(content)
            out.flush()
            os.fchown(out.fileno(), uid, gid)
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
