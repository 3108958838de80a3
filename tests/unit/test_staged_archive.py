"""The module dspace.deploy.staged_archive and its action plugin (an archive copied, verified
and unpacked once into a directory named after its SHA-256): the module's functions on
temporary directories, and runs through a real `ansible-playbook` (the FQCN found through
the repository's ansible.cfg) for the controller's part."""

from __future__ import annotations

import grp
import hashlib
import io
import json
import os
import pwd
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.fixtures.helpers import REPO, load_file_module

MODULE = (REPO / "collections" / "ansible_collections" / "dspace" / "deploy" / "plugins"
          / "modules" / "staged_archive.py")

sa = load_file_module(MODULE, "staged_archive")

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
UI = {"dspace-ui/dist/server/main.js": "server", "dspace-ui/config/config.yml": "ui: {}"}


def pack(path: Path, members: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def params(src: Path, root: Path, **extra: Any) -> dict[str, Any]:
    return {"src": str(src), "remote_src": True, "checksum": None, "root": str(root),
            "digits": 16, "top": True, "require": "dist/server/main.js", "owner": OWNER,
            "group": GROUP, "missing_msg": None, "layout_hint": None, **extra}


SOLR = {"solr-9.8.1/bin/solr": "#!/bin/sh", "solr-9.8.1/server/solr/solr.xml": "<solr/>",
        "NOTICE": "dropped"}


def release(src: Path, root: Path, **extra: Any) -> dict[str, Any]:
    """The parameters of a Solr-like release: a fixed name, one directory of the archive."""
    return params(src, root, top=False, name="solr-9.8.1", subdir="solr-9.8.1",
                  require="bin/solr", link=str(root / "solr"), **extra)


def test_installs_the_top_directory_once_named_after_the_checksum(tmp_path: Path) -> None:
    archive = pack(tmp_path / "ui.tar.gz", UI)
    root = tmp_path / "srv" / "releases"
    first = sa.run(params(archive, root), check_mode=False)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert first == {"changed": True, "checksum": digest, "path": str(root / digest[:16])}
    release = root / digest[:16]
    assert (release / "dist/server/main.js").read_text() == "server"
    assert sorted(p.name for p in root.iterdir()) == [digest[:16]], "no scratch left"
    assert oct(release.stat().st_mode & 0o7777) == "0o755"
    assert oct(root.stat().st_mode & 0o7777) == "0o755"
    again = sa.run(params(archive, root), check_mode=False)
    assert again == {**first, "changed": False}


def test_without_top_the_directory_holds_the_archive_as_it_is(tmp_path: Path) -> None:
    archive = pack(tmp_path / "installer.tar.gz", {"dspace-installer/build.xml": "<project/>",
                                                    "README": "x"})
    done = sa.run(params(archive, tmp_path / "stage", top=False, digits=64,
                         require="dspace-installer/build.xml"), check_mode=False)
    assert len(Path(done["path"]).name) == 64
    assert sorted(p.name for p in Path(done["path"]).iterdir()) == ["README", "dspace-installer"]


def test_check_mode_reports_the_install_and_changes_nothing(tmp_path: Path) -> None:
    archive = pack(tmp_path / "ui.tar.gz", UI)
    root = tmp_path / "releases"
    assert sa.run(params(archive, root), check_mode=True)["changed"] is True
    assert not root.exists()


UI_LAYOUT = r"one top directory holding dist/server/main\.js"
SOLR_LAYOUT = r"solr-9\.8\.1/bin/solr"


@pytest.mark.parametrize(("members", "layout", "holds"), [
    ({"dspace-ui/dist/browser/index.html": "x"}, UI_LAYOUT, "dspace-ui"),
    ({"a/dist/server/main.js": "x", "b/dist/server/main.js": "x"}, UI_LAYOUT, "a, b"),
    ({"dist/server/main.js": "x"}, UI_LAYOUT, "dist"),
    # subdir: that very directory of the archive, holding `require`
    ({"solr-9.8.0/bin/solr": "x"}, SOLR_LAYOUT, "solr-9.8.0"),
    ({"solr-9.8.1/server/x": "x"}, SOLR_LAYOUT, "solr-9.8.1"),
    ({"solr-9.8.1": "a file"}, SOLR_LAYOUT, "solr-9.8.1"),
])
def test_an_archive_without_the_layout_is_refused_and_leaves_nothing(
        tmp_path: Path, members: dict[str, str], layout: str, holds: str) -> None:
    archive = pack(tmp_path / "archive.tar.gz", members)
    root = tmp_path / "releases"
    given = (params(archive, root, layout_hint="Pack it right.") if layout == UI_LAYOUT
             else release(archive, root, layout_hint="Pack it right."))
    with pytest.raises(sa.Refused, match=rf"must hold {layout}; it holds {holds} at its top\. "
                                         r"Nothing was installed\. Pack it right\."):
        sa.run(given, check_mode=False)
    assert list(root.iterdir()) == []


def test_a_copy_that_differs_from_the_controllers_is_refused_before_unpacking(
        tmp_path: Path) -> None:
    archive = pack(tmp_path / "ui.tar.gz", UI)
    with pytest.raises(sa.Refused, match=r"has SHA-256 [0-9a-f]{64}, not 0+\. Nothing was "
                                         r"unpacked; run again\."):
        sa.run(params(archive, tmp_path / "releases", checksum="0" * 64), check_mode=False)
    assert not (tmp_path / "releases").exists()


def test_a_missing_archive_fails_with_the_callers_message(tmp_path: Path) -> None:
    with pytest.raises(sa.Refused, match=r"^Give the archive\.$"):
        sa.run(params(tmp_path / "none.tar.gz", tmp_path / "r", missing_msg="Give the archive."),
               check_mode=False)
    with pytest.raises(sa.Refused, match="not an absolute path of a file on the host"):
        sa.run(params(Path("ui.tar.gz"), tmp_path / "r"), check_mode=False)


def test_a_broken_directory_without_the_required_file_is_replaced(tmp_path: Path) -> None:
    archive = pack(tmp_path / "ui.tar.gz", UI)
    root = tmp_path / "releases"
    path = Path(sa.run(params(archive, root), check_mode=True)["path"])
    (path / "dist").mkdir(parents=True)
    (path / "stale").write_text("half")
    assert sa.run(params(archive, root), check_mode=False)["changed"] is True
    assert sorted(p.name for p in path.iterdir()) == ["config", "dist"]
    assert sorted(p.name for p in root.iterdir()) == [path.name]


def play(tmp_path: Path, task: dict[str, Any], *extra: str,
         ok: bool = True) -> dict[str, Any]:
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Stage", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Stage the archive", "dspace.deploy.staged_archive": task}]}]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_HOME": str(tmp_path / "home"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_REMOTE_TEMP": str(tmp_path / "remote-tmp"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_CACHE_PLUGIN": "memory"}
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                           "localhost,", "-c", "local", str(playbook), *extra], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert (done.returncode == 0) == ok, done.stdout[-3000:] + done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][
        "localhost"]
    return result


def test_from_the_controller_through_ansible_playbook(tmp_path: Path) -> None:
    """Check mode copies nothing, the run installs, the rerun finds it and copies nothing;
    failures name the controller's file, never the temporary copy."""
    archive = pack(tmp_path / "dspace-ui.tar.gz", UI)
    root = tmp_path / "host" / "releases"
    task = {"src": str(archive), "root": str(root), "digits": 16, "top": True,
            "require": "dist/server/main.js", "owner": OWNER, "group": GROUP}
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    checked = play(tmp_path, task, "--check")
    assert checked["changed"] is True and checked["path"] == str(root / digest[:16])
    assert not root.exists()
    first = play(tmp_path, task)
    assert first["changed"] is True and first["checksum"] == digest
    assert (root / digest[:16] / "dist/server/main.js").is_file()
    assert play(tmp_path, task)["changed"] is False
    assert not list((tmp_path / "remote-tmp").glob("*")), "the temporary copy is removed"

    missing = play(tmp_path, {**task, "src": str(tmp_path / "none.tar.gz"),
                              "missing_msg": "Give the bundle's archive."}, ok=False)
    assert missing["msg"] == "Give the bundle's archive."
    bad = pack(tmp_path / "bad.tar.gz", {"dist/server/main.js": "x"})
    refused = play(tmp_path, {**task, "src": str(bad)}, ok=False)
    assert refused["msg"].startswith(f"The archive {bad} must hold one top directory")
    assert sorted(p.name for p in root.iterdir()) == [digest[:16]]


def test_a_named_release_from_a_subdir_with_its_link(tmp_path: Path) -> None:
    archive = pack(tmp_path / "solr.tgz", SOLR)
    root = tmp_path / "opt"
    digest = hashlib.sha512(archive.read_bytes()).hexdigest()
    done = sa.run(release(archive, root, sha512=digest.upper()), check_mode=False)
    assert done["changed"] is True and done["path"] == str(root / "solr-9.8.1")
    assert sorted(p.name for p in root.iterdir()) == ["solr", "solr-9.8.1"]
    assert sorted(p.name for p in (root / "solr-9.8.1").iterdir()) == ["bin", "server"]
    assert os.readlink(root / "solr") == str(root / "solr-9.8.1")
    # Installed: neither the archive nor its checksum is looked at again.
    archive.unlink()
    assert sa.run(release(archive, root, sha512=""), check_mode=False) == {
        "changed": False, "path": str(root / "solr-9.8.1")}
    # The link pointed elsewhere (a rollback) is pointed back; check mode only reports it.
    (root / "solr").unlink()
    (root / "solr").symlink_to(root / "solr-8.11.4")
    assert sa.run(release(archive, root), check_mode=True)["changed"] is True
    assert os.readlink(root / "solr") == str(root / "solr-8.11.4")
    assert sa.run(release(archive, root), check_mode=False)["changed"] is True
    assert os.readlink(root / "solr") == str(root / "solr-9.8.1")
    assert sa.run(release(archive, root, probe=True), check_mode=False) == {
        "changed": False, "path": str(root / "solr-9.8.1"), "installed": True}


def test_probe_reports_a_missing_release_and_touches_nothing(tmp_path: Path) -> None:
    root = tmp_path / "opt"
    root.mkdir()
    (root / "solr").symlink_to(root / "solr-8.11.4")
    done = sa.run(release(tmp_path / "absent.tgz", root, probe=True), check_mode=False)
    assert done == {"changed": False, "path": str(root / "solr-9.8.1"), "installed": False}
    assert os.readlink(root / "solr") == str(root / "solr-8.11.4")


def test_a_sha512_mismatch_unpacks_nothing_and_removes_a_host_archive(tmp_path: Path) -> None:
    archive = pack(tmp_path / "solr.tgz", SOLR)
    root = tmp_path / "opt"
    real = hashlib.sha512(archive.read_bytes()).hexdigest()
    with pytest.raises(sa.Refused) as refused:
        sa.run(release(archive, root, sha512="0" * 128, sha512_origin="solr_sha512",
                       describe="Solr archive X"), check_mode=False)
    assert str(refused.value) == (
        f"The Solr archive X does not match its checksum: expected SHA-512 {'0' * 128} "
        f"(solr_sha512), got {real}. Nothing was unpacked. Fetch the archive again, or correct "
        "the expected checksum.")
    assert archive.exists() and not root.exists()
    with pytest.raises(sa.Refused, match=r"expected SHA-512 \(none found\), got"):
        sa.run(release(archive, root, sha512="", remove_src=True), check_mode=False)
    assert not archive.exists() and not root.exists()


def test_remove_src_removes_the_host_archive_once_installed(tmp_path: Path) -> None:
    archive = pack(tmp_path / "solr.tgz", SOLR)
    sa.run(release(archive, tmp_path / "opt", remove_src=True), check_mode=False)
    assert not archive.exists()


@pytest.mark.parametrize(("extra", "message"), [
    ({"name": "a/b"}, "give a directory name without a slash"),
    ({"subdir": "../x"}, "give a relative path inside the archive"),
    ({"top": True}, "subdir and top exclude each other"),
])
def test_bad_names_are_refused(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    archive = pack(tmp_path / "solr.tgz", SOLR)
    with pytest.raises(sa.Refused, match=message):
        sa.run({**release(archive, tmp_path / "opt"), **extra}, check_mode=False)


def test_a_directory_where_the_link_goes_is_refused(tmp_path: Path) -> None:
    archive = pack(tmp_path / "solr.tgz", SOLR)
    (tmp_path / "opt" / "solr").mkdir(parents=True)
    with pytest.raises(sa.Refused, match="is a directory, not a symbolic link"):
        sa.run(release(archive, tmp_path / "opt"), check_mode=False)


def test_a_named_release_from_the_controller_through_ansible_playbook(tmp_path: Path) -> None:
    """The controller refuses a bad SHA-512 before copying; an installed release needs no
    archive; check mode copies nothing."""
    archive = pack(tmp_path / "solr-9.8.1.tgz", SOLR)
    root = tmp_path / "host" / "opt"
    digest = hashlib.sha512(archive.read_bytes()).hexdigest()
    task = {"src": str(archive), "root": str(root), "name": "solr-9.8.1",
            "subdir": "solr-9.8.1", "require": "bin/solr", "owner": OWNER, "group": GROUP,
            "link": str(root / "solr"), "sha512": digest, "describe": "Solr archive A"}
    wrong = play(tmp_path, {**task, "sha512": "ab" * 64, "sha512_origin": "solr_sha512"},
                 ok=False)
    assert wrong["msg"].startswith(f"The Solr archive A does not match its checksum: expected "
                                   f"SHA-512 {'ab' * 64} (solr_sha512), got {digest}.")
    assert not root.exists(), "nothing reached the host"
    assert play(tmp_path, task, "--check")["changed"] is True
    assert not root.exists()
    assert play(tmp_path, task)["changed"] is True
    assert os.readlink(root / "solr") == str(root / "solr-9.8.1")
    assert (root / "solr-9.8.1" / "bin" / "solr").is_file()
    archive.unlink()
    again = play(tmp_path, {**task, "missing_msg": "Give the archive."})
    assert again["changed"] is False and again["path"] == str(root / "solr-9.8.1")
    missing = play(tmp_path, {**task, "name": "solr-9.9.9", "missing_msg": "Give it."},
                   ok=False)
    assert missing["msg"] == "Give it."
