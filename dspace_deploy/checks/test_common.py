"""Checks of the `common` role: what a converged host must look like.

Each check reads the host's effective variables (`hostvars`, role defaults applied) and
compares them with the host's real state, so it fails on a host the role has not converged
or has converged with other values.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from dspace_deploy import resources
from dspace_deploy.checks.support import as_root, service_state

CA_DIR = "/usr/local/share/ca-certificates/dspace-deploy"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
NFT_TABLE = ("inet", "dspace_deploy")
JOURNALD_DROPIN = "/etc/systemd/journald.conf.d/50-dspace-deploy.conf"
CHRONY_SOURCES = "/etc/chrony/sources.d/dspace-deploy.sources"
_PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL)


@cache
def _role_vars() -> dict[str, Any]:
    """The role's internal constants (vars/main.yml), e.g. its base package list."""
    path = resources.roles_dir() / "common" / "vars" / "main.yml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _pem_bodies(text: str) -> set[str]:
    """Base64 bodies of the PEM certificates in text, whitespace removed."""
    return {re.sub(r"\s+", "", body) for body in _PEM_RE.findall(text)}


def _normalized_locale(name: str) -> str:
    """The name `locale -a` lists for a locale: en_US.UTF-8 -> en_US.utf8."""
    base, at, modifier = name.partition("@")
    lang, dot, codeset = base.partition(".")
    if dot:
        codeset = re.sub(r"[^0-9a-z]", "", codeset.lower())
        base = f"{lang}.{codeset}"
    return f"{base}{at}{modifier}"


def test_packages_installed(host: Any, hostvars: dict[str, Any]) -> None:
    wanted = list(_role_vars()["common_base_packages"]) + list(hostvars["common_extra_packages"])
    if hostvars["common_time_sync_enabled"]:
        wanted.append("chrony")
    result = host.run(
        "dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' " + " ".join(["%s"] * len(wanted)),
        *wanted,
    )
    installed = {
        fields[0].split(":")[0]
        for fields in (line.split() for line in result.stdout.splitlines())
        if len(fields) >= 2 and fields[1].startswith("ii")
    }
    missing = sorted(set(wanted) - installed)
    assert not missing, f"packages not installed: {', '.join(missing)}"


def test_service_account(host: Any, hostvars: dict[str, Any]) -> None:
    user = host.user(hostvars["common_service_user"])
    assert user.exists, f"user {hostvars['common_service_user']} missing"
    assert user.group == hostvars["common_service_group"]
    assert user.home == hostvars["common_service_home"]
    assert user.shell == "/usr/sbin/nologin"
    assert host.group(hostvars["common_service_group"]).exists
    home = host.file(hostvars["common_service_home"])
    assert home.is_directory, f"{hostvars['common_service_home']} is not a directory"
    assert home.user == hostvars["common_service_user"]
    assert home.group == hostvars["common_service_group"]
    assert home.mode == 0o750, f"home mode is {oct(home.mode)}, expected 0o750"


def test_timezone(host: Any, hostvars: dict[str, Any]) -> None:
    zone = hostvars["common_timezone"]
    localtime = host.file("/etc/localtime")
    assert localtime.is_symlink, "/etc/localtime is not a symbolic link"
    zone_file = host.file(f"/usr/share/zoneinfo/{zone}")
    assert zone_file.exists, f"time zone {zone} unknown to the host"
    assert localtime.linked_to == zone_file.linked_to, (
        f"/etc/localtime points at {localtime.linked_to}, not at zone {zone}"
    )
    assert host.file("/etc/timezone").content_string.strip() == zone


def test_locale(host: Any, hostvars: dict[str, Any]) -> None:
    locale = hostvars["common_locale"]
    available = host.check_output("locale -a").split()
    assert _normalized_locale(locale) in available, f"locale {locale} not generated"
    lines = host.file("/etc/default/locale").content_string.splitlines()
    lang = [line.strip() for line in lines if line.strip().startswith("LANG=")]
    assert lang == [f"LANG={locale}"], f"/etc/default/locale sets {lang or 'no LANG'}"


def test_extra_ca_certificates(host: Any, hostvars: dict[str, Any]) -> None:
    sources = [Path(p).expanduser() for p in hostvars["common_extra_ca_certificates"]]
    expected = {f"{src.stem}.crt": src for src in sources}
    listing = host.run("find %s -mindepth 1 -maxdepth 1 -printf '%%f\\n'", CA_DIR)
    assert listing.rc == 0, f"{CA_DIR} missing: {listing.stderr.strip()}"
    present = set(listing.stdout.split())
    assert present == set(expected), (
        f"{CA_DIR} holds {sorted(present)}, expected {sorted(expected)}"
    )
    bundle = _pem_bodies(host.file(CA_BUNDLE).content_string)
    for name, src in expected.items():
        wanted = _pem_bodies(src.read_text())
        assert wanted, f"{src} holds no PEM certificate"
        installed = _pem_bodies(host.file(f"{CA_DIR}/{name}").content_string)
        assert installed == wanted, f"{CA_DIR}/{name} differs from {src}"
        assert wanted <= bundle, f"{src} is not in {CA_BUNDLE} (not trusted)"


def _ports(right: Any) -> set[int]:
    """Ports of the right-hand side of an nft JSON match: 22, {"set": [...]}, ranges."""
    items = right["set"] if isinstance(right, dict) and "set" in right else [right]
    ports: set[int] = set()
    for item in items:
        if isinstance(item, int):
            ports.add(item)
        elif isinstance(item, dict) and "range" in item:
            low, high = item["range"]
            ports.update(range(int(low), int(high) + 1))
    return ports


def _accepted_ports(rules: list[dict[str, Any]], protocol: str) -> set[int]:
    """Ports accepted from anywhere by rules of the form `<protocol> dport X accept`."""
    ports: set[int] = set()
    for rule in rules:
        expr = rule.get("expr", [])
        if len(expr) != 2 or "accept" not in expr[1] or "match" not in expr[0]:
            continue
        match = expr[0]["match"]
        left = match.get("left", {})
        payload = left.get("payload", {}) if isinstance(left, dict) else {}
        if (
            payload.get("protocol") == protocol
            and payload.get("field") == "dport"
            and match.get("op") in ("==", "in")
        ):
            ports |= _ports(match.get("right"))
    return ports


def test_firewall(host: Any, hostvars: dict[str, Any]) -> None:
    if not hostvars["common_firewall_enabled"]:
        pytest.skip("common_firewall_enabled is false: the role leaves the firewall alone")
    enabled, running = service_state(host, "nftables")
    assert enabled, "nftables.service is not enabled"
    assert running, "nftables.service is not active"
    family, name = NFT_TABLE
    result = as_root(host, "nft -j list table %s %s", family, name)
    assert result.rc == 0, f"table {family} {name} not loaded: {result.stderr.strip()}"
    objects = json.loads(result.stdout)["nftables"]
    chains = [o["chain"] for o in objects if "chain" in o and o["chain"].get("hook") == "input"]
    assert chains, f"table {family} {name} has no input chain"
    assert all(c.get("policy") == "drop" for c in chains), "input policy is not drop"
    input_names = {c["name"] for c in chains}
    rules = [o["rule"] for o in objects if "rule" in o and o["rule"]["chain"] in input_names]
    tcp_wanted = {int(hostvars["common_ssh_port"])} | {
        int(p) for p in hostvars["common_firewall_allowed_tcp_ports"]
    }
    udp_wanted = {int(p) for p in hostvars["common_firewall_allowed_udp_ports"]}
    tcp_missing = tcp_wanted - _accepted_ports(rules, "tcp")
    udp_missing = udp_wanted - _accepted_ports(rules, "udp")
    assert not tcp_missing, f"TCP ports not open: {sorted(tcp_missing)}"
    assert not udp_missing, f"UDP ports not open: {sorted(udp_missing)}"
    conf = host.file("/etc/nftables.conf").content_string
    assert 'include "/etc/nftables.d/*.nft"' in conf, "rule files of other roles not included"
    assert "flush ruleset" not in conf, "/etc/nftables.conf would flush other tools' tables"


def _ini_values(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith(("#", ";")):
            values[key.strip()] = value.strip()
    return values


def test_journald_limits(host: Any, hostvars: dict[str, Any]) -> None:
    dropin = host.file(JOURNALD_DROPIN)
    assert dropin.exists, f"{JOURNALD_DROPIN} missing"
    values = _ini_values(dropin.content_string)
    assert values.get("SystemMaxUse") == hostvars["common_journald_max_use"]
    assert values.get("MaxRetentionSec") == hostvars["common_journald_max_retention"]


def _apt_config(host: Any) -> dict[str, list[str]]:
    """Effective APT configuration (`apt-config dump`): key -> values (lists repeat keys)."""
    config: dict[str, list[str]] = {}
    for line in host.check_output("apt-config dump").splitlines():
        match = re.match(r'^(\S+?)(::)? "(.*)";$', line)
        if match:
            config.setdefault(match.group(1), []).append(match.group(3))
    return config


def test_unattended_upgrades(host: Any, hostvars: dict[str, Any]) -> None:
    config = _apt_config(host)
    flag = "1" if hostvars["common_unattended_upgrades_enabled"] else "0"
    assert config.get("APT::Periodic::Update-Package-Lists") == [flag]
    assert config.get("APT::Periodic::Unattended-Upgrade") == [flag]
    reboot = "true" if hostvars["common_unattended_upgrades_reboot"] else "false"
    assert config.get("Unattended-Upgrade::Automatic-Reboot") == [reboot]
    origins = [o for o in config.get("Unattended-Upgrade::Origins-Pattern", []) if o]
    assert origins == [
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security"
    ], f"unattended upgrades come from {origins}, not only from the security archive"


def test_ntp_servers(host: Any, hostvars: dict[str, Any]) -> None:
    if not hostvars["common_time_sync_enabled"]:
        pytest.skip("common_time_sync_enabled is false: the role leaves time sync alone")
    servers = list(hostvars["common_ntp_servers"])
    sources = host.file(CHRONY_SOURCES)
    conf = host.file("/etc/chrony/chrony.conf")
    assert conf.exists, "/etc/chrony/chrony.conf missing: chrony not installed"
    pools = [line for line in conf.content_string.splitlines() if line.startswith("pool ")]
    if servers:
        assert sources.exists, f"{CHRONY_SOURCES} missing: common_ntp_servers not applied"
        configured = [
            line.split()[1]
            for line in sources.content_string.splitlines()
            if line.startswith("server ")
        ]
        assert configured == servers, f"chrony uses {configured}, expected {servers}"
        assert not pools, f"the Debian pool is still active: {pools}"
    else:
        assert not sources.exists, f"{CHRONY_SOURCES} present with no common_ntp_servers"
        assert pools, "chrony has no Debian pool and no common_ntp_servers"


def test_time_sync_running(host: Any, hostvars: dict[str, Any], in_container: bool) -> None:
    if not hostvars["common_time_sync_enabled"]:
        pytest.skip("common_time_sync_enabled is false: the role leaves time sync alone")
    if in_container:
        pytest.skip(
            "container host: the clock belongs to the machine, so chrony is not started "
            "(its unit needs CAP_SYS_TIME)"
        )
    enabled, running = service_state(host, "chrony")
    assert enabled, "chrony is not enabled"
    assert running, "chrony is not running"
