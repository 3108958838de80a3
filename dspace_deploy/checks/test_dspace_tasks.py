"""Checks of the `dspace_tasks` role: each instance's wanted tasks have a service unit and an
enabled, waiting timer, and no task unit of the instance has failed.

Hosts without `dspace_instances` are skipped. The wanted tasks are the role's schedules with
the host's overrides applied (an empty schedule disables a task).
"""

from __future__ import annotations

from typing import Any

import pytest

from dspace_deploy.plans import plan_module


@pytest.fixture(scope="module")
def tasks(hostvars: dict[str, Any]) -> dict[str, list[str]]:
    """Instance name -> wanted task names; skips hosts without DSpace instances."""
    instances = hostvars.get("dspace_instances") or []
    if not instances:
        pytest.skip("dspace_instances is empty on this host: no scheduled tasks here")
    user = str(hostvars.get("common_service_user") or "dspace")
    plans = plan_module().instance_plan(instances, user)
    schedules = {**(hostvars.get("dspace_tasks_schedules") or {}),
                 **(hostvars.get("dspace_tasks_schedule_overrides") or {})}
    wanted = sorted(name for name, schedule in schedules.items() if schedule)
    return {str(plan["name"]): wanted for plan in plans}


def _systemctl(host: Any, *args: str) -> Any:
    command = "systemctl " + " ".join("%s" for _ in args)
    if host.user().uid == 0:
        return host.run(command, *args)
    with host.sudo():
        return host.run(command, *args)


def _properties(host: Any, unit: str) -> dict[str, str]:
    result = _systemctl(host, "show", unit,
                        "--property=LoadState,ActiveState,SubState,UnitFileState,Result")
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def test_timers_enabled_and_waiting(host: Any, tasks: dict[str, list[str]]) -> None:
    problems = []
    for name, wanted in tasks.items():
        for task in wanted:
            unit = f"dspace-{name}-{task}.timer"
            props = _properties(host, unit)
            if props.get("LoadState") != "loaded":
                problems.append(f"{unit} is {props.get('LoadState', 'unknown')}")
                continue
            if props.get("UnitFileState") != "enabled":
                problems.append(f"{unit} is {props.get('UnitFileState')}, not enabled")
            if (props.get("ActiveState"), props.get("SubState")) not in {
                ("active", "waiting"), ("active", "running"),
            }:
                problems.append(f"{unit} is {props.get('ActiveState')}/{props.get('SubState')}")
    assert not problems, "; ".join(problems)


def test_services_exist(host: Any, tasks: dict[str, list[str]]) -> None:
    missing = []
    for name, wanted in tasks.items():
        for task in wanted:
            unit = f"dspace-{name}-{task}.service"
            if _properties(host, unit).get("LoadState") != "loaded":
                missing.append(unit)
    assert not missing, "task services missing: " + ", ".join(missing)


def test_no_task_failed(host: Any, tasks: dict[str, list[str]]) -> None:
    failed = []
    for name, wanted in tasks.items():
        for task in wanted:
            for kind in ("service", "timer"):
                unit = f"dspace-{name}-{task}.{kind}"
                props = _properties(host, unit)
                if props.get("ActiveState") == "failed" or props.get("Result") not in (
                    None, "success",
                ):
                    failed.append(f"{unit} ({props.get('Result')})")
    assert not failed, (
        "failed task units (see `journalctl -u UNIT`): " + ", ".join(failed)
    )
