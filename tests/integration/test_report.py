"""`dspace-deploy report` on a lab network of two hosts with problems planted.

Both hosts run one DSpace 9 instance (look-alike release) with records in its OAI-PMH feed
planted through tests/integration/oai_plant.py.
The first is healthy: good records, one backup, a self-signed certificate (tls_mode
selfsigned: information only; the proxy sends no HSTS for it, by design). On the second,
four problems are planted after `up`: its provided certificate is replaced on the host by an
expired one (the role refuses an expired certificate, so this is a certificate that expired
after deployment), it has no backup, its handle server is stopped, and its records break two
named validator rules (LA Referencia's mandatory author, OpenAIRE's publication type). The
report must show each of them, and nothing else; the HTML is opened in headless Chromium and
checked as rendered (and saved as a screenshot when REPORT_SCREENSHOT names a file:
docs/img/report.png is made that way).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import EXE, cli
from tests.integration.oai_plant import plant_oai_problems

pytestmark = [pytest.mark.lab, pytest.mark.lookalike]

PREFIX = "123456789"
# The records come from tests/lookalike/seed.py PLANTED through tests/integration/oai_plant.py
# (docs/oai-validation.md, "Planting records"): rep-1 gets the conforming record only; rep-2 a
# record without author (LA Referencia's mandatory creator) and one with a type outside
# info:eu-repo/semantics (OpenAIRE's publication type), and no conforming one.
GOOD = ("control",)
BAD = ("no-author", "local-type")
BAD_RULES = {"lareferencia.creator", "openaire.publication-type"}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    build_release("9", root / "9-dspace")
    return root


def _certificates(root: Path, hostname: str) -> dict[str, Path]:
    """A CA, a valid certificate for `hostname` (what `up` installs) and an expired one with
    the same key (what the host ends up serving)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("report test CA"))
          .issuer_name(name("report test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=400))
          .not_valid_after(now + dt.timedelta(days=400))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def leaf(start: dt.datetime, end: dt.datetime) -> bytes:
        cert = (x509.CertificateBuilder().subject_name(name(hostname)).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM)

    files = {
        "ca": ca.public_bytes(serialization.Encoding.PEM),
        "valid": leaf(now - dt.timedelta(days=1), now + dt.timedelta(days=90)),
        "expired": leaf(now - dt.timedelta(days=100), now - dt.timedelta(days=10)),
        "key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()),
    }
    paths = {}
    for label, data in files.items():
        paths[label] = root / f"{label}.pem"
        paths[label].write_bytes(data)
        paths[label].chmod(0o600)
    return paths


def _exec(host: Any, command: str, stdin: str | None = None) -> str:
    done = subprocess.run(["podman", "exec", "-i", host.container, "bash", "-c", command],
                          input=stdin, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def network(lab_factory: Any, state_home: Path, artifacts: Path,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    started = time.monotonic()
    lab = lab_factory("report", hosts=2, oses=("debian13", "debian13"), connection="ssh",
                      preload=True)
    healthy, planted = lab.hosts
    names = {h.name: f"repo.{h.name}.lab.test" for h in lab.hosts}
    pki = _certificates(tmp_path_factory.mktemp("pki"), names[planted.name])
    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    hosts = data["all"]["children"]["dspace"]["hosts"]
    for host in lab.hosts:
        instance: dict[str, Any] = {"name": "repo", "hostname": names[host.name], "line": "9",
                                    "admin_email": f"admin@{host.name}.lab.test"}
        if host is planted:
            instance.update(tls_mode="provided", tls_certificate_file=str(pki["valid"]),
                            tls_key_file=str(pki["key"]))
        hosts[host.name]["dspace_instances"] = [instance]
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--artifacts", str(artifacts))
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
    converged = time.monotonic()
    expected = {host.name: plant_oai_problems(host.container, "repo", PREFIX,
                                              f"https://{names[host.name]}", names=records)
                for host, records in ((healthy, GOOD), (planted, BAD))}
    assert set().union(*expected[planted.name].values()) == BAD_RULES
    code, document, stderr = cli("backup", "-i", str(lab.inventory), "--limit", healthy.name)
    assert code == 0, json.dumps(document, indent=1) + stderr[-2000:]
    # The planted problems.
    _exec(planted, "cat >/etc/ssl/dspace-deploy/repo.crt && systemctl reload nginx",
          stdin=pki["expired"].read_text() + pki["ca"].read_text())
    _exec(planted, "systemctl stop dspace-repo-handle.service")
    out = tmp_path_factory.mktemp("report-out")
    before = time.monotonic()
    code, report, stderr = cli("report", "-i", str(lab.inventory), "--out", str(out))
    print(f"report lab: up {converged - started:.0f} s, report {time.monotonic() - before:.0f} s")
    return {"lab": lab, "code": code, "report": report, "stderr": stderr, "out": out,
            "healthy": f"{healthy.name}/repo", "planted": f"{planted.name}/repo",
            "names": names, "expected": expected[planted.name]}


def _member(network: dict[str, Any], key: str) -> dict[str, Any]:
    (member,) = [m for m in network["report"]["members"] if m["key"] == key]
    return member


def _problems(member: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["severity"], f["area"]) for f in member["findings"] if f["severity"] != "info"}


def test_the_healthy_member_has_nothing_to_report(network: dict[str, Any]) -> None:
    member = _member(network, network["healthy"])
    assert _problems(member) == set(), json.dumps(member["findings"], indent=1)
    assert member["state"] == "ok"
    assert member["version"]["reported"] == "DSpace 9.3" and member["version"]["supported"]
    assert member["health"] == {"actuator": member["health"]["actuator"], "rest": True,
                                "ui_ssr": True, "ui_error": None}
    # Self-signed: no HSTS, by design of the proxy role (not a finding).
    assert member["tls"]["days_left"] > 300 and member["tls"]["hsts"] is None
    assert member["tls"]["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert member["backup"]["age_hours"] is not None and member["backup"]["age_hours"] < 1
    # every public port of the handle server answers, UDP included (a resolution request)
    assert member["handle"]["ports"] == {"tcp/2641": "open", "udp/2641": "open",
                                         "http/8000": "open"}
    assert member["handle"]["resolved_url"] == (
        f"https://{network['names'][network['healthy'].split('/')[0]]}/handle/"
        f"{member['handle']['sample']}")
    assert member["oai"]["records_checked"] == 1 and member["oai"]["score"] == 100.0
    assert member["oai"]["failures"] == []


def test_each_planted_problem_is_shown_and_nothing_else(network: dict[str, Any]) -> None:
    assert network["code"] == 1, network["stderr"][-2000:]
    member = _member(network, network["planted"])
    findings = {(f["severity"], f["area"]): f["message"] for f in member["findings"]}
    assert _problems(member) == {("critical", "tls"), ("critical", "backup"),
                                 ("critical", "services"), ("critical", "handle"),
                                 ("warning", "handle"), ("warning", "oai")}, findings
    assert "expired 10 days ago" in findings[("critical", "tls")]
    assert findings[("critical", "backup")] == "no good backup"
    assert findings[("critical", "services")] == "not running: handle (inactive)"
    assert member["handle"]["ports"] == {"tcp/2641": "closed", "udp/2641": "closed",
                                         "http/8000": "closed"}
    failed: dict[str, set[str]] = {}
    for failure in member["oai"]["failures"]:
        failed.setdefault(failure["identifier"].rsplit(":", 1)[-1], set()).add(failure["rule_id"])
    assert failed == {handle: set(rules) for handle, rules in network["expected"].items()}
    assert member["oai"]["score"] == 0.0
    order = [m["key"] for m in network["report"]["members"]]
    assert order == [network["planted"], network["healthy"]]


def test_history_and_files(network: dict[str, Any], state_home: Path) -> None:
    out = network["out"]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("report-")) == [
        "report.html", "report.json"]
    assert len(list(out.glob("report-*.json"))) == 1
    site = network["report"]["site"]
    assert len(list((state_home / "dspace-deploy" / site / "reports").glob("report-*.json"))) == 1
    saved = json.loads((out / "report.json").read_text())
    assert saved["members"] == network["report"]["members"]
    assert set(saved["history"]) == {network["planted"], network["healthy"]}


def test_chromium_shows_the_problems(network: dict[str, Any], tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "scripts/bootstrap --test installs chromium"
    page = (network["out"] / "report.html").as_uri()
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--dump-dom", page], capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    sections = re.findall(r'<section class="member (\w+)" id="m-\d+" data-member="([^"]+)"', dom)
    assert sections == [("critical", network["planted"]), ("ok", network["healthy"])]
    planted = dom[dom.index(f'data-member="{network["planted"]}"', dom.index("<section")):]
    for text in ("the certificate expired 10 days ago", "no good backup",
                 "not running: handle (inactive)", "the handle server does not answer",
                 *sorted(BAD_RULES)):
        assert text in planted, text
    healthy = dom[dom.index('<section class="member ok"'):]
    assert '<li class="finding critical' not in healthy
    assert '<li class="finding warning' not in healthy
    shot = Path(os.environ.get("REPORT_SCREENSHOT") or tmp_path / "report.png")
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--window-size=1280,1700",
                           f"--screenshot={shot}", page], capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]
