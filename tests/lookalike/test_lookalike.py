"""The look-alike releases behave like the real ones where a deployment depends on it.

Runs the real Apache Ant, a throwaway PostgreSQL cluster, the Solr look-alike, the backend jar, the
UI server and the handle server on free localhost ports. Skips with a reason when a tool is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml

from dspace_deploy.report.probes import resolution_answer, resolution_request
from tests.handle_site import advertised_ports, bundle_site
from tests.lookalike import CRIS_WORKBOOK, Release, _migrations, build_release

ROLES = Path(__file__).resolve().parents[2] / "roles"

pytestmark = pytest.mark.lookalike

LINES = ["8", "9", "10"]


def _pg_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    return None


def _java_major() -> int:
    out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else 0


MISSING = [t for t in ("java", "javac", "ant", "node") if not shutil.which(t)]
if not _pg_bin():
    MISSING.append("postgresql (initdb)")
for jar, pkg in (
    ("/usr/share/java/ant-contrib.jar", "ant-contrib"),
    ("/usr/share/java/postgresql.jar", "libpostgresql-jdbc-java"),
):
    if not Path(jar).exists():
        MISSING.append(pkg)
needs_tools = pytest.mark.skipif(bool(MISSING), reason=f"missing: {', '.join(MISSING)}")


# ----------------------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int, udp: bool = False) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def primary_address() -> str:
    """This machine's own non-loopback IPv4 address (the one its default route uses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("198.51.100.1", 9))  # TEST-NET-2: any routed address
            address = s.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("no non-loopback address for the handle server setup")
    return address


def http(url: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def post_json(url: str, data) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read().decode()


def wait_for(pred, timeout: float = 30, what: str = "condition"):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


def wait_port(port: int, timeout: float = 30, host: str = "127.0.0.1") -> None:
    def ok():
        with socket.create_connection((host, port), timeout=1):
            return True

    wait_for(ok, timeout, f"port {port}")


def run(
    cmd, cwd=None, env=None, check=True, timeout=180, stdin=subprocess.DEVNULL, input_text=None
) -> subprocess.CompletedProcess:
    p = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
        stdin=stdin, input=input_text
    )
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


class Procs:
    """Processes started by a test; each in its own process group, all killed at teardown."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        self.pids: list[int] = []

    def start(self, cmd, cwd=None, env=None, log: Path | None = None) -> subprocess.Popen:
        out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
        p = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append(p)
        return p

    def adopt(self, pid: int) -> None:
        self.pids.append(pid)

    def stop(self, p: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                self.stop(p)
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Postgres:
    """A throwaway cluster on a free port (as user postgres when running as root)."""

    def __init__(self, base: Path):
        self.bin = _pg_bin()
        self.dir = base
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
                self.user = "postgres"
            except KeyError:
                pytest.skip("running as root and no 'postgres' user to run a PostgreSQL cluster")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.dir, self.user)
        self._as(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.dir / "data"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ]
        )
        self._as(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-w",
                "-l",
                str(self.dir / "log"),
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ]
        )
        self.sql("postgres", "CREATE USER dspace PASSWORD 'dspace'")

    def _as(self, cmd):
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return run(cmd, cwd="/tmp")

    def sql(self, db: str, statement: str) -> str:
        psql = str(self.bin / "psql")
        return run(
            [
                psql,
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-At",
                "-c",
                statement,
            ]
        ).stdout.strip()

    def createdb(self, name: str, pgcrypto: bool = False) -> str:
        self.sql("postgres", f"CREATE DATABASE {name} OWNER dspace")
        if pgcrypto:
            self.sql(name, "CREATE EXTENSION pgcrypto")
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{name}"

    def close(self):
        with contextlib.suppress(Exception):
            self._as(
                [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"]
            )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Release]:
    if MISSING:
        pytest.skip(f"missing: {', '.join(MISSING)}")
    base = tmp_path_factory.mktemp("bundles")
    return {line: build_release(line, base / line) for line in LINES}


def solr_start(
    procs: Procs, rel: Release, root: Path, home: Path, port: int, opts: str = ""
) -> Path:
    """Start the Solr look-alike of `rel` in the foreground (as a supervised service would)."""
    solr = (
        rel.unpack_solr(root)
        if not (root / f"solr-{rel.solr_version}").exists()
        else root / f"solr-{rel.solr_version}"
    )
    inc = root / f"solr-{port}.in.sh"
    inc.write_text(
        f'SOLR_PORT={port}\nSOLR_HOME="{home}"\nSOLR_PID_DIR="{root}/pid"\n'
        f'SOLR_LOGS_DIR="{root}/logs-{port}"\nSOLR_HEAP=256m\nSOLR_OPTS="{opts}"\n'
    )
    env = dict(os.environ, SOLR_INCLUDE=str(inc))
    procs.start(
        [str(solr / "bin" / "solr"), "start", "-f", "-force"],
        env=env,
        log=root / f"solr-{port}.out",
    )
    wait_port(port)
    return solr


def solr_home(root: Path, rel_solr: Path, cores_from: Path, cores=None) -> Path:
    home = root / "home"
    home.mkdir(parents=True)
    shutil.copy(rel_solr / "server" / "solr" / "solr.xml", home / "solr.xml")
    for core in sorted(os.listdir(cores_from)):
        if cores is None or core in cores:
            shutil.copytree(cores_from / core, home / core)
    return home


# --------------------------------------------------------------------------------------- artifacts


@needs_tools
@pytest.mark.parametrize("line", LINES)
def test_bundle_layout(bundles, line, tmp_path):
    rel = bundles[line]
    manifest = json.loads(rel.manifest.read_text())
    assert manifest["format"] == 1 and manifest["lookalike"] is True
    assert manifest["line"] == line and manifest["flavor"] == "dspace"
    assert manifest["dspace_version"] == {"8": "8.4", "9": "9.3", "10": "10.0"}[line]
    assert manifest["solr_version"] == ("8.11.4" if line == "8" else "9.8.1")
    assert manifest["java_min"] == (21 if line == "10" else 17)
    for relpath, meta in manifest["files"].items():
        data = (rel.root / relpath).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"] and len(data) == meta["size"]
    assert set(manifest["files"]) == {
        "backend/dspace-installer.tar.gz",
        "ui/dspace-ui.tar.gz",
        f"solr/solr-{rel.solr_version}.tgz",
        f"solr/solr-{rel.solr_version}.tgz.sha512",
    }
    digest, name = rel.solr_sha512.read_text().split()
    assert name == rel.solr.name and digest == hashlib.sha512(rel.solr.read_bytes()).hexdigest()
    for tgz, top in (
        (rel.installer, "dspace-installer"),
        (rel.ui, "dspace-ui"),
        (rel.solr, f"solr-{rel.solr_version}"),
    ):
        with tarfile.open(tgz) as tf:
            assert {n.split("/")[0] for n in tf.getnames()} == {top}

    inst = rel.unpack_installer(tmp_path)
    assert "test look-alike" in (inst / "NOTICE").read_text()
    assert {p.name for p in (inst / "bin").iterdir()} == {
        "dspace",
        "dspace.bat",
        "log-reporter",
        "make-handle-config",
        "start-handle-server",
        "start-handle-server.bat",
    }
    libs = {p.name for p in (inst / "lib").iterdir()}
    assert {
        "ant-contrib-1.0b3.jar",
        "handle-9.3.2.jar",
        f"dspace-api-{rel.dspace_version}.jar",
    } <= libs
    assert any(n.startswith("postgresql-") for n in libs)
    assert not (inst / "config" / "local.cfg").exists()
    assert not (inst / "etc").exists()
    cfg = (inst / "config" / "dspace.cfg").read_text()
    for inc in re.findall(r"^include = \$\{module_dir\}/(.+)$", cfg, re.M):
        assert (inst / "config" / "modules" / inc).is_file(), inc
    for f in (
        "config-definition.xml",
        "local.cfg.EXAMPLE",
        "launcher.xml",
        "log4j2.xml",
        "log4j2-cli.xml",
        "log4j2-console.xml",
        "log4j2-container.xml",
        "log4j2-handle-plugin.xml",
    ):
        assert (inst / "config" / f).is_file(), f
    for m in (
        "irus-statistics",
        "assetstore",
        "oai",
        "rest",
        "actuator",
        "discovery",
        "solr-statistics",
        "solrauthority",
    ):
        assert (inst / "config" / "modules" / f"{m}.cfg").is_file(), m
    cores = sorted(p.name for p in (inst / "solr").iterdir())
    assert (
        cores
        == sorted(rel.cores)
        == sorted(
            {"8": ["authority", "oai", "qaevent", "search", "statistics", "suggestion"]}.get(
                line, cores
            )
        )
    )
    for core in cores:
        assert (inst / "solr" / core / "core.properties").stat().st_size == 0
        conf = sorted(p.name for p in (inst / "solr" / core / "conf").iterdir())
        if line == "10" and core == "audit":
            assert conf == ["schema.xml", "solrconfig.xml"]
        else:
            assert conf == [
                "protwords.txt",
                "schema.xml",
                "solrconfig.xml",
                "stopwords.txt",
                "synonyms.txt",
            ]
        sc = (inst / "solr" / core / "conf" / "solrconfig.xml").read_text()
        assert "<luceneMatchVersion>8.8.1</luceneMatchVersion>" in sc
        if core == "search":
            assert ("contrib/analysis-extras" in sc) == (line == "8")
            assert ("modules/analysis-extras" in sc) == (line != "8")
    if line == "10":
        assert "audit" in cores
    app = (
        inst / "webapps" / "server" / "WEB-INF" / "classes" / "application.properties"
    ).read_text()
    assert "dspace.dir=${dspace.dir}" in app
    assert (inst / "webapps" / "server-boot.jar").is_file()

    ui = rel.unpack_ui(tmp_path)
    for f in (
        "dist/browser/index.html",
        "dist/server/main.js",
        "config/config.yml",
        "config/config.example.yml",
        "docker/dspace-ui.json",
        "package.json",
        "NOTICE",
    ):
        assert (ui / f).is_file(), f
    assert (ui / "dist" / "browser" / "assets").is_dir()
    pkg = json.loads((ui / "package.json").read_text())
    assert pkg["name"] == "dspace-angular" and pkg["version"] == rel.ui_version
    assert pkg["engines"]["node"] == (">=18.0.0 <21.0.0" if line == "8" else ">=20.0.0 <25.0.0")
    pm2 = json.loads((ui / "docker" / "dspace-ui.json").read_text())["apps"][0]
    assert pm2 == {
        "name": "dspace-ui",
        "cwd": "/app",
        "script": "dist/server/main.js",
        "instances": "max",
        "exec_mode": "cluster",
    }

    solr = rel.unpack_solr(tmp_path)
    for f in ("bin/solr", "bin/solr.in.sh", "server/solr/solr.xml", "LICENSE.txt", "NOTICE.txt"):
        assert (solr / f).is_file(), f
    assert (solr / "server" / "scripts").is_dir() and (solr / "licenses").is_dir()
    extras = solr / (
        "contrib/analysis-extras/lib" if line == "8" else "modules/analysis-extras/lib"
    )
    assert any(p.name.startswith("icu4j") for p in extras.iterdir())


@needs_tools
def test_cached_build_is_fast(bundles, tmp_path):
    t0 = time.time()
    for line in LINES:
        build_release(line, tmp_path / line)
    assert time.time() - t0 < 2


# ----------------------------------------------------------------------------------------- backend


def _install(rel: Release, root: Path, db_url: str, solr_url: str, name: str) -> tuple[Path, Path]:
    """Unpack the installer and add a config/local.cfg (one of the documented ways)."""
    inst = rel.unpack_installer(root / "unpacked")
    dspace = root / "dspace"
    (inst / "config" / "local.cfg").write_text(
        f"dspace.dir = {dspace}\ndb.url = {db_url}\nsolr.server = {solr_url}\n"
        f"dspace.name = {name}\n"
        "dspace.server.url = http://localhost:8080/server\n"
    )
    return inst, dspace


@needs_tools
@pytest.mark.parametrize("line", LINES)
def test_backend_lifecycle(bundles, pg, procs, tmp_path, line):
    rel = bundles[line]
    solr_port, boot_port, ui_port = free_port(), free_port(), free_port()
    solr_url = f"http://127.0.0.1:{solr_port}/solr"
    db_url = pg.createdb(f"lifecycle{line}", pgcrypto=False)
    inst, dspace = _install(rel, tmp_path, db_url, solr_url, f"Look-alike {line}")

    if line == "10" and _java_major() < 21:
        # Java 17 cannot run DSpace 10: the same failure a real 10.0 gives
        p = run(["ant", "fresh_install"], cwd=inst, check=False)
        assert p.returncode != 0 and "BUILD FAILED" in p.stdout + p.stderr
        assert "class file version 65.0" in p.stdout + p.stderr
        run(
            ["ant", "init_installation", "update_configs", "update_code", "update_webapps"],
            cwd=inst,
        )
        for cmd in (["bin/dspace", "version"], ["java", "-jar", "webapps/server-boot.jar"]):
            p = run(cmd, cwd=dspace, check=False)
            assert p.returncode == 1
            assert (
                "has been compiled by a more recent version of the Java Runtime "
                "(class file version 65.0)" in p.stderr
            )
        return

    if line == "8":
        # pgcrypto is required on 7.6/8: test_database fails, so fresh_install fails
        p = run(["ant", "fresh_install"], cwd=inst, check=False)
        assert p.returncode != 0 and "BUILD FAILED" in p.stdout + p.stderr
        assert "'pgcrypto' extension is NOT INSTALLED" in p.stdout
        pg.sql(f"lifecycle{line}", "CREATE EXTENSION pgcrypto")
    p = run(["ant", "fresh_install"], cwd=inst)
    assert "BUILD SUCCESSFUL" in p.stdout and "Connected successfully!" in p.stdout
    assert "The DSpace code has been installed." in p.stdout

    # installed tree (contract section 3)
    for d in (
        "bin",
        "config",
        "lib",
        "solr",
        "webapps",
        "exports",
        "exports/download",
        "handle-server",
        "log",
        "reports",
        "triplestore",
        "upload",
        "var",
        "var/oai",
    ):
        assert (dspace / d).is_dir(), d
    for f in (
        "dspace.cfg",
        "dspace.cfg.default",
        "ant.properties",
        "local.cfg",
        "local.cfg.EXAMPLE",
    ):
        assert (dspace / "config" / f).is_file(), f
    assert (dspace / "config" / "ant.properties").read_text().startswith("ant.version = Apache Ant")
    assert all(os.access(p, os.X_OK) for p in (dspace / "bin").iterdir())
    app = (
        dspace / "webapps" / "server" / "WEB-INF" / "classes" / "application.properties"
    ).read_text()
    assert f"dspace.dir={dspace}\n" in app and f"logging.config = {dspace}/config/log4j2.xml" in app
    assert (dspace / "webapps" / "server-boot.jar").is_file()
    assert not (dspace / "assetstore").exists()

    def dspace_cmd(*args, check=True, env=None):
        return run([str(dspace / "bin" / "dspace"), *args], check=check, env=env)

    # database info / migrate
    p = dspace_cmd("database", "info")
    assert "Pending" in p.stdout and "NOT yet initialized" in p.stdout
    assert "Database Software: PostgreSQL version" in p.stdout
    assert ("pgcrypto' extension installed/up-to-date? true" in p.stdout) == (line == "8")
    p = dspace_cmd("database", "migrate")
    assert "Migrating database to latest version" in p.stdout and p.stdout.rstrip().endswith(
        "Done."
    )
    p = dspace_cmd("database", "info")
    assert "Pending" not in p.stdout and "Success" in p.stdout
    newest = {"8": "8.4.2026.03.28", "9": "9.0.2025.03.12", "10": "10.0.2026.02.18"}[line]
    rows = pg.sql(
        f"lifecycle{line}",
        "SELECT version || '|' || success FROM schema_version ORDER BY installed_rank",
    )
    assert rows.splitlines()[-1] == f"{newest}|true"
    assert newest in p.stdout
    cols = pg.sql(
        f"lifecycle{line}",
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_name = 'schema_version'",
    )
    assert cols == (
        "installed_rank,version,description,type,script,checksum,installed_by,installed_on,"
        "execution_time,success"
    )
    assert dspace_cmd("database", "test").returncode == 0
    # Failed rows of migrations the code lacks: Flyway's "Failed (Missing)" (older than the
    # newest the code has) and "Failed (Future)" (newer); the backend role refuses both like
    # "Failed" (its pattern in roles/dspace_backend/vars/main.yml)
    pattern = yaml.safe_load((ROLES / "dspace_backend" / "vars" / "main.yml").read_text())[
        "dspace_backend_failed_migration_pattern"]
    assert not re.search(pattern, p.stdout)
    for version, state in (("1.0.5", "Failed (Missing)"), ("99.0", "Failed (Future)")):
        pg.sql(f"lifecycle{line}",
               "INSERT INTO schema_version (installed_rank, version, description, type, script,"
               " checksum, installed_by, installed_on, execution_time, success) VALUES (1000, "
               f"'{version}', 'x', 'SQL', 'V{version}__x.sql', 0, 'dspace', now(), 1, false)")
        info = dspace_cmd("database", "info").stdout
        assert re.search(rf"\|\s*{re.escape(state)}\s*\|", info), info
        assert re.search(pattern, info), state
        pg.sql(f"lifecycle{line}", "DELETE FROM schema_version WHERE installed_rank = 1000")
    p = dspace_cmd("database", check=False)
    assert p.returncode == 1 and "Database action argument is missing." in p.stdout

    # create-administrator: non-interactive and idempotent; without flags it needs a console
    for first in ("Ada", "Adele"):
        p = dspace_cmd(
            "create-administrator",
            "-e",
            "admin@example.org",
            "-f",
            first,
            "-l",
            "Admin",
            "-p",
            "s3cret",
        )
        assert "Administrator account created" in p.stdout
    assert pg.sql(f"lifecycle{line}", "SELECT count(*) FROM eperson") == "1"
    assert (
        pg.sql(
            f"lifecycle{line}",
            "SELECT count(*) FROM epersongroup2eperson m JOIN epersongroup g "
            "ON g.uuid = m.eperson_group_id WHERE g.name = 'Administrator'",
        )
        == "1"
    )
    p = dspace_cmd("create-administrator", "-e", "x@example.org", check=False)
    assert p.returncode == 1 and "console" in p.stderr

    # launcher basics
    p = dspace_cmd("no-such-command", check=False)
    assert p.returncode == 1 and "Command not found: no-such-command" in p.stderr
    assert dspace_cmd("dsprop", "--property", "dspace.name").stdout == f"Look-alike {line}\n"
    assert dspace_cmd("dsprop", "-p", "not.a.key").stdout == "\n"
    env = dict(os.environ, dspace__P__name="From env")
    assert dspace_cmd("dsprop", "-p", "dspace.name", env=env).stdout == "From env\n"
    p = dspace_cmd("version")
    assert (
        f"DSpace version:  {rel.dspace_version}" in p.stdout
        and f"DSpace home:  {dspace}" in p.stdout
    )
    assert dspace_cmd("classpath").stdout.strip() == f"{dspace}/lib/*:{dspace}/config"

    # backend jar: DOWN (HTTP 200) while Solr is unreachable. Its SSR URL is where the UI
    # below reaches it: the REST root's links follow it, and the UI follows the links.
    with (dspace / "config" / "local.cfg").open("a") as fh:
        fh.write(f"dspace.server.ssr.url = http://127.0.0.1:{boot_port}/server\n")
    boot_env = dict(os.environ)
    boot = procs.start(
        [
            "java",
            f"-Ddspace.dir={dspace}",
            f"-Dlogging.config={dspace}/config/log4j2.xml",
            f"-Dserver.port={boot_port}",
            "-Dserver.address=127.0.0.1",
            "-jar",
            str(dspace / "webapps" / "server-boot.jar"),
        ],
        env=boot_env,
        log=tmp_path / "boot.out",
    )
    wait_port(boot_port)
    base = f"http://127.0.0.1:{boot_port}/server"
    status, body = http(base + "/actuator/health")
    assert status == 200 and json.loads(body) == {"status": "DOWN"}

    # Solr with exactly the installed cores
    sroot = tmp_path / "solr"
    sroot.mkdir()
    solr_dir = rel.unpack_solr(sroot)
    home = solr_home(sroot, solr_dir, dspace / "solr")
    opts = "" if line == "8" else "-Dsolr.config.lib.enabled=true"
    solr_start(procs, rel, sroot, home, solr_port, opts)
    status, body = http(f"{solr_url}/admin/cores?action=STATUS&wt=json")
    st = json.loads(body)
    assert sorted(st["status"]) == sorted(rel.cores) and st["initFailures"] == {}
    for core in rel.cores:
        assert json.loads(http(f"{solr_url}/{core}/admin/ping?wt=json")[1])["status"] == "OK"
    assert http(f"{solr_url}/nosuchcore/admin/ping")[0] == 404

    status, body = http(base + "/actuator/health")
    assert status == 200 and json.loads(body) == {"status": "UP_WITH_ISSUES"}
    root = json.loads(http(base + "/api")[1])
    assert root["dspaceVersion"] == f"DSpace {rel.dspace_version}" and root["type"] == "root"
    assert root["dspaceName"] == f"Look-alike {line}" and "self" in root["_links"]
    status, body = http(base + "/oai/request?verb=Identify")
    assert status == 200 and f"<repositoryName>Look-alike {line}</repositoryName>" in body
    assert "<baseURL>http://localhost:8080/server/oai/request</baseURL>" in body
    assert http(f"http://127.0.0.1:{boot_port}/other")[0] == 404
    assert (dspace / "log" / "dspace.log").is_file()

    # Solr-backed commands
    p = dspace_cmd("index-discovery", "-b")
    assert "(Re)building index from scratch." in p.stdout and "The script has completed" in p.stdout
    p = dspace_cmd("oai", "import")
    assert p.returncode == 0 and "OAI 2.0 manager action ended" in p.stdout
    dspace_cmd("generate-sitemaps")
    assert http(base + "/sitemaps/sitemap_index.xml")[0] == 200
    p = dspace_cmd("subscription-send", check=False)
    assert p.returncode == 1
    assert "The script has completed" in dspace_cmd("subscription-send", "-f", "D").stdout
    # -t exists only in DSpace-CRIS: DSpace's launcher refuses it (help, exit 1)
    p = dspace_cmd("subscription-send", "-t", "content", "-f", "D", check=False)
    assert p.returncode == 1 and "Unrecognized option: -t" in p.stderr

    # index-discovery without -c only adds and updates (IndexClientOptions.java:74 at
    # dspace-9.3): a document whose object is gone stays until -c removes it
    search = f"{solr_url}/search"
    stale = "00000000-0000-0000-0000-00000000dead"
    post_json(f"{search}/update?commit=true",
              [{"search.uniqueid": f"2-{stale}", "search.resourcetype": "Item",
                "search.resourceid": stale}])

    def stale_docs() -> int:
        q = urllib.parse.quote(f"search.resourceid:{stale}")
        return json.loads(http(f"{search}/select?q={q}&rows=0")[1])["response"]["numFound"]

    p = dspace_cmd("index-discovery")
    assert "Updating Index" in p.stdout and stale_docs() == 1
    p = dspace_cmd("index-discovery", "-c")
    assert "Cleaning Index" in p.stdout and stale_docs() == 0

    # statistics export / import through [dspace]/solr-export
    post_json(
        f"{solr_url}/statistics/update?commit=true",
        [
            {"uid": "v1", "type": 2, "time": "2024-05-01T10:00:00Z"},
            {"uid": "v2", "type": 0, "time": "2024-06-01T10:00:00Z"},
        ],
    )
    # as DSpace: the first run creates the missing [dspace]/solr-export and exports nothing
    dspace_cmd("solr-export-statistics")
    assert (dspace / "solr-export").is_dir()
    assert not list((dspace / "solr-export").iterdir())
    dspace_cmd("solr-export-statistics")
    assert sorted(f.name for f in (dspace / "solr-export").iterdir()) == [
        "statistics_export_2024-05.csv",
        "statistics_export_2024-06.csv",
    ]
    post_json(f"{solr_url}/statistics/update?commit=true", {"delete": {"query": "*:*"}})
    dspace_cmd("solr-import-statistics")
    assert (
        json.loads(http(f"{solr_url}/statistics/select?q=*:*&rows=0")[1])["response"]["numFound"]
        == 2
    )

    # UI server
    ui = rel.unpack_ui(tmp_path / "ui")
    (ui / "config" / "config.prod.yml").write_text(
        f"ui:\n  ssl: false\n  host: 127.0.0.1\n  port: {ui_port}\n  nameSpace: /\n"
        f"  baseUrl: http://localhost:{ui_port}\n"
        f"rest:\n  ssl: false\n  host: 127.0.0.1\n  port: {boot_port}\n  nameSpace: /server\n"
    )
    env = dict(os.environ, NODE_ENV="production", DSPACE_REST_SSRBASEURL=base)
    ui_proc = procs.start(["node", "dist/server/main.js"], cwd=ui, env=env, log=tmp_path / "ui.out")
    wait_port(ui_port)

    def ui_started():
        text = (tmp_path / "ui.out").read_text()
        return text if "Listening at" in text else None

    out = wait_for(ui_started, 10, "UI startup")
    assert f"Listening at http://localhost:{ui_port}" in out
    assert "Applying environment variable DSPACE_REST_SSRBASEURL" in out
    conf = json.loads((ui / "dist" / "browser" / "assets" / "config.json").read_text())
    assert (
        conf["rest"]["baseUrl"] == f"http://127.0.0.1:{boot_port}/server"
        and conf["ui"]["port"] == ui_port
    )
    status, body = http(f"http://127.0.0.1:{ui_port}/app/health")
    assert status == 200 and json.loads(body)["status"] == "UP_WITH_ISSUES"
    status, body = http(
        f"http://127.0.0.1:{ui_port}/home", headers={"Host": f"localhost:{ui_port}"}
    )
    assert status == 200 and f"<h1>Look-alike {line}</h1>" in body
    status, body = http(f"http://127.0.0.1:{ui_port}/home")
    assert status == 200
    out = (tmp_path / "ui.out").read_text()
    if line == "8":
        assert "is not allowed" not in out and "<h1>" in body
    else:
        assert 'URL with hostname "127.0.0.1" is not allowed' in out and "<ds-app></ds-app>" in body
    procs.stop(ui_proc)

    # handle server (ports 2641 and 8000 as make-handle-config writes them). The setup
    # refuses a loopback client address; make-handle-config takes the address `host` finds for
    # dspace.server.url's name, here the machine's own address (a shim: no DNS here).
    hip = primary_address()
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "host").write_text(f'#!/bin/sh\necho "$1 has address {hip}"\n')
    (shims / "host").chmod(0o755)
    p = run([str(dspace / "bin" / "make-handle-config")],
            env=dict(os.environ, PATH=f"{shims}:{os.environ['PATH']}"))
    assert "Writing simple Handle server configuration" in p.stdout
    hdir = dspace / "handle-server"
    for f in (
        "config.dct",
        "admpub.bin",
        "admpriv.bin",
        "pubkey.bin",
        "privkey.bin",
        "siteinfo.json",
        "sitebndl.zip",
        "contactdata.dct",
    ):
        assert (hdir / f).is_file(), f
    dct = (hdir / "config.dct").read_text()
    assert "YOUR_PREFIX" not in dct and "0.NA/123456789" in dct
    assert re.search(
        r'"server_config" = \{\n\s*"storage_type" = "CUSTOM"\n\s*"storage_class" = '
        r'"org.dspace.handle.HandlePlugin"\n\s*"enable_txn_queue" = "no"',
        dct,
    )
    assert '"bind_port" = "2641"' in dct and '"bind_port" = "8000"' in dct
    # what the site advertises: the same defaults, in siteinfo.json and in the bundle's
    # siteinfo.bin (RFC 3652 HS_SITE), whatever config.dct binds to later
    defaults = [("HTTP", 8000), ("TCP", 2641), ("UDP", 2641)]
    site = json.loads((hdir / "siteinfo.json").read_text())
    assert advertised_ports(site) == defaults and site["serialNumber"] == 1
    packed = bundle_site(hdir / "sitebndl.zip")
    assert advertised_ports(packed) == defaults
    assert packed["servers"][0]["address"] == site["servers"][0]["address"]
    with zipfile.ZipFile(hdir / "sitebndl.zip") as zf:
        assert sorted(zf.namelist()) == ["admpub.bin", "contactdata.dct", "repl_admin",
                                         "siteinfo.bin"]
    assert "dspace-help@myu.edu" in (hdir / "contactdata.dct").read_text()
    tcp, http_port = 2641, 8000
    if not (port_free(2641) and port_free(2641, udp=True) and port_free(8000)):
        tcp, http_port = free_port(), free_port()
        dct = dct.replace('"bind_port" = "2641"', f'"bind_port" = "{tcp}"')
        dct = dct.replace('"bind_port" = "8000"', f'"bind_port" = "{http_port}"')
        (hdir / "config.dct").write_text(dct)
    run([str(dspace / "bin" / "start-handle-server")])
    lock = hdir / "txns" / "lock"
    pid = int(
        wait_for(
            lambda: lock.read_text().strip() if lock.exists() else None, 20, "handle server lock"
        )
    )
    procs.adopt(pid)
    wait_port(http_port, host=hip)
    wait_port(tcp, host=hip)
    assert not port_free(tcp, udp=True)
    status, body = http(f"http://{hip}:{http_port}/api/handles/123456789/0")
    assert status == 200 and json.loads(body)["values"][0]["data"]["value"].endswith(
        "/handle/123456789/0"
    )
    assert http(f"http://{hip}:{http_port}/api/handles/123456789/999")[0] == 404
    assert http(f"http://{hip}:{http_port}/")[0] == 200
    # Handle protocol resolution (RFC 3652) on UDP and TCP, answered as Handle.Net 9 with
    # DSpace's HandlePlugin answers (docs/lookalike.md): the URL value, 100 for an unknown
    # handle, 301 for a prefix the server does not serve
    site_url = json.loads(body)["values"][0]["data"]["value"]  # what the HTTP API resolved
    for handle, expected in [("123456789/0", 1), ("123456789/999", 100), ("99999/1", 301)]:
        for request_id, ask in ((11, _handle_udp), (12, _handle_tcp)):
            code, urls = resolution_answer(ask(hip, tcp, handle, request_id), request_id)
            assert code == expected, (handle, ask.__name__, code)
            assert urls == ([site_url] if code == 1 else [])
    answer = _handle_udp(hip, tcp, "123456789/0", 5)
    assert answer[:4] == bytes([2, 1, 2, 11])  # the request's version; suggests 2.11
    opcode, code, flags, serial = struct.unpack_from(">IIIH", answer, 20)
    assert (opcode, code, flags, serial) == (1, 1, 0x80000000, 1)  # AT: a primary server
    # the value as DSpace's HandlePlugin makes it: index 100, timestamp 100, TTL 100 relative
    index, stamp, ttl_type, ttl, perms = struct.unpack_from(">IIBIB", answer, 44 + 4 + 11 + 4)
    assert (index, stamp, ttl_type, ttl, perms) == (100, 100, 0, 100, 0x0A)
    assert answer[-4:] == b"\0\0\0\0"  # no signature
    # a message too short for a header: protocol error (4)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(10)
        udp.sendto(struct.pack(">BBHIIII", 2, 1, 0, 0, 3, 0, 4) + b"\0" * 4, (hip, tcp))
        short = udp.recv(65535)
    assert struct.unpack_from(">II", short, 20) == (0, 4) and b"Invalid message length" in short
    # the server advertises its site record, not the ports it binds (GET /api/site)
    status, body = http(f"http://{hip}:{http_port}/api/site")
    assert status == 200 and advertised_ports(json.loads(body)["site"]) == defaults
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not lock.exists(), 20, "handle server stop")

    # the setup again with other ports (what the handle_server role does for port slot k > 0):
    # the keys stay, the record and the bundle advertise the new ports under the next serial
    keys = {f: (hdir / f).read_bytes() for f in ("privkey.bin", "pubkey.bin", "admpriv.bin")}
    assert site["servers"][0]["address"] == hip
    answers = ["", "", hip, "", "2642", "8001", "n", "2",
               f"Look-alike {line} Handle Server", f"Look-alike {line}", "", "",
               "admin@example.org", "", "n", "n"]
    p = run([str(dspace / "bin" / "dspace"), "dsrun", "net.handle.server.SimpleSetup", str(hdir)],
            stdin=None, input_text="\n".join(answers) + "\n")
    assert "Server keys already exist" in p.stdout and "Error" not in p.stderr, p.stderr
    assert {f: (hdir / f).read_bytes() for f in keys} == keys
    moved = [("HTTP", 8001), ("TCP", 2642), ("UDP", 2642)]
    site = json.loads((hdir / "siteinfo.json").read_text())
    assert advertised_ports(site) == moved and site["serialNumber"] == 2
    assert advertised_ports(bundle_site(hdir / "sitebndl.zip")) == moved
    assert (hdir / "config.dct.before_setup").is_file()
    assert '"bind_port" = "2642"' in (hdir / "config.dct").read_text()
    # an answer missing at the end of input fails the setup (exit 0, nothing written anew)
    before = (hdir / "siteinfo.json").read_text()
    p = run([str(dspace / "bin" / "dspace"), "dsrun", "net.handle.server.SimpleSetup", str(hdir)],
            stdin=None, input_text="\n".join(answers[:9]) + "\n")
    assert p.returncode == 0 and "Error setting up the server" in p.stderr
    assert (hdir / "siteinfo.json").read_text() == before
    # without its site record the server does not start
    (hdir / "siteinfo.json").unlink()
    p = run([str(dspace / "bin" / "dspace"), "dsrun", "net.handle.server.Main", str(hdir)],
            check=False, timeout=60)
    assert p.returncode != 0 and "Missing or inaccessible site info file" in p.stderr

    # ant update with a stock installer: backups of bin/lib/webapps, *.old for changed files
    procs.stop(boot)
    with (dspace / "config" / "modules" / "oai.cfg").open("a") as fh:
        fh.write("# local change\n")
    with (dspace / "solr" / "search" / "conf" / "stopwords.txt").open("a") as fh:
        fh.write("# local change\n")
    local_before = (dspace / "config" / "local.cfg").read_text()
    stock = rel.unpack_installer(tmp_path / "stock")
    p = run(["ant", f"-Ddspace.dir={dspace}", "update"], cwd=stock)
    assert "BUILD SUCCESSFUL" in p.stdout
    date = re.compile(r"\d{8}-\d{6}")
    for d in ("bin", "lib", "webapps"):
        baks = [x.name for x in dspace.glob(f"{d}.bak-*")]
        assert len(baks) == 1 and date.fullmatch(baks[0].split("bak-")[1]), baks
    olds = [x.name for x in (dspace / "config" / "modules").glob("oai.cfg-*.old")]
    assert len(olds) == 1 and date.fullmatch(olds[0][len("oai.cfg-") : -len(".old")])
    assert "# local change" not in (dspace / "config" / "modules" / "oai.cfg").read_text()
    assert list((dspace / "solr" / "search" / "conf").glob("stopwords.txt-*.old"))
    assert (dspace / "config" / "local.cfg").read_text() == local_before
    assert (
        "preserving your previous changes in" in p.stdout and 'files suffixed "*.old"' in p.stdout
    )
    assert "was backed up to" in p.stdout
    run(["ant", f"-Ddspace.dir={dspace}", "clean_backups"], cwd=stock)
    assert not list(dspace.glob("*.bak-*"))



def _handle_udp(address: str, port: int, handle: str, request_id: int) -> bytes:
    """The answer to a Handle protocol resolution request sent by UDP (report's probe's bytes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(10)
        udp.sendto(resolution_request(handle, request_id), (address, port))
        return udp.recv(65535)


def _handle_tcp(address: str, port: int, handle: str, request_id: int) -> bytes:
    """The same request on a TCP connection: the envelope says how long the answer is."""
    with socket.create_connection((address, port), timeout=10) as tcp:
        tcp.sendall(resolution_request(handle, request_id))
        data = b""
        while len(data) < 20 or len(data) < 20 + struct.unpack_from(">I", data, 16)[0]:
            chunk = tcp.recv(65535)
            assert chunk, f"the connection closed after {len(data)} bytes"
            data += chunk
        return data

@needs_tools
def test_webapp_migrates_on_start_and_health_needs_database(bundles, pg, procs, tmp_path):
    """Contract 9.1: the first Context migrates; health is DOWN (HTTP 200) without a database."""
    rel = bundles["9"]
    solr_port = free_port()
    solr_url = f"http://127.0.0.1:{solr_port}/solr"
    db_url = pg.createdb("webappmigrates")
    inst, dspace = _install(rel, tmp_path, db_url, solr_url, "Webapp")
    run(["ant", "fresh_install"], cwd=inst)
    sroot = tmp_path / "solr"
    sroot.mkdir()
    home = solr_home(sroot, rel.unpack_solr(sroot), dspace / "solr")
    solr_start(procs, rel, sroot, home, solr_port, "-Dsolr.config.lib.enabled=true")

    def boot(env_extra):
        port = free_port()
        env = dict(os.environ, **env_extra)
        p = procs.start(
            [
                "java",
                f"-Ddspace.dir={dspace}",
                f"-Dlogging.config={dspace}/config/log4j2.xml",
                f"-Dserver.port={port}",
                "-jar",
                str(dspace / "webapps" / "server-boot.jar"),
            ],
            env=env,
        )
        wait_port(port)
        return p, f"http://127.0.0.1:{port}/server"

    # a database nobody listens on: DOWN
    p, base = boot({"db__P__url": f"jdbc:postgresql://127.0.0.1:{free_port()}/none"})
    status, body = http(base + "/actuator/health", timeout=30)
    assert status == 200 and json.loads(body)["status"] == "DOWN"
    procs.stop(p)
    # the real database, never migrated: the webapp migrates it on start
    assert pg.sql("webappmigrates", "SELECT to_regclass('schema_version') IS NULL") == "t"
    p, base = boot({})
    status, body = http(base + "/actuator/health", timeout=30)
    assert status == 200 and json.loads(body)["status"] == "UP_WITH_ISSUES"
    shipped = _migrations.listing(f"dspace-{rel.release}")  # every real script of 9.3
    assert pg.sql("webappmigrates", "SELECT count(*) FROM schema_version WHERE success") == str(
        len(shipped))


# -------------------------------------------------------------------------------------------- Solr


@needs_tools
def test_solr_versions_and_lib_directives(bundles, procs, tmp_path):
    r8, r9 = bundles["8"], bundles["9"]
    i8 = r8.unpack_installer(tmp_path / "i8")
    i9 = r9.unpack_installer(tmp_path / "i9")

    def status(rel, cores_from, name, opts=""):
        root = tmp_path / name
        root.mkdir()
        solr = rel.unpack_solr(root)
        home = solr_home(root, solr, cores_from / "solr", cores=("search", "oai"))
        port = free_port()
        solr_start(procs, rel, root, home, port, opts)
        st = json.loads(http(f"http://127.0.0.1:{port}/solr/admin/cores?action=STATUS&wt=json")[1])
        return st, port

    st, port = status(r8, i9, "nine-on-eight")
    assert "search" in st["initFailures"] and sorted(st["status"]) == ["oai"]
    assert http(f"http://127.0.0.1:{port}/solr/search/admin/ping")[0] == 500
    st, _ = status(r9, i8, "eight-on-nine", "-Dsolr.config.lib.enabled=true")
    assert "search" in st["initFailures"] and sorted(st["status"]) == ["oai"]
    st, _ = status(r9, i9, "nine-no-lib-flag")
    assert "search" in st["initFailures"]
    st, port = status(r9, i9, "nine-ok", "-Dsolr.config.lib.enabled=true")
    assert st["initFailures"] == {} and sorted(st["status"]) == ["oai", "search"]

    # documents persist under the core's data dir across restarts (background start/stop)
    root = tmp_path / "nine-ok"
    url = f"http://127.0.0.1:{port}/solr/oai"
    post_json(url + "/update?commit=true", [{"item.handle": "x/1"}, {"item.handle": "x/2"}])
    assert (root / "home" / "oai" / "data" / "index").is_dir()
    for p in procs.procs:
        procs.stop(p)
    env = dict(os.environ, SOLR_INCLUDE=str(root / f"solr-{port}.in.sh"))
    solr = root / f"solr-{r9.solr_version}"
    run([str(solr / "bin" / "solr"), "start", "-force"], env=env)
    try:
        assert json.loads(http(url + "/select?q=*:*&rows=0")[1])["response"]["numFound"] == 2
        p = run([str(solr / "bin" / "solr"), "status"], env=env)
        assert f"running on port {port}" in p.stdout and '"solr-spec-version":"9.8.1"' in p.stdout
    finally:
        run([str(solr / "bin" / "solr"), "stop", "-p", str(port)], env=env, check=False)
    p = run([str(solr / "bin" / "solr"), "status"], env=env, check=False)
    assert p.returncode == 3 and "No Solr nodes are running." in p.stdout
    if os.geteuid() == 0:
        p = run([str(solr / "bin" / "solr"), "start"], env=env, check=False)
        assert p.returncode == 1 and "Starting Solr as the root user is a security risk" in p.stdout


# ------------------------------------------------------------------------------------- DSpace-CRIS


JAVA21 = next((Path(p) for p in ("/usr/lib/jvm/java-21-openjdk-amd64",
                                   "/usr/lib/jvm/temurin-25-jdk-amd64")
               if (Path(p) / "bin" / "java").exists()), None)


def ant_on(java_home: Path, *targets: str) -> list[str]:
    """Ant run by another JDK. Debian 12's ant script passes -Djava.security.manager=allow,
    which Java 24+ refuses; its launcher runs without it."""
    return [str(java_home / "bin" / "java"), "-classpath", "/usr/share/ant/lib/ant-launcher.jar",
            "-Dant.home=/usr/share/ant", "-Dant.library.dir=/usr/share/ant/lib",
            "org.apache.tools.ant.launch.Launcher", *targets]


def boot_cmd(dspace: Path, port: int, java: str = "java") -> list[str]:
    return [java, f"-Ddspace.dir={dspace}", f"-Dlogging.config={dspace}/config/log4j2.xml",
            f"-Dserver.port={port}", "-jar", str(dspace / "webapps" / "server-boot.jar")]


@needs_tools
@pytest.mark.parametrize("line", ["8", "9"])
def test_cris_release_layout(line, tmp_path):
    """What each DSpace-CRIS release ships (4Science/DSpace at dspace-cris-2024.02.04 and
    dspace-cris-2025.02.01): the REST root's base version, the Java it is built for, nine core
    configurations (ocr with its plugin jar), no etc/ in the installer."""
    rel = build_release(line, tmp_path / "bundle", flavor="cris")
    want = {"8": ("8.2", "cris-2024.02.04", 17, "solr-ocrhighlighting-0.7.2.jar"),
            "9": ("9.2", "cris-2025.02.01", 21, "solr-ocrhighlighting-0.9.2.jar")}[line]
    assert (rel.dspace_version, rel.cris_version, rel.java_min) == want[:3]
    manifest = json.loads(rel.manifest.read_text())
    assert manifest["flavor"] == "cris" and manifest["cris_version"] == want[1]
    assert manifest["java_min"] == want[2] and manifest["dspace_version"] == want[0]
    inst = rel.unpack_installer(tmp_path / "unpacked")
    assert not (inst / "etc").exists()
    assert (inst / CRIS_WORKBOOK).is_file()  # where `dspace-deploy build` puts it
    assert sorted(p.name for p in (inst / "solr").iterdir()) == [
        "audit", "authority", "dedup", "oai", "ocr", "qaevent", "search", "statistics",
        "suggestion"] == sorted(rel.cores)
    assert [p.name for p in (inst / "solr" / "ocr" / "lib").iterdir()] == [want[3]]
    modules = inst / "config" / "modules"
    assert "deduplication.search.server" in (modules / "deduplication.cfg").read_text()
    audit_key = "solr.audit.server" if line == "8" else "audit.solr.server"
    assert (modules / "audit.cfg").read_text().count(audit_key) == 1
    assert "iiif.enabled = false" in (modules / "iiif.cfg").read_text()
    with zipfile.ZipFile(inst / "lib" / f"dspace-api-{want[1]}.jar") as jar:
        cls = jar.read("org/dspace/app/launcher/ScriptLauncher.class")
    assert int.from_bytes(cls[6:8], "big") == 44 + want[2]  # class-file version


@needs_tools
def test_cris_2025_needs_java_21(tmp_path):
    rel = build_release("9", tmp_path / "bundle", flavor="cris")
    inst = rel.unpack_installer(tmp_path / "unpacked")
    p = run(["java", "-jar", str(inst / "webapps" / "server-boot.jar")], check=False)
    if _java_major() < 21:
        assert p.returncode == 1
        assert "(class file version 65.0)" in p.stderr and "up to 61.0" in p.stderr


@needs_tools
def test_cris_flavor(pg, procs, tmp_path):
    """DSpace-CRIS 2025.02 on Java 21 (skipped without a Java 21+ on this machine): installed
    by Ant, layout import from [dspace]/config/conftool, subscription-send's required -t, the
    REST root, and a health that needs the CRIS cores (audit, dedup) besides DSpace's."""
    if JAVA21 is None:
        pytest.skip("no Java 21 or newer on this machine")
    rel = build_release("9", tmp_path / "bundle", flavor="cris")
    env = dict(os.environ, JAVA_HOME=str(JAVA21), PATH=f"{JAVA21}/bin:{os.environ['PATH']}")
    solr_port, boot_port = free_port(), free_port()
    solr_url = f"http://127.0.0.1:{solr_port}/solr"
    db_url = pg.createdb("cris9")
    inst, dspace = _install(rel, tmp_path, db_url, solr_url, "CRIS")
    run(ant_on(JAVA21, "fresh_install"), cwd=inst, env=env)
    assert not (dspace / "etc").exists()
    layout = dspace / "config" / "conftool" / "cris-layout-configuration.xls"
    assert layout.is_file()

    def dspace_cmd(*args, check=True):
        return run([str(dspace / "bin" / "dspace"), *args], env=env, check=check)

    p = dspace_cmd("cris-layout-tool", "-f", str(dspace / "etc" / "conftool" / layout.name),
                   check=False)
    assert p.returncode == 1 and "the file couldn't be found" in p.stderr
    p = dspace_cmd("cris-layout-tool", "-f", str(layout))
    assert "The script has completed" in p.stdout
    assert pg.sql("cris9", "SELECT count(*) FROM cris_layout_tab") == "1"
    p = dspace_cmd("subscription-send", "-f", "D", check=False)
    assert p.returncode == 1 and "Missing required option: t" in p.stderr
    assert "usage: subscription-send" in p.stdout
    p = dspace_cmd("subscription-send", "-t", "nonsense", "-f", "D", check=False)
    assert p.returncode == 1 and 'must be one of "content" or "statistics"' in p.stderr
    for kind in ("content", "statistics"):
        assert "The script has completed" in dspace_cmd("subscription-send", "-t", kind,
                                                        "-f", "D").stdout

    # Solr with DSpace's cores only: CRIS's health (audit, dedup) is DOWN
    sroot = tmp_path / "solr"
    sroot.mkdir()
    home = solr_home(sroot, rel.unpack_solr(sroot), dspace / "solr",
                     cores=("authority", "oai", "qaevent", "search", "statistics", "suggestion"))
    solr_start(procs, rel, sroot, home, solr_port, "-Dsolr.config.lib.enabled=true")
    solr_proc = procs.procs[-1]
    procs.start(boot_cmd(dspace, boot_port, f"{JAVA21}/bin/java"), log=tmp_path / "boot.out")
    wait_port(boot_port)
    base = f"http://127.0.0.1:{boot_port}/server"
    assert json.loads(http(base + "/actuator/health", timeout=30)[1])["status"] == "DOWN"
    for core in ("audit", "dedup"):
        shutil.copytree(dspace / "solr" / core, home / core)
    procs.stop(solr_proc)
    solr_start(procs, rel, sroot, home, solr_port, "-Dsolr.config.lib.enabled=true")
    wait_for(lambda: json.loads(http(base + "/actuator/health", timeout=30)[1])[
        "status"] == "UP_WITH_ISSUES", 30, "CRIS health with its cores")
    root = json.loads(http(f"{base}/api")[1])
    # CrisConstants.DSPACE_BASE_VERSION (CrisConstants.java:24), the pom version (crisVersion)
    assert root["dspaceVersion"] == "DSpace 9.2" and root["crisVersion"] == "cris-2025.02.01"


# ----------------------------------------------------------------------------- webapp start


@needs_tools
def test_boot_jar_carries_the_build_time_logging_config(tmp_path):
    """Maven filters application.properties with the build's dspace.cfg/local.cfg: the jar
    carries logging.config = <build dspace.dir>/config/log4j2.xml and Spring Boot stops when
    that file is missing (application.properties:128 at dspace-9.3)."""
    if Path("/dspace/config/log4j2.xml").exists() or Path("/opt/built/config").exists():
        pytest.skip("the baked-in directories exist on this machine")
    rel = build_release("9", tmp_path / "default")
    inst = rel.unpack_installer(tmp_path / "u1")
    with zipfile.ZipFile(inst / "webapps" / "server-boot.jar") as jar:
        props = jar.read("application.properties").decode()
    assert "dspace.dir=/dspace\n" in props
    assert "logging.config = /dspace/config/log4j2.xml\n" in props
    port = free_port()
    p = run(["java", f"-Ddspace.dir={inst}", f"-Dserver.port={port}", "-jar",
             str(inst / "webapps" / "server-boot.jar")], check=False, timeout=60)
    assert p.returncode == 1
    assert ("Logging system failed to initialize using configuration from "
            "'/dspace/config/log4j2.xml'") in p.stderr
    assert "java.io.FileNotFoundException: /dspace/config/log4j2.xml" in p.stderr
    # a build whose local.cfg sets dspace.dir bakes that directory instead
    built = build_release("9", tmp_path / "opt", installer_local_cfg="dspace.dir = /opt/built\n")
    inst2 = built.unpack_installer(tmp_path / "u2")
    with zipfile.ZipFile(inst2 / "webapps" / "server-boot.jar") as jar:
        assert "logging.config = /opt/built/config/log4j2.xml" in jar.read(
            "application.properties").decode()


@needs_tools
@pytest.mark.parametrize("how", ["system property", "LOGGING_CONFIG", "command line"])
def test_boot_jar_starts_with_the_instance_logging_config(tmp_path, procs, how):
    rel = build_release("9", tmp_path / "bundle")
    inst = rel.unpack_installer(tmp_path / "u")
    port = free_port()
    cfg = f"{inst}/config/log4j2.xml"
    cmd = ["java", f"-Ddspace.dir={inst}", f"-Dserver.port={port}"]
    env = dict(os.environ)
    if how == "system property":
        cmd.append(f"-Dlogging.config={cfg}")
    elif how == "LOGGING_CONFIG":
        env["LOGGING_CONFIG"] = cfg
    cmd += ["-jar", str(inst / "webapps" / "server-boot.jar")]
    if how == "command line":
        cmd.append(f"--logging.config={cfg}")
    procs.start(cmd, env=env, log=tmp_path / "out")
    wait_port(port)
    # log4j2.xml's ${log4j:configParentLocation}/../log
    log = inst / "log" / "dspace.log"
    wait_for(lambda: "HTTP listener started" in log.read_text(), 20, "the log in [dspace]/log")


@needs_tools
def test_webapp_runs_its_own_cron_jobs(pg, procs, tmp_path):
    """sitemap.cron and solr-database-resync.cron (dspace.cfg) are run by the webapp itself
    (WebApplication.java:65,86 at dspace-9.3); "-" disables them; an expression Spring refuses
    stops the application."""
    rel = build_release("9", tmp_path / "bundle")
    inst = rel.unpack_installer(tmp_path / "u")
    db_url = pg.createdb("cronjobs")
    local = inst / "config" / "local.cfg"

    def start(extra: str):
        local.write_text(f"dspace.dir = {inst}\ndb.url = {db_url}\n{extra}")
        (inst / "log").mkdir(exist_ok=True)
        (inst / "log" / "dspace.log").write_text("")
        port = free_port()
        proc = procs.start(boot_cmd(inst, port), log=tmp_path / f"out-{port}")
        return proc, port

    proc, port = start("sitemap.cron = * * * * * ?\nsolr-database-resync.cron = -\n")
    wait_port(port)
    sitemap = inst / "sitemaps" / "sitemap_index.xml"
    wait_for(sitemap.exists, 20, "the webapp's own sitemap run")
    log = (inst / "log" / "dspace.log").read_text()
    assert "Scheduled job generateSitemap with cron '* * * * * ?'" in log
    assert "Scheduled job solrDatabaseResync is disabled" in log
    procs.stop(proc)
    shutil.rmtree(inst / "sitemaps")

    proc, port = start("sitemap.cron = -\nsolr-database-resync.cron = -\n")
    wait_port(port)
    time.sleep(2.5)
    assert not sitemap.exists()
    procs.stop(proc)

    proc, port = start("sitemap.cron = 0 15 1 * *\n")  # five fields: Spring refuses it
    assert proc.wait(60) == 1
    assert "Cron expression must consist of 6 fields (found 5" in (
        tmp_path / f"out-{port}").read_text()
