"""Helpers shared by the check modules (not a check module itself: no test_ prefix)."""

from __future__ import annotations

from typing import Any


def service_state(host: Any, name: str) -> tuple[bool, bool]:
    """(enabled, running) of a systemd unit, asked as root: without dbus (minimal hosts),
    systemctl answers only root, over systemd's private socket."""
    if host.user().uid == 0:
        service = host.service(name)
        return service.is_enabled, service.is_running
    with host.sudo():
        service = host.service(name)
        return service.is_enabled, service.is_running


def as_root(host: Any, command: str, *args: Any) -> Any:
    """Run a command as root: directly when connected as root, else through sudo."""
    if host.user().uid == 0:
        return host.run(command, *args)
    with host.sudo():
        return host.run(command, *args)


def listening_addresses(ss_output: str, port: int) -> list[str]:
    """Local addresses of `ss -Hltn` lines listening on port (e.g. 127.0.0.1, [::1])."""
    found = []
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, local_port = fields[3].rpartition(":")
        if local_port == str(port):
            found.append(address.split("%")[0])
    return found
