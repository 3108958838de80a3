"""Filter dspace.deploy.content_hash: a hash of a role's own code (controller side)."""

from __future__ import annotations

import hashlib
import os

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: content_hash
short_description: Hash of a role's code, so that changing the role invalidates its stamps
description:
  - Hashes the relative names and contents of every file under the role's C(tasks),
    C(templates), C(files), C(vars), C(defaults), C(handlers) and C(meta) folders.
positional: _input
options:
  _input:
    description: The role's directory, usually C(role_path).
    type: path
    required: true
"""

EXAMPLES = r"""
code: "{{ role_path | dspace.deploy.content_hash }}"
"""

RETURN = r"""
_value:
  description: A sha256 hex digest.
  type: str
"""

FOLDERS = ("tasks", "templates", "files", "vars", "defaults", "handlers", "meta")


def content_hash(role_path: str) -> str:
    root = os.path.realpath(str(role_path))
    if not os.path.isdir(os.path.join(root, "tasks")):
        raise AnsibleFilterError(f"content_hash: {role_path} is not a role directory")
    digest = hashlib.sha256()
    for folder in FOLDERS:
        base = os.path.join(root, folder)
        for current, dirs, files in os.walk(base):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(current, name)
                digest.update(os.path.relpath(full, root).encode() + b"\0")
                with open(full, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def file_identity(path: str) -> str:
    """`size:mtime_ns` of a controller file ('' for an empty path, 'missing' when absent):
    a cheap identity of an artifact, so that a rebuilt archive at the same path counts as
    a changed input."""
    if not path:
        return ""
    try:
        info = os.stat(str(path))
    except FileNotFoundError:
        return "missing"
    return f"{info.st_size}:{info.st_mtime_ns}"


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"content_hash": content_hash, "file_identity": file_identity}
