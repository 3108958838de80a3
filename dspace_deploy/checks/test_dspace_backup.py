"""Checks of the `dspace_backup` role: each instance has its backup program, its root-only
configuration and secrets, an enabled timer (unless the site disabled the schedule), no failed
backup unit and no failed last run (an incomplete backup, a Solr part of which failed, is a
failed run; its message names the core and the documents expected and exported), and a last
successful backup younger than the policy allows (`dspace_backup_max_age_hours`; an incomplete
backup never counts as successful).

An instance that has never been backed up passes only while its schedule is younger than that
age (the first backup is not due yet); after that, no backup is a failure.
Hosts without DSpace instances are skipped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dspace_deploy.checks.support import as_root

PROGRAM = "/usr/local/sbin/dspace-backup"
CONFIG_DIR = "/etc/dspace-deploy/backup"
STATE_DIR = "/var/lib/dspace-deploy/dspace_backup"


def _read_json(host: Any, path: str) -> dict[str, Any] | None:
    result = as_root(host, "cat %s", path)
    if result.rc != 0:
        return None
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _age_hours(stamp: str, now: datetime) -> float | None:
    try:
        when = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (now - when).total_seconds() / 3600


def _host_now(host: Any) -> datetime:
    """The host's clock (the state files carry its times)."""
    seconds = as_root(host, "date +%s").stdout.strip()
    return datetime.fromtimestamp(int(seconds), UTC)


def test_program_and_root_only_configuration(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    program = host.file(PROGRAM)
    if not program.exists or program.user != "root" or not program.mode & 0o100:
        problems.append(f"{PROGRAM} is missing, not root's or not executable")
    # The instances' configurations and the targets' secret files (a known_hosts file of
    # SFTP targets may be readable).
    listing = as_root(host, "find %s \\( -name '*.json' -o -path '*/targets/*' \\) "
                      "-type f -printf '%%m %%u %%p\\n'", CONFIG_DIR)
    files = dict((line.split(" ", 2)[2], line.split(" ", 2)[:2])
                 for line in listing.stdout.splitlines() if line.count(" ") >= 2)
    for plan in plans:
        config = f"{CONFIG_DIR}/{plan['name']}.json"
        if config not in files:
            problems.append(f"{config} is missing")
    for path, (mode, owner) in sorted(files.items()):
        if owner != "root" or int(mode, 8) & 0o077:
            problems.append(f"{path} is {mode} {owner}, not 0600 root (it holds secrets or "
                            "the paths to them)")
    assert not problems, "; ".join(problems)


def test_timers_enabled(host: Any, hostvars: dict[str, Any],
                        plans: list[dict[str, Any]]) -> None:
    if not hostvars.get("dspace_backup_schedule", "*-*-* 02:30:00"):
        return  # the site runs its backups by other means; nothing to check here
    problems = []
    for plan in plans:
        timer = host.service(f"dspace-{plan['name']}-backup.timer")
        if not timer.is_enabled or not timer.is_running:
            problems.append(f"dspace-{plan['name']}-backup.timer is not enabled and active")
    assert not problems, "; ".join(problems)


def test_no_failed_backup(host: Any, plans: list[dict[str, Any]]) -> None:
    failed = []
    for plan in plans:
        unit = f"dspace-{plan['name']}-backup.service"
        state = as_root(host, "systemctl is-failed %s", unit).stdout.strip()
        if state == "failed":
            failed.append(f"{unit} failed (journalctl -u {unit})")
        last = _read_json(host, f"{STATE_DIR}/{plan['name']}/last-run.json")
        if last is not None and last.get("ok") is False:
            failed.append(f"the last backup of {plan['name']} failed: "
                          f"{last.get('error', 'see last-run.json')}")
    assert not failed, "; ".join(failed)


def test_last_backup_within_policy(host: Any, hostvars: dict[str, Any],
                                   plans: list[dict[str, Any]]) -> None:
    max_age = float(hostvars.get("dspace_backup_max_age_hours") or 36)
    now = _host_now(host)
    problems = []
    for plan in plans:
        name = plan["name"]
        success = _read_json(host, f"{STATE_DIR}/{name}/last-success.json")
        if success is not None:
            age = _age_hours(str(success.get("time", "")), now)
            if age is None or age > max_age:
                problems.append(f"the last successful backup of {name} is "
                                f"{'of unknown age' if age is None else f'{age:.0f} h old'}"
                                f", more than the {max_age:.0f} h allowed")
            continue
        since = as_root(host, "cat %s", f"{STATE_DIR}/{name}/scheduled-since")
        age = _age_hours(since.stdout, now) if since.rc == 0 else None
        if age is None or age > max_age:
            problems.append(f"{name} has no successful backup, and backups are due since "
                            f"more than {max_age:.0f} h (run `dspace-deploy backup`)")
    assert not problems, "; ".join(problems)
