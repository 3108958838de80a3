"""The converged-state stamps (collection dspace.deploy): module functions on a temp dir, with
systemctl faked through the injectable runner, and the content_hash filter."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

COLLECTION = (Path(__file__).resolve().parents[2]
              / "collections" / "ansible_collections" / "dspace" / "deploy")


def _load(relative: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, COLLECTION / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cs = _load("plugins/modules/converged_state.py", "converged_state")
ch = _load("plugins/filter/content_hash.py", "content_hash_filter")

SECRET = "s3cret-Pa55word-4711"


class FakeSystemctl:
    """`systemctl show` answering from a dict {unit: (ActiveState, UnitFileState)}."""

    def __init__(self, states: dict[str, tuple[str, str]]) -> None:
        self.states = states
        self.calls: list[list[str]] = []

    def __call__(self, args: list[str]) -> str:
        self.calls.append(args)
        assert args[0] == "show"
        units = args[args.index("--") + 1:]
        blocks = []
        for unit in units:
            active, enabled = self.states.get(unit, ("inactive", ""))
            load = "loaded" if unit in self.states else "not-found"
            blocks.append(f"Id={unit}\nLoadState={load}\nActiveState={active}\n"
                          f"UnitFileState={enabled}\n")
        return "\n".join(blocks)


@pytest.fixture
def managed(tmp_path: Path) -> dict[str, Any]:
    conf = tmp_path / "etc" / "app.conf"
    conf.parent.mkdir()
    conf.write_text("port = 8080\n")
    conf.chmod(0o640)
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    (data / "core").mkdir()
    (data / "core" / "schema.xml").write_text("<schema/>\n")
    return {
        "name": "app",
        "inputs": {"app_port": 8080, "app_password": SECRET, "code": "abc"},
        "paths": [str(conf), str(data), str(tmp_path / "missing.conf")],
        "trees": [],
        "units_active": ["app.service"],
        "units_enabled": ["app.service", "app-task.timer"],
        "stamp_dir": str(tmp_path / "stamps"),
    }


@pytest.fixture
def systemctl() -> FakeSystemctl:
    return FakeSystemctl({"app.service": ("active", "enabled"),
                          "app-task.timer": ("active", "enabled")})


def _stamp(args: dict[str, Any], run: FakeSystemctl) -> dict[str, Any]:
    return cs.stamp(**args, run=run)


def _check(args: dict[str, Any], run: FakeSystemctl) -> dict[str, Any]:
    return cs.check(**args, run=run)


def test_no_stamp_then_stamp_then_converged(managed: dict[str, Any],
                                            systemctl: FakeSystemctl) -> None:
    first = _check(managed, systemctl)
    assert first == {**first, "converged": False, "reason": "no stamp", "changed": False}
    written = _stamp(managed, systemctl)
    assert written["changed"] is True and written["converged"] is True
    assert _check(managed, systemctl)["converged"] is True
    again = _stamp(managed, systemctl)
    assert again["changed"] is False, "an unchanged stamp is not rewritten"


def test_stamp_file_is_private_and_holds_no_input_value(managed: dict[str, Any],
                                                         systemctl: FakeSystemctl) -> None:
    result = _stamp(managed, systemctl)
    path = Path(result["stamp"])
    assert path == Path(managed["stamp_dir"]) / "app.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    raw = path.read_text()
    assert SECRET not in raw
    assert "8080" not in raw and "app_password" not in raw and "app_port" not in raw
    stored = json.loads(raw)
    assert set(stored) == {"format", "salt", "inputs", "paths", "spec"}
    assert len(stored["inputs"]) == 64
    assert stored["spec"] == {"paths": managed["paths"], "trees": [], "exclude": [],
                              "units_active": ["app.service"],
                              "units_enabled": ["app.service", "app-task.timer"]}


def test_changed_inputs_are_not_converged(managed: dict[str, Any],
                                          systemctl: FakeSystemctl) -> None:
    _stamp(managed, systemctl)
    for key, value in [("app_password", "another"), ("app_port", 8081), ("code", "abd")]:
        changed = {**managed, "inputs": {**managed["inputs"], key: value}}
        result = _check(changed, systemctl)
        assert result["converged"] is False and result["reason"] == "inputs changed", key


def test_edited_file_is_not_converged(managed: dict[str, Any],
                                      systemctl: FakeSystemctl) -> None:
    _stamp(managed, systemctl)
    conf = Path(managed["paths"][0])
    conf.write_text("port = 9090\n")
    assert _check(managed, systemctl)["reason"] == f"{conf} changed"
    conf.write_text("port = 8080\n")
    assert _check(managed, systemctl)["converged"] is True, "same content, same state"


@pytest.mark.parametrize("change", ["mode", "owner", "delete", "create_missing"])
def test_mode_owner_and_existence_count(managed: dict[str, Any], systemctl: FakeSystemctl,
                                        change: str) -> None:
    _stamp(managed, systemctl)
    conf, data, missing = (Path(p) for p in managed["paths"])
    if change == "mode":
        data.chmod(0o755)
        expected = data
    elif change == "owner":
        if os.geteuid() != 0:
            pytest.skip("changing a file's owner needs root")
        os.chown(conf, 65534, 65534)
        expected = conf
    elif change == "delete":
        conf.unlink()
        expected = conf
    else:
        missing.write_text("new\n")
        expected = missing
    assert _check(managed, systemctl)["reason"] == f"{expected} changed"


def test_directory_counts_own_state_unless_a_tree(managed: dict[str, Any],
                                                  systemctl: FakeSystemctl) -> None:
    data = Path(managed["paths"][1])
    schema = data / "core" / "schema.xml"
    _stamp(managed, systemctl)
    schema.write_text("<schema version='2'/>\n")
    assert _check(managed, systemctl)["converged"] is True, "paths are not recursive"
    as_tree = {**managed, "paths": managed["paths"][:1], "trees": [str(data)]}
    _stamp(as_tree, systemctl)
    assert _check(as_tree, systemctl)["converged"] is True
    schema.write_text("<schema version='3'/>\n")
    assert _check(as_tree, systemctl)["reason"] == f"{data} changed"


def test_other_set_of_paths_is_not_converged(managed: dict[str, Any],
                                             systemctl: FakeSystemctl) -> None:
    _stamp(managed, systemctl)
    fewer = {**managed, "paths": managed["paths"][:2]}
    assert _check(fewer, systemctl)["reason"] == "managed paths changed"


def test_units_are_checked_live_in_one_call(managed: dict[str, Any],
                                            systemctl: FakeSystemctl) -> None:
    _stamp(managed, systemctl)
    systemctl.calls.clear()
    assert _check(managed, systemctl)["converged"] is True
    assert len(systemctl.calls) == 1
    assert systemctl.calls[0][-2:] == ["app.service", "app-task.timer"]
    systemctl.states["app.service"] = ("inactive", "enabled")
    assert _check(managed, systemctl)["reason"] == "app.service is inactive"
    systemctl.states["app.service"] = ("active", "enabled")
    systemctl.states["app-task.timer"] = ("inactive", "disabled")
    # the timer needs to be enabled only: being inactive alone would not count
    assert _check(managed, systemctl)["reason"] == "app-task.timer is disabled"
    systemctl.states["app-task.timer"] = ("inactive", "enabled")
    assert _check(managed, systemctl)["converged"] is True
    del systemctl.states["app.service"]
    assert _check(managed, systemctl)["reason"] == "app.service is inactive"


def test_stamp_with_a_unit_down_warns_and_next_check_fails(managed: dict[str, Any],
                                                           systemctl: FakeSystemctl) -> None:
    systemctl.states["app.service"] = ("failed", "enabled")
    result = _stamp(managed, systemctl)
    assert result["changed"] is True and result["converged"] is False
    assert "app.service is failed" in result["warnings"][0]
    assert _check(managed, systemctl)["reason"] == "app.service is failed"


def test_check_mode_stamp_and_absent_write_nothing(managed: dict[str, Any],
                                                   systemctl: FakeSystemctl) -> None:
    dry = cs.stamp(**managed, check_mode=True, run=systemctl)
    assert dry["changed"] is True
    assert not Path(dry["stamp"]).exists()
    _stamp(managed, systemctl)
    assert cs.absent("app", managed["stamp_dir"], check_mode=True)["changed"] is True
    assert Path(dry["stamp"]).exists()
    assert cs.absent("app", managed["stamp_dir"])["changed"] is True
    assert not Path(dry["stamp"]).exists()
    assert cs.absent("app", managed["stamp_dir"])["changed"] is False
    assert _check(managed, systemctl)["reason"] == "no stamp"


def test_damaged_stamp_is_not_converged_and_gets_rewritten(managed: dict[str, Any],
                                                           systemctl: FakeSystemctl) -> None:
    location = Path(_stamp(managed, systemctl)["stamp"])
    location.write_text("{not json")
    assert _check(managed, systemctl)["reason"] == "stamp unreadable"
    assert _stamp(managed, systemctl)["changed"] is True
    assert _check(managed, systemctl)["converged"] is True


def test_symlink_target_counts(tmp_path: Path, systemctl: FakeSystemctl) -> None:
    (tmp_path / "r1").mkdir()
    (tmp_path / "r2").mkdir()
    link = tmp_path / "current"
    link.symlink_to("r1")
    args = {"name": "ui-demo", "inputs": {}, "paths": [str(link)], "trees": [],
            "units_active": [], "units_enabled": [], "stamp_dir": str(tmp_path / "s")}
    _stamp(args, systemctl)
    link.unlink()
    link.symlink_to("r2")
    assert _check(args, systemctl)["reason"] == f"{link} changed"


def test_bad_stamp_name_is_refused(managed: dict[str, Any], systemctl: FakeSystemctl) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        _check({**managed, "name": "../etc/passwd"}, systemctl)


def test_content_hash_follows_the_role_code(tmp_path: Path) -> None:
    role = tmp_path / "role"
    (role / "tasks").mkdir(parents=True)
    (role / "templates").mkdir()
    (role / "tasks" / "main.yml").write_text("---\n- name: one\n")
    (role / "templates" / "a.j2").write_text("a\n")
    (role / "README.md").write_text("docs do not count\n")
    first = ch.content_hash(str(role))
    assert len(first) == 64 and ch.content_hash(str(role)) == first
    (role / "README.md").write_text("changed docs\n")
    assert ch.content_hash(str(role)) == first
    (role / "templates" / "a.j2").write_text("b\n")
    second = ch.content_hash(str(role))
    assert second != first
    (role / "templates" / "a.j2").rename(role / "templates" / "b.j2")
    assert ch.content_hash(str(role)) not in (first, second), "names count too"
    assert ch.FilterModule().filters()["content_hash"] is ch.content_hash


def test_content_hash_refuses_a_non_role(tmp_path: Path) -> None:
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError):
        ch.content_hash(str(tmp_path))


def test_tree_exclude_leaves_out_marker_files(tmp_path: Path, systemctl: FakeSystemctl) -> None:
    conf = tmp_path / "core" / "conf"
    conf.mkdir(parents=True)
    (conf / "solrconfig.xml").write_text("<config/>\n")
    args = {"name": "solr", "inputs": {}, "paths": [], "trees": [str(conf)],
            "exclude": ["reindex.flag"], "units_active": [], "units_enabled": [],
            "stamp_dir": str(tmp_path / "s")}
    _stamp(args, systemctl)
    (conf / "reindex.flag").write_text("")
    assert _check(args, systemctl)["converged"] is True
    (conf / "extra.xml").write_text("<x/>\n")
    assert _check(args, systemctl)["reason"] == f"{conf} changed"


def test_unit_pattern_needs_a_loaded_active_match(managed: dict[str, Any]) -> None:
    fake = FakeSystemctl({"app.service": ("active", "enabled"),
                          "app-task.timer": ("active", "enabled")})

    def run(args: list[str]) -> str:
        units = args[args.index("--") + 1:]
        if units == ["postgresql@*-main.service"]:
            return "\n".join(f"Id={u}\nLoadState=loaded\nActiveState={a}\nUnitFileState={e}\n"
                             for u, (a, e) in fake.states.items() if u.startswith("postgresql@"))
        return fake(args)

    args = {**managed, "units_active": ["app.service", "postgresql@*-main.service"]}
    assert cs.stamp(**args, run=run)["warnings"] == [
        "stamp app written, but no unit postgresql@*-main.service is loaded: "
        "the next run converges again"]
    fake.states["postgresql@17-main.service"] = ("active", "enabled-runtime")
    assert cs.check(**args, run=run)["converged"] is True
    fake.states["postgresql@17-main.service"] = ("failed", "enabled-runtime")
    assert cs.check(**args, run=run)["reason"] == "postgresql@17-main.service is failed"


def test_file_identity_changes_when_an_artifact_is_rebuilt(tmp_path: Path) -> None:
    archive = tmp_path / "dspace-ui.tar.gz"
    assert ch.file_identity("") == ""
    assert ch.file_identity(str(archive)) == "missing"
    archive.write_bytes(b"release 1")
    first = ch.file_identity(str(archive))
    assert first.startswith("9:")
    os.utime(archive, ns=(1, 2_000_000_000))
    assert ch.file_identity(str(archive)) == "9:2000000000"
    archive.write_bytes(b"release 22")
    assert ch.file_identity(str(archive)).startswith("10:")


def test_runner_and_ansible_cfg_find_the_collection(tmp_path: Path) -> None:
    import configparser

    from dspace_deploy import resources, runner

    module = (resources.collections_dir() / "ansible_collections" / "dspace" / "deploy"
              / "plugins" / "modules" / "converged_state.py")
    assert module.is_file()
    site = type("S", (), {"secrets": [], "vault_password_file": tmp_path / "pw"})()
    env = runner._environment(runner.Job("up", "site.yml", site))  # type: ignore[arg-type]
    assert env["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0] == str(
        resources.collections_dir())
    cfg = configparser.ConfigParser()
    cfg.read(resources.ansible_cfg())
    first = cfg["defaults"]["collections_path"].split(":")[0]
    assert (resources.ansible_cfg().parent / first).resolve() == resources.collections_dir()


# --- The survey (state=survey, one call for every stamp of a host) and the controller's
# verdict (filter stamp_verdict) -------------------------------------------------------------

def _spec(args: dict[str, Any]) -> dict[str, Any]:
    return {key: args.get(key, []) for key in cs.SPEC_KEYS}


def _verdict(args: dict[str, Any], run: FakeSystemctl, **changes: Any) -> str:
    """The controller's verdict for `args` (with `changes`) from a survey of the host now."""
    wanted = {**args, **changes}
    return cs.verdict(cs.survey(args["stamp_dir"], run=run), wanted["name"], wanted["inputs"],
                      cs.make_spec(*(wanted.get(key, []) for key in cs.SPEC_KEYS)))


def test_survey_agrees_with_check_on_every_difference(managed: dict[str, Any],
                                                       systemctl: FakeSystemctl) -> None:
    """The survey plus the verdict find what a probe (state=check) finds, with its reason."""
    assert _verdict(managed, systemctl) == "no stamp"
    _stamp(managed, systemctl)
    assert _verdict(managed, systemctl) == "" == _check(managed, systemctl)["reason"]
    assert _verdict(managed, systemctl, inputs={**managed["inputs"], "app_port": 8081}) \
        == "inputs changed"
    assert _verdict(managed, systemctl, paths=managed["paths"][:2]) == "managed paths changed"
    assert _verdict(managed, systemctl, units_active=[]) == "managed units changed"
    conf = Path(managed["paths"][0])
    conf.write_text("port = 9090\n")
    assert _verdict(managed, systemctl) == f"{conf} changed" == _check(managed, systemctl)["reason"]
    conf.write_text("port = 8080\n")
    systemctl.states["app-task.timer"] = ("active", "disabled")
    assert _verdict(managed, systemctl) == "app-task.timer is disabled" \
        == _check(managed, systemctl)["reason"]


def test_survey_covers_every_stamp_in_one_systemctl_call(managed: dict[str, Any],
                                                         systemctl: FakeSystemctl) -> None:
    _stamp(managed, systemctl)
    _stamp({**managed, "name": "other", "units_active": ["other.service"],
            "units_enabled": []}, systemctl)
    systemctl.calls.clear()
    surveyed = cs.survey(managed["stamp_dir"], run=systemctl)
    assert len(systemctl.calls) == 1, systemctl.calls
    assert set(systemctl.calls[0]) >= {"app.service", "app-task.timer", "other.service"}
    assert surveyed["changed"] is False
    assert surveyed["stamps"]["app"]["problem"] == ""
    assert surveyed["stamps"]["other"]["problem"] == "other.service is inactive"
    raw = json.dumps(surveyed)
    assert SECRET not in raw and "8080" not in raw, "only salted hashes leave the host"


def test_stamp_then_survey_sees_the_host_after_the_steps(managed: dict[str, Any],
                                                        systemctl: FakeSystemctl) -> None:
    """state=stamp with survey (the gate within `up`): the same survey as state=survey,
    taken after the stamp is written, so that it sees what the role's steps changed in
    another stamp's paths; without survey no `stamps`."""
    other = {**managed, "name": "other", "units_active": [], "units_enabled": []}
    _stamp(other, systemctl)
    assert "stamps" not in _stamp(managed, systemctl)
    Path(managed["paths"][0]).write_text("changed by the steps of app\n")
    stamped = cs.stamp(**managed, run=systemctl, then_survey=True)
    assert stamped["stamps"] == cs.survey(managed["stamp_dir"], run=systemctl)["stamps"]
    assert stamped["stamps"]["app"]["problem"] == "", "its own stamp, just written"
    assert stamped["stamps"]["other"]["problem"] == f"{managed['paths'][0]} changed"
    assert SECRET not in json.dumps(stamped), "only salted hashes leave the host"


def test_survey_of_no_stamps_and_of_old_or_damaged_ones(managed: dict[str, Any],
                                                        systemctl: FakeSystemctl) -> None:
    surveyed = cs.survey(managed["stamp_dir"], run=systemctl)
    assert (surveyed["stamps"], surveyed["records"], surveyed["changed"]) == ({}, {}, False)
    _stamp(managed, systemctl)
    location = Path(managed["stamp_dir"]) / "app.json"
    old = json.loads(location.read_text())
    old["format"] = 1
    del old["spec"]
    location.write_text(json.dumps(old))
    assert _verdict(managed, systemctl) == "stamp of an older dspace-deploy"
    assert _check(managed, systemctl)["reason"] == "stamp of an older dspace-deploy"
    location.write_text("{not json")
    assert _verdict(managed, systemctl) == "stamp unreadable"
    (Path(managed["stamp_dir"]) / ".stamp-x1y2").write_text("partial")
    assert set(cs.survey(managed["stamp_dir"], run=systemctl)["stamps"]) == {"app"}


def test_survey_reads_the_records_in_the_same_call(managed: dict[str, Any], tmp_path: Path,
                                                  systemctl: FakeSystemctl) -> None:
    """`up` reads each instance's version record with the survey: the text without its
    newline, '' for a record never written or one that cannot be read, and no more than the
    limit of a large file."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "version").write_text("9.3\n")
    (tmp_path / "big").write_text("x" * (cs.RECORD_LIMIT + 10))
    records = {"repo": str(tmp_path / "repo" / "version"),
               "new": str(tmp_path / "new" / "version"),
               "directory": str(tmp_path / "repo"), "big": str(tmp_path / "big")}
    surveyed = cs.survey(managed["stamp_dir"], run=systemctl, records=records)
    assert surveyed["records"] == {"repo": "9.3", "new": "", "directory": "",
                                   "big": "x" * cs.RECORD_LIMIT}
    assert systemctl.calls == [], "no stamp, no unit to ask systemd about"


def test_survey_reports_the_memory_size_as_setup_does(managed: dict[str, Any], tmp_path: Path,
                                                       systemctl: FakeSystemctl) -> None:
    """The one hardware fact the roles use (heap and PostgreSQL sizes, the memory precheck)
    comes with the survey, in MiB rounded down as setup's hardware subset computes it, so
    that `up` gathers the minimal subset only."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24563372 kB\nMemFree:         6123456 kB\n")
    surveyed = cs.survey(managed["stamp_dir"], run=systemctl, meminfo=str(meminfo))
    assert surveyed["ansible_facts"] == {"memtotal_mb": 24563372 // 1024} == {"memtotal_mb": 23987}
    assert cs.survey(managed["stamp_dir"], run=systemctl,
                     meminfo=str(tmp_path / "none"))["ansible_facts"] == {}
    from ansible.module_utils.facts.hardware.linux import LinuxHardware

    assert "MemTotal" in LinuxHardware.ORIGINAL_MEMORY_FACTS, "setup's own source of the fact"


def test_verdict_hashes_what_the_module_receives(managed: dict[str, Any],
                                                 systemctl: FakeSystemctl) -> None:
    """The controller holds tuples, str subclasses and non-str keys where the module gets
    JSON; the hash is the same."""
    class Tagged(str):
        pass

    _stamp({**managed, "inputs": {"a": [1, 2], "b": "x", "c": {"1": True}}}, systemctl)
    controller = {"a": (1, 2), "b": Tagged("x"), "c": {1: True}}
    assert _verdict(managed, systemctl, inputs=controller) == ""
    assert _verdict(managed, systemctl, inputs={**controller, "c": {1: False}}) == "inputs changed"


def test_stamp_verdict_filter_uses_the_modules_comparison(managed: dict[str, Any],
                                                         systemctl: FakeSystemctl) -> None:
    import sys
    sys.path.insert(0, str(COLLECTION.parents[2]))
    try:
        sv = _load("plugins/filter/stamp_verdict.py", "stamp_verdict_filter")
    finally:
        sys.path.remove(str(COLLECTION.parents[2]))
    _stamp(managed, systemctl)
    surveyed = cs.survey(managed["stamp_dir"], run=systemctl)
    assert sv.stamp_verdict(surveyed, "app", managed["inputs"], _spec(managed)) == ""
    assert sv.stamp_verdict(surveyed, "app", {}, _spec(managed)) == "inputs changed"
    assert sv.stamp_verdict({}, "app", managed["inputs"], _spec(managed)) == "no stamp"
