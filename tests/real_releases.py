"""Real builds of public releases that some tests run (see /work/shared/real-releases/README.md).

The path comes from an environment variable, with the location of the project's shared
machine as the default; tests that need an artifact skip, naming the variable, when it is
absent. The checksum pins the exact build the tests were written against.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

REAL_UI_VARIABLE = "DSPACE_DEPLOY_REAL_UI"
REAL_UI_DEFAULT = Path("/work/shared/real-releases/dspace-angular-9.3-dist.tar.gz")
REAL_UI_SHA256 = "af3edfe70b9d7212c6d63be59d2e68622b2c2cb647fdaeabe0c0fcb063b4a5f1"
REAL_UI_VERSION = "9.3"
REAL_UI_TOP = "dspace-angular-9.3"  # the archive's one top directory


def real_ui_archive() -> Path | None:
    """The real dspace-angular 9.3 production build, or None when it is not on this machine."""
    path = Path(os.environ.get(REAL_UI_VARIABLE) or REAL_UI_DEFAULT)
    return path if path.is_file() else None


def why_no_real_ui() -> str | None:
    """Why tests of the real UI cannot run here (None: they can)."""
    archive = real_ui_archive()
    if archive is None:
        return (f"the real dspace-angular {REAL_UI_VERSION} build is not here: set "
                f"{REAL_UI_VARIABLE} to dspace-angular-9.3-dist.tar.gz")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != REAL_UI_SHA256:
        return f"{archive} is not the expected build (sha256 {digest}, not {REAL_UI_SHA256})"
    return None


def node_major() -> int:
    """The major version of the controller's `node` (0 when there is none)."""
    node = shutil.which("node")
    if node is None:
        return 0
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    try:
        return int(out.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def unpack_real_ui(dest: Path) -> Path:
    """Unpack the real build into `dest`; returns its app root (dest/dspace-angular-9.3)."""
    archive = real_ui_archive()
    assert archive is not None, why_no_real_ui()
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="tar")
    return dest / REAL_UI_TOP


def bundle_with_real_ui(lookalike_bundle: Path, dest: Path) -> Path:
    """A copy of a look-alike bundle of line 9 whose UI archive is the real dspace-angular 9.3
    build (its own layout: top directory dspace-angular-9.3/), with the manifest's checksum,
    size and ui_version updated. Returns `dest`."""
    archive = real_ui_archive()
    assert archive is not None, why_no_real_ui()
    shutil.copytree(lookalike_bundle, dest)
    target = dest / "ui" / "dspace-ui.tar.gz"
    target.unlink()
    shutil.copyfile(archive, target)
    manifest_path = dest / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["ui/dspace-ui.tar.gz"] = {
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "size": target.stat().st_size,
    }
    manifest["ui_version"] = "9.3.0"  # its package.json
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return dest
