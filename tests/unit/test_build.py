"""`build`: planning (versions, official and mirror sources), the Solr checksum, the
deterministic archives, the tool check, and a whole build from look-alike sources with the
real npm (tests/lookalike/sources.py: the Maven step is a stand-in), whose output `up
--artifacts` loads. Everything runs with a private build cache."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dspace_deploy import build as builder
from dspace_deploy import bundles
from dspace_deploy.build import BuildFailed, BuildRequest, plan_build
from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.site import Site
from tests.lookalike.sources import Sources, build_sources

EXE = str(Path(sys.executable).parent / "dspace-deploy")
HAVE_TOOLS = all(shutil.which(t) for t in ("javac", "node", "npm", "ant"))


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private build cache; the look-alike keeps its shared one (built once per machine)."""
    from tests.lookalike import cache_root

    monkeypatch.setenv("DSPACE_DEPLOY_LOOKALIKE_CACHE", str(cache_root()))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return tmp_path / "xdg-cache" / "dspace-deploy" / "builds"


# ------------------------------------------------------------------------------------------------
# Planning


def test_official_sources_line_9() -> None:
    plan = plan_build(BuildRequest(line="9", out=Path("/b/9")))
    assert (plan.release, plan.dspace_version, plan.solr_version) == ("9.3", "9.3", "9.8.1")
    assert plan.package_manager == "npm" and plan.cris_version is None
    assert plan.sources["backend"].url == \
        "https://github.com/DSpace/DSpace/archive/refs/tags/dspace-9.3.tar.gz"
    assert plan.sources["backend"].filename == "DSpace-dspace-9.3.tar.gz"
    assert plan.sources["ui"].url == \
        "https://github.com/DSpace/dspace-angular/archive/refs/tags/dspace-9.3.tar.gz"
    assert plan.sources["solr"].url == \
        "https://archive.apache.org/dist/solr/solr/9.8.1/solr-9.8.1.tgz"
    assert plan.sources["solr-sha512"].url.endswith("solr-9.8.1.tgz.sha512")


def test_official_sources_line_8_and_default_out(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    plan = plan_build(BuildRequest(line="8", version="8.3"))
    assert plan.package_manager == "yarn" and plan.release == "8.3"
    assert plan.sources["solr"].url == \
        "https://archive.apache.org/dist/lucene/solr/8.11.4/solr-8.11.4.tgz"
    assert plan.out == tmp_path / "bundles" / "8-dspace-8.3"


def test_cris_sources() -> None:
    plan = plan_build(BuildRequest(line="9", flavor="cris", ui_version="2025.02.01.01"))
    # the REST root of 2025.02.01 says "DSpace 9.2" (CrisConstants.java:24), built for Java 21
    assert (plan.dspace_version, plan.cris_version) == ("9.2", "cris-2025.02.01")
    assert plan.java_min == 21
    assert plan.sources["backend"].url == ("https://github.com/4Science/DSpace/archive/refs/"
                                           "tags/dspace-cris-2025.02.01.tar.gz")
    assert plan.sources["ui"].filename == "dspace-angular-dspace-cris-2025.02.01.01.tar.gz"


def test_mirror_directory_and_url(tmp_path: Path) -> None:
    plan = plan_build(BuildRequest(line="10", source_mirror=str(tmp_path)))
    assert plan.sources["backend"].url == str(tmp_path / "DSpace-dspace-10.0.tar.gz")
    assert plan.sources["solr-sha512"].url == str(tmp_path / "solr-9.8.1.tgz.sha512")
    plan = plan_build(BuildRequest(line="10", source_mirror="https://mirror.example/dspace/"))
    assert plan.sources["ui"].url == \
        "https://mirror.example/dspace/dspace-angular-dspace-10.0.tar.gz"


@pytest.mark.parametrize(("request_", "words"), [
    (BuildRequest(line="7"), "no DSpace line"),
    (BuildRequest(line="9", version="8.4"), "not a DSpace 9 release"),
    (BuildRequest(line="10", flavor="cris"), "no DSpace-CRIS release on line 10"),
    (BuildRequest(line="9", flavor="cris", version="2024.02.04"), "not a release"),
    (BuildRequest(line="8", solr_version="9.8.1"), "needs Solr 8"),
    (BuildRequest(line="9", ui_memory_mb=512), "at least 1024"),
])
def test_bad_requests(request_: BuildRequest, words: str) -> None:
    with pytest.raises(InputError, match=words):
        plan_build(request_)


# ------------------------------------------------------------------------------------------------
# Pieces


def test_solr_checksum(tmp_path: Path) -> None:
    import hashlib

    archive = tmp_path / "solr-9.8.1.tgz"
    archive.write_bytes(b"solr bytes")
    good = tmp_path / "good.sha512"
    good.write_text(f"{hashlib.sha512(b'solr bytes').hexdigest()}  solr-9.8.1.tgz\n")
    assert builder.verify_sha512(archive, good) == hashlib.sha512(b"solr bytes").hexdigest()
    bad = tmp_path / "bad.sha512"
    bad.write_text(f"{'0' * 128}  solr-9.8.1.tgz\n")
    with pytest.raises(InputError, match=r"solr-9\.8\.1\.tgz does not match its published"):
        builder.verify_sha512(archive, bad)
    empty = tmp_path / "empty.sha512"
    empty.write_text("not a digest\n")
    with pytest.raises(InputError, match="no SHA-512"):
        builder.verify_sha512(archive, empty)


def test_write_tar_is_deterministic(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "dist").mkdir(parents=True)
    (root / "dist" / "a.js").write_text("a")
    (root / "config").mkdir()
    (root / "node_modules").mkdir()
    (root / "package.json").write_text("{}")
    builder.write_tar(tmp_path / "one.tar.gz", root, "dspace-ui", builder.UI_MEMBERS)
    os.utime(root / "dist" / "a.js", (1, 1))
    builder.write_tar(tmp_path / "two.tar.gz", root, "dspace-ui", builder.UI_MEMBERS)
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "one.tar.gz") as tf:
        names = tf.getnames()
        assert all(m.uid == 0 and m.mtime == builder.TAR_MTIME for m in tf.getmembers())
    assert names == ["dspace-ui", "dspace-ui/dist", "dspace-ui/dist/a.js", "dspace-ui/config",
                     "dspace-ui/package.json"]  # no node_modules, no docker (absent)


def test_ui_commands_and_environment() -> None:
    assert builder.ui_commands("npm", "npm", True) == [
        ["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "build:prod"]]
    assert builder.ui_commands("npm", "npm", False)[0][1] == "install"
    assert builder.ui_commands("yarn", "yarn", True) == [
        ["yarn", "install", "--frozen-lockfile"], ["yarn", "run", "build:prod"]]
    env = builder.ui_environment(8192)
    assert env["CYPRESS_INSTALL_BINARY"] == "0"
    assert env["NODE_OPTIONS"] == "--max_old_space_size=8192"


def test_missing_tools_are_named_together(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    plan = plan_build(BuildRequest(line="8", out=tmp_path / "b"))
    with pytest.raises(EnvironmentProblem) as caught:
        builder.check_tools(plan, need_backend=True, need_ui=True)
    text = str(caught.value)
    for tool in ("javac", "mvn", "Node.js", "yarn"):
        assert tool in text
    assert builder.check_tools(plan, need_backend=False, need_ui=False).mvn == ""


def test_version_majors() -> None:
    assert builder._major("javac 17.0.12") == 17
    assert builder._major("v20.19.2\n") == 20
    assert builder._major("") == 0


def test_failed_step_names_its_log(tmp_path: Path) -> None:
    script = tmp_path / "fails"
    script.write_text("#!/bin/sh\necho compiling\necho 'ERROR: boom' >&2\nexit 3\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "step.log"
    with pytest.raises(BuildFailed) as caught:
        builder._run_step([str(script)], tmp_path, dict(os.environ), log, "backend (Maven)",
                          lambda _m: None)
    assert caught.value.exit_code == 1
    assert "exit 3" in str(caught.value) and "ERROR: boom" in str(caught.value)
    assert str(log) in str(caught.value)


# ------------------------------------------------------------------------------------------------
# A whole build from look-alike sources


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: Path) -> Sources:
    if not HAVE_TOOLS:
        pytest.skip("needs a JDK, Ant, Node.js and npm (the look-alike and the UI build)")
    sources = build_sources("9", tmp_path / "mirror")
    monkeypatch.setenv("PATH", f"{sources.bin_dir}{os.pathsep}{os.environ['PATH']}")
    return sources


def test_build_from_lookalike_sources(mirror: Sources, tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "bundles" / "9-dspace"
    messages: list[str] = []
    result = builder.build(BuildRequest(line="9", out=out, source_mirror=str(mirror.mirror)),
                           log=messages.append)
    assert sorted(result.built) == ["backend", "ui"] and not result.reused
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == 1 and manifest["lookalike"] is False
    assert (manifest["line"], manifest["flavor"], manifest["dspace_version"],
            manifest["ui_version"], manifest["solr_version"]) == ("9", "dspace", "9.3", "9.3",
                                                                  "9.8.1")
    assert sorted(manifest["files"]) == ["backend/dspace-installer.tar.gz",
                                         "solr/solr-9.8.1.tgz", "solr/solr-9.8.1.tgz.sha512",
                                         "ui/dspace-ui.tar.gz"]
    assert manifest["sources"]["ui"]["url"] == str(mirror.ui)
    # Maven got the contract 1.1 flags; the UI was installed and built by the real npm.
    assert any("-P-test-environment -Denforcer.skip=true" in m for m in messages)
    assert any("npm ci" in m for m in messages)
    with tarfile.open(out / "ui" / "dspace-ui.tar.gz") as tf:
        names = set(tf.getnames())
        member = tf.extractfile("dspace-ui/dist/build-info.json")
        assert member is not None
        info = json.loads(member.read())
    assert {"dspace-ui/dist/server/main.js", "dspace-ui/dist/browser/index.html",
            "dspace-ui/config/config.yml", "dspace-ui/docker/dspace-ui.json",
            "dspace-ui/package.json"} <= names
    assert not any("node_modules" in n or "/src/" in n for n in names)
    assert info["node_options"] == "--max_old_space_size=4096"
    with tarfile.open(out / "backend" / "dspace-installer.tar.gz") as tf:
        assert "dspace-installer/build.xml" in tf.getnames()
        assert "dspace-installer/webapps/server-boot.jar" in tf.getnames()

    # What `up --artifacts` does with it: load, verify every checksum, fit the instances.
    bundle = bundles.load_bundle(str(out))
    bundles.verify_bundle(bundle)
    site = Site(path=tmp_path, name="t", hosts=["web1"],
                hostvars={"web1": {"dspace_instances": [
                    {"name": "repo", "hostname": "repo.example.edu", "line": "9"}]}},
                vault_file=tmp_path / "v", vault_password_file=tmp_path / "p")
    resolved = bundles.resolve_bundles(site, str(out.parent))
    assert resolved["9-dspace-9.3"].dspace_version == "9.3"
    assert bundles.bundle_vars(resolved)["dspace_bundles"]["9-dspace-9.3"]["installer"] == \
        str(out / "backend" / "dspace-installer.tar.gz")

    # Built once: the same inputs again reuse the bundle; another output directory is
    # assembled from the cache without running Maven or npm.
    again = builder.build(BuildRequest(line="9", out=out, source_mirror=str(mirror.mirror)))
    assert again.reused
    other = builder.build(BuildRequest(line="9", out=tmp_path / "elsewhere",
                                       source_mirror=str(mirror.mirror)))
    assert other.built == [] and not other.reused
    assert json.loads((tmp_path / "elsewhere" / "manifest.json").read_text())["files"] == \
        manifest["files"]
    # A damaged bundle is not reused: it is rebuilt from the cache.
    (out / "ui" / "dspace-ui.tar.gz").unlink()
    repaired = builder.build(BuildRequest(line="9", out=out, source_mirror=str(mirror.mirror)))
    assert not repaired.reused and repaired.built == []
    bundles.verify_bundle(bundles.load_bundle(str(out)))


def test_cris_build_puts_the_layout_workbook_into_the_installers_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """DSpace-CRIS's installer has no etc/ (assembly.xml:27-66 at dspace-cris-2025.02.01); the
    build copies the source's dspace/etc/conftool to the installer's config/conftool, which Ant
    installs as [dspace]/config/conftool (where CRIS's Dockerfile.build:39 puts it)."""
    if not HAVE_TOOLS:
        pytest.skip("needs a JDK, Ant, Node.js and npm (the look-alike and the UI build)")
    jdk21 = next((Path(p) for p in ("/usr/lib/jvm/java-21-openjdk-amd64",
                                    "/usr/lib/jvm/temurin-25-jdk-amd64")
                  if (Path(p) / "bin" / "javac").exists()), None)
    if jdk21 is None:
        pytest.skip("DSpace-CRIS 2025.02 builds with a JDK 21 or newer; none here")
    sources = build_sources("9", tmp_path / "mirror", flavor="cris")
    monkeypatch.setenv("PATH", f"{sources.bin_dir}{os.pathsep}{jdk21 / 'bin'}{os.pathsep}"
                               f"{os.environ['PATH']}")
    out = tmp_path / "bundles" / "9-cris"
    result = builder.build(BuildRequest(line="9", flavor="cris", out=out,
                                        source_mirror=str(sources.mirror)))
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["dspace_version"], manifest["cris_version"], manifest["java_min"]) == (
        "9.2", "cris-2025.02.01", 21)
    with tarfile.open(out / "backend" / "dspace-installer.tar.gz") as tf:
        names = set(tf.getnames())
    assert "dspace-installer/config/conftool/cris-layout-configuration.xls" in names
    assert not any(n.startswith("dspace-installer/etc") for n in names)
    assert result.built == ["backend", "ui"] or sorted(result.built) == ["backend", "ui"]
    # what `up` checks before any host: the bundle fits a CRIS instance
    bundle = bundles.load_bundle(str(out))
    from dspace_deploy import plans
    plan = plans.plan_module().instance_plan([{"name": "cris", "hostname": "c.example.edu",
                                                "admin_email": "a@example.edu", "line": "9",
                                                "flavor": "cris"}])
    assert bundles.check_bundle_fits(bundle, plan) == []


def test_cris_source_without_the_workbook_fails_the_build(tmp_path: Path) -> None:
    source = tmp_path / "DSpace-dspace-cris-2025.02.01"
    installer = source / builder.INSTALLER_DIR
    installer.mkdir(parents=True)
    with pytest.raises(BuildFailed, match=r"has no dspace/etc/conftool/cris-layout"):
        builder.add_cris_conftool(source, installer)


def test_bad_solr_checksum_is_refused(mirror: Sources, tmp_path: Path, cache: Path) -> None:
    mirror.solr_sha512.write_text(f"{'ab' * 64}  {mirror.solr.name}\n")
    done = subprocess.run(
        [EXE, "build", "--line", "9", "--source-mirror", str(mirror.mirror), "--out",
         str(tmp_path / "out"), "--json"],
        capture_output=True, text=True, check=False, env=os.environ.copy())
    assert done.returncode == 2, done.stderr
    document = json.loads(done.stdout)
    assert "solr-9.8.1.tgz does not match its published checksum" in document["error"]
    assert not (tmp_path / "out").exists()  # refused before anything was built or written


def test_missing_source_in_mirror(mirror: Sources, tmp_path: Path, cache: Path) -> None:
    mirror.ui.unlink()
    with pytest.raises(InputError, match=r"dspace-angular-dspace-9\.3\.tar\.gz"):
        builder.build(BuildRequest(line="9", out=tmp_path / "o",
                                   source_mirror=str(mirror.mirror)))


def test_ui_install_without_cypress_switch_fails_like_the_real_one(
        mirror: Sources, tmp_path: Path, cache: Path) -> None:
    """The look-alike's postinstall is strict; the build passes because build.py sets
    CYPRESS_INSTALL_BINARY=0 (shown by the whole-build test), not because nothing checks."""
    root = builder.extract_source(mirror.ui, tmp_path / "ui")
    env = {k: v for k, v in os.environ.items() if k != "CYPRESS_INSTALL_BINARY"}
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=root, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "CYPRESS_INSTALL_BINARY=0" in done.stderr


def test_cli_flags_reach_the_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dspace_deploy.cli import app

    seen: dict[str, BuildRequest] = {}

    def fake_build(request: BuildRequest, log: object = None) -> builder.BuildResult:
        seen["request"] = request
        plan = plan_build(request)
        manifest = {"dspace_version": plan.dspace_version, "ui_version": plan.ui_release,
                    "solr_version": plan.solr_version, "files": {},
                    "cris_version": plan.cris_version}
        return builder.BuildResult(plan, plan.out, manifest, reused=True)

    monkeypatch.setattr(builder, "build", fake_build)
    result = CliRunner().invoke(app, ["build", "--line", "9", "--flavor", "cris", "--version",
                                      "2025.02.01", "--out", str(tmp_path / "b"),
                                      "--source-mirror", "/srv/mirror", "--ui-memory", "8192",
                                      "--json"])
    assert result.exit_code == 0, result.output
    request = seen["request"]
    assert (request.line, request.flavor, request.version, request.out, request.source_mirror,
            request.ui_memory_mb) == ("9", "cris", "2025.02.01", tmp_path / "b", "/srv/mirror",
                                      8192)
    document = json.loads(result.stdout)
    assert document["reused"] is True and document["dspace_version"] == "9.2"


def test_cli_modules_keep_help_fast() -> None:
    code = ("import sys, dspace_deploy.cli; print(sorted(m for m in sys.modules if m.startswith("
            "('rich', 'ansible', 'yaml', 'dspace_deploy.build', 'dspace_deploy.status', "
            "'dspace_deploy.bundles', 'dspace_deploy.runner'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_build_from_a_mirror_url(mirror: Sources, tmp_path: Path, cache: Path) -> None:
    """Sources over http: downloaded once into the cache; a Solr archive whose checksum
    fails is dropped from the cache so the next run fetches it again."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(mirror.mirror))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        good = mirror.solr_sha512.read_text()
        mirror.solr_sha512.write_text(f"{'cd' * 64}  {mirror.solr.name}\n")
        with pytest.raises(InputError, match="does not match its published checksum"):
            builder.build(BuildRequest(line="9", out=tmp_path / "o", source_mirror=url))
        assert not list((cache / "downloads").rglob("solr-9.8.1.tgz*"))
        mirror.solr_sha512.write_text(good)
        result = builder.build(BuildRequest(line="9", out=tmp_path / "o", source_mirror=url))
        assert sorted(result.built) == ["backend", "ui"]
        assert result.manifest["sources"]["backend"]["url"] == f"{url}DSpace-dspace-9.3.tar.gz"
        downloads = sorted(p.name for p in (cache / "downloads").rglob("*") if p.is_file())
        assert downloads == sorted([mirror.backend.name, mirror.ui.name, mirror.solr.name,
                                    mirror.solr_sha512.name])
    finally:
        server.shutdown()
        server.server_close()
    # The server is gone: the same build still works from the download cache.
    again = builder.build(BuildRequest(line="9", out=tmp_path / "o", source_mirror=url))
    assert again.reused
