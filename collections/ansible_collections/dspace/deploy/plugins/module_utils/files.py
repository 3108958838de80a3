"""Helpers shared by the modules of dspace.deploy (module_utils: Ansible ships them to the host
with each module that imports them)."""

from __future__ import annotations

import os
import tempfile


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
