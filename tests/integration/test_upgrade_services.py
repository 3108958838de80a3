"""The service actions an upgrade calls, on one lab host converged once (look-alike bundles):

  us-1  Debian 13  repo  DSpace 9.2 (a look-alike bundle of 9.2, UI 9.2)

Each action runs as playbooks/upgrade.yml calls it (include_role, tasks_from; the test
playbook tests/integration/playbooks/actions.yml), through the project's runner:

- dspace_tasks `pause` / `resume`: with a task lock held, pause stops and disables every timer
  of the instance (tasks and backup) and fails at its deadline naming the lock; with a task
  service running, it waits until it ends; a second pause changes nothing and keeps the
  record; resume gives back exactly what was on (a timer disabled by hand stays so); a second
  resume changes nothing.
- dspace_tasks deploy (its units in one dspace.deploy.systemd_unit_set call): during a pause
  it gives the task timers back, files untouched, the backup timer left to resume; a second
  deploy changes nothing; a changed schedule re-arms that timer only, a disabled task's units
  go, and both come back.
- dspace_backup `snapshot`: a complete snapshot tagged pre-upgrade whose id the fact names,
  kept by the retention when the nightly backup of the same day runs; with DSpace's Solr
  export failing (it exits 0), the action fails and names the incomplete snapshot.
- dspace_ui `upgrade` / `rollback`: 9.2 to the 9.3 UI archive, the 9.2 release kept beside;
  the process runs from the target and the home page renders; reruns change nothing; rollback
  runs the kept release again; a version never kept is refused with nothing changed.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.runner import Job, RunResult, run
from tests.integration.helpers import cli, with_instances

pytestmark = [pytest.mark.lab, pytest.mark.lookalike]

PLAYBOOK = Path(__file__).parent / "playbooks" / "actions.yml"
NAME = "repo"
LOCKS = f"/srv/dspace/{NAME}/var/tasks"


@dataclass
class Outcome:
    result: RunResult
    changed: list[str]
    facts: dict[str, Any]
    attempts: dict[str, int]  # task name -> attempts of an `until` loop
    seconds: float
    results: dict[str, dict[str, Any]]  # task name -> its (last) result

    @property
    def failure(self) -> str:
        return " ".join(f.message for f in self.result.summary.failures)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The 9.2 bundle the instance is converged from, and the 9.3 bundle whose UI it moves to."""
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    old = build_release("9", root / "installed" / "9-dspace", version="9.2", ui_version="9.2")
    new = build_release("9", root / "target" / "9-dspace")
    assert (old.ui_version, new.ui_version) == ("9.2", "9.3")
    return {"installed": root / "installed", "old": old, "new": new}


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    lab = lab_factory("upsvc", hosts=1, oses=("debian13",), connection="ssh",
                      preload=True)
    host = lab.hosts[0].name
    return with_instances(lab, {host: [{
        "name": NAME, "hostname": f"{NAME}.{host}.lab.test", "line": "9",
        "version": "9.2", "admin_email": f"admin@{host}.lab.test"}]})


@pytest.fixture(scope="module")
def converged(lab: Any, artifacts: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--artifacts",
                                 str(artifacts["installed"]))
    print(f"upsvc up: {time.monotonic() - started:.0f} s")
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
    return document


@pytest.fixture(scope="module")
def site(lab: Any, converged: dict[str, Any]) -> Any:
    from dspace_deploy.inventory.validate import load_site

    return load_site(lab.inventory, lab.vault_password_file)


@pytest.fixture(scope="module")
def plan(lab: Any, site: Any) -> dict[str, Any]:
    from dspace_deploy.plans import plan_module

    instances = site.hostvars[lab.hosts[0].name]["dspace_instances"]
    plans: list[dict[str, Any]] = plan_module().instance_plan(instances, "dspace", "13")
    return plans[0]


def _action(site: Any, plan: dict[str, Any], role: str, name: str,
            **params: Any) -> Outcome:
    changed: list[str] = []
    facts: dict[str, Any] = {}
    attempts: dict[str, int] = {}
    results: dict[str, dict[str, Any]] = {}

    def observe(event: dict[str, Any]) -> None:
        data = event.get("event_data") or {}
        res = data.get("res") or {}
        if event.get("event") in ("runner_on_ok", "runner_on_failed"):
            results[str(data.get("task", ""))] = res
        if res.get("attempts"):
            attempts[str(data.get("task", ""))] = int(res["attempts"])
        if event.get("event") == "runner_on_ok":
            facts.update(res.get("ansible_facts") or {})
            if res.get("changed") and "results" not in res:
                changed.append(str(data.get("task", "")))
        if event.get("event") == "runner_item_on_ok" and res.get("changed"):
            changed.append(f"{data.get('task', '')} [{res.get('_ansible_item_label', '')}]")

    job = Job(verb="actions-test", playbook=str(PLAYBOOK), site=site,
              extravars={"action_role": role, "action_name": name, "action_plan": plan,
                         **params})
    started = time.monotonic()
    result = run(job, observe)
    outcome = Outcome(result, changed, facts, attempts, time.monotonic() - started, results)
    print(f"{role} {name}: {outcome.seconds:.1f} s, {result.summary.changed} changed")
    return outcome


def _sh(lab: Any, script: str, check: bool = True,
        privileged: bool = False) -> subprocess.CompletedProcess[str]:
    """Run as root on the host; privileged: with every capability (reading another user's
    /proc/<pid>/cwd needs CAP_SYS_PTRACE), as an administrator on a real machine."""
    done = subprocess.run(["podman", "exec", *(["--privileged"] if privileged else []),
                           lab.hosts[0].container, "sh", "-c", script],
                          capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, f"{script}: {done.stdout}{done.stderr}"
    return done


def _timers(lab: Any) -> dict[str, tuple[str, str]]:
    """Every timer of the instance: (is-enabled, is-active)."""
    out = _sh(lab, f"for u in $(systemctl list-unit-files --no-legend --type=timer "
                   f"'dspace-{NAME}-*.timer' | cut -d' ' -f1); do "
                   "echo $u $(systemctl is-enabled $u) $(systemctl is-active $u); done",
              check=False).stdout
    return {u: (e, a) for u, e, a in (line.split() for line in out.splitlines())}


# --- dspace_tasks pause / resume ---------------------------------------------------------------


@pytest.fixture
def running_task(lab: Any) -> Iterator[str]:
    """The checker's service made slow (a drop-in outside the role), as a long task run is."""
    unit = f"dspace-{NAME}-checker.service"
    _sh(lab, f"mkdir -p /run/systemd/system/{unit}.d && printf '[Service]\\n"
             f"ExecStartPre=/bin/sleep 90\\n' > /run/systemd/system/{unit}.d/slow.conf && "
             "systemctl daemon-reload")
    yield unit
    _sh(lab, f"systemctl stop {unit}; rm -rf /run/systemd/system/{unit}.d; "
             "systemctl daemon-reload", check=False)


def test_pause_stops_every_timer_waits_for_tasks_and_resume_gives_back_what_was_on(
        site: Any, plan: dict[str, Any], lab: Any, running_task: str) -> None:
    before = _timers(lab)
    assert f"dspace-{NAME}-backup.timer" in before and f"dspace-{NAME}-checker.timer" in before
    assert set(before.values()) == {("enabled", "active")}, before
    # Off by the site's own choice: resume must leave it off.
    _sh(lab, f"systemctl disable --now dspace-{NAME}-cleanup.timer")
    wanted = {**before, f"dspace-{NAME}-cleanup.timer": ("disabled", "inactive")}
    holder = "upsvc-lock-holder"
    lock = f"{LOCKS}/filter-media.lock"  # the task's own file (it must stay dspace's)
    _sh(lab, f"[ -e {lock} ] || install -o dspace -g dspace -m 0640 /dev/null {lock}; "
             f"systemd-run --unit {holder} flock {lock} sleep 900")
    try:
        short = _action(site, plan, "dspace_tasks", "pause", dspace_tasks_pause_timeout=5)
        assert not short.result.summary.ok
        assert f"{LOCKS}/filter-media.lock (held)" in short.failure, short.failure
        assert "stay stopped and disabled" in short.failure
        stopped = _timers(lab)
        assert set(stopped.values()) == {("disabled", "inactive")}, stopped
    finally:
        _sh(lab, f"systemctl stop {holder}", check=False)
    record = _sh(lab, f"cat /var/lib/dspace-deploy/dspace_tasks/{NAME}/paused.json").stdout

    _sh(lab, f"systemctl start --no-block {running_task}")
    time.sleep(2)
    assert _sh(lab, f"systemctl is-active {running_task}", check=False).stdout.strip() == \
        "activating"
    waited = _action(site, plan, "dspace_tasks", "pause")
    assert waited.result.summary.ok, waited.failure
    (wait,) = [n for n in waited.attempts if n.startswith("Wait until none of the tasks runs")]
    assert waited.attempts[wait] > 1, "the task had ended before pause looked: no wait seen"
    assert _sh(lab, f"systemctl is-active {running_task}", check=False).stdout.strip() in (
        "inactive", "failed"), "pause returned while the task still ran"
    assert _sh(lab, f"cat /var/lib/dspace-deploy/dspace_tasks/{NAME}/paused.json").stdout == \
        record, "a second pause rewrote the record of the first"
    again = _action(site, plan, "dspace_tasks", "pause")
    assert again.result.summary.ok and again.result.summary.changed == 0, again.changed

    resumed = _action(site, plan, "dspace_tasks", "resume")
    assert resumed.result.summary.ok, resumed.failure
    assert resumed.changed
    assert _timers(lab) == wanted
    assert _sh(lab, f"test -e /var/lib/dspace-deploy/dspace_tasks/{NAME}/paused.json",
               check=False).returncode != 0
    again = _action(site, plan, "dspace_tasks", "resume")
    assert again.result.summary.ok and again.result.summary.changed == 0, again.changed
    _sh(lab, f"systemctl enable --now dspace-{NAME}-cleanup.timer")


# The one task of tasks/deploy.yml that converges the units (dspace.deploy.systemd_unit_set).
UNITS_TASK = "Install, enable and start the units of each task; remove those no longer wanted"


def _deploy(site: Any, plan: dict[str, Any], **params: Any) -> dict[str, Any]:
    """The role's deploy steps run in full (no stamp skips them); the units task's result."""
    done = _action(site, plan, "dspace_tasks", "main", dspace_converge_full=True, **params)
    assert done.result.summary.ok, done.failure
    result = done.results[UNITS_TASK]
    result["_changed_tasks"] = done.changed
    return result


def test_deploy_converges_the_units_in_one_call_also_during_a_pause(
        site: Any, plan: dict[str, Any], lab: Any) -> None:
    """The role's units in one module call on a real systemd: a deploy while the tasks are
    paused gives their timers back (enabled and started, files untouched), as the per-task
    loops did (`up` itself leaves an instance with an upgrade in progress alone); the
    backup's timer, another role's, stays paused until resume. A second deploy changes
    nothing. A changed schedule rewrites and re-arms that timer only; a disabled task's
    timer is stopped and its units removed; both come back with the defaults."""
    before = _timers(lab)
    backup = f"dspace-{NAME}-backup.timer"
    task_timers = sorted(u for u in before if u != backup)
    assert len(task_timers) == 11 and set(before.values()) == {("enabled", "active")}, before
    assert _action(site, plan, "dspace_tasks", "pause").result.summary.ok

    given_back = _deploy(site, plan)
    assert given_back["changed"] is True
    assert sorted(given_back["started"]) == sorted(given_back["enabled"]) == task_timers
    assert given_back["written"] == given_back["removed"] == given_back["rearmed"] == []
    assert given_back["reloaded"] is False
    assert _timers(lab) == {**before, backup: ("disabled", "inactive")}
    again = _deploy(site, plan)
    assert again["changed"] is False and again["_changed_tasks"] == [], again
    assert _action(site, plan, "dspace_tasks", "resume").result.summary.ok
    assert _timers(lab) == before

    checker, media = f"dspace-{NAME}-checker.timer", f"dspace-{NAME}-filter-media"
    changed = _deploy(site, plan, dspace_tasks_schedule_overrides={
        "checker": "Sat *-*-* 23:00:00", "filter-media": ""})
    assert changed["written"] == changed["rearmed"] == [checker]
    assert changed["removed"] == [f"{media}.service", f"{media}.timer"]
    assert changed["stopped"] == [f"{media}.timer"] and changed["reloaded"] is True
    assert changed["started"] == changed["enabled"] == []
    assert _sh(lab, f"systemctl show -p NextElapseUSecRealtime --value {checker}"
               ).stdout.startswith("Sat "), "the checker timer was not re-armed"
    assert _sh(lab, f"ls /etc/systemd/system/{media}.*", check=False).returncode != 0
    assert _timers(lab) == {u: s for u, s in before.items() if u != f"{media}.timer"}

    back = _deploy(site, plan)
    assert back["written"] == sorted([checker, f"{media}.service", f"{media}.timer"])
    assert back["rearmed"] == [checker] and back["started"] == [f"{media}.timer"]
    assert back["removed"] == [] and back["reloaded"] is True
    assert _timers(lab) == before
    assert _sh(lab, f"systemctl show -p NextElapseUSecRealtime --value {checker}"
               ).stdout.startswith("Sun ")


# --- dspace_backup snapshot --------------------------------------------------------------------


def _snapshots(lab: Any) -> list[dict[str, Any]]:
    done = _sh(lab, f"dspace-backup list {NAME} --json")
    snapshots: list[dict[str, Any]] = json.loads(done.stdout)["snapshots"]
    return snapshots


def test_snapshot_is_complete_tagged_named_and_survives_retention(
        site: Any, plan: dict[str, Any], lab: Any) -> None:
    taken = _action(site, plan, "dspace_backup", "snapshot",
                    dspace_backup_snapshot_instance=NAME)
    assert taken.result.summary.ok, taken.failure
    assert taken.result.summary.changed == 1, taken.changed
    named = taken.facts["dspace_backup_snapshot"]
    assert named["target"] == "local" and named["id"], named
    (snap,) = [s for s in _snapshots(lab) if named["id"] in (s["id"], s["short_id"])]
    assert snap["complete"] and snap["kept"], snap
    assert {"pre-upgrade", "dspace-deploy-keep", "dspace-deploy"} <= set(snap["tags"])
    # The nightly backup of the same day: restic's keep-daily would keep only the newest.
    _sh(lab, f"dspace-backup run {NAME}")
    ids = {s["id"] for s in _snapshots(lab)}
    assert snap["id"] in ids, "the retention removed the pre-upgrade snapshot"


STATISTICS = (
    "curl -sf -H 'Content-Type: application/json' "
    "'http://127.0.0.1:8983/solr/repo-statistics/update?commit=true' -d '["
    + ",".join(f'{{"id":"st-{i}","type":2,"time":"2026-0{1 + i % 8}-15T10:00:00Z",'
               f'"ip":"10.0.0.{i}"}}' for i in range(12))
    + "]'")


def test_snapshot_fails_when_the_backup_is_incomplete(
        site: Any, plan: dict[str, Any], lab: Any) -> None:
    """DSpace's statistics export exits 0 having written nothing when Solr refuses it: the
    snapshot is incomplete and the action fails, naming it, so an upgrade stops here."""
    _sh(lab, STATISTICS)
    _sh(lab, "nft add table inet solrfault && nft 'add chain inet solrfault out "
             "{ type filter hook output priority 0; }' && nft add rule inet solrfault out "
             "meta skuid dspace tcp dport 8983 reject with tcp reset")
    try:
        taken = _action(site, plan, "dspace_backup", "snapshot",
                        dspace_backup_snapshot_instance=NAME)
    finally:
        _sh(lab, "nft delete table inet solrfault", check=False)
    assert not taken.result.summary.ok
    assert "is not usable" in taken.failure and "is incomplete" in taken.failure, taken.failure
    assert "dspace_backup_snapshot" not in taken.facts
    incomplete = [s for s in _snapshots(lab) if not s["complete"]]
    assert incomplete and "pre-upgrade" in incomplete[-1]["tags"]
    assert incomplete[-1]["short_id"] in taken.failure or incomplete[-1]["id"] in taken.failure


# --- dspace_ui upgrade / rollback --------------------------------------------------------------


def _ui_state(lab: Any, plan: dict[str, Any]) -> dict[str, str]:
    """Where current points, what the UI process runs, the release kept for 9.2, the current
    release's package.json version, and the status of GET / for the public Host."""
    ui = plan["ui_dir"]
    script = (
        f"pid=$(systemctl show -P MainPID dspace-{NAME}-ui)\n"
        f"readlink -e {ui}/current || echo missing\n"
        "readlink -e /proc/$pid/cwd || echo missing\n"
        f"readlink -e {ui}/releases/9.2 || echo missing\n"
        "python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"version\"])' "
        f"{ui}/current/package.json || echo missing\n"
        f"curl -s -o /dev/null -w '%{{http_code}}\\n' -H 'Host: {plan['hostname']}' "
        f"http://127.0.0.1:{plan['ports']['ui']}/ || echo missing\n")
    out = _sh(lab, script, check=False, privileged=True).stdout.split()
    assert len(out) == 5, out
    return dict(zip(("current", "running", "kept", "version", "status"), out, strict=True))


def test_ui_upgrade_keeps_the_old_release_and_rollback_runs_it_again(
        site: Any, plan: dict[str, Any], lab: Any, artifacts: dict[str, Any]) -> None:
    before = _ui_state(lab, plan)
    assert before["version"] == "9.2" and before["status"] == "200", before
    target = {**plan, "version": "9.3"}
    archive = str(artifacts["new"].ui)

    up = _action(site, target, "dspace_ui", "upgrade", dspace_ui_archive=archive,
                 dspace_ui_from="9.2")
    assert up.result.summary.ok, up.failure
    after = _ui_state(lab, plan)
    assert after["version"] == "9.3" and after["status"] == "200", after
    assert after["current"] != before["current"] and after["running"] == after["current"]
    assert after["kept"] == before["current"], after
    again = _action(site, target, "dspace_ui", "upgrade", dspace_ui_archive=archive,
                    dspace_ui_from="9.2")
    assert again.result.summary.ok and again.result.summary.changed == 0, again.changed
    assert _ui_state(lab, plan) == after

    back = _action(site, plan, "dspace_ui", "rollback", dspace_ui_from="9.2")
    assert back.result.summary.ok, back.failure
    rolled = _ui_state(lab, plan)
    assert rolled["version"] == "9.2" and rolled["status"] == "200", rolled
    assert rolled["current"] == before["current"] == rolled["running"]
    again = _action(site, plan, "dspace_ui", "rollback", dspace_ui_from="9.2")
    assert again.result.summary.ok and again.result.summary.changed == 0, again.changed

    never = _action(site, plan, "dspace_ui", "rollback", dspace_ui_from="8.4")
    assert not never.result.summary.ok and never.result.summary.changed == 0
    assert "holds no UI" in never.failure and "Nothing was changed" in never.failure
    assert _ui_state(lab, plan) == rolled
