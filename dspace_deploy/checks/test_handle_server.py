"""Checks of the `handle_server` role: each instance's handle server runs on its own ports,
answers over HTTP, and keeps its keys private.

Hosts without `dspace_instances` are skipped. Instance plans come from the playbook's own
plan filter (`dspace_deploy.plans`), so the ports and names are the ones the roles used.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from dspace_deploy.checks.support import as_root, service_state


def _handle_dir(plan: dict[str, Any]) -> str:
    return str(plan["handle_dir"])


def _http_address(host: Any, plan: dict[str, Any]) -> str:
    """Where the HTTP interface listens: the bind address of config.dct's hdl_http_config.
    Handle.Net's setup writes the address clients connect to there (ConfigCommon.configuration),
    not 0.0.0.0, so the server does not answer on the loopback address."""
    config = as_root(host, "cat " + shlex.quote(f"{_handle_dir(plan)}/config.dct")).stdout
    found = re.search(r'"hdl_http_config"\s*=\s*\{[^}]*?"bind_address"\s*=\s*"([^"]*)"', config)
    address = found.group(1) if found else ""
    return "127.0.0.1" if address in ("", "0.0.0.0", "::") else address


def _http_url(host: Any, plan: dict[str, Any], path: str) -> str:
    address = _http_address(host, plan)
    shown = f"[{address}]" if ":" in address else address
    return f"http://{shown}:{plan['ports']['handle_http']}{path}"


def _listening_ports(output: str) -> set[int]:
    """Local ports of `ss -Hl...` lines."""
    ports = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[3].rpartition(":")[2].isdigit():
            ports.add(int(fields[3].rpartition(":")[2]))
    return ports


def test_units_enabled_and_running(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        unit = f"dspace-{plan['name']}-handle.service"
        enabled, running = service_state(host, unit)
        if not enabled:
            problems.append(f"{unit} is not enabled")
        if not running:
            problems.append(f"{unit} is not running")
    assert not problems, "; ".join(problems)


def test_ports_listening(host: Any, plans: list[dict[str, Any]]) -> None:
    tcp = _listening_ports(as_root(host, "ss -Hltn").stdout)
    udp = _listening_ports(as_root(host, "ss -Hlun").stdout)
    missing = []
    for plan in plans:
        ports = plan["ports"]
        if ports["handle"] not in tcp:
            missing.append(f"{plan['name']}: TCP {ports['handle']}")
        if ports["handle"] not in udp:
            missing.append(f"{plan['name']}: UDP {ports['handle']}")
        if ports["handle_http"] not in tcp:
            missing.append(f"{plan['name']}: TCP {ports['handle_http']} (HTTP)")
    assert not missing, "handle ports not listening: " + "; ".join(missing)


def test_http_interface_answers(host: Any, plans: list[dict[str, Any]]) -> None:
    bad = []
    for plan in plans:
        url = _http_url(host, plan, f"/api/handles/{plan['handle_prefix']}/0")
        result = host.run("curl -sS --max-time 20 %s", url)
        if result.rc != 0:
            bad.append(f"{url}: {result.stderr.strip()}")
            continue
        try:
            answer = json.loads(result.stdout)
        except json.JSONDecodeError:
            bad.append(f"{url}: not JSON: {result.stdout[:200]!r}")
            continue
        if "responseCode" not in answer:
            bad.append(f"{url}: no responseCode in {result.stdout[:200]!r}")
    assert not bad, "handle HTTP interface not answering: " + "; ".join(bad)


def test_site_advertises_the_instance_ports(host: Any, plans: list[dict[str, Any]]) -> None:
    """What the server advertises (its site record, GET /api/site of the Handle.Net HTTP
    interface) names the instance's own ports, not the setup's defaults."""
    bad = []
    for plan in plans:
        ports = plan["ports"]
        url = _http_url(host, plan, "/api/site")
        result = host.run("curl -sS --max-time 20 %s", url)
        try:
            interfaces = json.loads(result.stdout)["site"]["servers"][0]["interfaces"]
            advertised = sorted((i["protocol"], int(i["port"])) for i in interfaces)
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
            bad.append(f"{url}: no site record in {(result.stdout + result.stderr)[:200]!r}")
            continue
        wanted = sorted([("HTTP", ports["handle_http"]), ("TCP", ports["handle"]),
                         ("UDP", ports["handle"])])
        if advertised != wanted:
            bad.append(f"{plan['name']} advertises {advertised}, not {wanted}")
    assert not bad, "; ".join(bad)


def test_keys_private(host: Any, plans: list[dict[str, Any]]) -> None:
    problems = []
    for plan in plans:
        directory = _handle_dir(plan)
        listing = as_root(
            host,
            "stat -c '%U %a %n' " + shlex.quote(directory) + " "
            + shlex.quote(directory) + "/*.bin",
        )
        if listing.rc != 0:
            problems.append(f"{directory}: {listing.stderr.strip()}")
            continue
        lines = [line.split(" ", 2) for line in listing.stdout.splitlines()]
        keys = [entry for entry in lines if entry[2].endswith(".bin")]
        if not any(entry[2].endswith("privkey.bin") for entry in keys):
            problems.append(f"{directory}/privkey.bin missing")
        for owner, mode, path in lines:
            wanted = "700" if path == directory else "600"
            if owner != plan["user"] or mode != wanted:
                problems.append(f"{path}: owner {owner} mode {mode}, not {plan['user']} {wanted}")
    assert not problems, "; ".join(problems)
