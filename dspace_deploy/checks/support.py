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
