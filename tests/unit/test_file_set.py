"""The module dspace.deploy.file_set (one call for a set of directories and small files): its
functions on temporary directories as the current user, and one run through a real
`ansible-playbook` (the FQCN found through the repository's ansible.cfg)."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.fixtures.helpers import REPO, load_file_module

MODULE = (REPO / "collections" / "ansible_collections" / "dspace" / "deploy" / "plugins"
          / "modules" / "file_set.py")

fs = load_file_module(MODULE, "file_set")

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
ME = {"owner": OWNER, "group": GROUP}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def converge(directories: list[Any] | None = None, files: list[Any] | None = None,
             prune: list[Any] | None = None, **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = fs.converge(directories or [], files or [], prune or [], **options)
    return result


def layout(root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two directories (the second inside the first, one setgid) and three files."""
    directories = [{"path": str(root / "etc"), "mode": "0755", **ME},
                   {"path": str(root / "etc" / "private"), "mode": "2750", **ME}]
    files = [
        {"path": str(root / "etc" / "app.conf"), "content": "port = 8080\n", "mode": "0644",
         "label": "app", **ME},
        {"path": str(root / "etc" / "private" / "secret"), "content": "s3cr3t", "mode": "0600",
         "label": "secret", "owner": os.getuid(), "group": str(os.getgid())},
        {"path": str(root / "motd"), "content": "Hello\n", "mode": "0644", **ME},
    ]
    return directories, files


def test_creates_directories_and_files_then_a_second_call_changes_nothing(
        tmp_path: Path) -> None:
    directories, files = layout(tmp_path)
    result = converge(directories, files)
    assert result == {
        "changed": True,
        "directories": [str(tmp_path / "etc"), str(tmp_path / "etc" / "private")],
        "written": sorted(f["path"] for f in files),
        "removed": [], "labels": ["app", "secret"]}
    assert (tmp_path / "etc" / "app.conf").read_text() == "port = 8080\n"
    assert (tmp_path / "etc" / "private" / "secret").read_text() == "s3cr3t"
    assert mode_of(tmp_path / "etc") == 0o755
    assert mode_of(tmp_path / "etc" / "private") == 0o2750
    assert mode_of(tmp_path / "etc" / "private" / "secret") == 0o600
    assert mode_of(tmp_path / "motd") == 0o644
    for path in [tmp_path / "etc", *(Path(f["path"]) for f in files)]:
        info = path.stat()
        assert (info.st_uid, info.st_gid) == (os.getuid(), os.getgid())
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == ["app.conf", "private"], (
        "no temporary left")

    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    again = converge(directories, files, diff=True)
    assert again == {"changed": False, "directories": [], "written": [], "removed": [],
                     "labels": [], "diff": []}
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


def test_content_mode_or_symlink_drift_rewrites_only_that_file(tmp_path: Path) -> None:
    directories, files = layout(tmp_path)
    converge(directories, files)
    files[0]["content"] = "port = 8081\n"
    (tmp_path / "motd").chmod(0o666)
    result = converge(directories, files)
    assert result["written"] == [files[0]["path"], str(tmp_path / "motd")]
    assert result["labels"] == ["app"] and result["directories"] == []
    assert (tmp_path / "etc" / "app.conf").read_text() == "port = 8081\n"
    assert mode_of(tmp_path / "motd") == 0o644

    # Same length, other bytes: compared by content, not by size.
    files[0]["content"] = "port = 8082\n"
    assert converge(directories, files)["written"] == [files[0]["path"]]
    # A symbolic link where the file should be is replaced by the file.
    (tmp_path / "motd").unlink()
    (tmp_path / "motd").symlink_to(tmp_path / "etc" / "app.conf")
    assert converge(directories, files)["written"] == [str(tmp_path / "motd")]
    assert not (tmp_path / "motd").is_symlink()
    assert (tmp_path / "motd").read_text() == "Hello\n"
    assert (tmp_path / "etc" / "app.conf").read_text() == "port = 8082\n"


def test_directory_mode_drift_is_fixed(tmp_path: Path) -> None:
    directories, files = layout(tmp_path)
    converge(directories, files)
    (tmp_path / "etc" / "private").chmod(0o700)
    result = converge(directories, files)
    assert result == {"changed": True, "directories": [str(tmp_path / "etc" / "private")],
                      "written": [], "removed": [], "labels": []}
    assert mode_of(tmp_path / "etc" / "private") == 0o2750


@pytest.mark.skipif(os.getuid() != 0, reason="chown to another user needs root")
def test_owner_drift_is_fixed_by_numeric_id(tmp_path: Path) -> None:
    directories, files = layout(tmp_path)
    converge(directories, files)
    os.chown(tmp_path / "motd", 1, 1)
    os.chown(tmp_path / "etc", 1, os.getgid())
    result = converge(directories, files)
    assert result["written"] == [str(tmp_path / "motd")]
    assert result["directories"] == [str(tmp_path / "etc")]
    assert (tmp_path / "motd").stat().st_uid == os.getuid()


def test_absent_removes_files_and_links_and_labels_them(tmp_path: Path) -> None:
    (tmp_path / "old.conf").write_text("old\n")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    files = [{"path": str(tmp_path / "old.conf"), "state": "absent", "label": "app"},
             {"path": str(tmp_path / "link"), "state": "absent", "content": "ignored"},
             {"path": str(tmp_path / "never-there"), "state": "absent", "label": "other"}]
    result = converge(files=files, diff=True)
    assert result["removed"] == [str(tmp_path / "link"), str(tmp_path / "old.conf")]
    assert result["labels"] == ["app"] and result["changed"] is True
    assert [d["before"] for d in result["diff"]] == ["", "old\n"]
    assert {d["after"] for d in result["diff"]} == {""}
    assert list(tmp_path.iterdir()) == []
    assert converge(files=files)["changed"] is False


def test_prune_removes_only_matching_unlisted_files(tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    for name in ("dspace-a.conf", "dspace-old.conf", "other.conf", "dspace-notes.txt"):
        (conf / name).write_text(name)
    (conf / "dspace-gone.conf").symlink_to(conf / "missing")
    (conf / "dspace-dir.conf").mkdir()
    (conf / "dspace-dir.conf" / "dspace-deep.conf").write_text("deep")
    files = [{"path": str(conf / "dspace-a.conf"), "content": "a\n", "mode": "0644", **ME},
             {"path": str(conf / "dspace-new.conf"), "content": "new\n", "mode": "0644", **ME}]
    prune = [{"path": str(conf), "patterns": ["dspace-*.conf"], "label": "conf"},
             {"path": str(tmp_path / "missing-dir"), "patterns": ["*"], "label": "never"}]
    would = converge(files=files, prune=prune, check_mode=True)
    result = converge(files=files, prune=prune)
    assert result == would
    assert result["removed"] == [str(conf / "dspace-gone.conf"), str(conf / "dspace-old.conf")]
    assert result["written"] == [str(conf / "dspace-a.conf"), str(conf / "dspace-new.conf")]
    assert result["labels"] == ["conf"]
    assert sorted(p.name for p in conf.iterdir()) == [
        "dspace-a.conf", "dspace-dir.conf", "dspace-new.conf", "dspace-notes.txt", "other.conf"]
    assert (conf / "dspace-dir.conf" / "dspace-deep.conf").exists(), "not recursive"
    assert (conf / "dspace-a.conf").read_text() == "a\n", "a listed file is never pruned"
    again = converge(files=files, prune=prune)
    assert again["changed"] is False and again["labels"] == []


def test_a_file_both_absent_and_pruned_is_removed_once_with_both_labels(
        tmp_path: Path) -> None:
    (tmp_path / "x.conf").write_text("x")
    result = converge(files=[{"path": str(tmp_path / "x.conf"), "state": "absent",
                              "label": "one"}],
                      prune=[{"path": str(tmp_path), "patterns": ["*.conf"], "label": "two"}])
    assert result["removed"] == [str(tmp_path / "x.conf")]
    assert result["labels"] == ["one"]


def test_check_mode_reports_everything_and_changes_nothing(tmp_path: Path) -> None:
    directories, files = layout(tmp_path)
    (tmp_path / "stale.conf").write_text("stale\n")
    files.append({"path": str(tmp_path / "stale.conf"), "state": "absent", "label": "stale"})
    would = converge(directories, files, check_mode=True, diff=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stale.conf"]
    assert would["changed"] is True
    assert would["labels"] == ["app", "secret", "stale"]
    assert [d["after_header"] for d in would["diff"]] == [*would["written"], *would["removed"]]
    assert would["diff"][0]["after"] == "port = 8080\n" and would["diff"][0]["before"] == ""
    done = converge(directories, files)
    assert done == {k: v for k, v in would.items() if k != "diff"}, "check mode foretold it"

    files[0]["content"] = "port = 9090\n"
    would = converge(directories, files, check_mode=True, diff=True)
    assert would["written"] == [files[0]["path"]]
    assert would["diff"] == [{"before_header": files[0]["path"],
                              "after_header": files[0]["path"],
                              "before": "port = 8080\n", "after": "port = 9090\n"}]
    assert (tmp_path / "etc" / "app.conf").read_text() == "port = 8080\n"


def test_check_mode_accepts_what_an_earlier_task_of_the_check_would_create(
        tmp_path: Path) -> None:
    """A user or a parent directory made by an earlier task does not exist in a check run:
    the file counts as to be written instead of failing (as solr_cores does)."""
    files = [{"path": str(tmp_path / "made-later" / "f"), "content": "x", "mode": "0640",
              "owner": "no-such-user-here", "group": GROUP}]
    would = converge(files=files, check_mode=True)
    assert would["written"] == [files[0]["path"]]
    with pytest.raises(fs.FileSetError, match="no such user: 'no-such-user-here'"):
        converge(files=files)


def ok_file(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    entry = {"path": str(tmp_path / "f"), "content": "x", "mode": "0644", **ME, **changes}
    return {k: v for k, v in entry.items() if v is not None}


@pytest.mark.parametrize(("case", "message"), [
    ("relative", r"files\[0\] \(etc/x\): path 'etc/x' is not an absolute path"),
    ("twice", r"files\[2\] \(.*/f\): .*/f is listed twice"),
    ("dir and file", r"files\[1\] \(.*/f\): .*/f is listed twice"),
    ("no content", r"a present file needs its content"),
    ("no mode", r"a present file needs its mode"),
    ("bad mode", r"mode 'rw-r--r--' is not a quoted octal string"),
    ("octal number", r"mode 420 is not a quoted octal string"),
    ("five digits", r"mode '10644' is not a quoted octal string"),
    ("unknown owner", r"no such user: 'no-such-user-here'"),
    ("unknown group", r"no such group: 'no-such-group-here'"),
    ("missing parent", r"its directory .*/nowhere does not exist"),
    ("missing dir parent", r"directory .*/a/b: its parent .*/a does not exist"),
    ("directory there", r"file .*/sub: a directory is there, not a file"),
    ("absent directory", r"file .*/sub: a directory is there, not a file"),
    ("file for directory", r"directory .*/plain: a file is there, not a directory"),
    ("bad state", r"state 'gone' is neither present nor absent"),
    ("unknown key", r"unknown key contents"),
    ("no patterns", r"patterns must be a non-empty list"),
    ("prune a file", r"prune .*/plain: not a directory"),
])
def test_bad_input_fails_with_one_message_before_anything_changes(
        tmp_path: Path, case: str, message: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "plain").write_text("plain")
    directories: list[Any] = [{"path": str(tmp_path / "new"), "mode": "0755", **ME}]
    files: list[Any] = [{"path": str(tmp_path / "new" / "g"), "content": "g", "mode": "0644",
                         **ME}]
    prune: list[Any] = []
    bad = {
        "relative": lambda: files.insert(0, ok_file(tmp_path, path="etc/x")),
        "twice": lambda: files.extend([ok_file(tmp_path), ok_file(tmp_path)]),
        "dir and file": lambda: (files.append(ok_file(tmp_path)), directories.append(
            {"path": str(tmp_path / "f"), "mode": "0755", **ME})),
        "no content": lambda: files.insert(0, ok_file(tmp_path, content=None)),
        "no mode": lambda: files.insert(0, ok_file(tmp_path, mode=None)),
        "bad mode": lambda: files.insert(0, ok_file(tmp_path, mode="rw-r--r--")),
        "octal number": lambda: files.insert(0, ok_file(tmp_path, mode=0o644)),
        "five digits": lambda: files.insert(0, ok_file(tmp_path, mode="10644")),
        "unknown owner": lambda: files.insert(0, ok_file(tmp_path, owner="no-such-user-here")),
        "unknown group": lambda: directories.append(
            {"path": str(tmp_path / "d"), "mode": "0755", "group": "no-such-group-here"}),
        "missing parent": lambda: files.append(
            ok_file(tmp_path, path=str(tmp_path / "nowhere" / "f"))),
        "missing dir parent": lambda: directories.append(
            {"path": str(tmp_path / "a" / "b"), "mode": "0755", **ME}),
        "directory there": lambda: files.append(ok_file(tmp_path, path=str(tmp_path / "sub"))),
        "absent directory": lambda: files.append(
            {"path": str(tmp_path / "sub"), "state": "absent"}),
        "file for directory": lambda: directories.append(
            {"path": str(tmp_path / "plain"), "mode": "0755", **ME}),
        "bad state": lambda: files.append(ok_file(tmp_path, state="gone")),
        "unknown key": lambda: files.append({"path": str(tmp_path / "f"), "contents": "x",
                                             "mode": "0644"}),
        "no patterns": lambda: prune.append({"path": str(tmp_path), "patterns": []}),
        "prune a file": lambda: prune.append({"path": str(tmp_path / "plain"),
                                              "patterns": ["*"]}),
    }
    bad[case]()
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(fs.FileSetError, match=message):
        converge(directories, files, prune)
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing changed"


def test_through_ansible_playbook_with_the_fqcn(tmp_path: Path) -> None:
    """Plain ansible-playbook finds dspace.deploy.file_set through the repository's
    ansible.cfg; check mode changes nothing, the run writes, the rerun is unchanged, a
    handler runs only for its label, and bad input fails with the module's message."""
    root = tmp_path / "root"
    root.mkdir()
    directories, files = layout(root)
    task = {"name": "Converge the files", "dspace.deploy.file_set": {
        "directories": directories, "files": files,
        "prune": [{"path": str(root / "etc"), "patterns": ["*.conf"], "label": "pruned"}]},
        "register": "_files", "notify": ["Secret changed", "Pruned"]}
    handlers = [{"name": name, "ansible.builtin.debug": {"msg": name},
                 "when": f"'{label}' in _files.labels"}
                for name, label in (("Secret changed", "secret"), ("Pruned", "pruned"))]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Files", "hosts": "localhost", "gather_facts": False,
        "tasks": [task], "handlers": handlers}]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_HOME": str(tmp_path / "home"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_CACHE_PLUGIN": "memory"}
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)

    def play(*extra: str, rc: int = 0) -> dict[str, Any]:
        done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                               "localhost,", "-c", "local", str(playbook), *extra], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == rc, done.stdout[-3000:] + done.stderr[-2000:]
        result: dict[str, Any] = json.loads(done.stdout)["plays"][0]
        return result

    def task_result(played: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = played["tasks"][0]["hosts"]["localhost"]
        return result

    def handlers_run(played: dict[str, Any]) -> list[str]:
        return [t["task"]["name"] for t in played["tasks"][1:]
                if not t["hosts"]["localhost"].get("skipped")]

    checked = task_result(play("--check", "--diff"))
    assert checked["changed"] is True and checked["written"] == sorted(f["path"] for f in files)
    assert list(root.iterdir()) == []
    first = play()
    assert task_result(first)["labels"] == ["app", "secret"]
    assert handlers_run(first) == ["Secret changed"]
    assert (root / "etc" / "private" / "secret").read_text() == "s3cr3t"
    (root / "etc" / "stale.conf").write_text("stale")
    second = play()
    assert task_result(second)["removed"] == [str(root / "etc" / "stale.conf")]
    assert handlers_run(second) == ["Pruned"]
    third = play()
    assert task_result(third)["changed"] is False and handlers_run(third) == []

    # Unquoted, YAML reads 0644 as the number 420: refused, not taken as mode 0644.
    playbook.write_text(playbook.read_text().replace("mode: '0644'", "mode: 0644", 1))
    failed = task_result(play(rc=2))
    assert failed["failed"] is True
    assert failed["msg"] == (f"file_set: files[0] ({files[0]['path']}): mode 420 is not a "
                             "quoted octal string such as '0644', '0600' or '2750'")
