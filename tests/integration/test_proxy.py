"""The `proxy` role on a lab host: three sites, one per TLS mode, with no DSpace.

One Debian 13 lab host. Each site's backend and UI port runs a small echo server (it answers
JSON naming its port, the path and the request headers), so routing and headers are seen as
the upstream sees them. The ACME site gets its certificate from pebble, Debian's ACME test
server, running on the host: pebble really fetches the http-01 challenge through nginx's
port 80 (the sites' names point at 127.0.0.1 in /etc/hosts), and its own TLS certificate is
signed by a test CA the host trusts through common_extra_ca_certificates. The provided site
gets a certificate of the same test CA. Runs go through the project's runner core.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.runner import Job, RunResult, run

pytestmark = pytest.mark.lab

PLAYBOOK = Path(__file__).parent / "playbooks" / "proxy.yml"
PEBBLE = "https://localhost:14000/dir"
SEL, PRO, ACM = "sel.proxy.test", "pro.proxy.test", "acm.proxy.test"


@dataclass
class Outcome:
    result: RunResult
    changed: list[str]  # "task [item]" of every changed result
    seconds: float


@dataclass
class Pki:
    ca: Path
    pebble_cert: Path
    pebble_key: Path
    pro_cert: Path  # full chain: server certificate, then the CA
    pro_key: Path
    other_key: Path  # belongs to no certificate
    wrong_name_cert: Path  # for another name, with pro_key
    wrong_name_key: Path


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject_cn: str, key: Any, issuer: Any, issuer_key: Any, names: list[str],
          ca: bool = False) -> Any:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.subject if issuer is not None else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1))
               .not_valid_after(now + dt.timedelta(days=90))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())


def make_pki(root: Path) -> Pki:
    from cryptography.hazmat.primitives import serialization

    def pem(cert: Any) -> bytes:
        return bytes(cert.public_bytes(serialization.Encoding.PEM))

    ca_key = _key()
    ca = _cert("dspace-deploy proxy test CA", ca_key, None, None, [], ca=True)
    files: dict[str, bytes] = {"ca.crt": pem(ca)}
    pebble_key = _key()
    files["pebble.crt"] = pem(_cert("localhost", pebble_key, ca, ca_key,
                                    ["localhost", "127.0.0.1"]))
    files["pebble.key"] = _pem_key(pebble_key)
    pro_key = _key()
    files["pro.crt"] = pem(_cert(PRO, pro_key, ca, ca_key, [PRO])) + pem(ca)
    files["pro.key"] = _pem_key(pro_key)
    files["other.key"] = _pem_key(_key())
    wrong_key = _key()
    files["wrong-name.crt"] = pem(_cert("other.proxy.test", wrong_key, ca, ca_key,
                                        ["other.proxy.test"]))
    files["wrong-name.key"] = _pem_key(wrong_key)
    for name, data in files.items():
        (root / name).write_bytes(data)
        (root / name).chmod(0o600)
    return Pki(root / "ca.crt", root / "pebble.crt", root / "pebble.key", root / "pro.crt",
               root / "pro.key", root / "other.key", root / "wrong-name.crt",
               root / "wrong-name.key")


def instances(pki: Pki) -> list[dict[str, Any]]:
    return [
        {"name": "sel", "hostname": SEL, "tls_mode": "selfsigned", "port_slot": 0},
        {"name": "pro", "hostname": PRO, "tls_mode": "provided", "port_slot": 1,
         "tls_certificate_file": str(pki.pro_cert), "tls_key_file": str(pki.pro_key)},
        {"name": "acm", "hostname": ACM, "tls_mode": "acme", "port_slot": 2,
         "acme_email": "admin@proxy.test", "acme_directory_url": PEBBLE},
    ]


def proxy_sites(insts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What site.yml passes to the role: dspace_proxy_sites of the instance plans."""
    from dspace_deploy.plans import plan_module

    plan = plan_module()
    sites: list[dict[str, Any]] = plan.proxy_sites(plan.instance_plan(insts))
    return sites


def extravars(site: Any, host: str, pki: Pki, **overrides: Any) -> dict[str, Any]:
    cas = list(site.hostvars[host].get("common_extra_ca_certificates") or [])
    return {
        "proxy_sites": proxy_sites(instances(pki)),
        "common_extra_ca_certificates": [*cas, str(pki.ca)],
        "proxy_test_pebble_cert": str(pki.pebble_cert),
        "proxy_test_pebble_key": str(pki.pebble_key),
        **overrides,
    }


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def lab(lab_factory: Any) -> Any:
    return lab_factory("proxy", hosts=1, oses=("debian13",), connection="ssh", preload=True)


@pytest.fixture(scope="module")
def site(lab: Any) -> Any:
    from dspace_deploy.inventory.validate import load_site

    return load_site(lab.inventory, lab.vault_password_file)


def _run(site: Any, lab: Any, pki: Pki, **overrides: Any) -> Outcome:
    changed: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        data = event.get("event_data") or {}
        res = data.get("res") or {}
        if event.get("event") == "runner_on_ok" and res.get("changed") and "results" not in res:
            changed.append(str(data.get("task", "")))
        if event.get("event") == "runner_item_on_ok" and res.get("changed"):
            changed.append(f"{data.get('task', '')} [{res.get('_ansible_item_label', '')}]")

    job = Job(verb="proxy-test", playbook=str(PLAYBOOK), site=site,
              extravars=extravars(site, lab.hosts[0].name, pki, **overrides))
    started = time.monotonic()
    result = run(job, observe)
    return Outcome(result, changed, time.monotonic() - started)


def _exec(lab: Any, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", "exec", lab.hosts[0].container, *command],
                          capture_output=True, text=True, check=False)


def _curl(lab: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return _exec(lab, "curl", "-sS", "--max-time", "20", *args)


def _get(lab: Any, hostname: str, path: str,
         *extra: str) -> tuple[dict[str, str], dict[str, Any]]:
    """GET https://hostname/path on the host (nginx on 127.0.0.1): response headers, JSON."""
    done = _curl(lab, "-k", "-D", "-", "--resolve", f"{hostname}:443:127.0.0.1", *extra,
                 f"https://{hostname}{path}")
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.splitlines()[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return headers, json.loads(body)


def _served_cert(lab: Any, hostname: str) -> str:
    """`openssl x509 -text` of the certificate nginx presents for hostname (SNI)."""
    done = _exec(lab, "sh", "-c",
                 f"openssl s_client -connect 127.0.0.1:443 -servername {hostname} </dev/null "
                 "2>/dev/null | openssl x509 -noout -text -fingerprint -sha256")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def converged(site: Any, lab: Any, pki: Pki) -> Iterator[list[Outcome]]:
    # The second run is the role alone: the fixtures' idempotence is not under test.
    runs = [_run(site, lab, pki), _run(site, lab, pki, proxy_test_role_only=True)]
    for number, outcome in enumerate(runs, 1):
        print(f"proxy run {number}: {outcome.seconds:.1f} s, "
              f"{outcome.result.summary.changed} changed")
    yield runs


def test_first_run_converges(converged: list[Outcome]) -> None:
    first = converged[0].result
    assert first.summary.ok, json.dumps(first.summary.as_dict(), indent=1)
    assert first.summary.changed > 0


def test_second_run_changes_nothing(converged: list[Outcome]) -> None:
    second = converged[1]
    assert second.result.summary.ok, json.dumps(second.result.summary.as_dict(), indent=1)
    assert second.result.summary.changed == 0, second.changed


@pytest.mark.parametrize("hostname, slot", [(SEL, 0), (PRO, 1), (ACM, 2)])
def test_routes_and_headers(converged: list[Outcome], lab: Any, hostname: str,
                            slot: int) -> None:
    backend, ui = 8080 + 10 * slot, 4000 + 10 * slot
    _, api = _get(lab, hostname, "/server/api?x=1")
    assert (api["port"], api["path"]) == (backend, "/server/api?x=1")
    _, bare = _get(lab, hostname, "/server")
    assert (bare["port"], bare["path"]) == (backend, "/server")
    for path in ("/", "/items/1", "/serverx"):
        _, page = _get(lab, hostname, path)
        assert (page["port"], page["path"]) == (ui, path)
    headers = {k.lower(): v for k, v in api["headers"].items()}
    assert headers["host"] == hostname
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-host"] == hostname
    assert headers["x-forwarded-port"] == "443"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    # a client cannot pose as another address: nginx is the edge and overwrites the header
    _, spoofed = _get(lab, hostname, "/server/api", "-H", "X-Forwarded-For: 203.0.113.9")
    assert {k.lower(): v for k, v in spoofed["headers"].items()}["x-forwarded-for"] == (
        "127.0.0.1")


@pytest.mark.parametrize("hostname, hsts", [(SEL, False), (PRO, True), (ACM, True)])
def test_security_headers(converged: list[Outcome], lab: Any, hostname: str,
                          hsts: bool) -> None:
    headers, _ = _get(lab, hostname, "/")
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "SAMEORIGIN"  # the upstream's DENY is hidden
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin"
    assert ("strict-transport-security" in headers) is hsts, headers


def test_http_redirects_to_https(converged: list[Outcome], lab: Any) -> None:
    done = _curl(lab, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                 "--resolve", f"{PRO}:80:127.0.0.1", f"http://{PRO}/items/1?q=a")
    assert done.stdout == f"301 https://{PRO}/items/1?q=a", done.stdout + done.stderr


def test_unknown_names_get_no_site(converged: list[Outcome], lab: Any) -> None:
    plain = _curl(lab, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: unknown.test",
                  "http://127.0.0.1/")
    assert plain.returncode != 0 and plain.stdout == "000", plain.stdout  # 444: no answer
    tls = _curl(lab, "-k", "--resolve", "unknown.test:443:127.0.0.1", "https://unknown.test/")
    assert tls.returncode != 0, tls.stdout  # handshake refused


def test_certificates(converged: list[Outcome], lab: Any, pki: Pki) -> None:
    sel = _served_cert(lab, SEL)
    assert f"DNS:{SEL}" in sel and f"Issuer: CN={SEL}" in sel
    pro = _served_cert(lab, PRO)
    assert f"DNS:{PRO}" in pro and "Issuer: CN=dspace-deploy proxy test CA" in pro
    acm = _served_cert(lab, ACM)
    assert f"DNS:{ACM}" in acm and "Pebble" in acm, acm
    modes = _exec(lab, "sh", "-c", "stat -L -c '%a %U %n' /etc/ssl/dspace-deploy/private/*.key "
                  "/etc/letsencrypt/live/dspace-acm/privkey.pem").stdout.split("\n")
    assert all(line.startswith("600 root ") for line in modes if line), modes


def test_tls_versions(converged: list[Outcome], lab: Any) -> None:
    old = _curl(lab, "-k", "--tls-max", "1.1", "--resolve", f"{SEL}:443:127.0.0.1",
                f"https://{SEL}/")
    assert old.returncode != 0
    new = _curl(lab, "-k", "--tlsv1.3", "--http2", "-o", "/dev/null", "-w", "%{http_version}",
                "--resolve", f"{SEL}:443:127.0.0.1", f"https://{SEL}/")
    assert new.stdout == "2", new.stdout + new.stderr


def test_https_reachable_from_the_controller(converged: list[Outcome], lab: Any) -> None:
    """The firewall drop-in opens 443 (the common role's table drops everything else)."""
    address = lab.hosts[0].address
    with socket.create_connection((address, 443), timeout=10):
        pass
    with pytest.raises(OSError), socket.create_connection((address, 4000), timeout=5):
        pass


def test_renewal_reloads_nginx(converged: list[Outcome], site: Any, lab: Any, pki: Pki) -> None:
    """certbot renew (as certbot.timer runs it) gets a new certificate from pebble and its
    deploy hook makes nginx serve it; the role then changes nothing."""
    before = _served_cert(lab, ACM).split("Fingerprint=")[-1]
    renew = _exec(lab, *_timer_command(lab), "--force-renewal", "--non-interactive")
    assert renew.returncode == 0, renew.stdout + renew.stderr
    time.sleep(2)
    after = _served_cert(lab, ACM).split("Fingerprint=")[-1]
    assert after != before, "nginx still serves the old certificate"
    again = _run(site, lab, pki, proxy_test_role_only=True)
    assert again.result.summary.ok, json.dumps(again.result.summary.as_dict(), indent=1)
    assert again.result.summary.changed == 0, again.changed


def _timer_command(lab: Any) -> list[str]:
    """The command line certbot.timer starts (certbot.service's ExecStart). Debian's unit
    passes --no-random-sleep-on-renew: without it, `certbot renew` run without a terminal
    first sleeps a random 1-480 s (certbot's renewal jitter), which is what a test pays
    when it calls plain `certbot renew`."""
    shown = _exec(lab, "systemctl", "show", "--property=ExecStart", "--value", "certbot.service")
    assert shown.returncode == 0, shown.stderr
    # { path=/usr/bin/certbot ; argv[]=/usr/bin/certbot -q renew --no-random-sleep-on-renew ; ...
    argv = shown.stdout.split("argv[]=", 1)[-1].split(" ;", 1)[0].split()
    assert "renew" in argv, shown.stdout
    return argv


def _failure(outcome: Outcome) -> str:
    summary = outcome.result.summary
    assert not summary.ok
    assert len(summary.failures) == 1, [f.message for f in summary.failures]
    return summary.failures[0].message


def test_provided_pair_that_does_not_fit_is_refused(converged: list[Outcome], site: Any,
                                                    lab: Any, pki: Pki) -> None:
    """A key of another certificate, and a certificate for another name: both are named,
    nothing on the host changes, and the key never appears in the message."""
    before = _exec(lab, "sha256sum", "/etc/ssl/dspace-deploy/private/pro.key",
                   "/etc/ssl/dspace-deploy/pro.crt").stdout
    sites = proxy_sites(instances(pki))
    sites[1]["tls_certificate_file"] = str(pki.wrong_name_cert)
    sites[1]["tls_key_file"] = str(pki.other_key)
    message = _failure(_run(site, lab, pki, proxy_sites=sites, proxy_test_role_only=True))
    assert "the key does not belong to the certificate" in message, message
    assert f"the certificate is for other.proxy.test, not for {PRO}" in message, message
    assert str(pki.other_key) in message and "nothing was changed" in message
    assert _exec(lab, "sha256sum", "/etc/ssl/dspace-deploy/private/pro.key",
                 "/etc/ssl/dspace-deploy/pro.crt").stdout == before
    key_body = "".join(pki.other_key.read_text().splitlines()[1:-1])
    assert key_body[:40] not in message


def test_precheck_lists_every_problem(converged: list[Outcome], site: Any, lab: Any,
                                      pki: Pki) -> None:
    """Exactly the two problems made here: ports 80 and 443, held by nginx, are no problem."""
    sites = proxy_sites(instances(pki))
    sites[1]["tls_key_file"] = "/nonexistent/pro.key"
    sites[2]["hostname"] = SEL
    message = _failure(_run(site, lab, pki, proxy_sites=sites, proxy_test_entry_point="precheck",
                            proxy_test_role_only=True))
    assert "found 2 problem(s)" in message, message
    assert "/nonexistent/pro.key" in message and SEL in message


def test_checks_pass_then_detect_a_stopped_nginx(converged: list[Outcome], site: Any,
                                                 lab: Any, pki: Pki) -> None:
    from dspace_deploy.verify import run_checks

    host = lab.hosts[0].name
    site.hostvars[host] = {**site.hostvars[host], "dspace_instances": instances(pki)}
    report = run_checks(site, progress=False)
    proxy = [r for r in report.results if r.check.startswith("proxy::")]
    assert proxy and all(r.outcome == "passed" for r in proxy), [
        (r.check, r.outcome, r.message) for r in proxy]
    assert _exec(lab, "systemctl", "stop", "nginx").returncode == 0
    try:
        report = run_checks(site, progress=False)
        failed = {r.check.rsplit("::", 1)[-1].split("[")[0] for r in report.results
                  if r.check.startswith("proxy::") and r.outcome == "failed"}
        assert {"test_nginx_enabled_and_running", "test_certificates_valid_for_each_site",
                "test_http_redirects_to_https"} <= failed, failed
    finally:
        _exec(lab, "systemctl", "start", "nginx")


# --- the `maintenance` action --------------------------------------------------------------------


def _maintenance(site: Any, lab: Any, pki: Pki, **request: Any) -> Outcome:
    return _run(site, lab, pki, proxy_test_role_only=True,
                proxy_test_entry_point="maintenance", proxy_maintenance=request)


def _fetch(lab: Any, hostname: str, path: str, *extra: str,
           scheme: str = "https") -> tuple[int, dict[str, str], str]:
    """A request to nginx on the host: status, response headers (lower-case names), body."""
    port = 443 if scheme == "https" else 80
    done = _curl(lab, "-k", "-D", "-", "--resolve", f"{hostname}:{port}:127.0.0.1", *extra,
                 f"{scheme}://{hostname}{path}")
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def test_maintenance_on_answers_503_everywhere_and_off_restores(
        converged: list[Outcome], site: Any, lab: Any, pki: Pki) -> None:
    """On: the UI's paths and the REST API answer 503 with Retry-After and the page (JSON for
    the API, also to a POST), from nginx itself (no echo answer); another site, the ACME
    challenges on port 80 and the redirect go on. A second call and a converge of the role
    change nothing and keep it; off serves the site again."""
    on = _maintenance(site, lab, pki, hostname=PRO, state="on", retry_after=120,
                      message="Upgrading to DSpace 9.3")
    assert on.result.summary.ok, [f.message for f in on.result.summary.failures]
    assert on.changed, "maintenance on reported no change"
    try:
        for path in ("/", "/items/1?q=a"):
            status, headers, body = _fetch(lab, PRO, path)
            assert status == 503 and headers.get("retry-after") == "120", (path, status, headers)
            assert headers["content-type"].startswith("text/html"), headers
            assert "Upgrading to DSpace 9.3" in body and '"port"' not in body, body
            assert headers.get("x-frame-options") == "SAMEORIGIN"
            assert "strict-transport-security" in headers  # a provided site keeps HSTS
        for path, method in (("/server/api", "GET"), ("/server", "GET"),
                             ("/server/api/core/items", "POST")):
            status, headers, body = _fetch(lab, PRO, path, "-X", method)
            assert status == 503 and headers.get("retry-after") == "120", (path, status, body)
            assert headers["content-type"].startswith("application/json"), headers
            answer = json.loads(body)
            assert answer == {"status": 503, "error": "Service Unavailable",
                              "message": "Upgrading to DSpace 9.3", "retryAfter": 120}, answer
        _, other = _get(lab, SEL, "/server/api")
        assert other["port"] == 8080  # the other site still reaches its backend
        _exec(lab, "sh", "-c", "echo token > /var/lib/dspace-deploy/acme-webroot/.well-known/"
                               "acme-challenge/maintenance-probe")
        status, _, body = _fetch(lab, PRO, "/.well-known/acme-challenge/maintenance-probe",
                                 scheme="http")
        assert (status, body.strip()) == (200, "token")
        status, headers, _ = _fetch(lab, PRO, "/items/1", scheme="http")
        assert (status, headers.get("location")) == (301, f"https://{PRO}/items/1")
        status, _, _ = _fetch(lab, PRO, "/.dspace-deploy-maintenance/page.html")
        assert status == 404  # the page's own location is internal

        again = _maintenance(site, lab, pki, hostname=PRO, state="on", retry_after=120,
                             message="Upgrading to DSpace 9.3")
        assert again.result.summary.ok and again.result.summary.changed == 0, again.changed
        converge = _run(site, lab, pki, proxy_test_role_only=True)
        assert converge.result.summary.ok and converge.result.summary.changed == 0, (
            converge.changed)
        assert _fetch(lab, PRO, "/")[0] == 503, "a converge ended the maintenance"
        # `verify` names the site left in maintenance, and only it.
        from dspace_deploy.verify import run_checks

        host = lab.hosts[0].name
        site.hostvars[host] = {**site.hostvars[host], "dspace_instances": instances(pki)}
        report = run_checks(site, progress=False)
        (flagged,) = [r for r in report.results if "test_no_site_left_in_maintenance" in r.check]
        assert flagged.outcome == "failed" and f"{PRO} is in maintenance" in flagged.message
        assert SEL not in flagged.message and "since" in flagged.message
    finally:
        off = _maintenance(site, lab, pki, hostname=PRO, state="off")
    assert off.result.summary.ok, [f.message for f in off.result.summary.failures]
    assert off.changed
    _, page = _get(lab, PRO, "/items/1")
    assert page["port"] == 4010
    _, api = _get(lab, PRO, "/server/api")
    assert api["port"] == 8090
    again = _maintenance(site, lab, pki, hostname=PRO, state="off")
    assert again.result.summary.ok and again.result.summary.changed == 0, again.changed


def test_maintenance_default_retry_after_and_unknown_site(
        converged: list[Outcome], site: Any, lab: Any, pki: Pki) -> None:
    """Without retry_after the role's default is sent (the earlier call's value is gone);
    a host name no virtual host serves is refused with what to do."""
    on = _maintenance(site, lab, pki, hostname=SEL, state=True)  # YAML's unquoted `on`
    try:
        assert on.result.summary.ok, [f.message for f in on.result.summary.failures]
        status, headers, body = _fetch(lab, SEL, "/server/api")
        assert (status, headers.get("retry-after")) == (503, "300"), (status, headers)
        assert "down for maintenance" in json.loads(body)["message"]
        assert _fetch(lab, PRO, "/server/api")[0] == 200  # only SEL is in maintenance
    finally:
        off = _maintenance(site, lab, pki, hostname=SEL, state=False)
    assert off.result.summary.ok
    assert _fetch(lab, SEL, "/server/api")[0] == 200
    message = _failure(_maintenance(site, lab, pki, hostname="nowhere.proxy.test", state="on"))
    assert "No virtual host" in message and "nowhere.proxy.test" in message, message
