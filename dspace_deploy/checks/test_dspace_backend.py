"""Checks of the `dspace_backend` role: each instance's backend runs, answers on the loopback
only, reports the expected DSpace version and a healthy actuator, keeps its database password
in a local.cfg only the service user can read, and has its administrator.

The module is skipped on hosts without instance plans (`dspace_plans`, which `verify` derives
from `dspace_instances`).
"""

from __future__ import annotations

import json
from typing import Any

from dspace_deploy.checks.support import as_root, listening_addresses, service_state

HEALTHY = ("UP", "UP_WITH_ISSUES")
_LOOPBACK = {"127.0.0.1", "[::ffff:127.0.0.1]", "::ffff:127.0.0.1"}



def _unit(plan: dict[str, Any]) -> str:
    return f"dspace-{plan['name']}-backend.service"


def _get_json(host: Any, url: str) -> tuple[dict[str, Any] | None, str]:
    """The JSON answer of GET url on the host, or None and why not."""
    result = host.run("curl -sS --max-time 30 %s", url)
    if result.rc != 0:
        return None, f"GET {url} failed: {result.stderr.strip()}"
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        return None, f"GET {url} did not answer JSON: {result.stdout[:200]!r}"
    if not isinstance(data, dict):
        return None, f"GET {url} answered {result.stdout[:200]!r}"
    return data, ""


def _explicit_version(hostvars: dict[str, Any], name: str) -> str | None:
    """The instance's `version` when dspace_instances sets it, else None."""
    for instance in hostvars.get("dspace_instances") or []:
        if isinstance(instance, dict) and str(instance.get("name")) == name:
            version = instance.get("version")
            return None if version in (None, "") else str(version)
    return None


def test_backend_unit_enabled_and_active(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        enabled, running = service_state(host, _unit(plan))
        if not enabled:
            problems.append(f"{_unit(plan)} is not enabled")
        if not running:
            problems.append(f"{_unit(plan)} is not active")
    assert not problems, "; ".join(problems)


def test_backend_listens_on_loopback_only(host: Any, plans: list[dict[str, Any]]) -> None:
    output = host.check_output("ss -Hltn")
    problems = []
    for plan in plans:
        port = int(plan["ports"]["backend"])
        addresses = listening_addresses(output, port)
        if not addresses:
            problems.append(f"{plan['name']}: nothing listens on TCP port {port}")
        others = sorted(set(addresses) - _LOOPBACK)
        if others:
            problems.append(f"{plan['name']}: TCP port {port} listens on {others}, "
                            "not only on 127.0.0.1")
    assert not problems, "; ".join(problems)


def test_rest_root_reports_the_version(host: Any, hostvars: dict[str, Any],
                                       plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        url = f"http://127.0.0.1:{plan['ports']['backend']}/server/api"
        root, why = _get_json(host, url)
        if root is None:
            problems.append(why)
            continue
        reported = str(root.get("dspaceVersion", ""))
        explicit = _explicit_version(hostvars, plan["name"])
        if explicit is not None:
            if reported != f"DSpace {explicit}":
                problems.append(f"{plan['name']}: dspaceVersion is {reported!r}, the instance "
                                f"sets version {explicit!r}")
        elif not reported.startswith(f"DSpace {plan['line']}."):
            problems.append(f"{plan['name']}: dspaceVersion is {reported!r}, not a release of "
                            f"line {plan['line']}")
    assert not problems, "; ".join(problems)


def test_actuator_health_is_up(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        url = f"http://127.0.0.1:{plan['ports']['backend']}/server/actuator/health"
        health, why = _get_json(host, url)
        if health is None:
            problems.append(why)
        elif health.get("status") not in HEALTHY:
            problems.append(f"{plan['name']}: actuator status is {health.get('status')!r}")
    assert not problems, "; ".join(problems)


def test_local_cfg_readable_by_the_service_user_only(host: Any,
                                                     plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        path = f"{plan['dspace_dir']}/config/local.cfg"
        result = as_root(host, "stat -c '%%U %%a' %s", path)
        if result.rc != 0:
            problems.append(f"{path}: {result.stderr.strip()}")
            continue
        owner, mode = result.stdout.split()
        if owner != plan["user"] or mode != "600":
            problems.append(f"{path} is {owner} {mode}, not {plan['user']} 600 "
                            "(it holds the database password)")
    assert not problems, "; ".join(problems)


def test_administrator_exists(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        email = str(plan.get("admin_email") or "")
        if not email:
            problems.append(f"{plan['name']}: the plan has no admin_email")
            continue
        literal = "'" + email.replace("'", "''") + "'"
        sql = ("SELECT count(*) FROM eperson e "
               "JOIN epersongroup2eperson m ON m.eperson_id = e.uuid "
               "JOIN epersongroup g ON g.uuid = m.eperson_group_id "
               f"WHERE lower(e.email) = lower({literal}) AND g.name = 'Administrator'")
        result = as_root(host, "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c %s",
                          plan["db"]["name"], sql)
        if result.rc != 0:
            problems.append(f"{plan['name']}: psql failed: {result.stderr.strip()}")
        elif result.stdout.strip() == "0":
            problems.append(f"{plan['name']}: no administrator {email} in "
                            f"{plan['db']['name']} (member of the Administrator group)")
    assert not problems, "; ".join(problems)
