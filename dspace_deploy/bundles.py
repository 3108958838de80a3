"""Release bundles: what `dspace-deploy build` writes and `up --artifacts` deploys from.

A bundle is a directory with `manifest.json` (format 1, docs/stack.md "Artifact bundles") and
the files it lists, each with its sha256 and size:

    manifest.json
    backend/dspace-installer.tar.gz
    ui/dspace-ui.tar.gz
    solr/solr-<version>.tgz (+ .sha512)

Bundles of a site sit side by side as `<artifacts>/<line>-<flavor>/` (e.g. `bundles/9-dspace/`,
`bundles/8-cris/`); `<artifacts>` is a directory on the controller or an http(s):// or
file:// URL (site option `dspace_artifacts`, or `up --artifacts`). A bundle given by URL is
downloaded into `~/.cache/dspace-deploy/bundles/<hash of the URL>/`, each file checked against
the manifest as it arrives; files already there with the right checksum are not fetched again.

Everything here runs on the controller before any host is contacted, and every failure is an
`InputError` (exit 2) that names the files concerned. The checksums prove integrity against
the manifest, not who made the manifest: fetch bundles over https or from a trusted directory.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import InputError, Problem
from dspace_deploy.i18n import _, ngettext
from dspace_deploy.lines import CRIS
from dspace_deploy.plans import site_plans
from dspace_deploy.site import Site

FORMAT = 1
MANIFEST = "manifest.json"
INSTALLER = "backend/dspace-installer.tar.gz"
UI_ARCHIVE = "ui/dspace-ui.tar.gz"
URL_SCHEMES = ("http", "https", "file")
DOWNLOAD_TIMEOUT = 60  # seconds without data before a download is given up
_CHUNK = 1 << 20
_MANIFEST_LIMIT = 4 << 20  # a manifest is a few KiB; refuse anything absurd
_BUILD_HINT = "dspace-deploy build --line {line}{flavor}"


@dataclass(frozen=True)
class BundleFile:
    """One file the manifest lists (path relative to the bundle root, POSIX separators)."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Bundle:
    """A bundle on the controller. `root` is local (the download cache for URLs)."""

    line: str
    flavor: str
    dspace_version: str
    ui_version: str
    solr_version: str
    java_min: int
    node_majors: tuple[int, ...]
    lookalike: bool  # built by the test-suite's look-alike generator, not from real releases
    root: Path
    source: str  # the path or URL it was loaded from (for messages)
    files: dict[str, BundleFile] = field(default_factory=dict)
    built: str = ""
    cris_version: str | None = None
    format: int = FORMAT

    @property
    def version(self) -> str:
        """The release it holds: the DSpace version, or the DSpace-CRIS release."""
        if self.flavor == "cris" and self.cris_version:
            return self.cris_version.removeprefix("cris-")
        return self.dspace_version

    @property
    def key(self) -> str:
        """`<line>-<flavor>-<release>`: its directory name under an artifacts directory, and
        its key in `dspace_bundles`."""
        return release_key(self.line, self.flavor, self.version)

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def installer(self) -> Path:
        return self.root / INSTALLER

    @property
    def ui_archive(self) -> Path:
        return self.root / UI_ARCHIVE

    @property
    def solr_archive(self) -> Path:
        return self.root / f"solr/solr-{self.solr_version}.tgz"

    @property
    def solr_sha512(self) -> Path:
        return self.root / f"solr/solr-{self.solr_version}.tgz.sha512"


def release_key(line: str, flavor: str, version: str) -> str:
    """`<line>-<flavor>-<release>`, e.g. 9-dspace-9.3 or 9-cris-2025.02.01."""
    return f"{line}-{flavor}-{version}"


def plan_release(plan: dict[str, Any]) -> str:
    """The release an instance plan asks for: its version, or its line's DSpace-CRIS release."""
    line = str(plan.get("line"))
    if plan.get("flavor") == "cris" and line in CRIS:
        return CRIS[line].release
    return str(plan.get("version"))


@dataclass(frozen=True)
class Release:
    """A release the run needs a bundle of, and who needs it (for messages)."""

    line: str
    flavor: str
    version: str

    @property
    def key(self) -> str:
        return release_key(self.line, self.flavor, self.version)

    @property
    def name(self) -> str:
        return (f"DSpace-CRIS {self.version}" if self.flavor == "cris"
                else f"DSpace {self.version}")

    @property
    def build_command(self) -> str:
        return (_BUILD_HINT.format(line=self.line, flavor=_flavor_flag(self.flavor))
                + f" --version {self.version}")


# ------------------------------------------------------------------------------------------------
# Loading


def is_url(text: str) -> bool:
    return urllib.parse.urlsplit(text).scheme.lower() in URL_SCHEMES


def load_bundle(path_or_url: str) -> Bundle:
    """Read a bundle's manifest (a directory, its manifest.json, or a URL of either).

    A URL is downloaded into the cache and every file verified on the way; a local bundle's
    files are checked for presence and checksum by `verify_bundle`.
    """
    text = str(path_or_url)
    scheme = urllib.parse.urlsplit(text).scheme.lower()
    if "://" in text and scheme not in URL_SCHEMES:
        raise InputError(_("Cannot load the bundle {source}: the URL scheme {scheme} is not "
                           "supported.").format(source=text, scheme=repr(scheme)),
                         hint=_("Use a directory, or an http(s):// or file:// URL."))
    if is_url(text):
        root = _download(text)
        return _parse(root, (root / MANIFEST).read_bytes(), text)
    path = Path(text).expanduser()
    if path.name == MANIFEST and path.is_file():
        path = path.parent
    manifest = path / MANIFEST
    if not path.exists():
        raise InputError(_("The bundle {source} does not exist.").format(source=text),
                         hint=_("Build one with `{command}` or fix the path.").format(
                             command="dspace-deploy build --line N"))
    if not manifest.is_file():
        raise InputError(_("{path} is not a bundle: it has no {manifest}.").format(
                             path=path, manifest=MANIFEST),
                         hint=_("Point to the directory `dspace-deploy build` wrote."))
    try:
        data = manifest.read_bytes()
    except OSError as exc:
        raise InputError(_("Cannot read {path}: {reason}.").format(
            path=manifest, reason=exc.strerror or exc)) from exc
    return _parse(path.resolve(), data, text)


def _parse(root: Path, data: bytes, source: str) -> Bundle:
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(_("The manifest of the bundle {source} is not valid JSON ({error}).")
                         .format(source=source, error=exc),
                         hint=_("Rebuild the bundle or copy it again.")) from exc
    if not isinstance(raw, dict):
        raise InputError(_("The manifest of the bundle {source} is not a JSON object.").format(
                             source=source), hint=_("Rebuild the bundle."))
    fmt = raw.get("format")
    if fmt != FORMAT:
        raise InputError(
            _("The manifest of the bundle {source} has format {found}; this dspace-deploy "
              "reads format {format} only.").format(source=source, found=repr(fmt),
                                                    format=FORMAT),
            hint=_("Build the bundle with this version of dspace-deploy (`dspace-deploy "
                   "build`), or upgrade dspace-deploy to one that reads it."))
    problems: list[str] = []

    def text_field(name: str, *, required: bool = True) -> str:
        value = raw.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
        if required or value is not None:
            problems.append(_("{field} is missing or not a string").format(field=name))
        return ""

    line = text_field("line")
    flavor = text_field("flavor")
    if flavor and flavor not in ("dspace", "cris"):
        problems.append(_("flavor is {flavor}, not dspace or cris").format(flavor=repr(flavor)))
    java_min = raw.get("java_min")
    if not isinstance(java_min, int) or isinstance(java_min, bool):
        problems.append(_("{field} is missing or not a whole number").format(field="java_min"))
        java_min = 0
    node = raw.get("node_majors")
    if not isinstance(node, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in node):
        problems.append(_("{field} is missing or not a list of whole numbers").format(
            field="node_majors"))
        node = []
    bundle_files = _parse_files(raw.get("files"), problems)
    solr_version = text_field("solr_version")
    for required in (INSTALLER, UI_ARCHIVE, f"solr/solr-{solr_version}.tgz"):
        if bundle_files and required not in bundle_files:
            problems.append(_("files does not list {path}").format(path=required))
    bundle = Bundle(
        line=line,
        flavor=flavor,
        dspace_version=text_field("dspace_version"),
        ui_version=text_field("ui_version"),
        solr_version=solr_version,
        java_min=java_min,
        node_majors=tuple(node),
        lookalike=bool(raw.get("lookalike", False)),
        root=root,
        source=source,
        files=bundle_files,
        built=text_field("built", required=False),
        cris_version=text_field("cris_version", required=False) or None,
    )
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise InputError(_("The manifest of the bundle {source} is incomplete:").format(
                             source=source) + f"\n{listed}",
                         hint=_("Rebuild the bundle with `dspace-deploy build`."))
    return bundle


def _parse_files(value: Any, problems: list[str]) -> dict[str, BundleFile]:
    if not isinstance(value, dict) or not value:
        problems.append(_("files is missing or empty"))
        return {}
    result = {}
    for path, info in value.items():
        if not _safe_relative(path):
            problems.append(_("files lists {path}, which is not a plain relative path").format(
                path=repr(path)))
            continue
        sha = info.get("sha256") if isinstance(info, dict) else None
        size = info.get("size") if isinstance(info, dict) else None
        if not (isinstance(sha, str) and len(sha) == 64
                and all(c in "0123456789abcdef" for c in sha.lower())):
            problems.append(_("{field} is missing or not a sha256 hex digest").format(
                field=f"files.{path}.sha256"))
            continue
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems.append(_("{field} is missing or not a whole number").format(
                field=f"files.{path}.size"))
            continue
        result[path] = BundleFile(path, sha.lower(), size)
    return result


def _safe_relative(path: Any) -> bool:
    """A manifest path may not leave the bundle (no absolute paths, no `..`)."""
    if not isinstance(path, str) or not path or "\\" in path or path == MANIFEST:
        return False
    pure = PurePosixPath(path)
    return not pure.is_absolute() and all(part not in ("", ".", "..") for part in pure.parts) \
        and pure.as_posix() == path


# ------------------------------------------------------------------------------------------------
# Downloading


def _bundle_base(url: str) -> str:
    base = url.rstrip("/")
    suffix = "/" + MANIFEST
    return base[: -len(suffix)] if base.endswith(suffix) else base


def download_dir(url: str) -> Path:
    """Where the bundle at `url` is cached."""
    digest = hashlib.sha256(_bundle_base(url).encode("utf-8")).hexdigest()[:24]
    return resources.cache_home() / "bundles" / digest


def _download(url: str) -> Path:
    base = _bundle_base(url)
    dest = download_dir(url)
    dest.mkdir(parents=True, exist_ok=True)
    data = _fetch_bytes(f"{base}/{MANIFEST}", _MANIFEST_LIMIT)
    bundle = _parse(dest, data, url)  # refuses other formats before anything is fetched
    problems = []
    for rel, info in sorted(bundle.files.items()):
        target = dest / rel
        if target.is_file() and target.stat().st_size == info.size \
                and _sha256_file(target) == info.sha256:
            continue  # cached from an earlier run
        file_url = f"{base}/{urllib.parse.quote(rel)}"
        try:
            actual = _fetch_file(file_url, target, info.size)
        except InputError as exc:
            problems.append(f"{rel}: {exc.message}")
            continue
        if actual != info.sha256:
            target.unlink(missing_ok=True)
            problems.append(_("{path}: sha256 {actual}, expected {expected}").format(
                path=rel, actual=actual, expected=info.sha256))
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise InputError(
            _("The bundle {url} could not be downloaded intact ({count} of {total} files):")
            .format(url=url, count=len(problems), total=len(bundle.files)) + f"\n{listed}",
            hint=_("Check the URL and the server's copy (rebuild or re-upload the bundle); no "
                   "host was contacted."))
    _write_atomic(dest / MANIFEST, data)
    return dest


def _open(url: str) -> Any:
    try:
        return urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise InputError(_("{url} answered HTTP {code} {reason}.").format(
            url=url, code=exc.code, reason=exc.reason)) from exc
    except urllib.error.URLError as exc:
        raise InputError(_("Cannot fetch {url}: {reason}.").format(url=url,
                                                                   reason=exc.reason)) from exc
    except (OSError, ValueError) as exc:
        raise InputError(_("Cannot fetch {url}: {reason}.").format(url=url, reason=exc)) from exc


def _fetch_bytes(url: str, limit: int) -> bytes:
    with _open(url) as response:
        try:
            data: bytes = response.read(limit + 1)
        except OSError as exc:
            raise InputError(_("Reading {url} failed: {reason}.").format(url=url,
                                                                         reason=exc)) from exc
    if len(data) > limit:
        raise InputError(_("{url} is larger than {limit} bytes; it is not a bundle manifest.")
                         .format(url=url, limit=limit))
    return data


def _fetch_file(url: str, target: Path, size: int) -> str:
    """Download to `target` (atomically); the sha256 of what arrived."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        received = 0
        with os.fdopen(fd, "wb") as out, _open(url) as response:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except OSError as exc:
                    raise InputError(_("Reading {url} failed: {reason}.").format(
                        url=url, reason=exc)) from exc
                if not chunk:
                    break
                received += len(chunk)
                if received > size:
                    raise InputError(_("{url} is larger than the {size} bytes the manifest "
                                       "says").format(url=url, size=size))
                digest.update(chunk)
                out.write(chunk)
        if received != size:
            raise InputError(_("{url} has {received} bytes, the manifest says {size}").format(
                url=url, received=received, size=size))
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    Path(tmp_name).replace(path)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------
# Verifying


def verify_bundle(bundle: Bundle) -> None:
    """Check every file the manifest lists; one InputError names every missing or changed one."""
    problems = []
    for rel, info in sorted(bundle.files.items()):
        path = bundle.root / rel
        if not path.is_file():
            problems.append(_("{path}: missing (expected sha256 {expected})").format(
                path=rel, expected=info.sha256))
            continue
        try:
            actual = _sha256_file(path)
            size = path.stat().st_size
        except OSError as exc:
            problems.append(_("{path}: cannot be read ({reason})").format(
                path=rel, reason=exc.strerror or exc))
            continue
        if actual != info.sha256:
            sizes = ("; " + _("{size} bytes, expected {expected}").format(
                size=size, expected=info.size)) if size != info.size else ""
            problems.append(_("{path}: sha256 {actual}, expected {expected}").format(
                path=rel, actual=actual, expected=info.sha256) + sizes)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise InputError(
            _("The bundle {source} does not match its manifest ({count} of {total} files):")
            .format(source=bundle.source, count=len(problems), total=len(bundle.files))
            + f"\n{listed}",
            hint=_("Copy or rebuild the bundle (`dspace-deploy build`); no host was "
                   "contacted."))


def check_bundle_fits(bundle: Bundle, plans: list[dict[str, Any]]) -> list[Problem]:
    """What keeps `bundle` from serving these instance plans (dspace_instance_plan output)."""
    problems = []
    for plan in plans:
        name = plan.get("name", "?")

        def add(key: str, what: str, fix: str, name: Any = name) -> None:
            problems.append(Problem(_("bundle {source}").format(source=bundle.source),
                                    _("instance {name}: {key}").format(name=name, key=key),
                                    what, fix))

        line, flavor = str(plan.get("line")), str(plan.get("flavor"))
        if (line, flavor) != (bundle.line, bundle.flavor):
            add("line", _("the instance is DSpace {line} ({flavor}) but the bundle holds "
                          "{bundle_line} ({bundle_flavor})").format(
                              line=line, flavor=flavor, bundle_line=bundle.line,
                              bundle_flavor=bundle.flavor),
                _("use the bundle {name}: {command}").format(
                    name=f"{line}-{flavor}",
                    command=_BUILD_HINT.format(line=line, flavor=_flavor_flag(flavor))))
            continue
        version = plan_release(plan)
        if version != bundle.version:
            wanted = Release(line, flavor, version)
            add("version", _("the instance wants {wanted} but the bundle holds {held}").format(
                               wanted=wanted.name, held=bundle.version),
                (_("set version: \"{held}\" on the instance, or build a bundle of {version}: "
                   "{command}") if flavor == "dspace" else
                 _("build a bundle of {version}: {command}")).format(
                     held=bundle.version, version=version, command=wanted.build_command))
        java = plan.get("java_major")
        if isinstance(java, int) and java < bundle.java_min:
            add("java_version", _("the bundle needs Java {needed} but the host gets Java "
                                  "{java}").format(needed=bundle.java_min, java=java),
                _("set java_version {top} or remove it").format(top=bundle.java_min))
        node = plan.get("node_major")
        if isinstance(node, int) and bundle.node_majors and node not in bundle.node_majors:
            fits = ", ".join(str(n) for n in bundle.node_majors)
            add("node_version", _("the bundle's UI supports Node.js {fits}, not {node}").format(
                                    fits=fits, node=node),
                _("set node_version to one of {fits}").format(fits=fits))
        contents = installer_contents(bundle)
        cores = [str(c) for c in plan.get("cores") or []]
        missing = sorted(set(cores) - set(contents.cores)) if cores else []
        if missing:
            add("cores", ngettext(
                    "the backend installer lacks the Solr core {cores} that DSpace {line} "
                    "({flavor}) needs (expected solr/<core>/conf/solrconfig.xml in "
                    "dspace-installer/)",
                    "the backend installer lacks the Solr cores {cores} that DSpace {line} "
                    "({flavor}) needs (expected solr/<core>/conf/solrconfig.xml in "
                    "dspace-installer/)", len(missing)).format(
                        cores=", ".join(missing), line=line, flavor=flavor),
                _("rebuild the bundle from a complete release: {command}").format(
                    command=_BUILD_HINT.format(line=line, flavor=_flavor_flag(flavor))))
        if flavor == "cris" and CRIS_WORKBOOK not in contents.files:
            add("flavor", _("the backend installer lacks {path}, the DSpace-CRIS layout "
                            "workbook the deployment imports (the real installer has no etc/; "
                            "`dspace-deploy build` copies the source's dspace/etc/conftool "
                            "there)").format(path=CRIS_WORKBOOK),
                _("rebuild the bundle with this version of dspace-deploy: {command}").format(
                    command=_BUILD_HINT.format(line=line, flavor=_flavor_flag(flavor))))
        if flavor == "cris" and contents.cores and _ocr_plugin(line) not in contents.files:
            add("flavor", _("the backend installer lacks {path}, the plugin the DSpace-CRIS "
                            "ocr core loads (the core fails without it)").format(
                                path=_ocr_plugin(line)),
                _("rebuild the bundle from the complete DSpace-CRIS source: {command}").format(
                    command=_BUILD_HINT.format(line=line, flavor=_flavor_flag(flavor))))
        solr = plan.get("solr_version")
        if solr and str(solr) != bundle.solr_version:
            add("solr_version", _("the instance wants Solr {solr} but the bundle holds "
                                  "{held}").format(solr=solr, held=bundle.solr_version),
                _("remove solr_version or set {held}, or build a bundle with Solr {solr}")
                .format(held=bundle.solr_version, solr=solr))
    return problems


@dataclass(frozen=True)
class InstallerContents:
    """What check_bundle_fits needs to know of a backend installer."""

    cores: frozenset[str]  # solr/<core>/conf/solrconfig.xml
    files: frozenset[str]  # other paths it looks for (INSTALLER_PROBES), when present


# Paths (under dspace-installer/) that some flavor needs: the DSpace-CRIS layout workbook,
# which `dspace-deploy build` puts where Ant installs it as [dspace]/config/conftool
# (dspace_deploy/build.py, CRIS_CONFTOOL_INSTALLER).
CRIS_WORKBOOK = "config/conftool/cris-layout-configuration.xls"


def _ocr_plugin(line: str) -> str:
    """Where a DSpace-CRIS installer ships its ocr core's plugin jar (dspace/solr/ocr/lib);
    the core does not load without it (4Science/DSpace#495, facts 1.12)."""
    return f"solr/ocr/lib/{CRIS[line].ocr_plugin}"


INSTALLER_PROBES = frozenset({CRIS_WORKBOOK, *(_ocr_plugin(line) for line in CRIS)})


@functools.cache
def _installer_contents(path: Path, sha256: str) -> InstallerContents:
    # Keyed by checksum too: a bundle rebuilt in place is read again.
    import tarfile

    cores, files = set(), set()
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if len(parts) == 5 and parts[1] == "solr" and parts[3:] == ("conf", "solrconfig.xml"):
                cores.add(parts[2])
            inner = "/".join(parts[1:])
            if inner in INSTALLER_PROBES and member.isfile():
                files.add(inner)
    return InstallerContents(frozenset(cores), frozenset(files))


def installer_contents(bundle: Bundle) -> InstallerContents:
    """The Solr cores and probed files of the bundle's backend installer."""
    entry = bundle.files.get(INSTALLER)
    if not bundle.installer.is_file():
        return InstallerContents(frozenset(), frozenset())
    return _installer_contents(bundle.installer, entry.sha256 if entry else "")


def installer_cores(bundle: Bundle) -> frozenset[str]:
    """Solr cores the bundle's backend installer ships (`dspace-installer/solr/<core>/`)."""
    return installer_contents(bundle).cores


def _flavor_flag(flavor: str) -> str:
    return " --flavor cris" if flavor == "cris" else ""


# ------------------------------------------------------------------------------------------------
# A site's bundles


def artifacts_source(site: Site, artifacts: str | None) -> str | None:
    """The bundles' location: `artifacts` (relative to the working directory) or the site's
    dspace_artifacts (relative to the inventory directory); None when neither is set."""
    if artifacts:
        return artifacts if is_url(artifacts) else str(Path(artifacts).expanduser().absolute())
    values = {str(v) for host in site.hosts
              if (v := site.hostvars.get(host, {}).get("dspace_artifacts"))}
    if not values:
        return None
    if len(values) > 1:
        raise InputError(
            _("dspace_artifacts differs between hosts ({values}).").format(
                values=", ".join(sorted(values))),
            hint=_("Set it once, in group_vars/all/site.yml, or pass --artifacts."))
    value = values.pop()
    if is_url(value):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (site.path / path).absolute())


def resolve_bundles(site: Site, artifacts: str | None,
                    releases: dict[Release, list[str]] | None = None,
                    verified: dict[str, Bundle] | None = None) -> dict[str, Bundle]:
    """The verified bundle of every release the site's instances use, plus `releases` (other
    releases a run needs, e.g. the installed ones an upgrade may roll back to, each with who
    needs it), keyed `<line>-<flavor>-<release>`; {} when no artifacts location is set.
    Bundles in `verified` (an earlier call's result) are taken as they are, neither fetched
    nor checked again. Raises one InputError listing every bundle that is missing, damaged or
    unfit, before any host is contacted."""
    source = artifacts_source(site, artifacts)
    if source is None:
        return {}
    needed: dict[Release, list[tuple[str, dict[str, Any] | None]]] = {}
    for host, plans in site_plans(site).items():
        for plan in plans:
            release = Release(str(plan["line"]), str(plan["flavor"]), plan_release(plan))
            needed.setdefault(release, []).append((host, plan))
    for release, wanted_by in (releases or {}).items():
        needed.setdefault(release, []).extend((who, None) for who in wanted_by)
    if not needed:
        return {}
    problems: list[str] = []
    bundles: dict[str, Bundle] = {}
    single: Bundle | None = None
    try:
        single = _single_bundle(source)
        if single is not None:
            verify_bundle(single)
    except InputError as exc:
        problems.append(str(exc))
        needed = {}
    for release, users in sorted(needed.items(), key=lambda item: item[0].key):
        if release.key in (verified or {}):
            bundles[release.key] = (verified or {})[release.key]
            continue
        used_by = ", ".join(_("{instance} on {host}").format(instance=plan["name"], host=host)
                            if plan else host for host, plan in users)
        bundle = single
        if bundle is None:
            found = _find_release(source, release, used_by)
            if isinstance(found, str):
                problems.append(found)
                continue
            bundle = found
        fits = [_("{problem} (host {host})").format(problem=p, host=host)
                for host, plan in users if plan for p in check_bundle_fits(bundle, [plan])]
        if not any(plan for _host, plan in users) and (bundle.line, bundle.flavor,
                                                       bundle.version) \
                != (release.line, release.flavor, release.version):
            fits.append(_("bundle {source}: it holds {held}, not {release} (needed by "
                          "{used_by}): {command}").format(
                              source=bundle.source,
                              held=f"{bundle.line}-{bundle.flavor} {bundle.version}",
                              release=release.name, used_by=used_by,
                              command=release.build_command))
        problems.extend(fits)
        if not fits:
            bundles[release.key] = bundle
    if problems:
        body = "\n".join(f"  - {p}".replace("\n", "\n    ") for p in problems)
        raise InputError(ngettext(
            "The release bundles in {source} do not serve the site ({count} problem); no host "
            "was contacted.",
            "The release bundles in {source} do not serve the site ({count} problems); no host "
            "was contacted.", len(problems)).format(source=source, count=len(problems))
            + f"\n{body}")
    return bundles


def _find_release(source: str, release: Release, used_by: str) -> Bundle | str:
    """The verified bundle of `release` under `source`: `<line>-<flavor>-<release>/`, else
    the older layout `<line>-<flavor>/` when it holds that release; or what is wrong."""
    versioned = _join(source, release.key)
    legacy = _join(source, f"{release.line}-{release.flavor}")
    tried: list[str] = []
    for location in (versioned, legacy):
        if not is_url(location) and not Path(location).exists():
            tried.append(_("{location} does not exist").format(location=location))
            continue
        try:
            bundle = load_bundle(location)
        except InputError as exc:
            if location == versioned and is_url(location):
                tried.append(f"{location}: {exc.message}")
                continue  # a server without the versioned directory: try the older layout
            return str(exc)
        if location == legacy and bundle.version != release.version:
            tried.append(_("{location} holds {version}").format(location=location,
                                                                version=bundle.version))
            continue
        try:
            verify_bundle(bundle)
        except InputError as exc:
            return str(exc)
        return bundle
    return _("no bundle of {release} ({flavor}) for line {line} (needed by {used_by}): "
             "{tried}. Build it with `{command}` (it writes bundles/{key}/) and put it in "
             "{source}").format(release=release.name, flavor=release.flavor, line=release.line,
                                used_by=used_by, tried="; ".join(tried),
                                command=release.build_command, key=release.key, source=source)


def _single_bundle(source: str) -> Bundle | None:
    """The bundle when `source` is one bundle rather than a directory of them."""
    if is_url(source):
        return load_bundle(source) if _bundle_base(source) != source.rstrip("/") else None
    path = Path(source)
    if path.name == MANIFEST or (path / MANIFEST).is_file():
        return load_bundle(source)
    return None


def _join(base: str, key: str) -> str:
    if is_url(base):
        return f"{base.rstrip('/')}/{key}"
    return str(Path(base) / key)


def bundle_vars(bundles: dict[str, Bundle]) -> dict[str, Any]:
    """What the playbook gets about the verified bundles: controller paths and versions
    (never secrets), as the extra variable `dspace_bundles` keyed `<line>-<flavor>-<release>`
    (the filter `dspace_plan_bundle` picks an instance's by line, flavor and release)."""
    if not bundles:
        return {}
    return {
        "dspace_bundles": {
            key: {
                "line": b.line,
                "flavor": b.flavor,
                "version": b.version,
                "root": str(b.root),
                "installer": str(b.installer),
                "ui_archive": str(b.ui_archive),
                "solr_archive": str(b.solr_archive),
                "solr_sha512": str(b.solr_sha512),
                "dspace_version": b.dspace_version,
                "ui_version": b.ui_version,
                "solr_version": b.solr_version,
            }
            for key, b in sorted(bundles.items())
        }
    }
