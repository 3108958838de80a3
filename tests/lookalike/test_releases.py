"""Several look-alike releases per line, upgraded between as the real ones are.

Flyway semantics of DatabaseUtils.java@dspace-9.3 (facts 1.6-1.7 of
shared/dspace-upgrade-fleet-cloud-facts.md), the post-migration reindex, and the failure points
upgrade tests build in (docs/lookalike.md, "Releases and upgrades", "Failure points"). Runs
`bin/dspace` and the backend jar of unpacked installers against a throwaway PostgreSQL cluster.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from tests.lookalike import Release, _migrations, build_release
from tests.lookalike.test_lookalike import (
    JAVA21,
    MISSING,
    free_port,
    http,
    needs_tools,
    post_json,
    run,
    solr_home,
    solr_start,
    wait_for,
    wait_port,
)

pytestmark = pytest.mark.lookalike

REPO = Path(__file__).resolve().parents[2]
RELEASES = [("8", "8.3", "dspace"), ("8", "8.4", "dspace"), ("9", "9.2", "dspace"),
            ("9", "9.3", "dspace"), ("10", "10.0", "dspace"), ("8", "2024.02.04", "cris"),
            ("9", "2025.02.01", "cris")]
REST_VERSION = {"8.3": "8.3", "8.4": "8.4", "9.2": "9.2", "9.3": "9.3", "10.0": "10.0",
                "2024.02.04": "8.2", "2025.02.01": "9.2"}  # CRIS: CrisConstants (lines.CRIS)


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> dict[str, Release]:
    if MISSING:
        pytest.skip(f"missing: {', '.join(MISSING)}")
    base = tmp_path_factory.mktemp("releases")
    return {version: build_release(line, base / version, version=version, flavor=flavor)
            for line, version, flavor in RELEASES}


def install(rel: Release, root: Path, db_url: str, extra: str = "", solr: str = "") -> Path:
    """The unpacked installer as a DSpace home (bin/dspace and the jar run from it)."""
    home = rel.unpack_installer(root)
    solr = solr or f"http://127.0.0.1:{free_port()}/solr"  # nobody listens there
    (home / "config" / "local.cfg").write_text(
        f"dspace.dir = {home}\ndb.url = {db_url}\nsolr.server = {solr}\n{extra}")
    return home


def dspace(home: Path, *args: str, check: bool = True, input_text: str | None = None,
           java21: bool = False):
    """bin/dspace of `home`; java21: on a Java 21+ runtime (line 10, DSpace-CRIS 2025.02)."""
    env = None
    if java21:
        if JAVA21 is None:
            pytest.skip("no Java 21+ runtime for line 10 / DSpace-CRIS 2025.02")
        env = dict(os.environ, PATH=f"{JAVA21 / 'bin'}:{os.environ['PATH']}")
    return run([str(home / "bin" / "dspace"), *args], check=check, input_text=input_text,
               stdin=None if input_text is not None else subprocess.DEVNULL, env=env)


def states(info: str) -> dict[str, str]:
    """`database info`'s table: version -> state."""
    out = {}
    for line in info.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) >= 6 and cols[0] == "Versioned":
            out[cols[1]] = cols[5]
    return out


def columns(pg, db: str, table: str) -> set[str]:
    return set(pg.sql(db, "SELECT column_name FROM information_schema.columns "
                          f"WHERE table_name = '{table}'").split())


def applied(pg, db: str) -> list[str]:
    return pg.sql(db, "SELECT version FROM schema_version WHERE success "
                      "ORDER BY installed_rank").split()


# ------------------------------------------------------------------------------- releases


@needs_tools
@pytest.mark.parametrize(("line", "version", "flavor"), RELEASES)
def test_each_release_has_its_version_and_real_migration_names(releases, line, version, flavor,
                                                              tmp_path):
    rel = releases[version]
    assert (rel.line, rel.release, rel.dspace_version) == (line, version, REST_VERSION[version])
    manifest = json.loads(rel.manifest.read_text())
    assert manifest["release"] == version and manifest["dspace_version"] == REST_VERSION[version]
    assert "lookalike_failure_points" not in manifest
    home = rel.unpack_installer(tmp_path)
    api = rel.cris_version or version
    with zipfile.ZipFile(home / "lib" / f"dspace-api-{api}.jar") as jar:
        props = jar.read("org/dspace/lookalike/release.properties").decode()
        scripts = sorted(n.rsplit("/", 1)[1] for n in jar.namelist()
                         if n.startswith("org/dspace/storage/rdbms/sqlmigration/postgres/V"))
        assert f"version={api}\n" in jar.read(
            "META-INF/maven/org.dspace/dspace-api/pom.properties").decode()
    assert f"dspace.version={REST_VERSION[version]}\n" in props
    tag = f"dspace-cris-{version}" if flavor == "cris" else f"dspace-{version}"
    listing = (REPO / "tests" / "lookalike" / "migrations" / f"{tag}.txt").read_text()
    real = sorted(ln for ln in listing.splitlines() if ln.startswith("V"))
    assert scripts == real and len(real) > 55


@needs_tools
def test_releases_of_one_line_are_cached_side_by_side(releases, tmp_path):
    t0 = time.time()
    again = {v: build_release("9", tmp_path / v, version=v) for v in ("9.2", "9.3")}
    assert time.time() - t0 < 2
    assert again["9.2"].installer.read_bytes() != again["9.3"].installer.read_bytes()
    assert again["9.2"].installer.read_bytes() == releases["9.2"].installer.read_bytes()
    with pytest.raises(ValueError, match=r"releases: 9\.2, 9\.3"):
        build_release("9", tmp_path / "x", version="9.1")
    with pytest.raises(ValueError, match=r"2025\.02\.01"):
        build_release("9", tmp_path / "y", version="2024.02.04", flavor="cris")


@needs_tools
def test_dspace_deploy_builds_two_releases_of_a_line_from_their_sources(tmp_path, monkeypatch):
    """The source tree of each release (tests/lookalike/sources.py) builds into a bundle that
    reports that release; the build cache keeps both."""
    from dspace_deploy import build as builder
    from tests.lookalike import cache_root
    from tests.lookalike.sources import build_sources

    if not shutil.which("npm"):
        pytest.skip("needs npm (the UI build)")
    monkeypatch.setenv("DSPACE_DEPLOY_LOOKALIKE_CACHE", str(cache_root()))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    mirror = tmp_path / "mirror"
    for version in ("9.2", "9.3"):
        sources = build_sources("9", mirror, version=version)
    monkeypatch.setenv("PATH", f"{sources.bin_dir}{os.pathsep}{os.environ['PATH']}")
    for version in ("9.2", "9.3"):
        out = tmp_path / "bundles" / f"{version}-dspace"
        result = builder.build(builder.BuildRequest(line="9", version=version, out=out,
                                                    source_mirror=str(mirror)))
        assert sorted(result.built) == ["backend", "ui"]
        assert result.manifest["dspace_version"] == version == result.manifest["ui_version"]
        with tarfile.open(out / "backend" / "dspace-installer.tar.gz") as tf:
            assert f"dspace-installer/lib/dspace-api-{version}.jar" in tf.getnames()
    backends = list((tmp_path / "xdg-cache" / "dspace-deploy" / "builds" / "backend").iterdir())
    assert len(backends) == 2
    again = builder.build(builder.BuildRequest(line="9", version="9.2",
                                               out=tmp_path / "again", source_mirror=str(mirror)))
    assert again.built == []  # both releases came from the cache


@needs_tools
def test_cli_builds_releases_and_failure_points(tmp_path):
    out = tmp_path / "artifacts"
    p = run([sys.executable, "-m", "tests.lookalike", str(out), "9.2", "9.3", "9-cris",
             "--fail-migration", "--backend-failure", "health-down"], cwd=REPO)
    # the layout `dspace-deploy build` writes and `up --artifacts` reads (bundles.release_key)
    assert "9-dspace-9.2: look-alike DSpace 9.2" in p.stdout, p.stdout
    for name, release in (("9-dspace-9.2", "9.2"), ("9-dspace-9.3", "9.3"),
                          ("9-cris-2025.02.01", "2025.02.01")):
        manifest = json.loads((out / name / "manifest.json").read_text())
        assert manifest["release"] == release
        assert manifest["lookalike_failure_points"]["backend"] == "health-down"
    failing = json.loads((out / "9-dspace-9.3" / "manifest.json").read_text())
    assert failing["lookalike_failure_points"]["migration"].startswith("V8.4_2026.03.28")
    p = run([sys.executable, "-m", "tests.lookalike", str(out), "9.1"], cwd=REPO, check=False)
    assert p.returncode == 1 and "releases: 9.2, 9.3" in p.stderr


# --------------------------------------------------------------------------- Flyway semantics


@needs_tools
def test_patch_8_3_to_8_4_leaves_the_back_dated_migration_ignored(releases, pg, tmp_path):
    db = pg.createdb("patch84", pgcrypto=True)
    old = install(releases["8.3"], tmp_path / "old", db)
    new = install(releases["8.4"], tmp_path / "new", db)
    dspace(old, "database", "migrate")
    assert applied(pg, "patch84")[-1] == "8.0.2024.02.14"
    flag = new / "solr" / "search" / "conf" / "reindex.flag"
    # info and test never migrate
    for verb in ("info", "test"):
        dspace(new, "database", verb)
    info = states(dspace(new, "database", "info").stdout)
    assert info["7.6.2026.03.25"] == "Ignored" and info["8.4.2026.03.28"] == "Pending"
    assert not flag.exists()
    p = dspace(new, "database", "migrate")
    assert p.stdout.rstrip().endswith("Done.")
    info = states(dspace(new, "database", "info").stdout)
    assert info["7.6.2026.03.25"] == "Ignored" and info["8.4.2026.03.28"] == "Success"
    assert flag.exists()  # discovery.autoReindex defaults to true
    assert pg.sql("patch84", "SELECT count(*) FROM pg_indexes "
                             "WHERE indexname = 'entity_type_label_upper_idx'") == "0"
    p = dspace(new, "database", "migrate", "ignored")
    assert 'running previously "Ignored" migrations' in p.stdout
    info = states(dspace(new, "database", "info").stdout)
    assert info["7.6.2026.03.25"] == "Out of Order" and info["8.4.2026.03.28"] == "Success"
    assert pg.sql("patch84", "SELECT count(*) FROM pg_indexes "
                             "WHERE indexname = 'entity_type_label_upper_idx'") == "1"
    assert dspace(new, "database", "validate").returncode == 0


@needs_tools
def test_patch_9_2_to_9_3_both_back_dated_migrations_stay_ignored(releases, pg, tmp_path):
    db = pg.createdb("patch93")
    old = install(releases["9.2"], tmp_path / "old", db)
    new = install(releases["9.3"], tmp_path / "new", db)
    dspace(old, "database", "migrate")
    flag = new / "solr" / "search" / "conf" / "reindex.flag"
    dspace(new, "database", "migrate")
    info = states(dspace(new, "database", "info").stdout)
    assert info["7.6.2026.03.25"] == "Ignored" and info["8.4.2026.03.28"] == "Ignored"
    assert "Pending" not in info.values()
    assert not flag.exists()  # nothing was applied: no reindex flag
    dspace(new, "database", "migrate", "ignored")
    info = states(dspace(new, "database", "info").stdout)
    assert info["7.6.2026.03.25"] == "Out of Order" == info["8.4.2026.03.28"]
    assert flag.exists()


@needs_tools
def test_a_major_upgrade_changes_the_schema(releases, pg, tmp_path):
    db = pg.createdb("major")
    dspace(install(releases["9.3"], tmp_path / "old", db), "database", "migrate")
    assert "security_level" not in columns(pg, "major", "metadatavalue")
    dspace(install(releases["10.0"], tmp_path / "new", db), "database", "migrate", java21=True)
    assert "security_level" in columns(pg, "major", "metadatavalue")
    assert pg.sql("major", "SELECT to_regclass('itemupdate_metadata_enhancement')") != ""
    assert applied(pg, "major")[-2:] == ["10.0.2026.01.07", "10.0.2026.02.18"]


@needs_tools
def test_cris_2024_to_2025_needs_migrate_ignored_too(releases, pg, tmp_path):
    db = pg.createdb("cris", pgcrypto=True)
    dspace(install(releases["2024.02.04"], tmp_path / "old", db), "database", "migrate")
    new = install(releases["2025.02.01"], tmp_path / "new", db)
    dspace(new, "database", "migrate", java21=True)
    info = states(dspace(new, "database", "info", java21=True).stdout)
    assert info["7.6.2025.10.29"] == "Ignored" == info["7.6.2026.03.25"]
    assert info["9.0.2026.04.22"] == "Success"
    assert "resource_type" in columns(pg, "cris", "cris_metrics")


@needs_tools
def test_a_failing_migration_rolls_back_only_itself(pg, tmp_path):
    db = pg.createdb("failing", pgcrypto=True)
    old = build_release("8", tmp_path / "b84", version="8.4")
    bad = build_release("9", tmp_path / "b93", version="9.3", fail_migration=True)
    bad92 = build_release("9", tmp_path / "b92", version="9.2", fail_migration=True)
    assert bad92.failure_points["migration"] == "V9.0_2025.03.12__registration_data.sql"
    dspace(install(old, tmp_path / "old", db), "database", "migrate")
    new = install(bad92, tmp_path / "new", db)
    p = dspace(new, "database", "migrate", check=False)
    assert p.returncode == 1 and "Migration exception:" in p.stderr
    assert "Migration V9.0_2025.03.12__registration_data.sql failed" in p.stderr
    assert "relation \"lookalike_failure_point\" does not exist" in p.stderr
    # the two before it in the same run stay committed; the failing one left nothing
    assert applied(pg, "failing")[-2:] == ["9.0.2024.11.09", "9.0.2025.02.13"]
    assert {"access_token", "access_expiry"} <= columns(pg, "failing", "requestitem")
    assert "registration_type" not in columns(pg, "failing", "registrationdata")
    assert not (new / "solr" / "search" / "conf" / "reindex.flag").exists()
    assert states(dspace(new, "database", "info").stdout)["9.0.2025.03.12"] == "Pending"
    # 9.3's own new migrations are back-dated: its failure waits for `migrate ignored`
    assert bad.failure_points["migration"].startswith("V8.4_2026.03.28")


@needs_tools
def test_migrate_with_another_word_is_a_target_version(releases, pg, tmp_path):
    db = pg.createdb("target")
    home = install(releases["9.3"], tmp_path / "home", db)
    p = dspace(home, "database", "migrate", "ignore", input_text="n\n")
    assert "migrate your database ONLY to version ignore" in p.stdout
    assert "No action performed." in p.stdout and p.returncode == 0
    assert pg.sql("target", "SELECT to_regclass('schema_version') IS NULL") == "t"
    p = dspace(home, "database", "migrate", "ignore", check=False)  # no answer on stdin
    assert p.returncode == 1 and "NullPointerException" in p.stderr
    dspace(home, "database", "migrate", "7.0.2017.10.12", input_text="y\n")
    assert applied(pg, "target")[-2:] == ["6.0.2016.08.23", "7.0.2017.10.12"]
    assert pg.sql("target", "SELECT count(*) FROM epersongroup") == "0"  # no callbacks
    dspace(home, "database", "migrate")
    assert pg.sql("target", "SELECT count(*) FROM epersongroup") == "2"
    # force: nothing pending, the callbacks run again
    pg.sql("target", "DELETE FROM metadatafieldregistry WHERE element = 'language'")
    dspace(home, "database", "migrate")
    assert pg.sql("target", "SELECT count(*) FROM metadatafieldregistry "
                            "WHERE element = 'language'") == "0"
    dspace(home, "database", "migrate", "force")
    assert pg.sql("target", "SELECT count(*) FROM metadatafieldregistry "
                            "WHERE element = 'language'") == "1"


@needs_tools
def test_commands_opening_a_context_migrate_implicitly(releases, pg, tmp_path):
    db = pg.createdb("implicit", pgcrypto=True)
    dspace(install(releases["8.3"], tmp_path / "old", db), "database", "migrate")
    new = install(releases["8.4"], tmp_path / "new", db)
    dspace(new, "database", "test")
    assert "8.4.2026.03.28" not in applied(pg, "implicit")
    p = dspace(new, "version")
    assert "8.4" in p.stdout
    assert "8.4.2026.03.28" in applied(pg, "implicit")
    assert "7.6.2026.03.25" not in applied(pg, "implicit")  # outOfOrder=false


@needs_tools
def test_a_killed_migration_leaves_no_row(pg, tmp_path):
    db = pg.createdb("killed", pgcrypto=True)
    dspace(install(build_release("8", tmp_path / "b83", version="8.3"), tmp_path / "old", db),
           "database", "migrate")
    slow = build_release("8", tmp_path / "b84", version="8.4", slow_migration=60)
    assert slow.failure_points["slow_migration_seconds"] == 60
    new = install(slow, tmp_path / "new", db)
    proc = subprocess.Popen([str(new / "bin" / "dspace"), "database", "migrate"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        log = new / "log" / "dspace-cli.log"
        wait_for(lambda: log.exists() and "pauses 60.0 s" in log.read_text(), 60,
                 "the slow migration to start")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "8.4.2026.03.28" not in applied(pg, "killed")
    assert "8.4.2026.03.28" not in applied(pg, "killed")
    # the session died with the process: its lock is gone, a new run migrates at once
    t0 = time.time()
    plain = install(build_release("8", tmp_path / "b84ok", version="8.4"), tmp_path / "ok", db)
    dspace(plain, "database", "migrate")
    assert "8.4.2026.03.28" in applied(pg, "killed") and time.time() - t0 < 30


# ------------------------------------------------------------------ webapp: start and reindex


def stale_document(key: str) -> dict:
    return {"search.uniqueid": key, "search.resourceid": "x", "search.resourcetype": "Item"}


def boot(procs, home: Path, extra_env: dict | None = None):
    port = free_port()
    p = procs.start(["java", f"-Ddspace.dir={home}",
                     f"-Dlogging.config={home}/config/log4j2.xml", f"-Dserver.port={port}",
                     "-jar", str(home / "webapps" / "server-boot.jar")],
                    env=dict(os.environ, **(extra_env or {})))
    return p, port


def search_solr(procs, rel: Release, root: Path, cores_from: Path) -> str:
    root.mkdir()
    solr = rel.unpack_solr(root)
    home = solr_home(root, solr, cores_from / "solr", cores=("search",))
    port = free_port()
    solr_start(procs, rel, root, home, port)
    return f"http://127.0.0.1:{port}/solr"


@needs_tools
def test_webapp_start_migrates_and_reindexes_when_flagged(releases, pg, procs, tmp_path):
    db = pg.createdb("startreindex", pgcrypto=True)
    old = install(releases["8.3"], tmp_path / "old", db)
    dspace(old, "database", "migrate")
    uuid = "11111111-1111-1111-1111-111111111111"
    pg.sql("startreindex", f"INSERT INTO dspaceobject VALUES ('{uuid}');"
           f"INSERT INTO community (uuid) VALUES ('{uuid}')")
    solr = search_solr(procs, releases["8.4"], tmp_path / "solr", old)
    new = install(releases["8.4"], tmp_path / "new", db, solr=solr)
    post_json(f"{solr}/search/update?commit=true", [stale_document("stale")])
    flag = new / "solr" / "search" / "conf" / "reindex.flag"
    _, port = boot(procs, new)
    wait_port(port, 60)
    assert "8.4.2026.03.28" in applied(pg, "startreindex")

    def reindexed():
        found = json.loads(http(f"{solr}/search/select?q=*:*&wt=json")[1])["response"]
        return found["numFound"] == 1 and not flag.exists()

    wait_for(reindexed, 30, "the post-migration reindex")
    log = (new / "log" / "dspace.log").read_text()
    assert "Post database migration, reindexing all content" in log


@needs_tools
def test_auto_reindex_false_leaves_the_flag_and_the_index(releases, pg, procs, tmp_path):
    db = pg.createdb("noreindex", pgcrypto=True)
    old = install(releases["8.3"], tmp_path / "old", db)
    dspace(old, "database", "migrate")
    solr = search_solr(procs, releases["8.4"], tmp_path / "solr", old)
    new = install(releases["8.4"], tmp_path / "new", db, "discovery.autoReindex = false\n", solr)
    flag = new / "solr" / "search" / "conf" / "reindex.flag"
    dspace(new, "database", "migrate")
    assert not flag.exists()  # setReindexDiscovery(false) after the migration
    flag.write_text("")
    post_json(f"{solr}/search/update?commit=true", [stale_document("kept")])
    _, port = boot(procs, new)
    wait_port(port, 60)
    assert http(f"http://127.0.0.1:{port}/server/actuator/health", timeout=30)[0] == 200
    time.sleep(2)
    assert flag.exists()
    found = json.loads(http(f"{solr}/search/select?q=*:*&wt=json")[1])["response"]
    assert found["numFound"] == 1 and found["docs"][0]["search.uniqueid"] == "kept"


# ------------------------------------------------------------------------ backend failures


@needs_tools
def test_backend_failure_points(pg, procs, tmp_path):
    db = pg.createdb("unhealthy", pgcrypto=True)
    down = build_release("8", tmp_path / "down", version="8.4", backend_failure="health-down")
    home = install(down, tmp_path / "h1", db)
    _, port = boot(procs, home)
    wait_port(port, 60)
    base = f"http://127.0.0.1:{port}/server"
    status, body = http(base + "/api", timeout=30)
    assert status == 200 and json.loads(body)["dspaceVersion"] == "DSpace 8.4"
    status, body = http(base + "/actuator/health", timeout=30)
    assert status == 200 and json.loads(body)["status"] == "DOWN"

    silent = build_release("8", tmp_path / "silent", version="8.4", backend_failure="no-listen")
    home = install(silent, tmp_path / "h2", pg.createdb("silent", pgcrypto=True))
    proc, port = boot(procs, home)
    wait_for(lambda: "8.4.2026.03.28" in applied(pg, "silent"), 60, "the migration")
    time.sleep(3)
    assert proc.poll() is None
    with pytest.raises(AssertionError, match="timed out"):
        wait_port(port, 3)
    with pytest.raises(ValueError, match="health-down"):
        build_release("8", tmp_path / "x", backend_failure="slow")


def test_failure_migration_choice_is_the_newest_the_release_adds():
    assert _migrations.added_by("dspace-8.4", "dspace-8.3")[0].startswith("V8.4_2026.03.28")
    assert [s[:15] for s in _migrations.added_by("dspace-9.3", "dspace-9.2")] == [
        "V8.4_2026.03.28", "V7.6_2026.03.25"]
    assert _migrations.added_by("dspace-10.0", "dspace-9.3")[0].startswith("V10.0_2026.02.18")
    assert _migrations.added_by("dspace-cris-2025.02.01", "dspace-cris-2024.02.04")[0] \
        .startswith("V9.0_2026.04.22")


# ---------------------------------------------------------------------------- Solr 9 strictness


@needs_tools
def test_configsets_differ_by_line_as_the_real_ones(releases, tmp_path):
    conf = {v: releases[v].unpack_installer(tmp_path / v) / "solr" / "search" / "conf"
            for v in ("8.4", "9.3", "10.0")}
    config8, config9 = ((conf[v] / "solrconfig.xml").read_text() for v in ("8.4", "9.3"))
    assert "contrib/analysis-extras/lucene-libs/" in config8 and "lucene-analyzers-icu-" in config8
    assert "modules/analysis-extras/lib/" in config9 and "lucene-analysis-icu-" in config9
    assert "-Dsolr.config.lib.enabled=true" in config9
    star_s = {v: re.search(r'<dynamicField name="\*_s"[^>]*>', (conf[v] / "schema.xml")
                           .read_text()).group(0) for v in conf}
    assert "multiValued" not in star_s["8.4"] and "multiValued" not in star_s["9.3"]
    assert 'multiValued="true"' in star_s["10.0"]
    assert 'name="admin"' in (conf["9.3"] / "schema.xml").read_text()
    assert 'name="admin"' not in (conf["8.4"] / "schema.xml").read_text()


@needs_tools
def test_solr_9_needs_its_own_lucene_icu_jar(releases, procs, tmp_path):
    rel = releases["9.3"]
    cores = rel.unpack_installer(tmp_path / "inst") / "solr"
    # a Solr 9 path with the Lucene 8 jar name: the ICU classes are not there
    config = cores / "search" / "conf" / "solrconfig.xml"
    config.write_text(config.read_text().replace("lucene-analysis-icu-", "lucene-analyzers-icu-"))
    root = tmp_path / "solr"
    root.mkdir()
    home = solr_home(root, rel.unpack_solr(root), cores, cores=("search", "oai"))
    port = free_port()
    solr_start(procs, rel, root, home, port, "-Dsolr.config.lib.enabled=true")
    status = json.loads(http(f"http://127.0.0.1:{port}/solr/admin/cores?action=STATUS")[1])
    assert sorted(status["status"]) == ["oai"]
    assert "Error loading class 'solr.ICUFoldingFilterFactory'" in status["initFailures"]["search"]
