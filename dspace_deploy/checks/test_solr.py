"""Checks of the `solr` role: a local Solr server with the host's cores loaded.

Hosts without `solr_cores` (role defaults applied) are skipped: Solr is installed on a host
only to serve the cores of its DSpace instances.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from dspace_deploy.checks.support import as_root, listening_addresses, service_state

INCLUDE_FILE = "/etc/default/solr.in.sh"
SOLR_USER = "solr"
INSTALL_PARENT = "/opt"
_ANY_ADDRESS = {"0.0.0.0", "*", "::", "[::]"}


@pytest.fixture(scope="module")
def solr(hostvars: dict[str, Any]) -> dict[str, Any]:
    """The host's Solr variables; skips the module on hosts that run no Solr cores."""
    cores = hostvars.get("solr_cores") or []
    if not cores:
        pytest.skip("solr_cores is empty on this host: the solr role installs no server here")
    return {
        "cores": [c["name"] for c in cores],
        "host": str(hostvars["solr_host"]),
        "port": int(hostvars["solr_port"]),
        "home": str(hostvars["solr_home"]),
        "version": str(hostvars["solr_version"]),
    }


def _url(solr: dict[str, Any], path: str) -> str:
    address = solr["host"]
    if address in _ANY_ADDRESS:
        address = "127.0.0.1"
    if ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{solr['port']}/solr/{path}"


def _get_json(host: Any, url: str) -> dict[str, Any]:
    result = host.run("curl -sS --max-time 20 %s", url)
    assert result.rc == 0, f"GET {url} failed: {result.stderr.strip()}"
    try:
        data: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"GET {url} did not answer JSON: {result.stdout[:300]!r}")
    return data


def test_service_enabled_and_running(host: Any, solr: dict[str, Any]) -> None:
    enabled, running = service_state(host, "solr.service")
    assert enabled, "solr.service is not enabled"
    assert running, "solr.service is not running"


def test_listens_on_solr_host_only(host: Any, solr: dict[str, Any]) -> None:
    addresses = listening_addresses(host.check_output("ss -Hltn"), solr["port"])
    assert addresses, f"nothing listens on TCP port {solr['port']}"
    wanted = {solr["host"], f"[{solr['host']}]", f"[::ffff:{solr['host']}]"}
    others = sorted(set(addresses) - wanted)
    assert not others, (
        f"TCP port {solr['port']} listens on {others}, not only on {solr['host']}"
    )


def test_include_file_binds_loopback(host: Any, solr: dict[str, Any]) -> None:
    result = as_root(host, "cat %s", INCLUDE_FILE)
    assert result.rc == 0, f"{INCLUDE_FILE} unreadable: {result.stderr.strip()}"
    values = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[key.strip()] = value.strip().strip('"')
    jetty_host = values.get("SOLR_JETTY_HOST")
    assert jetty_host, f"{INCLUDE_FILE} does not set SOLR_JETTY_HOST (Solr 8 binds all interfaces)"
    assert jetty_host not in _ANY_ADDRESS, f"SOLR_JETTY_HOST is {jetty_host}: all interfaces"
    assert jetty_host == solr["host"], f"SOLR_JETTY_HOST is {jetty_host}, not {solr['host']}"
    assert values.get("SOLR_HOME") == solr["home"]
    assert values.get("SOLR_PORT") == str(solr["port"])


def test_cores_loaded(host: Any, solr: dict[str, Any]) -> None:
    status = _get_json(host, _url(solr, "admin/cores?action=STATUS&indexInfo=false&wt=json"))
    failures = status.get("initFailures") or {}
    loaded = {name for name, info in (status.get("status") or {}).items() if info.get("name")}
    problems = [f"{c}: {failures[c]}" for c in solr["cores"] if c in failures]
    problems += [f"{c}: not loaded" for c in solr["cores"] if c not in loaded and c not in failures]
    assert not problems, "cores not loaded: " + "; ".join(problems)


def test_cores_answer_ping(host: Any, solr: dict[str, Any]) -> None:
    bad = []
    for core in solr["cores"]:
        answer = _get_json(host, _url(solr, f"{core}/admin/ping?wt=json"))
        if answer.get("status") != "OK":
            bad.append(f"{core}: {json.dumps(answer)[:200]}")
    assert not bad, "cores failing ping: " + "; ".join(bad)


def test_release_in_place(host: Any, solr: dict[str, Any]) -> None:
    release = host.file(f"{INSTALL_PARENT}/solr-{solr['version']}")
    assert release.is_directory, f"{release.path} missing"
    assert release.user == "root", f"{release.path} is owned by {release.user}, not root"
    link = host.file(f"{INSTALL_PARENT}/solr")
    assert link.is_symlink and link.linked_to == release.path, (
        f"{link.path} does not point at {release.path}"
    )


def test_home_owned_by_solr(host: Any, solr: dict[str, Any]) -> None:
    paths = [solr["home"], *(f"{solr['home']}/{core}" for core in solr["cores"])]
    result = as_root(
        host, "find " + " ".join(shlex.quote(p) for p in paths) + " ! -user %s -print", SOLR_USER
    )
    assert result.rc == 0, f"cannot list {solr['home']}: {result.stderr.strip()}"
    foreign = result.stdout.split()
    assert not foreign, f"not owned by {SOLR_USER}: {foreign[:10]}"
