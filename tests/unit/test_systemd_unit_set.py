"""The module dspace.deploy.systemd_unit_set (one call for a role's set of unit files): its
functions on a temporary unit directory with a fake `systemctl` executable on PATH that keeps
the units' state in a JSON file and records every call, and one run through a real
`ansible-playbook` (the FQCN found through the repository's ansible.cfg)."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.fixtures.helpers import REPO, load_file_module

MODULE = (REPO / "collections" / "ansible_collections" / "dspace" / "deploy" / "plugins"
          / "modules" / "systemd_unit_set.py")


us = load_file_module(MODULE, "systemd_unit_set")

MARKER = "# dspace-deploy dspace_tasks instance: repo"
PATTERNS = ["dspace-repo-*.service", "dspace-repo-*.timer"]

# systemctl as far as the module uses it: `show` answers from the state file (one block per
# unit, also for unknown ones), enable/disable/start/stop/restart change it, daemon-reload
# does nothing; every call is appended to the log; FAKE_SYSTEMCTL_FAIL=<verb> fails that verb.
FAKE = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_SYSTEMCTL_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_SYSTEMCTL_FAIL") == args[0]:
    sys.stderr.write("Failed to " + args[0] + ": Unit file is masked.\\n")
    sys.exit(1)
path = os.environ["FAKE_SYSTEMCTL_STATE"]
state = json.load(open(path)) if os.path.exists(path) else {{}}
verb, units = args[0], [a for a in args[1:] if not a.startswith("-")]
if verb == "show":
    print("\\n".join("Id={{}}\\nUnitFileState={{}}\\nActiveState={{}}\\n".format(
        u, *state.get(u, ["", "inactive"])) for u in units))
    sys.exit(0)
for u in units:
    enabled, active = state.get(u, ["", "inactive"])
    if verb == "enable":
        enabled, active = "enabled", "active" if "--now" in args else active
    elif verb == "disable":
        enabled, active = "disabled", "inactive" if "--now" in args else active
    elif verb in ("start", "restart"):
        active = "active"
    elif verb == "stop":
        active = "inactive"
    state[u] = [enabled, active]
json.dump(state, open(path, "w"))
"""


class Systemd:
    """The fake systemctl's state and calls."""

    def __init__(self, directory: Path) -> None:
        self.state_file = directory / "state.json"
        self.log = directory / "calls.log"

    def set(self, unit: str, enabled: str, active: str) -> None:
        state = self.state()
        state[unit] = [enabled, active]
        self.state_file.write_text(json.dumps(state))

    def state(self) -> dict[str, list[str]]:
        if not self.state_file.exists():
            return {}
        data: dict[str, list[str]] = json.loads(self.state_file.read_text())
        return data

    def calls(self) -> list[list[str]]:
        """The calls since the last one, the log emptied."""
        if not self.log.exists():
            return []
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        self.log.unlink()
        return lines


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Systemd:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "systemctl"
    fake.write_text(FAKE.format(python=sys.executable))
    fake.chmod(0o755)
    fake_systemd = Systemd(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SYSTEMCTL_LOG", str(fake_systemd.log))
    monkeypatch.setenv("FAKE_SYSTEMCTL_STATE", str(fake_systemd.state_file))
    return fake_systemd


@pytest.fixture
def unit_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "system"
    directory.mkdir()
    return directory


OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def units(schedules: dict[str, str]) -> dict[str, str]:
    """The service and timer of each task, as dspace_tasks renders them (marker included)."""
    found = {}
    for task, when in schedules.items():
        found[f"dspace-repo-{task}.service"] = (
            f"# Ansible managed\n{MARKER}\n[Service]\nType=oneshot\nExecStart=/bin/true {task}\n")
        found[f"dspace-repo-{task}.timer"] = (
            f"# Ansible managed\n{MARKER}\n[Timer]\nOnCalendar={when}\n"
            f"Unit=dspace-repo-{task}.service\n\n[Install]\nWantedBy=timers.target\n")
    return found


TASKS = {"checker": "Sun *-*-* 04:00:00", "cleanup": "*-*-01 01:00:00"}
TIMERS = ["dspace-repo-checker.timer", "dspace-repo-cleanup.timer"]


def converge(unit_dir: Path, wanted: dict[str, str], **options: Any) -> dict[str, Any]:
    options = {"owner": OWNER, "group": GROUP, **options}
    result: dict[str, Any] = us.converge(str(unit_dir), wanted, MARKER, PATTERNS, **options)
    return result


def test_fresh_write_enables_and_starts_every_timer_in_few_calls(
        unit_dir: Path, systemd: Systemd) -> None:
    wanted = units(TASKS)
    result = converge(unit_dir, wanted)
    assert result["changed"] is True
    assert result["written"] == sorted(wanted)
    assert result["enabled"] == result["started"] == TIMERS
    assert result["removed"] == result["stopped"] == result["rearmed"] == []
    assert result["reloaded"] is True
    assert systemd.calls() == [
        ["show", "--property=Id,UnitFileState,ActiveState", "--", *TIMERS],
        ["daemon-reload"],
        ["enable", "--now", "--", *TIMERS],
    ]
    for name, content in wanted.items():
        path = unit_dir / name
        assert path.read_text() == content
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o644
        assert (info.st_uid, info.st_gid) == (os.getuid(), os.getgid())
    assert sorted(p.name for p in unit_dir.iterdir()) == sorted(wanted), "no temporary left"
    assert systemd.state() == {t: ["enabled", "active"] for t in TIMERS}


def test_second_call_changes_nothing_and_only_asks_systemd(
        unit_dir: Path, systemd: Systemd) -> None:
    wanted = units(TASKS)
    converge(unit_dir, wanted)
    systemd.calls()
    before = {p.name: p.stat().st_mtime_ns for p in unit_dir.iterdir()}
    again = converge(unit_dir, wanted)
    assert again["changed"] is False and again["reloaded"] is False
    assert all(again[key] == [] for key in
               ("written", "removed", "stopped", "enabled", "started", "rearmed"))
    assert systemd.calls() == [["show", "--property=Id,UnitFileState,ActiveState", "--",
                                *TIMERS]]
    assert {p.name: p.stat().st_mtime_ns for p in unit_dir.iterdir()} == before


def test_changed_schedule_rearms_the_timer_and_a_changed_service_is_never_restarted(
        unit_dir: Path, systemd: Systemd) -> None:
    converge(unit_dir, units(TASKS))
    systemd.calls()
    changed = units({**TASKS, "checker": "Sat *-*-* 23:00:00"})
    changed["dspace-repo-cleanup.service"] += "Nice=10\n"
    result = converge(unit_dir, changed)
    assert result["changed"] is True
    assert result["written"] == ["dspace-repo-checker.timer", "dspace-repo-cleanup.service"]
    assert result["rearmed"] == ["dspace-repo-checker.timer"]
    assert result["started"] == result["enabled"] == []
    assert systemd.calls() == [
        ["show", "--property=Id,UnitFileState,ActiveState", "--", *TIMERS],
        ["daemon-reload"],
        ["restart", "--", "dspace-repo-checker.timer"],
    ]
    assert "OnCalendar=Sat *-*-* 23:00:00" in (unit_dir / "dspace-repo-checker.timer").read_text()


def test_mode_or_owner_drift_is_rewritten(unit_dir: Path, systemd: Systemd) -> None:
    wanted = units(TASKS)
    converge(unit_dir, wanted)
    (unit_dir / "dspace-repo-cleanup.service").chmod(0o600)
    assert converge(unit_dir, wanted)["written"] == ["dspace-repo-cleanup.service"]
    assert stat.S_IMODE((unit_dir / "dspace-repo-cleanup.service").stat().st_mode) == 0o644
    if os.getuid() == 0:
        os.chown(unit_dir / "dspace-repo-cleanup.timer", 1, 1)
        result = converge(unit_dir, wanted)
        assert result["written"] == ["dspace-repo-cleanup.timer"]
        assert result["rearmed"] == ["dspace-repo-cleanup.timer"]
        assert (unit_dir / "dspace-repo-cleanup.timer").stat().st_uid == os.getuid()


def test_units_no_longer_wanted_are_stopped_disabled_and_removed(
        unit_dir: Path, systemd: Systemd) -> None:
    converge(unit_dir, units(TASKS))
    # Beside them: another role's unit of the instance (no marker), a file of this role
    # outside the patterns, and a unit of another instance: none of them is touched.
    others = {"dspace-repo-backup.timer": "# dspace_backup\n[Timer]\nOnCalendar=daily\n",
              "notes.txt": f"{MARKER}\n",
              "dspace-demo-checker.timer": MARKER.replace("repo", "demo") + "\n"}
    for name, content in others.items():
        (unit_dir / name).write_text(content)
    systemd.set("dspace-repo-backup.timer", "enabled", "active")
    systemd.calls()
    result = converge(unit_dir, units({"checker": TASKS["checker"]}))
    assert result["changed"] is True
    assert result["removed"] == ["dspace-repo-cleanup.service", "dspace-repo-cleanup.timer"]
    assert result["stopped"] == ["dspace-repo-cleanup.timer"]
    assert result["written"] == result["started"] == result["rearmed"] == []
    assert systemd.calls() == [
        ["show", "--property=Id,UnitFileState,ActiveState", "--",
         "dspace-repo-checker.timer", "dspace-repo-cleanup.timer"],
        ["disable", "--now", "--", "dspace-repo-cleanup.timer"],
        ["daemon-reload"],
    ]
    assert sorted(p.name for p in unit_dir.iterdir()) == sorted(
        [*units({"checker": ""}), *others])
    assert systemd.state()["dspace-repo-backup.timer"] == ["enabled", "active"]
    again = converge(unit_dir, units({"checker": TASKS["checker"]}))
    assert again["changed"] is False


def test_owned_files_without_the_marker_are_removed_like_stale_units(
        unit_dir: Path, systemd: Systemd) -> None:
    """Files an earlier version of the caller wrote without the marker line: the exact names
    in `owned` are the caller's (a timer stopped and disabled, then removed); other unmarked
    files matching the patterns are still never touched."""
    converge(unit_dir, units({"checker": TASKS["checker"]}))
    legacy = {"dspace-repo-cleanup.timer": "# Ansible managed\n[Timer]\nOnCalendar=daily\n",
              "dspace-repo-cleanup.service": "# Ansible managed\n[Service]\nType=oneshot\n",
              "dspace-repo-other.timer": "# someone else's\n[Timer]\nOnCalendar=daily\n"}
    for name, content in legacy.items():
        (unit_dir / name).write_text(content)
    systemd.set("dspace-repo-cleanup.timer", "enabled", "active")
    systemd.calls()
    owned = ["dspace-repo-cleanup.timer", "dspace-repo-cleanup.service"]
    would = converge(unit_dir, units({"checker": TASKS["checker"]}), owned=owned,
                     check_mode=True)
    assert would["removed"] == sorted(owned) and would["stopped"] == [owned[0]]
    assert sorted(p.name for p in unit_dir.iterdir()) == sorted(
        [*units({"checker": ""}), *legacy]), "check mode removes nothing"
    systemd.calls()
    result = converge(unit_dir, units({"checker": TASKS["checker"]}), owned=owned)
    assert result["removed"] == sorted(owned) and result["stopped"] == [owned[0]]
    assert systemd.calls()[1:] == [["disable", "--now", "--", owned[0]], ["daemon-reload"]]
    assert sorted(p.name for p in unit_dir.iterdir()) == sorted(
        [*units({"checker": ""}), "dspace-repo-other.timer"])
    assert converge(unit_dir, units({"checker": TASKS["checker"]}), owned=owned)[
        "changed"] is False
    # A wanted unit named in owned is written as usual, never removed.
    wanted = units(TASKS)
    assert converge(unit_dir, wanted, owned=owned)["written"] == sorted(owned)


def test_a_stale_timer_already_stopped_is_only_removed(unit_dir: Path, systemd: Systemd) -> None:
    converge(unit_dir, units(TASKS))
    systemd.set("dspace-repo-cleanup.timer", "disabled", "inactive")
    systemd.calls()
    result = converge(unit_dir, units({"checker": TASKS["checker"]}))
    assert result["stopped"] == [] and len(result["removed"]) == 2
    assert [call[0] for call in systemd.calls()] == ["show", "daemon-reload"]


def test_check_mode_reports_what_it_would_do_and_changes_nothing(
        unit_dir: Path, systemd: Systemd) -> None:
    wanted = units(TASKS)
    would = converge(unit_dir, wanted, check_mode=True, diff=True)
    assert would["changed"] is True and would["written"] == sorted(wanted)
    assert would["started"] == TIMERS and would["reloaded"] is True
    assert list(unit_dir.iterdir()) == []
    assert [call[0] for call in systemd.calls()] == ["show"]
    assert systemd.state() == {}
    assert [d["after"] for d in would["diff"]] == [wanted[n] for n in sorted(wanted)]
    assert {d["before"] for d in would["diff"]} == {""}

    done = converge(unit_dir, wanted)
    assert {k: v for k, v in done.items() if k != "diff"} == {
        k: v for k, v in would.items() if k != "diff"}, "check mode foretold the real run"
    systemd.calls()
    smaller = units({"checker": "Sat *-*-* 23:00:00"})
    would = converge(unit_dir, smaller, check_mode=True, diff=True)
    assert would["written"] == ["dspace-repo-checker.timer"]
    assert would["rearmed"] == ["dspace-repo-checker.timer"]
    assert would["removed"] == ["dspace-repo-cleanup.service", "dspace-repo-cleanup.timer"]
    assert would["stopped"] == ["dspace-repo-cleanup.timer"]
    timer_diff = would["diff"][0]
    assert "Sun *-*-* 04:00:00" in timer_diff["before"]
    assert "Sat *-*-* 23:00:00" in timer_diff["after"]
    assert [call[0] for call in systemd.calls()] == ["show"]
    assert sorted(p.name for p in unit_dir.iterdir()) == sorted(wanted)
    assert "Sun" in (unit_dir / "dspace-repo-checker.timer").read_text()


def test_timers_a_pause_stopped_are_started_again_without_a_rewrite(
        unit_dir: Path, systemd: Systemd) -> None:
    """A deploy while the tasks are paused gives the timers back, as the per-item tasks did
    (README of dspace_tasks, "Pause and resume"): enabled and started, files untouched."""
    converge(unit_dir, units(TASKS))
    for timer in TIMERS:
        systemd.set(timer, "disabled", "inactive")
    systemd.set("dspace-repo-cleanup.timer", "enabled", "inactive")
    systemd.calls()
    result = converge(unit_dir, units(TASKS))
    assert result["enabled"] == ["dspace-repo-checker.timer"]
    assert result["started"] == TIMERS
    assert result["written"] == result["rearmed"] == [] and result["reloaded"] is False
    assert systemd.calls()[1:] == [["enable", "--now", "--", *TIMERS]]


def test_an_active_unit_given_explicitly_is_restarted_when_its_file_changes(
        unit_dir: Path, systemd: Systemd) -> None:
    wanted = {"dspace-repo-daemon.service": f"{MARKER}\n[Service]\nExecStart=/bin/sleep 1\n"}
    first = converge(unit_dir, wanted, active=["dspace-repo-daemon.service"])
    assert first["started"] == ["dspace-repo-daemon.service"]
    wanted["dspace-repo-daemon.service"] += "Nice=5\n"
    assert converge(unit_dir, wanted, active=["dspace-repo-daemon.service"])["rearmed"] == [
        "dspace-repo-daemon.service"]
    assert converge(unit_dir, wanted)["rearmed"] == [], "a service is not active by default"


@pytest.mark.parametrize(("wanted", "options", "message"), [
    ({"dspace-repo-x.timer": "[Timer]\n"}, {}, "does not hold the marker line"),
    ({"dspace-repo-x.timer": f"# {MARKER}\n"}, {}, "does not hold the marker line"),
    ({"backup.timer": f"{MARKER}\n"}, {}, "matches none of the patterns"),
    ({"../dspace-repo-x.timer": f"{MARKER}\n"}, {}, "is not a unit file name"),
    ({"dspace-repo-x.timer": f"{MARKER}\n"}, {"active": ["dspace-repo-y.timer"]},
     "which units does not hold"),
    ({"dspace-repo-x.timer": f"{MARKER}\n"}, {"mode": "rw-r--r--"}, "is not an octal"),
    ({"dspace-repo-x.timer": f"{MARKER}\n"}, {"owned": ["backup.timer"]},
     "matches none of the patterns"),
    ({"dspace-repo-x.timer": f"{MARKER}\n"}, {"owner": "no-such-user-here"}, "no such user"),
])
def test_bad_input_is_refused_before_anything_changes(
        unit_dir: Path, systemd: Systemd, wanted: dict[str, str], options: dict[str, Any],
        message: str) -> None:
    with pytest.raises(us.UnitSetError, match=message):
        converge(unit_dir, wanted, **options)
    assert list(unit_dir.iterdir()) == [] and systemd.calls() == []


def test_a_failing_systemctl_fails_with_its_message(unit_dir: Path, systemd: Systemd,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SYSTEMCTL_FAIL", "enable")
    with pytest.raises(us.UnitSetError, match=r"systemctl enable --now -- .* failed: "
                                              r"Failed to enable: Unit file is masked"):
        converge(unit_dir, units(TASKS))
    monkeypatch.delenv("FAKE_SYSTEMCTL_FAIL")
    assert converge(unit_dir, units(TASKS))["started"] == TIMERS, "the next run goes on"


def test_through_ansible_playbook_with_the_fqcn(tmp_path: Path, unit_dir: Path,
                                                systemd: Systemd) -> None:
    """Plain ansible-playbook finds dspace.deploy.systemd_unit_set through the repository's
    ansible.cfg; check mode changes nothing, the run writes, the rerun is unchanged."""
    wanted = units(TASKS)
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Units", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Converge the units", "dspace.deploy.systemd_unit_set": {
            "unit_dir": str(unit_dir), "units": wanted, "marker": MARKER,
            "patterns": PATTERNS, "owner": OWNER, "group": GROUP}}]}]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_HOME": str(tmp_path / "home"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_CACHE_PLUGIN": "memory"}
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)

    def play(*extra: str) -> dict[str, Any]:
        done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                               "localhost,", "-c", "local", str(playbook), *extra], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        result: dict[str, Any] = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][
            "localhost"]
        return result

    checked = play("--check", "--diff")
    assert checked["changed"] is True and checked["started"] == TIMERS
    assert list(unit_dir.iterdir()) == []
    first = play()
    assert first["changed"] is True and first["written"] == sorted(wanted)
    assert (unit_dir / "dspace-repo-checker.timer").read_text() == wanted[
        "dspace-repo-checker.timer"]
    assert play()["changed"] is False
    assert [call[0] for call in systemd.calls()] == [
        "show", "show", "daemon-reload", "enable", "show"]


@pytest.mark.parametrize("name", sorted(p.stem for p in MODULE.parent.glob("*.py")))
def test_every_module_of_the_collection_documents_its_options(name: str) -> None:
    """ansible-doc parses DOCUMENTATION, EXAMPLES and RETURN (AWX and Galaxy show them), and
    the documented options are the argument spec's."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json",
                           f"dspace.deploy.{name}"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)[f"dspace.deploy.{name}"]
    assert doc["examples"] and doc["return"]
    source = (MODULE.parent / f"{name}.py").read_text()
    spec = set(re.findall(r'^\s+"(\w+)": \{"type"', source, re.MULTILINE))
    assert set(doc["doc"]["options"]) == spec
