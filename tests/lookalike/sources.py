"""Look-alike *source* releases for testing `dspace-deploy build` (docs/operations.md).

`build_sources(line, mirror_dir, flavor=...)` writes a source mirror directory with the file
names `dspace-deploy build --source-mirror DIR` looks for:

  DSpace-<tag>.tar.gz           backend source (top dir DSpace-<tag>/; tag dspace-<v> or, for
                                DSpace-CRIS, dspace-cris-<release>)
  dspace-angular-<tag>.tar.gz   UI source tree (top dir dspace-angular-<tag>/)
  solr-<sv>.tgz, solr-<sv>.tgz.sha512

and a directory `bin/` with a stand-in `mvn`. What is real and what is not:

- The UI source tree is built by the real npm: `npm ci` against a real package-lock.json (no
  dependencies, so nothing is downloaded), whose `postinstall` fails like a real install does
  when CYPRESS_INSTALL_BINARY is not 0 (contract 11), and `npm run build:prod`, which sets
  NODE_ENV=production as the real script does, dies like an out-of-memory Angular build
  when NODE_OPTIONS has no --max_old_space_size, and writes dist/ (the look-alike UI's
  dist/: a plain Node `dist/server/main.js`) where the Angular build writes it.
- Maven cannot run here (it would download plugins), so `bin/mvn` is a stand-in that checks
  it got the contract 1.1 flags and unpacks the look-alike installer where `mvn package`
  leaves the real one (dspace/target/dspace-installer/). The real Maven step is untested.
  For DSpace-CRIS that installer is what the real assembly makes: no etc/ and no layout
  workbook; the workbook is in the source tree at dspace/etc/conftool/, as in 4Science/DSpace.
- The Solr archive and its .sha512 are the look-alike's (tests/lookalike `build_release`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import CRIS, CRIS_WORKBOOK, build_release

MAVEN_FLAGS = ("package", "-P-test-environment", "-Denforcer.skip=true",
               "-Dcheckstyle.skip=true", "-Dlicense.skip=true", "-Dxml.skip=true")

_FAKE_MVN = """#!/bin/sh
# Stand-in for Maven in dspace-deploy's tests (tests/lookalike/sources.py): checks the
# contract 1.1 flags, then leaves the look-alike installer where `mvn package` leaves it.
set -e
for flag in {flags}; do
  case " $* " in *" $flag "*) ;; *) echo "mvn stand-in: missing flag $flag" >&2; exit 1;; esac
done
[ -f pom.xml ] || {{ echo "mvn stand-in: no pom.xml in $(pwd)" >&2; exit 1; }}
echo "$*" > mvn-args.txt
mkdir -p dspace/target
tar -xzf lookalike-installer.tar.gz -C dspace/target
echo "[INFO] BUILD SUCCESS"
"""

_POSTINSTALL = """// look-alike of the dspace-angular postinstall: a dev dependency would fetch its
// own binary from outside the registry unless CYPRESS_INSTALL_BINARY=0 (contract 11).
if (process.env.CYPRESS_INSTALL_BINARY !== '0') {
  console.error('Cypress would download its binary: set CYPRESS_INSTALL_BINARY=0');
  process.exit(1);
}
require('fs').writeFileSync('.postinstall-done', 'ok\\n');
"""

_BUILD_PROD = """// look-alike of `build:prod`: copies the prebuilt look-alike dist/ into place.
const fs = require('fs');
const path = require('path');
if (process.env.NODE_ENV !== 'production') {
  console.error('build:prod: NODE_ENV is not production');
  process.exit(1);
}
if (!/--max[_-]old[_-]space[_-]size=\\d+/.test(process.env.NODE_OPTIONS || '')) {
  console.error('build:prod: FATAL ERROR: JavaScript heap out of memory (set NODE_OPTIONS)');
  process.exit(134);
}
if (!fs.existsSync('.postinstall-done')) {
  console.error('build:prod: run the install first');
  process.exit(1);
}
fs.rmSync('dist', { recursive: true, force: true });
fs.cpSync(path.join('src', 'lookalike-dist'), 'dist', { recursive: true });
fs.writeFileSync(path.join('dist', 'build-info.json'),
  JSON.stringify({ node_options: process.env.NODE_OPTIONS }) + '\\n');
console.log('Build at: look-alike - Time: 0ms');
"""


@dataclass(frozen=True)
class Sources:
    mirror: Path  # --source-mirror
    bin_dir: Path  # holds the stand-in mvn (put it first on PATH)
    version: str
    ui_version: str
    solr_version: str
    backend: Path
    ui: Path
    solr: Path
    solr_sha512: Path


def build_sources(line: str, mirror: Path, *, version: str | None = None,
                  flavor: str = "dspace") -> Sources:
    """Write a source mirror for `line` and `flavor` into `mirror`."""
    mirror = Path(mirror)
    mirror.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rel = build_release(line, tmp / "release", version=version, flavor=flavor)
        tag = (f"dspace-cris-{CRIS[line]['release']}" if flavor == "cris"
               else f"dspace-{rel.dspace_version}")
        # Backend source: a pom.xml marker and the installer the stand-in mvn "builds".
        backend_top = tmp / f"DSpace-{tag}"
        backend_top.mkdir()
        (backend_top / "pom.xml").write_text(
            "<!-- dspace-deploy test look-alike of a DSpace source release -->\n<project/>\n")
        if flavor == "cris":
            # mvn's installer has no workbook; the source tree keeps it in dspace/etc/conftool.
            unpacked = rel.unpack_installer(tmp / "mvn-output")
            workbook = unpacked / CRIS_WORKBOOK
            conftool = backend_top / "dspace" / "etc" / "conftool"
            conftool.mkdir(parents=True)
            shutil.move(str(workbook), conftool / workbook.name)
            workbook.parent.rmdir()
            _tar(backend_top / "lookalike-installer.tar.gz", unpacked)
        else:
            shutil.copy2(rel.installer, backend_top / "lookalike-installer.tar.gz")
        backend = mirror / f"DSpace-{tag}.tar.gz"
        _tar(backend, backend_top)
        # UI source tree.
        ui_top = tmp / f"dspace-angular-{tag}"
        built = rel.unpack_ui(tmp / "ui-built")
        shutil.copytree(built / "dist", ui_top / "src" / "lookalike-dist")
        shutil.copytree(built / "config", ui_top / "config")
        shutil.copytree(built / "docker", ui_top / "docker")
        shutil.copy2(built / "NOTICE", ui_top / "NOTICE")
        (ui_top / "scripts").mkdir()
        (ui_top / "scripts" / "postinstall.js").write_text(_POSTINSTALL)
        (ui_top / "scripts" / "build-prod.js").write_text(_BUILD_PROD)
        package = json.loads((built / "package.json").read_text())
        package["scripts"] = {
            "postinstall": "node scripts/postinstall.js",
            "build:prod": "NODE_ENV=production node scripts/build-prod.js",
            "serve:ssr": "node dist/server/main",
        }
        (ui_top / "package.json").write_text(json.dumps(package, indent=2) + "\n")
        (ui_top / "package-lock.json").write_text(json.dumps({
            "name": package["name"], "version": package["version"], "lockfileVersion": 3,
            "requires": True,
            "packages": {"": {"name": package["name"], "version": package["version"]}},
        }, indent=2) + "\n")
        ui = mirror / f"dspace-angular-{tag}.tar.gz"
        _tar(ui, ui_top)
        solr = mirror / rel.solr.name
        shutil.copy2(rel.solr, solr)
        solr_sha512 = mirror / rel.solr_sha512.name
        shutil.copy2(rel.solr_sha512, solr_sha512)
    bin_dir = mirror / "bin"
    bin_dir.mkdir(exist_ok=True)
    mvn = bin_dir / "mvn"
    mvn.write_text(_FAKE_MVN.format(flags=" ".join(MAVEN_FLAGS)))
    mvn.chmod(0o755)
    return Sources(mirror=mirror, bin_dir=bin_dir, version=rel.dspace_version,
                   ui_version=rel.ui_version, solr_version=rel.solr_version, backend=backend,
                   ui=ui, solr=solr, solr_sha512=solr_sha512)


def _tar(dest: Path, top: Path) -> None:
    with tarfile.open(dest, "w:gz") as tf:
        tf.add(top, arcname=top.name)


def sha512_line(path: Path) -> str:
    return f"{hashlib.sha512(path.read_bytes()).hexdigest()}  {path.name}\n"
