"""Checks of the `proxy` role: nginx in front of every DSpace instance of the host.

The sites are the host's instance plans (`dspace_plans`: hostname, ports, tls_mode); hosts
without instances are skipped. Every probe runs on the host itself against 127.0.0.1, with
the site's name as SNI and Host, so it sees what a client of that name gets, whatever DNS
and firewalls in between do.

A certificate with 14 days or fewer left passes with a warning (CertificateExpiryWarning);
one that has expired, or that does not name the site, fails.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
import warnings
from typing import Any

import pytest

from dspace_deploy.checks.support import as_root, service_state

VHOST = "/etc/nginx/sites-available/dspace-{name}.conf"
WARN_DAYS = 14
PROBE_PATH = "/dspace-deploy-verify?probe=1"
# The flag of the proxy role's `maintenance` action (roles/proxy/README.md, "Maintenance page").
MAINTENANCE_FLAG = "/var/lib/dspace-deploy/maintenance/{hostname}/on"


class CertificateExpiryWarning(UserWarning):
    """A site's certificate expires within WARN_DAYS days."""


@pytest.fixture(scope="module")
def sites(hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    """The host's sites (from its instance plans); skips the module on hosts without any."""
    plans = hostvars.get("dspace_plans") or []
    if not plans:
        pytest.skip("no DSpace instance on this host: the proxy serves no site here")
    return [{"name": str(p["name"]), "hostname": str(p["hostname"]),
             "tls_mode": str(p.get("tls_mode", "selfsigned"))} for p in plans]


def parse_not_after(text: str) -> dt.datetime | None:
    """`notAfter=Nov 22 02:24:06 2031 GMT` (openssl x509 -enddate) as an aware datetime."""
    match = re.search(r"notAfter=(.+)", text)
    if not match:
        return None
    value = " ".join(match.group(1).split())
    try:
        parsed = dt.datetime.strptime(value, "%b %d %H:%M:%S %Y GMT")
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC)


def dns_names(text: str) -> list[str]:
    """DNS names of the subjectAltName extension in `openssl x509 -ext subjectAltName`."""
    return [name.lower() for name in re.findall(r"DNS:([^,\s]+)", text)]


def name_matches(hostname: str, names: list[str]) -> bool:
    """RFC 6125 matching: exact, or a wildcard for the leftmost label only."""
    host = hostname.lower().rstrip(".")
    if host in names:
        return True
    _, dot, parent = host.partition(".")
    return bool(dot) and f"*.{parent}" in names


def _served_certificate(host: Any, hostname: str) -> str:
    quoted = shlex.quote(hostname)
    result = host.run(
        f"openssl s_client -connect 127.0.0.1:443 -servername {quoted} </dev/null 2>/dev/null"
        " | openssl x509 -noout -enddate -ext subjectAltName"
    )
    return str(result.stdout) if result.rc == 0 else ""


def test_nginx_enabled_and_running(host: Any, sites: list[dict[str, Any]]) -> None:
    enabled, running = service_state(host, "nginx.service")
    assert enabled, "nginx.service is not enabled"
    assert running, "nginx.service is not running"


def test_certificates_valid_for_each_site(host: Any, sites: list[dict[str, Any]]) -> None:
    now = dt.datetime.now(dt.UTC)
    problems, soon = [], []
    for site in sites:
        text = _served_certificate(host, site["hostname"])
        if not text:
            problems.append(f"{site['hostname']}: no certificate on 127.0.0.1:443 (TLS failed)")
            continue
        names = dns_names(text)
        if not name_matches(site["hostname"], names):
            problems.append(f"{site['hostname']}: the certificate names {names or 'no DNS name'}")
        not_after = parse_not_after(text)
        if not_after is None:
            problems.append(f"{site['hostname']}: unreadable expiry date in {text!r}")
            continue
        days = (not_after - now).total_seconds() / 86400
        if days <= 0:
            problems.append(f"{site['hostname']}: the certificate expired on {not_after:%Y-%m-%d}")
        elif days <= WARN_DAYS:
            soon.append(f"{site['hostname']} ({site['tls_mode']}): the certificate expires in "
                        f"{days:.1f} days, on {not_after:%Y-%m-%d}")
    assert not problems, "; ".join(problems)
    for message in soon:
        warnings.warn(CertificateExpiryWarning(message), stacklevel=1)


def test_http_redirects_to_https(host: Any, sites: list[dict[str, Any]]) -> None:
    problems = []
    for site in sites:
        name = site["hostname"]
        result = host.run(
            "curl -sS --max-time 20 -o /dev/null -w '%%{http_code} %%{redirect_url}' "
            "--resolve %s http://%s%s", f"{name}:80:127.0.0.1", name, PROBE_PATH
        )
        wanted = f"301 https://{name}{PROBE_PATH}"
        if result.stdout.strip() != wanted:
            got = result.stdout.strip() or result.stderr.strip()
            problems.append(f"http://{name}{PROBE_PATH} answered {got!r}, not {wanted!r}")
    assert not problems, "; ".join(problems)


def test_private_keys_root_only(host: Any, sites: list[dict[str, Any]]) -> None:
    """The key each virtual host uses is a file of root, mode 0600 (links followed)."""
    problems = []
    for site in sites:
        vhost = VHOST.format(name=site["name"])
        content = as_root(host, "cat %s", vhost)
        keys = re.findall(r"^\s*ssl_certificate_key\s+([^;\s]+);", content.stdout, re.MULTILINE)
        if content.rc != 0 or not keys:
            problems.append(f"{vhost}: missing or names no ssl_certificate_key")
            continue
        for key in keys:
            result = as_root(host, "stat -L -c '%%a %%U' %s", key)
            if result.rc != 0:
                problems.append(f"{key} (site {site['name']}): {result.stderr.strip()}")
            elif result.stdout.split() != ["600", "root"]:
                problems.append(f"{key} (site {site['name']}): mode and owner "
                                f"{result.stdout.strip()}, not 600 root")
    assert not problems, "; ".join(problems)


def test_no_site_left_in_maintenance(host: Any, sites: list[dict[str, Any]]) -> None:
    """A site in maintenance answers 503 to everyone: an upgrade that ended (or was cut
    off) without taking its maintenance page down is named, with the way out."""
    problems = []
    for site in sites:
        flag = MAINTENANCE_FLAG.format(hostname=site["hostname"].lower())
        found = as_root(host, "cat %s", flag)
        if found.rc == 0:
            problems.append(
                f"{site['hostname']} is in maintenance ({flag}: {found.stdout.strip()}): it "
                "answers 503 to every request. Finish or roll back the upgrade, or end it with "
                f"the proxy role's maintenance action (state off), or rm {flag}")
    assert not problems, "; ".join(problems)
