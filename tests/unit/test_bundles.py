"""Release bundles (dspace_deploy/bundles.py) against real look-alike bundles."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy import bundles, plans, resources
from dspace_deploy.bundles import (
    Bundle,
    Release,
    check_bundle_fits,
    load_bundle,
    resolve_bundles,
    verify_bundle,
)
from dspace_deploy.errors import EXIT_BAD_INPUT, InputError, ValidationFailed
from dspace_deploy.inventory.validate import load_site
from dspace_deploy.site import Site
from tests.unit.fixtures.helpers import FIXTURE_ROLES, build, instance, site

INSTALLER = "backend/dspace-installer.tar.gz"


@pytest.fixture(scope="module")
def release9(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The look-alike 9 bundle, built once (cached by tests/lookalike). Hard links into the
    look-alike cache: tests copy it before changing anything."""
    from tests.lookalike import LookalikeError, build_release

    out = tmp_path_factory.mktemp("release") / "9-dspace"
    try:
        build_release("9", out)
    except LookalikeError as exc:  # no JDK on this machine
        pytest.skip(f"look-alike bundle cannot be built here: {exc}")
    return out


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "cache_home", lambda: tmp_path / "cache")


@pytest.fixture
def bundle_dir(release9: Path, tmp_path: Path) -> Path:
    """A private copy (own inodes) of the 9 bundle."""
    return Path(shutil.copytree(release9, tmp_path / "artifacts" / "9-dspace"))


def _manifest(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((path / "manifest.json").read_text())
    return data


def _write_manifest(path: Path, data: dict[str, Any]) -> None:
    (path / "manifest.json").write_text(json.dumps(data))


def _plans(**changes: Any) -> list[dict[str, Any]]:
    return [plans.plan_module().instance_plan([instance(**changes)])][0]


# --- loading and verifying -----------------------------------------------------------------------


def test_loads_a_lookalike_bundle(bundle_dir: Path) -> None:
    bundle = load_bundle(str(bundle_dir))
    assert (bundle.line, bundle.flavor, bundle.key) == ("9", "dspace", "9-dspace-9.3")
    assert bundle.version == "9.3"
    assert bundle.dspace_version == "9.3" and bundle.solr_version == "9.8.1"
    assert bundle.java_min == 17 and bundle.node_majors == (20, 22, 24)
    assert bundle.lookalike is True and bundle.root == bundle_dir.resolve()
    assert bundle.installer.is_file() and bundle.ui_archive.is_file()
    assert bundle.solr_archive.is_file() and bundle.solr_sha512.is_file()
    assert set(bundle.files) == {INSTALLER, "ui/dspace-ui.tar.gz", "solr/solr-9.8.1.tgz",
                                 "solr/solr-9.8.1.tgz.sha512"}
    assert bundle.files[INSTALLER].size == bundle.installer.stat().st_size
    verify_bundle(bundle)  # intact
    assert load_bundle(str(bundle_dir / "manifest.json")).root == bundle.root
    assert check_bundle_fits(bundle, _plans()) == []


def test_tampered_file_is_named_with_both_checksums(bundle_dir: Path) -> None:
    bundle = load_bundle(str(bundle_dir))
    target = bundle_dir / "ui/dspace-ui.tar.gz"
    target.write_bytes(target.read_bytes() + b"x")
    with pytest.raises(InputError) as info:
        verify_bundle(bundle)
    message = str(info.value)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert "ui/dspace-ui.tar.gz" in message
    assert bundle.files["ui/dspace-ui.tar.gz"].sha256 in message  # expected
    assert bundles._sha256_file(target) in message  # actual
    assert INSTALLER not in message  # intact files are not blamed


def test_the_fix_is_not_run_into_the_expected_values(bundle_dir: Path) -> None:
    """Issue 10: "...expected 7418 Copy or rebuild": the list of files ends, then the hint
    stands on its own line."""
    bundle = load_bundle(str(bundle_dir))
    target = bundle_dir / "ui/dspace-ui.tar.gz"
    target.write_bytes(target.read_bytes() + b"x")
    with pytest.raises(InputError) as info:
        verify_bundle(bundle)
    lines = str(info.value).splitlines()
    size = bundle.files["ui/dspace-ui.tar.gz"].size
    assert lines[-2].endswith(f"expected {size}")
    assert lines[-1].startswith("Copy or rebuild the bundle")


def test_a_one_line_error_keeps_its_hint_on_the_same_line() -> None:
    error = InputError("The thing is wrong.", hint="Fix it.")
    assert str(error) == "The thing is wrong. Fix it."
    listed = InputError("Two things are wrong:\n  - a\n  - b", hint="Fix them.")
    assert str(listed) == "Two things are wrong:\n  - a\n  - b\nFix them."


def test_every_missing_or_changed_file_is_listed_at_once(bundle_dir: Path) -> None:
    bundle = load_bundle(str(bundle_dir))
    (bundle_dir / INSTALLER).unlink()
    (bundle_dir / "solr/solr-9.8.1.tgz.sha512").write_text("0" * 128 + "\n")
    with pytest.raises(InputError) as info:
        verify_bundle(bundle)
    message = str(info.value)
    assert f"{INSTALLER}: missing" in message
    assert "solr/solr-9.8.1.tgz.sha512: sha256" in message
    assert "(2 of 4 files)" in message


@pytest.mark.parametrize("fmt", [2, None, "1"])
def test_unknown_format_is_refused(bundle_dir: Path, fmt: Any) -> None:
    data = _manifest(bundle_dir)
    data["format"] = fmt
    _write_manifest(bundle_dir, data)
    with pytest.raises(InputError, match="reads format 1 only"):
        load_bundle(str(bundle_dir))


def test_broken_manifests_are_refused(bundle_dir: Path, tmp_path: Path) -> None:
    data = _manifest(bundle_dir)
    data["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "size": 1}
    del data["java_min"]
    del data["files"][INSTALLER]
    _write_manifest(bundle_dir, data)
    with pytest.raises(InputError) as info:
        load_bundle(str(bundle_dir))
    message = str(info.value)
    assert "'../../etc/passwd', which is not a plain relative path" in message
    assert "java_min is missing" in message and f"does not list {INSTALLER}" in message
    (bundle_dir / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_bundle(str(bundle_dir))
    with pytest.raises(InputError, match="does not exist"):
        load_bundle(str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match=r"has no manifest\.json"):
        load_bundle(str(tmp_path))
    with pytest.raises(InputError, match="'ftp' is not supported"):
        load_bundle("ftp://example.org/bundle")


def test_line_flavor_and_runtime_mismatches(bundle_dir: Path) -> None:
    bundle = load_bundle(str(bundle_dir))
    (problem,) = check_bundle_fits(bundle, _plans(line="10"))
    assert "DSpace 10 (dspace) but the bundle holds 9 (dspace)" in problem.what
    assert "dspace-deploy build --line 10" in problem.fix
    (problem,) = check_bundle_fits(bundle, _plans(flavor="cris"))
    assert "9 (cris)" in problem.what and "--flavor cris" in problem.fix
    (problem,) = check_bundle_fits(bundle, _plans(version="9.2"))
    assert "wants DSpace 9.2 but the bundle holds 9.3" in problem.what
    # a bundle that needs a newer Java / other Node majors / another Solr than the plan
    odd = Bundle(**{**bundle.__dict__, "java_min": 21, "node_majors": (18,),
                    "solr_version": "9.9.0"})
    found = {p.key: p for p in check_bundle_fits(odd, _plans())}
    assert set(found) == {"instance repo: java_version", "instance repo: node_version",
                          "instance repo: solr_version"}
    assert "needs Java 21 but the host gets Java 17" in found["instance repo: java_version"].what


def _without_core(bundle_dir: Path, core: str) -> None:
    """Repack the bundle's installer without solr/<core> and record the new checksum, as a
    damaged build (not a damaged download) would produce."""
    _without(bundle_dir, ["solr", core])


def _without(bundle_dir: Path, prefix: list[str]) -> None:
    """Repack the bundle's installer without the members under dspace-installer/<prefix>."""
    import hashlib
    import tarfile

    installer = bundle_dir / "backend" / "dspace-installer.tar.gz"
    repacked = installer.with_suffix(".new")
    with tarfile.open(installer) as old, tarfile.open(repacked, "w:gz") as new:
        for member in old:
            if member.name.split("/")[1:1 + len(prefix)] == prefix:
                continue
            new.addfile(member, old.extractfile(member) if member.isfile() else None)
    installer.unlink()
    repacked.rename(installer)
    data = _manifest(bundle_dir)
    raw = installer.read_bytes()
    data["files"]["backend/dspace-installer.tar.gz"] = {
        "sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}
    _write_manifest(bundle_dir, data)


def test_an_installer_without_a_core_of_the_line_is_refused(bundle_dir: Path) -> None:
    _without_core(bundle_dir, "oai")
    bundle = load_bundle(str(bundle_dir))
    verify_bundle(bundle)  # the checksums are right: the build itself is incomplete
    (problem,) = check_bundle_fits(bundle, _plans())
    assert problem.key == "instance repo: cores"
    assert "lacks the Solr core oai that DSpace 9 (dspace) needs" in problem.what
    assert "dspace-deploy build --line 9" in problem.fix


def test_a_cris_installer_must_carry_the_layout_workbook(tmp_path: Path) -> None:
    """DSpace-CRIS's installer has no etc/ (assembly.xml:27-66 at dspace-cris-2025.02.01); the
    workbook the deployment imports is in config/conftool, where `dspace-deploy build` puts it.
    A bundle without it (e.g. built by an older dspace-deploy) is refused before any host."""
    from tests.lookalike import LookalikeError, build_release

    out = tmp_path / "artifacts" / "9-cris"
    try:
        build_release("9", tmp_path / "release", flavor="cris")
    except LookalikeError as exc:
        pytest.skip(f"look-alike bundle cannot be built here: {exc}")
    shutil.copytree(tmp_path / "release", out)
    cris = _plans(flavor="cris")
    assert cris[0]["java_major"] == 21
    assert check_bundle_fits(load_bundle(str(out)), cris) == []
    _without(out, ["config", "conftool"])
    (problem,) = check_bundle_fits(load_bundle(str(out)), cris)
    assert problem.key == "instance repo: flavor"
    assert "lacks config/conftool/cris-layout-configuration.xls" in problem.what
    assert "--flavor cris" in problem.fix
    # the ocr core's plugin jar of the release (4Science/DSpace#495): refused without it
    shutil.rmtree(out)
    shutil.copytree(tmp_path / "release", out)
    _without(out, ["solr", "ocr", "lib"])
    (problem,) = check_bundle_fits(load_bundle(str(out)), cris)
    assert "lacks solr/ocr/lib/solr-ocrhighlighting-0.9.2.jar" in problem.what


def test_a_complete_installer_has_every_core_of_the_line(bundle_dir: Path) -> None:
    from dspace_deploy.bundles import installer_cores
    from dspace_deploy.lines import line_cores

    assert installer_cores(load_bundle(str(bundle_dir))) == frozenset(line_cores("9"))


# --- URLs ----------------------------------------------------------------------------------------


def test_file_url_is_downloaded_into_the_cache_and_verified(bundle_dir: Path,
                                                            tmp_path: Path) -> None:
    url = bundle_dir.as_uri()
    bundle = load_bundle(url)
    assert bundle.source == url
    assert bundle.root == bundles.download_dir(url)
    assert str(bundle.root).startswith(str(tmp_path / "cache" / "bundles"))
    verify_bundle(bundle)
    assert bundle.installer.read_bytes() == (bundle_dir / INSTALLER).read_bytes()
    assert load_bundle(url + "/manifest.json").root == bundle.root  # same cache entry
    # a verified cached copy is reused: the source is not read again
    (bundle_dir / INSTALLER).write_bytes(b"evil")
    assert load_bundle(url).installer.read_bytes() != b"evil"
    # without it, a changed file at the source is caught on the way in
    shutil.rmtree(bundle.root)
    with pytest.raises(InputError) as info:
        load_bundle(url)
    assert INSTALLER in str(info.value) and "4 bytes, the manifest says" in str(info.value)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A local HTTP server on 127.0.0.1 serving tmp_path/www; it stops after the test, or by
    itself after 120 s at the latest."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    deadline = threading.Timer(120, server.shutdown)
    deadline.daemon = True
    deadline.start()
    try:
        yield www, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        deadline.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_http_url(bundle_dir: Path, http_root: tuple[Path, str]) -> None:
    www, base = http_root
    shutil.copytree(bundle_dir, www / "9-dspace")
    bundle = load_bundle(f"{base}/9-dspace/")
    verify_bundle(bundle)
    assert bundle.key == "9-dspace-9.3" and bundle.source == f"{base}/9-dspace/"
    assert bundle.installer.read_bytes() == (bundle_dir / INSTALLER).read_bytes()
    with pytest.raises(InputError, match="HTTP 404"):
        load_bundle(f"{base}/8-dspace")
    # the server's copy lost a file: named, and nothing half-written is kept
    (www / "9-dspace" / "ui/dspace-ui.tar.gz").unlink()
    shutil.rmtree(bundle.root)
    with pytest.raises(InputError) as info:
        load_bundle(f"{base}/9-dspace")
    assert "ui/dspace-ui.tar.gz: " in str(info.value) and "HTTP 404" in str(info.value)
    assert not (bundles.download_dir(f"{base}/9-dspace") / "manifest.json").exists()


# --- a site's bundles ----------------------------------------------------------------------------


def _site(tmp_path: Path, instances: list[dict[str, Any]], **hostvars: Any) -> Site:
    return Site(path=tmp_path / "inventory", name="demo", hosts=["h1"],
                hostvars={"h1": {"dspace_instances": instances, **hostvars}},
                vault_file=tmp_path / "vault.yml", vault_password_file=tmp_path / "pw.txt")


def test_resolve_bundles_from_a_directory_of_bundles(bundle_dir: Path, tmp_path: Path) -> None:
    artifacts = bundle_dir.parent
    site_ = _site(tmp_path, [instance(), instance(name="two", hostname="two.example.edu")])
    found = resolve_bundles(site_, str(artifacts))
    # the older layout <line>-<flavor>/ serves the release it holds
    assert list(found) == ["9-dspace-9.3"] and found["9-dspace-9.3"].root == bundle_dir.resolve()
    assert resolve_bundles(site_, None) == {}  # nothing set: no bundles
    # the site option, relative to the inventory directory; the flag wins over it
    (tmp_path / "inventory").mkdir()
    rel = Path("..") / artifacts.relative_to(tmp_path)
    site_ = _site(tmp_path, [instance()], dspace_artifacts=str(rel))
    assert resolve_bundles(site_, None)["9-dspace-9.3"].line == "9"
    with pytest.raises(InputError, match=r"no bundle of DSpace 9\.3"):
        resolve_bundles(site_, str(tmp_path / "empty"))
    # one bundle directory instead of a directory of bundles
    assert resolve_bundles(site_, str(bundle_dir))["9-dspace-9.3"].key == "9-dspace-9.3"


def test_resolve_bundles_lists_every_missing_or_unfit_bundle(bundle_dir: Path,
                                                             tmp_path: Path) -> None:
    artifacts = bundle_dir.parent
    (bundle_dir / INSTALLER).write_bytes(b"broken")
    site_ = _site(tmp_path, [instance(), instance(name="ten", hostname="ten.example.edu",
                                                  line="10")])
    with pytest.raises(InputError) as info:
        resolve_bundles(site_, str(artifacts))
    message = str(info.value)
    assert info.value.exit_code == EXIT_BAD_INPUT and "no host was contacted" in message
    assert f"{INSTALLER}: sha256" in message  # 9-dspace damaged
    assert "no bundle of DSpace 10.0 (dspace)" in message and "ten on h1" in message
    assert "dspace-deploy build --line 10 --version 10.0" in message
    # one damaged bundle given directly: its damage is reported too
    with pytest.raises(InputError) as info:
        resolve_bundles(_site(tmp_path, [instance()]), str(bundle_dir))
    assert f"{INSTALLER}: sha256" in str(info.value)


def test_resolve_bundles_checks_fit(bundle_dir: Path, tmp_path: Path) -> None:
    site_ = _site(tmp_path, [instance(line="10")])
    with pytest.raises(InputError) as info:
        resolve_bundles(site_, str(bundle_dir))
    assert "DSpace 10 (dspace) but the bundle holds 9 (dspace)" in str(info.value)
    assert "(host h1)" in str(info.value)


def _as_release(bundle: Path, dest: Path, version: str) -> Path:
    """A copy of `bundle` whose manifest says it holds DSpace `version`."""
    copy = Path(shutil.copytree(bundle, dest))
    data = _manifest(copy)
    data["dspace_version"] = version
    _write_manifest(copy, data)
    return copy


def test_two_releases_of_a_line_side_by_side(bundle_dir: Path, tmp_path: Path) -> None:
    """An upgrade needs the target (9.3, from the inventory) and the installed release it may
    roll back to (9.2): both found in one directory, by line, flavor and release."""
    artifacts = tmp_path / "two"
    new = Path(shutil.copytree(bundle_dir, artifacts / "9-dspace-9.3"))
    old = _as_release(bundle_dir, artifacts / "9-dspace-9.2", "9.2")
    site_ = _site(tmp_path, [instance(version="9.3")])
    rollback = {Release("9", "dspace", "9.2"): ["the rollback of repo on h1"]}
    found = resolve_bundles(site_, str(artifacts), rollback)
    assert sorted(found) == ["9-dspace-9.2", "9-dspace-9.3"]
    assert found["9-dspace-9.3"].root == new.resolve()
    assert found["9-dspace-9.2"].root == old.resolve()
    variables = bundles.bundle_vars(found)["dspace_bundles"]
    pick = plans.plan_module().plan_bundle
    (plan,) = plans.plan_module().instance_plan([instance(version="9.3")])
    assert pick(plan, variables)["root"] == str(new.resolve())
    assert pick(plan, variables, "9.2")["root"] == str(old.resolve())
    # an instance whose inventory still says 9.2 is served by the 9.2 bundle
    two = _site(tmp_path, [instance(version="9.3"),
                           instance(name="two", hostname="two.example.edu", version="9.2")])
    assert sorted(resolve_bundles(two, str(artifacts))) == ["9-dspace-9.2", "9-dspace-9.3"]


def test_a_missing_release_says_what_and_how_to_build_it(bundle_dir: Path,
                                                         tmp_path: Path) -> None:
    artifacts = bundle_dir.parent  # only the older layout 9-dspace/, holding 9.3
    site_ = _site(tmp_path, [instance(version="9.3")])
    rollback = {Release("9", "dspace", "9.2"): ["the rollback of repo on h1"]}
    with pytest.raises(InputError) as info:
        resolve_bundles(site_, str(artifacts), rollback)
    message = str(info.value)
    assert info.value.exit_code == EXIT_BAD_INPUT and "no host was contacted" in message
    assert "no bundle of DSpace 9.2" in message and "the rollback of repo on h1" in message
    assert f"{artifacts / '9-dspace-9.2'} does not exist" in message
    assert f"{artifacts / '9-dspace'} holds 9.3" in message
    assert "dspace-deploy build --line 9 --version 9.2" in message
    # an instance asking for 9.2 is refused the same way, not served by the 9.3 bundle
    with pytest.raises(InputError, match=r"no bundle of DSpace 9\.2"):
        resolve_bundles(_site(tmp_path, [instance(version="9.2")]), str(artifacts))
    # one bundle given directly cannot serve a second release
    with pytest.raises(InputError, match=r"not DSpace 9\.2"):
        resolve_bundles(site_, str(bundle_dir), rollback)


def test_resolve_bundles_over_http(bundle_dir: Path, http_root: tuple[Path, str],
                                   tmp_path: Path) -> None:
    www, base = http_root
    shutil.copytree(bundle_dir, www / "9-dspace")
    site_ = _site(tmp_path, [instance()], dspace_artifacts=base)
    found = resolve_bundles(site_, None)
    assert found["9-dspace-9.3"].source == f"{base}/9-dspace"


def test_dspace_artifacts_is_a_valid_site_option(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "roles_dir", lambda: FIXTURE_ROLES)
    monkeypatch.delenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    files = {"group_vars/all/site.yml": site(dspace_artifacts="../bundles")}
    root, password = build(tmp_path / "site", files)
    loaded = load_site(root, password)
    assert loaded.hostvars["repo"]["dspace_artifacts"] == "../bundles"
    files = {"group_vars/all/site.yml": site(dspace_artifacts=["x"])}
    root, password = build(tmp_path / "site2", files)
    with pytest.raises(ValidationFailed, match="dspace_artifacts"):
        load_site(root, password)


def test_cris_bundle(tmp_path: Path) -> None:
    from tests.lookalike import LookalikeError, build_release

    try:
        build_release("9", tmp_path / "artifacts" / "9-cris", flavor="cris")
    except LookalikeError as exc:
        pytest.skip(f"look-alike bundle cannot be built here: {exc}")
    site_ = _site(tmp_path, [instance(flavor="cris")])
    bundle = resolve_bundles(site_, str(tmp_path / "artifacts"))["9-cris-2025.02.01"]
    assert bundle.flavor == "cris" and bundle.cris_version == "cris-2025.02.01"
    (problem,) = check_bundle_fits(bundle, _plans())
    assert "DSpace 9 (dspace) but the bundle holds 9 (cris)" in problem.what


def test_dspace_artifacts_must_be_the_same_for_every_host(tmp_path: Path) -> None:
    site_ = _site(tmp_path, [instance()])
    site_.hosts.append("h2")
    site_.hostvars["h1"]["dspace_artifacts"] = "/srv/a"
    site_.hostvars["h2"] = {"dspace_instances": [instance()], "dspace_artifacts": "/srv/b"}
    with pytest.raises(InputError, match="dspace_artifacts differs between hosts"):
        resolve_bundles(site_, None)
    assert bundles.artifacts_source(site_, "rel") == str(Path("rel").absolute())
    assert bundles.artifacts_source(site_, "https://x.example/b") == "https://x.example/b"


def test_up_with_a_damaged_bundle_stops_before_any_host(bundle_dir: Path, tmp_path: Path) -> None:
    """The CLI path: `up --artifacts` with a tampered file exits 2 naming the file, and
    Ansible never starts (no run directory appears). No host exists here at all."""
    import os
    import subprocess
    import sys

    from dspace_deploy.inventory.scaffold import create_site
    from dspace_deploy.site import HostEntry, InstanceAnswers, SiteAnswers

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    password = tmp_path / "config" / "vault.txt"
    answers = SiteAnswers("bundletest", [InstanceAnswers("repo", "repo.example.edu", line="9",
                                                         admin_email="a@example.edu")])
    create_site(tmp_path / "site", answers,
                [HostEntry("repo", {"ansible_host": "127.0.0.1", "ansible_port": 9})],
                vault_password_file=password)
    ui = bundle_dir / "ui" / "dspace-ui.tar.gz"
    ui.write_bytes(ui.read_bytes() + b"tampered")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dspace-deploy"), "up", "-i", str(tmp_path / "site"),
         "--vault-password-file", str(password), "--artifacts", str(bundle_dir.parent), "--json"],
        capture_output=True, text=True, env=env, check=False)
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    assert "ui/dspace-ui.tar.gz" in done.stderr
    assert json.loads(done.stdout)["exit_code"] == EXIT_BAD_INPUT
    assert not (tmp_path / "state").exists(), "a run started although the bundle was bad"


def test_bundle_vars_give_the_playbook_paths_and_versions(bundle_dir: Path) -> None:
    bundle = load_bundle(str(bundle_dir))
    variables = bundles.bundle_vars({bundle.key: bundle})["dspace_bundles"]["9-dspace-9.3"]
    assert (variables["line"], variables["flavor"], variables["version"]) == ("9", "dspace", "9.3")
    assert Path(variables["installer"]).is_file()
    assert Path(variables["solr_archive"]).name.startswith("solr-")
    assert variables["dspace_version"] == bundle.dspace_version
    assert bundles.bundle_vars({}) == {}
