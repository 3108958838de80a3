"""Checks of the `lareferencia_stats` role (LA Referencia's usage-statistics collector): for
each instance that sends statistics, the timer is enabled and waiting, the last run (if any)
succeeded, the properties file holding the token is the DSpace user's alone (0600), and the
collector listens on nothing (it only sends).

Hosts where the site switch is off, or with no instance listed in
lareferencia_stats_instances, are skipped.
"""

from __future__ import annotations

from typing import Any

import pytest

from dspace_deploy.checks.support import as_root
from dspace_deploy.plans import plan_module

CONFIG_ROOT = "/etc/dspace-deploy/lareferencia-stats"


@pytest.fixture(scope="module")
def senders(hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    """The plans of the host's instances that send statistics; skips when there are none."""
    if hostvars.get("lareferencia_stats_enabled") is not True:
        pytest.skip("lareferencia_stats_enabled is off: no statistics collector here")
    listed = hostvars.get("lareferencia_stats_instances") or {}
    user = str(hostvars.get("common_service_user") or "dspace")
    plans = plan_module().instance_plan(hostvars.get("dspace_instances") or [], user)
    found = [plan for plan in plans if plan["name"] in listed]
    if not found:
        pytest.skip("no instance of this host is in lareferencia_stats_instances")
    return found


def _unit(plan: dict[str, Any], kind: str) -> str:
    return f"dspace-{plan['name']}-lareferencia-stats.{kind}"


def _properties(host: Any, unit: str, *names: str) -> dict[str, str]:
    done = as_root(host, "systemctl show %s --property=" + ",".join(names), unit)
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def test_timer_enabled_and_waiting(host: Any, senders: list[dict[str, Any]]) -> None:
    problems = []
    for plan in senders:
        unit = _unit(plan, "timer")
        props = _properties(host, unit, "LoadState", "UnitFileState", "ActiveState", "SubState")
        if props.get("LoadState") != "loaded":
            problems.append(f"{unit} is {props.get('LoadState', 'unknown')}")
        elif props.get("UnitFileState") != "enabled":
            problems.append(f"{unit} is {props.get('UnitFileState')}, not enabled")
        elif (props.get("ActiveState"), props.get("SubState")) not in {
                ("active", "waiting"), ("active", "running")}:
            problems.append(f"{unit} is {props.get('ActiveState')}/{props.get('SubState')}")
    assert not problems, "; ".join(problems)


def test_last_run_succeeded(host: Any, senders: list[dict[str, Any]]) -> None:
    """The unit's result is judged by the collector's log (lareferencia-stats-check): a run
    that could not reach Solr, the database or Matomo fails it although the collector exits 0.
    An instance whose timer has not fired yet has nothing to judge."""
    problems = []
    for plan in senders:
        unit = _unit(plan, "service")
        props = _properties(host, unit, "Result", "ExecMainStartTimestampMonotonic",
                            "ActiveState")
        ran = props.get("ExecMainStartTimestampMonotonic", "0") not in {"", "0"}
        if ran and (props.get("Result") != "success" or props.get("ActiveState") == "failed"):
            problems.append(f"{unit}'s last run failed ({props.get('Result')}): "
                            f"journalctl -u {unit}")
    assert not problems, "; ".join(problems)


def test_properties_readable_by_the_dspace_user_only(host: Any,
                                                      senders: list[dict[str, Any]]) -> None:
    problems = []
    for plan in senders:
        path = f"{CONFIG_ROOT}/{plan['name']}/{plan['name']}.properties"
        done = as_root(host, "stat -c '%%a %%U' %s", path)
        if done.rc != 0:
            problems.append(f"{path} is missing")
        elif done.stdout.split() != ["600", plan["user"]]:
            problems.append(f"{path} is {done.stdout.strip()}, not 600 {plan['user']}")
    assert not problems, "; ".join(problems)


def test_collector_listens_nowhere(host: Any, senders: list[dict[str, Any]]) -> None:
    """The collector only sends: no socket of its processes listens (during a run too)."""
    done = as_root(host, "ss -Hltunp")
    listeners = [line for line in done.stdout.splitlines() if "dspace-stats-co" in line]
    assert not listeners, "the statistics collector listens: " + "; ".join(listeners)
