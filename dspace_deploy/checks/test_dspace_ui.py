"""Checks of the `dspace_ui` role: each instance's Angular UI runs and is configured for it.

One set of checks per instance plan of the host (`dspace_plans`, as `verify` derives it);
hosts without instances are skipped. The UI must run as `dspace-<name>-ui.service`, listen
on 127.0.0.1 only (the proxy is the public side), answer `GET /` with HTML when asked with
the public Host header (dspace-angular 9+ renders server-side only for that host, contract
11), and the runtime configuration the server wrote (`dist/browser/assets/config.json`)
must name the public UI URL and the instance's REST API under `/server`. The unit's sandbox
must be in force: the UI process runs in a mount namespace of its own in which the system is
read-only, /tmp is private and only its release's dist/browser is writable (a host whose
systemd cannot set up namespaces, such as a container without CAP_SYS_ADMIN, starts the
service without them and without a word).
"""

from __future__ import annotations

import json
from typing import Any

from dspace_deploy.checks.support import as_root, listening_addresses, service_state

_LOOPBACK = {"127.0.0.1", "[::ffff:127.0.0.1]"}


def _unit(plan: dict[str, Any]) -> str:
    return f"dspace-{plan['name']}-ui.service"


def test_units_enabled_and_active(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        enabled, running = service_state(host, _unit(plan))
        if not enabled:
            problems.append(f"{_unit(plan)} is not enabled")
        if not running:
            problems.append(f"{_unit(plan)} is not running")
    assert not problems, "; ".join(problems)


def test_ui_ports_bound_to_loopback_only(host: Any, plans: list[dict[str, Any]]) -> None:
    listening = host.check_output("ss -Hltn")
    problems = []
    for plan in plans:
        port = int(plan["ports"]["ui"])
        addresses = listening_addresses(listening, port)
        if not addresses:
            problems.append(f"nothing listens on TCP port {port} (UI of {plan['name']})")
        elif set(addresses) - _LOOPBACK:
            problems.append(f"TCP port {port} (UI of {plan['name']}) listens on "
                            f"{sorted(set(addresses))}, not only on 127.0.0.1")
    assert not problems, "; ".join(problems)


def test_ui_answers_html_for_the_public_host(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        url = f"http://127.0.0.1:{int(plan['ports']['ui'])}/"
        result = host.run(
            "curl -sS --max-time 30 -H %s -o /dev/null -w %s %s",
            f"Host: {plan['hostname']}", "%{http_code} %{content_type}", url,
        )
        if result.rc != 0:
            problems.append(f"GET {url} (Host: {plan['hostname']}) failed: "
                            f"{result.stderr.strip()}")
            continue
        status, _, content_type = result.stdout.strip().partition(" ")
        if status != "200" or "text/html" not in content_type:
            problems.append(f"GET {url} (Host: {plan['hostname']}) answered HTTP {status} "
                            f"{content_type or '(no content type)'}, not 200 with HTML")
    assert not problems, "; ".join(problems)


def test_runtime_config_names_the_public_urls(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        path = f"{plan['ui_dir']}/current/dist/browser/assets/config.json"
        result = as_root(host, "cat %s", path)
        if result.rc != 0:
            problems.append(f"{path} unreadable: {result.stderr.strip()}")
            continue
        try:
            config = json.loads(result.stdout)
        except json.JSONDecodeError:
            problems.append(f"{path} is not JSON: {result.stdout[:200]!r}")
            continue
        ui = config.get("ui") or {}
        rest = config.get("rest") or {}
        if ui.get("baseUrl") != plan["urls"]["ui"]:
            problems.append(f"{path}: ui.baseUrl is {ui.get('baseUrl')!r}, "
                            f"not {plan['urls']['ui']!r}")
        rest_url = rest.get("baseUrl")
        if rest_url != plan["urls"]["server"]:
            problems.append(f"{path}: rest.baseUrl is {rest_url!r}, not {plan['urls']['server']!r}")
        wanted = {"host": plan["hostname"], "nameSpace": "/server", "ssl": True}
        for key, value in wanted.items():
            if rest.get(key) != value:
                problems.append(f"{path}: rest.{key} is {rest.get(key)!r}, not {value!r}")
    assert not problems, "; ".join(problems)


def sandbox_problems(mountinfo: str, writable: str) -> list[str]:
    """What is wrong with a process's mounts (its /proc/<pid>/mountinfo) for the UI unit's
    sandbox: `/` read-only (ProtectSystem=strict), /tmp private (PrivateTmp) and `writable`
    (the resolved dist/browser of its release, ReadWritePaths) mounted read-write."""
    mounts: dict[str, tuple[str, set[str]]] = {}
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) >= 6:
            mounts[fields[4]] = (fields[3], set(fields[5].split(",")))  # the last mount wins
    problems = []
    if "ro" not in mounts.get("/", ("", set()))[1]:
        problems.append("/ is not read-only (ProtectSystem=strict is not applied)")
    if "systemd-private" not in mounts.get("/tmp", ("", set()))[0]:
        problems.append("/tmp is not private (PrivateTmp is not applied)")
    if "rw" not in mounts.get(writable, ("", set()))[1]:
        problems.append(f"{writable} is not mounted read-write (ReadWritePaths is not applied)")
    return problems


def test_ui_runs_in_its_sandbox(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        unit = _unit(plan)
        pid = as_root(host, "systemctl show --property=MainPID --value %s", unit).stdout.strip()
        if not pid.isdigit() or pid == "0":
            problems.append(f"{unit} has no running process")
            continue
        # The mount tables, not /proc/<pid>/ns/mnt: reading that link of another user's
        # process needs CAP_SYS_PTRACE, which containers do not give root.
        mountinfo = as_root(host, "cat /proc/%s/mountinfo", pid).stdout
        if mountinfo == as_root(host, "cat /proc/1/mountinfo").stdout:
            problems.append(f"{unit} (PID {pid}) has PID 1's mount table: its sandbox is not "
                            "applied (systemd needs CAP_SYS_ADMIN to set it up)")
            continue
        writable = as_root(host, "readlink -f %s",
                           f"{plan['ui_dir']}/current/dist/browser").stdout.strip()
        problems += [f"{unit}: {p}" for p in sandbox_problems(mountinfo, writable)]
    assert not problems, "; ".join(problems)
