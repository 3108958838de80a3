"""Checks that the private services of a DSpace host cannot be reached from another host.

PostgreSQL (5432), Solr (8983), each backend (8080 + 10k) and each UI (4000 + 10k) listen on
the loopback only and the firewall drops everything but SSH, HTTP(S) and the handle ports.
Listening addresses are checked by each role's own module; this one probes from outside, as
an attacker on the same network would: from a second host of the same `verify` run
(`dspace_verify_peer`), a TCP connection to this host's address must fail for every private
port. SSH must succeed from the same peer, which proves the probe itself works (otherwise a
broken network would make every private port look closed).
"""

from __future__ import annotations

from typing import Any

import pytest
import testinfra

PROBE_SECONDS = 3


def _private_ports(hostvars: dict[str, Any]) -> dict[int, str]:
    ports = {5432: "PostgreSQL", 8983: "Solr"}
    for plan in hostvars.get("dspace_plans") or []:
        ports[int(plan["ports"]["backend"])] = f"backend of {plan['name']}"
        ports[int(plan["ports"]["ui"])] = f"UI of {plan['name']}"
    return ports


@pytest.fixture(scope="module")
def peer(hostvars: dict[str, Any], request: pytest.FixtureRequest) -> Any:
    spec = hostvars.get("dspace_verify_peer")
    if not spec:
        pytest.skip("no second host in this verify run to probe from")
    if not hostvars.get("dspace_plans"):
        pytest.skip("the host runs no DSpace instance")
    inventory = getattr(request.config.option, "ansible_inventory", None)
    return testinfra.get_host(spec, ansible_inventory=inventory)


def _connects(peer: Any, address: str, port: int) -> bool:
    result = peer.run(
        "timeout %s bash -c 'exec 3<>/dev/tcp/%s/%s' 2>/dev/null",
        str(PROBE_SECONDS), address, str(port),
    )
    return result.rc == 0


def test_probe_reaches_ssh_from_peer(peer: Any, hostvars: dict[str, Any]) -> None:
    address = hostvars["dspace_verify_address"]
    port = int(hostvars.get("ansible_port") or hostvars.get("common_ssh_port") or 22)
    assert _connects(peer, address, port), (
        f"the peer host cannot open SSH ({address}:{port}); the network between the hosts "
        "does not work, so the private-port probes below would prove nothing"
    )


def test_private_ports_unreachable_from_peer(peer: Any, hostvars: dict[str, Any]) -> None:
    address = hostvars["dspace_verify_address"]
    open_ports = [f"{port} ({what})" for port, what in sorted(_private_ports(hostvars).items())
                  if _connects(peer, address, port)]
    assert not open_ports, (
        f"reachable from another host at {address}: {', '.join(open_ports)}; these services "
        "must listen on 127.0.0.1 and the firewall must drop them"
    )
