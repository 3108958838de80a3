"""`dspace-deploy build`: an artifact bundle (format 1) from the official source releases.

The controller is the build host. A bundle is built once and then deployed to any number of
hosts by `up --artifacts`, so the hosts need neither Maven, nor the UI's 1,700 npm packages,
nor the 17 minutes and several GiB of memory an Angular production build takes (contract 11);
the controller already holds the bundles `up` reads, and a build needs no inventory.

Steps (docs/operations.md, "build"):
  sources  backend and UI source archives (GitHub tag archives, or the same file names in a
           --source-mirror directory or URL), the Solr archive and its .sha512 (Apache's
           archive, or the mirror). Downloads are cached by URL; the Solr archive is refused
           unless its SHA-512 matches the published .sha512.
  backend  `mvn package` with the reference flags (contract 1.1) in the source root, then a tar
           of dspace/target/dspace-installer/ (top directory dspace-installer/).
  ui       install (npm ci / yarn install --frozen-lockfile) with CYPRESS_INSTALL_BINARY=0,
           `build:prod` with NODE_OPTIONS=--max_old_space_size=<MiB>, then a tar of dist/,
           config/, docker/ and package.json (top directory dspace-ui/).
  bundle   manifest.json with the versions and every file's sha256 and size.

Each built artifact is cached under ~/.cache/dspace-deploy/builds/ by the hash of its inputs
(source archive sha256, build flags, tool majors), so a second `build` with the same inputs
builds nothing, and a new Solr release does not rebuild the UI. Tar archives are written
deterministically (sorted members, fixed owner and times, gzip header time 0).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dspace_deploy import bundles, resources
from dspace_deploy.errors import EXIT_HOSTS_FAILED, DeployError, EnvironmentProblem, InputError
from dspace_deploy.i18n import _
from dspace_deploy.lines import CRIS, LINES, java_min, release_name

BUILD_FORMAT = 2  # bump when a change to this module changes what a step produces
MAVEN_ARGS = ("--no-transfer-progress", "package", "-P-test-environment",
              "-Denforcer.skip=true", "-Dcheckstyle.skip=true", "-Dlicense.skip=true",
              "-Dxml.skip=true")  # contract 1.1 (the reference Dockerfile's flags)
INSTALLER_DIR = "dspace/target/dspace-installer"
UI_MEMBERS = ("dist", "config", "docker", "package.json")  # contract 8.2: what runs
DEFAULT_UI_MEMORY_MB = 4096  # Dockerfile.dist; contract 11 built 9.3 with 8192
TAR_MTIME = 1704067200  # 2024-01-01: fixed, so equal inputs give equal archives

GITHUB = "https://github.com"
APACHE_ARCHIVE = "https://archive.apache.org/dist"

# The DSpace-CRIS installer has no etc/ (4Science/DSpace@dspace-cris-2025.02.01:
# dspace/src/main/assembly/assembly.xml:27-66) and its build.xml copies none, so the layout
# workbook exists only in the source tree; CRIS's own Docker build copies dspace/etc/conftool
# to [dspace]/config/conftool (Dockerfile.build:39; :26 at 2024.02.04). The build does the
# same through the installer: its config/ is what Ant installs as [dspace]/config.
CRIS_CONFTOOL_SOURCE = "dspace/etc/conftool"
CRIS_CONFTOOL_INSTALLER = "config/conftool"
CRIS_LAYOUT_WORKBOOK = "cris-layout-configuration.xls"

Log = Callable[[str], None]


class BuildFailed(DeployError):
    """A build step (Maven, npm, yarn) failed; its log is named in the message."""

    exit_code = EXIT_HOSTS_FAILED


# ------------------------------------------------------------------------------------------------
# What to build


@dataclass(frozen=True)
class SourceFile:
    """One input archive: where it comes from and its file name (the mirror's name too)."""

    role: str  # backend, ui, solr, solr-sha512
    url: str
    filename: str


@dataclass(frozen=True)
class BuildRequest:
    line: str
    flavor: str = "dspace"
    version: str | None = None  # DSpace release (dspace) or DSpace-CRIS release (cris)
    ui_version: str | None = None  # UI tag version when it differs (e.g. CRIS 2025.02.01.01)
    solr_version: str | None = None
    out: Path | None = None  # default: ./bundles/<line>-<flavor>-<release>
    source_mirror: str | None = None  # directory or URL with the archives under their names
    ui_memory_mb: int = DEFAULT_UI_MEMORY_MB


@dataclass(frozen=True)
class BuildPlan:
    """A checked request: versions resolved, sources named."""

    line: str
    flavor: str
    release: str  # the backend tag's version (9.3, or 2025.02.01 for CRIS)
    ui_release: str
    dspace_version: str  # what the REST root will report after "DSpace "
    cris_version: str | None
    solr_version: str
    out: Path
    sources: dict[str, SourceFile]
    package_manager: str  # npm or yarn
    java_min: int
    node_majors: tuple[int, ...]
    ui_memory_mb: int


def plan_build(request: BuildRequest) -> BuildPlan:
    """Resolve versions and sources; InputError (exit 2) for a line, flavor or version that
    does not exist."""
    if request.line not in LINES:
        raise InputError(_("There is no DSpace line {line}.").format(line=repr(request.line)),
                         hint=_("Use one of: {values}.").format(values=", ".join(LINES)))
    facts = LINES[request.line]
    if request.flavor not in ("dspace", "cris"):
        raise InputError(_("The flavor {flavor} is unknown.").format(flavor=repr(request.flavor)),
                         hint=_("Use dspace or cris."))
    cris_version = None
    if request.flavor == "cris":
        known = CRIS.get(request.line)
        if known is None:
            raise InputError(_("There is no DSpace-CRIS release on line {line}.").format(
                                 line=request.line),
                             hint=_("DSpace-CRIS exists for lines {lines}.").format(
                                 lines=", ".join(CRIS)))
        release = request.version or known.release
        if release != known.release:
            raise InputError(
                _("DSpace-CRIS {release} is not a release dspace-deploy knows on line {line}.")
                .format(release=release, line=request.line),
                hint=_("Use --version {release} (or omit it).").format(release=known.release))
        dspace_version, cris_version = known.dspace_version, f"cris-{release}"
        owner, tag = "4Science", f"dspace-cris-{release}"
    else:
        release = request.version or facts.newest
        if release.split(".")[0] != request.line or not re.fullmatch(r"\d+\.\d+(\.\d+)?",
                                                                     release):
            raise InputError(_("{release} is not a DSpace {line} release.").format(
                                 release=release, line=request.line),
                             hint=_("Use --version {newest} or another {line}.x.").format(
                                 newest=facts.newest, line=request.line))
        dspace_version = release
        owner, tag = "DSpace", f"dspace-{release}"
    ui_release = request.ui_version or release
    ui_tag = f"dspace-cris-{ui_release}" if request.flavor == "cris" else f"dspace-{ui_release}"
    solr = request.solr_version or facts.solr_version
    if not re.fullmatch(r"\d+\.\d+\.\d+", solr):
        raise InputError(_("{solr} is not a Solr release number.").format(solr=solr),
                         hint=_("Use e.g. 9.8.1."))
    if int(solr.split(".")[0]) != facts.solr_major:
        raise InputError(_("DSpace {line} needs Solr {needed}, not {solr}.").format(
                             line=request.line, needed=facts.solr_major, solr=solr),
                         hint=_("Omit --solr-version (default {default}).").format(
                             default=facts.solr_version))
    # Solr 9 moved to its own top-level project on Apache's archive; 8.x is under lucene/.
    solr_dir = "solr/solr" if facts.solr_major >= 9 else "lucene/solr"
    solr_url = f"{APACHE_ARCHIVE}/{solr_dir}/{solr}/solr-{solr}.tgz"
    sources = {
        "backend": SourceFile("backend", f"{GITHUB}/{owner}/DSpace/archive/refs/tags/{tag}.tar.gz",
                              f"DSpace-{tag}.tar.gz"),
        "ui": SourceFile("ui", f"{GITHUB}/{owner}/dspace-angular/archive/refs/tags/"
                               f"{ui_tag}.tar.gz", f"dspace-angular-{ui_tag}.tar.gz"),
        "solr": SourceFile("solr", solr_url, f"solr-{solr}.tgz"),
        "solr-sha512": SourceFile("solr-sha512", f"{solr_url}.sha512", f"solr-{solr}.tgz.sha512"),
    }
    if request.source_mirror:
        sources = {k: SourceFile(s.role, _mirror(request.source_mirror, s.filename), s.filename)
                   for k, s in sources.items()}
    # Versioned, so that one artifacts directory holds two releases of a line (an upgrade's
    # target and the release it may roll back to; bundles.py).
    out = _checked_out(request.out
                       or Path("bundles") / f"{request.line}-{request.flavor}-{release}")
    if request.ui_memory_mb < 1024:
        raise InputError(_("--ui-memory must be at least 1024 (MiB)."),
                         hint=_("The Angular production build needs several GiB."))
    return BuildPlan(
        line=request.line, flavor=request.flavor, release=release, ui_release=ui_release,
        dspace_version=dspace_version, cris_version=cris_version, solr_version=solr,
        out=out.expanduser().absolute(), sources=sources,
        package_manager=facts.ui_package_manager,
        java_min=java_min(request.line, request.flavor),
        node_majors=tuple(facts.node_majors), ui_memory_mb=request.ui_memory_mb)


def _checked_out(out: Path) -> Path:
    """--out names a directory (existing or not), never a file: refused before anything is
    downloaded or built."""
    target = out.expanduser().absolute()
    for path in (target, *target.parents):
        if path.exists() and not path.is_dir():
            what = (_("--out {path} is a file, not a directory.") if path == target
                    else _("--out {path} is inside {file}, a file, not a directory."))
            raise InputError(what.format(path=target, file=path),
                             hint=_("Give a directory for the bundle (created when missing) "
                                    "with --out."))
    return out


def _mirror(mirror: str, filename: str) -> str:
    if bundles.is_url(mirror):
        return f"{mirror.rstrip('/')}/{urllib.parse.quote(filename)}"
    return str(Path(mirror).expanduser().absolute() / filename)


# ------------------------------------------------------------------------------------------------
# Tools


@dataclass(frozen=True)
class Tools:
    java_major: int
    node_major: int
    mvn: str
    node: str
    package_manager: str  # path of npm or yarn


def check_tools(plan: BuildPlan, need_backend: bool, need_ui: bool) -> Tools:
    """The controller's JDK, Maven, Node.js and npm/yarn; EnvironmentProblem (exit 3) naming
    everything missing or too old at once. Only the tools of the steps that will run."""
    problems = []
    java = node = 0
    mvn = node_path = pm = ""
    if need_backend:
        javac = shutil.which("javac")
        java = _major(_output([javac, "-version"])) if javac else 0
        if not javac:
            problems.append(_("no JDK (javac): install a JDK {needed} or newer").format(
                needed=plan.java_min))
        elif java < plan.java_min:
            problems.append(_("the JDK is Java {java}; {release} needs {needed} or newer").format(
                java=java, release=release_name(plan.line, plan.flavor), needed=plan.java_min))
        mvn = shutil.which("mvn") or ""
        if not mvn:
            problems.append(_("no Maven (mvn): install Maven 3.8 or newer"))
    if need_ui:
        node_path = shutil.which("node") or ""
        node = _major(_output([node_path, "--version"])) if node_path else 0
        fits = ", ".join(str(n) for n in plan.node_majors)
        if not node_path:
            problems.append(_("no Node.js: install Node.js {fits}").format(fits=fits))
        elif node not in plan.node_majors:
            problems.append(_("Node.js is {node}; the DSpace {line} UI builds with {fits}")
                            .format(node=node, line=plan.line, fits=fits))
        pm = shutil.which(plan.package_manager) or ""
        if not pm:
            problems.append(_("no {tool}: the DSpace {line} UI is built with {tool}").format(
                tool=plan.package_manager, line=plan.line))
    if problems:
        raise EnvironmentProblem(
            _("This machine cannot build the bundle: {problems}.").format(
                problems="; ".join(problems)),
            hint=_("Install the missing tools (or build on a machine that has them and copy "
                   "the bundle directory)."))
    return Tools(java, node, mvn, node_path, pm)


def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except OSError:
        return ""
    return done.stdout + done.stderr


def _major(version_text: str) -> int:
    """`javac 17.0.12` / `v20.19.2` -> 17 / 20."""
    found = re.search(r"(\d+)(?:\.\d+)*", version_text)
    return int(found.group(1)) if found else 0


# ------------------------------------------------------------------------------------------------
# Sources


def cache_dir() -> Path:
    return resources.cache_home() / "builds"


def fetch(source: SourceFile, log: Log) -> Path:
    """A local path holding the source (a mirror directory's file, or a cached download)."""
    if not bundles.is_url(source.url):
        path = Path(source.url)
        if not path.is_file():
            raise InputError(_("The source mirror has no {name} ({path}).").format(
                                 name=source.filename, path=path),
                             hint=_("Put the official archive there under that name."))
        return path
    if urllib.parse.urlsplit(source.url).scheme == "file":
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(source.url).path))
        return fetch(SourceFile(source.role, str(path), source.filename), log)
    target = cache_dir() / "downloads" / _digest(source.url)[:24] / source.filename
    if target.is_file():
        return target
    log(_("downloading {url}").format(url=source.url))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    try:
        with urllib.request.urlopen(source.url, timeout=bundles.DOWNLOAD_TIMEOUT) as response, \
                tmp.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
        tmp.unlink(missing_ok=True)
        raise EnvironmentProblem(_("Cannot download {url}: {error}.").format(url=source.url,
                                                                            error=exc),
                                 hint=_("Without internet access, use --source-mirror DIR with "
                                        "the archives under their file names.")) from exc
    tmp.replace(target)
    return target


def verify_sha512(archive: Path, sha512_file: Path) -> str:
    """Check an Apache archive against its published .sha512 ("<hex>  <name>" or "<hex>").
    InputError (exit 2) naming the file when they differ."""
    text = sha512_file.read_text(errors="replace")
    found = re.search(r"\b([0-9a-fA-F]{128})\b", text)
    if not found:
        raise InputError(_("{path} holds no SHA-512 digest.").format(path=sha512_file),
                         hint=_("Fetch the .sha512 file Apache publishes next to the archive."))
    expected = found.group(1).lower()
    actual = sha_file(archive, "sha512")
    if actual != expected:
        raise InputError(
            _("{name} does not match its published checksum: sha512 {actual}, expected "
              "{expected} ({path}).").format(name=archive.name, actual=actual,
                                             expected=expected, path=sha512_file),
            hint=_("The download is damaged or not the official release: delete it and fetch "
                   "it again from archive.apache.org or a trusted mirror."))
    return actual


def sha_file(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _key(*parts: Any) -> str:
    return _digest(json.dumps([BUILD_FORMAT, *parts], sort_keys=True))[:24]


# ------------------------------------------------------------------------------------------------
# Steps


def extract_source(archive: Path, dest: Path) -> Path:
    """Unpack a source archive; the one top-level directory (GitHub: <repo>-<tag>/)."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InputError(_("{path} is not a readable source archive ({error}).").format(
                             path=archive, error=exc),
                         hint=_("Fetch the release's .tar.gz again.")) from exc
    tops = [p for p in dest.iterdir()]
    if len(tops) != 1 or not tops[0].is_dir():
        raise InputError(_("{path} does not hold one top-level directory as a GitHub tag "
                           "archive does.").format(path=archive),
                         hint=_("Use the release's source .tar.gz."))
    return tops[0]


def _run_step(argv: list[str], cwd: Path, env: dict[str, str], log_file: Path, what: str,
              log: Log) -> None:
    log(_("{step}: {command} (log: {path})").format(step=what, command=" ".join(argv),
                                                    path=log_file))
    with log_file.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        try:
            done = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, check=False)
        except OSError as exc:
            raise BuildFailed(_("{step} could not start: {error}.").format(step=what,
                                                                            error=exc)) from exc
    if done.returncode != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-15:]
        raise BuildFailed(_("{step} failed (exit {code}):").format(step=what,
                                                                   code=done.returncode)
                          + "\n  " + "\n  ".join(tail),
                          hint=_("Full log: {path}.").format(path=log_file))


def build_backend(source_root: Path, tools: Tools, log_file: Path, log: Log,
                  flavor: str = "dspace") -> Path:
    """`mvn package` (contract 1.1) -> the installer directory (for DSpace-CRIS with the
    layout workbook added under config/conftool)."""
    env = {**os.environ, "MAVEN_OPTS": os.environ.get("MAVEN_OPTS", "-Xmx1g")}
    _run_step([tools.mvn, *MAVEN_ARGS], source_root, env, log_file, _("backend (Maven)"), log)
    installer = source_root / INSTALLER_DIR
    if not (installer / "build.xml").is_file():
        raise BuildFailed(_("Maven succeeded but {path} holds no build.xml.").format(
                              path=installer),
                          hint=_("Check {path}; is this a DSpace source release?").format(
                              path=log_file))
    if flavor == "cris":
        add_cris_conftool(source_root, installer)
    return installer


def add_cris_conftool(source_root: Path, installer: Path) -> None:
    """Copy the source's dspace/etc/conftool into the installer's config/conftool, where Ant
    installs it as [dspace]/config/conftool (see CRIS_CONFTOOL_SOURCE)."""
    conftool = source_root / CRIS_CONFTOOL_SOURCE
    if not (conftool / CRIS_LAYOUT_WORKBOOK).is_file():
        raise BuildFailed(_("The DSpace-CRIS source has no {path}.").format(
                              path=f"{CRIS_CONFTOOL_SOURCE}/{CRIS_LAYOUT_WORKBOOK}"),
                          hint=_("Is this a 4Science/DSpace (DSpace-CRIS) source release?"))
    shutil.copytree(conftool, installer / CRIS_CONFTOOL_INSTALLER, dirs_exist_ok=True)


def ui_commands(package_manager: str, tool: str, has_lockfile: bool) -> list[list[str]]:
    """Install and production build commands of the UI (contract 8.1)."""
    if package_manager == "yarn":
        install = [tool, "install", "--frozen-lockfile"] if has_lockfile else [tool, "install"]
        return [install, [tool, "run", "build:prod"]]
    install = [tool, "ci", "--no-audit", "--no-fund"] if has_lockfile else \
        [tool, "install", "--no-audit", "--no-fund"]
    return [install, [tool, "run", "build:prod"]]


def ui_environment(memory_mb: int) -> dict[str, str]:
    """CYPRESS_INSTALL_BINARY=0: a dev dependency would download its binary (contract 11)."""
    return {**os.environ, "CYPRESS_INSTALL_BINARY": "0",
            "NODE_OPTIONS": f"--max_old_space_size={memory_mb}"}


def build_ui(source_root: Path, plan: BuildPlan, tools: Tools, log_file: Path,
             log: Log) -> Path:
    lock = "yarn.lock" if plan.package_manager == "yarn" else "package-lock.json"
    env = ui_environment(plan.ui_memory_mb)
    install, build = ui_commands(plan.package_manager, tools.package_manager,
                                 (source_root / lock).is_file())
    _run_step(install, source_root, env, log_file,
              _("UI install ({tool})").format(tool=plan.package_manager), log)
    _run_step(build, source_root, env, log_file, _("UI production build"), log)
    missing = [m for m in ("dist/server/main.js", "dist/browser/index.html", "config",
                           "package.json") if not (source_root / m).exists()]
    if missing:
        raise BuildFailed(_("The UI build left no {paths} in {path}.").format(
                              paths=", ".join(missing), path=source_root),
                          hint=_("Check {path}.").format(path=log_file))
    return source_root


def write_tar(dest: Path, root: Path, top: str, members: tuple[str, ...] | None = None) -> None:
    """A deterministic .tar.gz of `root` (or of `members` of it) under the directory `top`."""

    def reset(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        ti.mtime = TAR_MTIME
        return ti

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    with tmp.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                              filename="", compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf:
        top_info = tf.gettarinfo(str(root), arcname=top)
        tf.addfile(reset(top_info))
        names = members if members is not None else tuple(sorted(p.name for p in root.iterdir()))
        for name in names:
            path = root / name
            if path.exists():
                tf.add(str(path), arcname=f"{top}/{name}", filter=reset)
    tmp.replace(dest)


def _cached(kind: str, key: str, name: str, make: Callable[[Path], None], log: Log) -> Path:
    """cache/builds/<kind>/<key>/<name>, made once by make(target)."""
    target = cache_dir() / kind / key / name
    if target.is_file():
        log(_("{kind}: cached ({path})").format(kind=kind, path=target))
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    make(target)
    return target


# ------------------------------------------------------------------------------------------------
# The bundle


@dataclass
class BuildResult:
    plan: BuildPlan
    out: Path
    manifest: dict[str, Any]
    reused: bool  # the output directory already held this bundle
    built: list[str] = field(default_factory=list)  # steps that ran (not from the cache)

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "line": self.plan.line, "flavor": self.plan.flavor,
                "dspace_version": self.manifest["dspace_version"],
                "ui_version": self.manifest["ui_version"],
                "solr_version": self.manifest["solr_version"],
                "cris_version": self.manifest.get("cris_version"), "reused": self.reused,
                "built": self.built, "files": self.manifest["files"]}


def build(request: BuildRequest, log: Log = lambda _msg: None) -> BuildResult:
    plan = plan_build(request)
    paths = {role: fetch(src, log) for role, src in plan.sources.items()}
    sha = {role: sha_file(path) for role, path in paths.items()}
    try:
        verify_sha512(paths["solr"], paths["solr-sha512"])
    except InputError:
        for role in ("solr", "solr-sha512"):  # a damaged download is fetched again next time
            if paths[role].is_relative_to(cache_dir() / "downloads"):
                paths[role].unlink(missing_ok=True)
        raise
    backend_key = _key("backend", sha["backend"], MAVEN_ARGS, plan.java_min, plan.flavor)
    ui_key = _key("ui", sha["ui"], plan.package_manager, plan.ui_memory_mb, plan.node_majors)
    inputs = _key("bundle", plan.line, plan.flavor, plan.dspace_version, plan.cris_version,
                  backend_key, ui_key, sha["solr"])
    existing = _reusable(plan.out, inputs)
    if existing is not None:
        log(_("{path} already holds this bundle").format(path=plan.out))
        return BuildResult(plan, plan.out, existing, reused=True)
    need_backend = not (cache_dir() / "backend" / backend_key / "dspace-installer.tar.gz").is_file()
    need_ui = not (cache_dir() / "ui" / ui_key / "dspace-ui.tar.gz").is_file()
    tools = check_tools(plan, need_backend, need_ui)
    built: list[str] = []
    work_root = cache_dir() / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=work_root) as work_name:
        work = Path(work_name)
        logs = cache_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")

        def make_backend(target: Path) -> None:
            root = extract_source(paths["backend"], work / "backend")
            installer = build_backend(root, tools, logs / f"{stamp}-backend.log", log,
                                      plan.flavor)
            write_tar(target, installer, "dspace-installer")
            built.append("backend")

        def make_ui(target: Path) -> None:
            root = extract_source(paths["ui"], work / "ui")
            build_ui(root, plan, tools, logs / f"{stamp}-ui.log", log)
            write_tar(target, root, "dspace-ui", UI_MEMBERS)
            built.append("ui")

        installer = _cached("backend", backend_key, "dspace-installer.tar.gz", make_backend, log)
        ui = _cached("ui", ui_key, "dspace-ui.tar.gz", make_ui, log)
        ui_version = _ui_version(ui) or plan.ui_release
    manifest = _write_bundle(plan, installer, ui, paths, ui_version, inputs, sha)
    return BuildResult(plan, plan.out, manifest, reused=False, built=built)


def _ui_version(archive: Path) -> str | None:
    """The version in the built UI's package.json."""
    with tarfile.open(archive) as tf:
        try:
            member = tf.extractfile("dspace-ui/package.json")
        except KeyError:
            return None
        if member is None:
            return None
        try:
            version = json.loads(member.read().decode("utf-8")).get("version")
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            return None
    return str(version) if version else None


def _reusable(out: Path, inputs: str) -> dict[str, Any] | None:
    """The manifest of `out` when it was built from the same inputs and is intact."""
    manifest = out / bundles.MANIFEST
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text())
        if data.get("build", {}).get("inputs") != inputs:
            return None
        bundles.verify_bundle(bundles.load_bundle(str(out)))
    except (OSError, ValueError, AttributeError, InputError):
        return None
    return dict(data)


def _write_bundle(plan: BuildPlan, installer: Path, ui: Path, paths: dict[str, Path],
                  ui_version: str, inputs: str, sha: dict[str, str]) -> dict[str, Any]:
    out = plan.out
    if out.exists() and any(out.iterdir()) and not (out / bundles.MANIFEST).is_file():
        raise InputError(_("{path} exists and is not a bundle; refusing to write into it.")
                         .format(path=out), hint=_("Choose an empty directory with --out."))
    out.mkdir(parents=True, exist_ok=True)
    (out / bundles.MANIFEST).unlink(missing_ok=True)  # no stale manifest over new files
    solr_name = f"solr/solr-{plan.solr_version}.tgz"
    placed = {bundles.INSTALLER: installer, bundles.UI_ARCHIVE: ui,
              solr_name: paths["solr"], f"{solr_name}.sha512": paths["solr-sha512"]}
    for directory in ("backend", "ui", "solr"):
        stale = out / directory
        if stale.is_dir():
            for old in stale.iterdir():
                if f"{directory}/{old.name}" not in placed:
                    old.unlink()
    files = {}
    for rel, source in sorted(placed.items()):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        files[rel] = {"sha256": sha_file(target), "size": target.stat().st_size}
    manifest: dict[str, Any] = {
        "format": bundles.FORMAT,
        "line": plan.line,
        "flavor": plan.flavor,
        "dspace_version": plan.dspace_version,
        "ui_version": ui_version,
        "solr_version": plan.solr_version,
        "java_min": plan.java_min,
        "node_majors": list(plan.node_majors),
        "built": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "lookalike": False,
        "files": files,
        "sources": {role: {"url": src.url, "sha256": sha[role]}
                    for role, src in sorted(plan.sources.items())},
        "build": {"inputs": inputs, "maven_args": list(MAVEN_ARGS),
                  "package_manager": plan.package_manager,
                  "node_options": f"--max_old_space_size={plan.ui_memory_mb}"},
    }
    if plan.cris_version:
        manifest["cris_version"] = plan.cris_version
    tmp = out / f".{bundles.MANIFEST}.part"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(out / bundles.MANIFEST)
    return manifest
