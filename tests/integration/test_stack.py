"""The full DSpace stack: `dspace-deploy up` on lab hosts, from look-alike artifact bundles.

One lab of three hosts serves the module (converged once, in parallel, by one `up`):

  stack-1  Debian 12  repo  DSpace 8
  stack-2  Debian 13  repo  DSpace 9  +  cris  DSpace-CRIS 2025.02 (line 9, Java 21, its
                      handle.dir moved by extra_config): two instances
  stack-3  Debian 13  repo  DSpace 10

Before the first `up`, bad input must stop at the prechecks with nothing changed (a line the
host's Debian cannot run, a port held by another program). Then `up` twice (the second run
changed=0 from runner stats), `verify` (every role's checks, including the probe of the
private ports from another lab host), the REST root and the UI through the HTTPS proxy,
independence of the two instances of one host, `status`, `handle bundle` (each bundle
advertising its instance's own ports), and a search of every run artifact for every secret.
The bundles are built with the default dspace.dir (/dspace, baked into server-boot.jar) and
run from /srv/dspace/<name>; the webapp schedules none of the jobs the timers run; the
DSpace-CRIS subscription timers pass the -t its launcher requires.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import (
    EXE,
    assert_no_secret_in_files,
    cli,
    unchunk,
    vault_secrets,
)

pytestmark = [pytest.mark.lab, pytest.mark.lookalike]

# (host index, instance name, line, flavor): the lab's instances.
INSTANCES = {
    1: [("repo", "8", "dspace")],
    2: [("repo", "9", "dspace"), ("cris", "9", "cris")],
    3: [("repo", "10", "dspace")],
}
OSES = ("debian12", "debian13", "debian13")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Look-alike bundles of every line and flavor the lab uses, as `<line>-<flavor>/`."""
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    keys = {(line, flavor) for instances in INSTANCES.values() for _, line, flavor in instances}
    releases = {f"{line}-{flavor}": build_release(line, root / f"{line}-{flavor}", flavor=flavor)
                for line, flavor in sorted(keys)}
    return {"root": root, "releases": releases}


# The DSpace-CRIS instance keeps its handle server elsewhere (DSpace's handle.dir).
EXTRA_CONFIG = {"cris": {"handle.dir": "/srv/dspace/cris/hdl"}}


def _instances(lab: Any, index: int) -> list[dict[str, Any]]:
    host = lab.hosts[index - 1]
    return [
        {"name": name, "hostname": f"{name}.{host.name}.lab.test", "line": line,
         "flavor": flavor, "admin_email": f"admin@{host.name}.lab.test",
         **({"extra_config": EXTRA_CONFIG[name]} if name in EXTRA_CONFIG else {})}
        for name, line, flavor in INSTANCES[index]
    ]


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    lab = lab_factory("stack", hosts=3, oses=OSES, connection="ssh")
    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    hosts = data["all"]["children"]["dspace"]["hosts"]
    for index, host in enumerate(lab.hosts, 1):
        hosts[host.name]["dspace_instances"] = _instances(lab, index)
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return lab


def _exec(host: Any, *command: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["podman", "exec", host.container, *command],
                          capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done


def _up(lab: Any, artifacts: dict[str, Any], *extra: str,
        inventory: Path | None = None) -> tuple[int, dict[str, Any], str]:
    return cli("up", "-i", str(inventory or lab.inventory), "--artifacts",
               str(artifacts["root"]), *extra)


def _untouched(host: Any) -> None:
    """Nothing of the stack exists on the host: no DSpace tree, no PostgreSQL, no Solr."""
    for path in ("/srv/dspace", "/opt/solr", "/etc/postgresql"):
        assert _exec(host, "test", "-e", path).returncode != 0, f"{path} exists on {host.name}"


@pytest.fixture(scope="module")
def refused(lab: Any, artifacts: dict[str, Any],
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, Any]]]:
    """Bad input on the fresh hosts, before the first real `up`."""
    outcomes = {}
    # DSpace 10 needs Java 21, which Debian 12 does not have.
    inventory = tmp_path_factory.mktemp("inv-line") / "inventory"
    shutil.copytree(lab.inventory, inventory)
    hosts_yml = inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    first = lab.hosts[0]
    data["all"]["children"]["dspace"]["hosts"][first.name]["dspace_instances"][0]["line"] = "10"
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    code, document, _ = _up(lab, artifacts, "--limit", first.name, inventory=inventory)
    outcomes["line"] = (code, document)
    # A program already listening on the backend port of stack-3's instance.
    third = lab.hosts[2]
    _exec(third, "systemd-run", "--unit=squatter", "python3", "-m", "http.server", "8080",
          "--bind", "127.0.0.1", check=True)
    try:
        code, document, _ = _up(lab, artifacts, "--limit", third.name)
        outcomes["port"] = (code, document)
    finally:
        _exec(third, "systemctl", "stop", "squatter")
    return outcomes


def _failure_text(document: dict[str, Any]) -> str:
    return " ".join(str(f.get("message", "")) for f in document.get("failures", []))


def test_a_line_the_os_cannot_run_stops_before_any_change(refused: dict[str, Any],
                                                          lab: Any) -> None:
    code, document = refused["line"]
    assert code == 1, document
    host = lab.hosts[0].name
    assert document["hosts"][host]["changed"] == 0
    assert "21" in _failure_text(document), _failure_text(document)
    _untouched(lab.hosts[0])


def test_a_taken_port_stops_before_any_change(refused: dict[str, Any], lab: Any) -> None:
    code, document = refused["port"]
    assert code == 1, document
    host = lab.hosts[2].name
    assert document["hosts"][host]["changed"] == 0
    text = _failure_text(document)
    assert "8080" in text and "python3" in text, text
    _untouched(lab.hosts[2])


@pytest.fixture(scope="module")
def converged(lab: Any, artifacts: dict[str, Any],
              refused: dict[str, Any]) -> list[dict[str, Any]]:
    runs = []
    for number in (1, 2):
        code, document, stderr = _up(lab, artifacts)
        print(f"stack up run {number}: {document.get('seconds')} s, "
              + ", ".join(f"{h}: changed={s['changed']}" for h, s in document["hosts"].items()))
        assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
        runs.append(document)
    return runs


def test_second_up_changes_nothing(converged: list[dict[str, Any]], lab: Any) -> None:
    first, second = converged
    assert set(second["hosts"]) == {h.name for h in lab.hosts}
    assert all(stats["changed"] > 0 for stats in first["hosts"].values())
    changed = {h: s["changed"] for h, s in second["hosts"].items() if s["changed"]}
    assert not changed, f"second run changed something: {changed}"


def test_verify_passes_including_the_probe_from_another_host(
        converged: list[dict[str, Any]], lab: Any) -> None:
    code, document, stderr = cli("verify", "-i", str(lab.inventory))
    problems = [(h, c["check"], c["message"]) for h, r in document.get("hosts", {}).items()
                for c in r["checks"] if c["outcome"] in ("failed", "error")]
    assert code == 0 and document["ok"], json.dumps(problems, indent=1) + stderr[-2000:]
    for host, report in document["hosts"].items():
        outcomes = {c["check"]: c["outcome"] for c in report["checks"]}
        probes = [c for c in outcomes if c.startswith("exposure::")]
        assert probes and all(outcomes[c] == "passed" for c in probes), (host, outcomes)
        for role in ("dspace_backend", "dspace_ui", "proxy", "handle_server", "dspace_tasks",
                     "site_https", "postgresql", "solr"):
            ran = [c for c, o in outcomes.items() if c.startswith(f"{role}::") and o == "passed"]
            assert ran, f"no {role} check passed on {host}: {outcomes}"


def _https(host: Any, hostname: str, path: str) -> tuple[int, bytes, dict[str, Any]]:
    """GET https://<hostname><path> from the controller, connecting to the lab host's address
    (SNI and Host are the public name). Returns status, body and the peer certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # lab certificates are self-signed; checked below
    with socket.create_connection((host.address, 443), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname=hostname) as tls:
        der = tls.getpeercert(binary_form=True)
        request = (f"GET {path} HTTP/1.1\r\nHost: {hostname}\r\nConnection: close\r\n"
                   "Accept: application/json, text/html\r\n\r\n")
        tls.sendall(request.encode())
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = unchunk(body)
    return status, body, {"der": der}



def _expected_version(artifacts: dict[str, Any], line: str, flavor: str) -> str:
    return str(artifacts["releases"][f"{line}-{flavor}"].dspace_version)


def test_rest_root_and_ui_through_the_proxy(converged: list[dict[str, Any]], lab: Any,
                                            artifacts: dict[str, Any]) -> None:
    for index, host in enumerate(lab.hosts, 1):
        for instance in _instances(lab, index):
            name = instance["hostname"]
            status, body, _ = _https(host, name, "/server/api")
            assert status == 200, (name, body[:300])
            root = json.loads(body)
            want = _expected_version(artifacts, instance["line"], instance["flavor"])
            assert root["dspaceVersion"] == f"DSpace {want}", (name, root)
            assert root["dspaceUI"] == f"https://{name}" and root["dspaceServer"] == (
                f"https://{name}/server")
            if instance["flavor"] == "cris":
                assert str(root.get("crisVersion", "")).startswith("cris-2025.02"), root
            status, body, _ = _https(host, name, "/server/oai/request?verb=Identify")
            assert status == 200 and b"<repositoryName>" in body, (name, body[:300])
            status, body, _ = _https(host, name, "/")
            assert status == 200 and b"<ds-app" in body, (name, body[:300])
            # server-side rendering reached the backend through the internal SSR URL
            assert name.encode() in body, (name, body[:500])


def _main_pid(host: Any, unit: str) -> str:
    return _exec(host, "systemctl", "show", "--property=MainPID", "--value", unit,
                 check=True).stdout.strip()


def test_instances_of_one_host_are_independent(converged: list[dict[str, Any]], lab: Any,
                                               artifacts: dict[str, Any]) -> None:
    host = lab.hosts[1]
    cris = f"cris.{host.name}.lab.test"
    repo = f"repo.{host.name}.lab.test"
    cris_pids = {u: _main_pid(host, f"dspace-cris-{u}.service") for u in ("backend", "ui")}
    _exec(host, "systemctl", "stop", "dspace-repo-backend.service", check=True)
    status, body, _ = _https(host, cris, "/server/api")
    assert status == 200 and json.loads(body)["dspaceVersion"].startswith("DSpace 9."), body
    status, _, _ = _https(host, repo, "/server/api")
    assert status in (502, 503, 504), f"the stopped backend still answers ({status})"
    code, document, stderr = _up(lab, artifacts, "--limit", host.name)
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-2000:]
    status, body, _ = _https(host, repo, "/server/api")
    assert status == 200, body[:300]
    # `up` repaired repo without restarting anything of cris
    assert {u: _main_pid(host, f"dspace-cris-{u}.service") for u in ("backend", "ui")} == cris_pids


def test_status_reports_every_instance(converged: list[dict[str, Any]], lab: Any,
                                       artifacts: dict[str, Any]) -> None:
    code, document, stderr = cli("status", "-i", str(lab.inventory))
    assert code == 0, json.dumps(document, indent=1) + stderr[-2000:]
    text = json.dumps(document)
    for index, _ in enumerate(lab.hosts, 1):
        for name, line, flavor in INSTANCES[index]:
            assert f"DSpace {_expected_version(artifacts, line, flavor)}" in text, (name, text)
    assert "UP_WITH_ISSUES" in text or '"UP"' in text, text
    host = lab.hosts[2]
    _exec(host, "systemctl", "stop", "dspace-repo-ui.service", check=True)
    try:
        code, document, _ = cli("status", "-i", str(lab.inventory), "--limit", host.name)
    finally:
        _exec(host, "systemctl", "start", "dspace-repo-ui.service", check=True)
    assert code == 1, document
    assert "ui is inactive" in json.dumps(document), document


def test_handle_bundle_fetches_every_site_bundle(converged: list[dict[str, Any]], lab: Any,
                                                 tmp_path: Path) -> None:
    """Every instance's sitebndl.zip, also from a handle.dir moved by extra_config, each
    advertising (siteinfo.bin, RFC 3652 HS_SITE) its own instance's ports: the second instance
    of stack-2 (port slot 1) 2642 and 8001, not make-handle-config's 2641 and 8000."""
    from dspace_deploy.lines import instance_ports
    from tests.handle_site import advertised_ports, bundle_site

    code, document, stderr = cli("handle", "bundle", "-i", str(lab.inventory),
                                 "--dest", str(tmp_path))
    assert code == 0, json.dumps(document, indent=1) + stderr[-2000:]
    bundles = sorted(tmp_path.rglob("*sitebndl.zip"))
    assert len(bundles) == sum(len(v) for v in INSTANCES.values()), bundles
    for index, host in enumerate(lab.hosts, 1):
        for slot, (name, _, _) in enumerate(INSTANCES[index]):
            ports = instance_ports(slot)
            wanted = sorted([("HTTP", ports["handle_http"]), ("TCP", ports["handle"]),
                             ("UDP", ports["handle"])])
            site = bundle_site(tmp_path / f"{host.name}-{name}-sitebndl.zip")
            assert advertised_ports(site) == wanted, (host.name, name, site)
            # the running server advertises the same (GET /api/site of its HTTP interface,
            # which listens on the bind address of config.dct, the host's address)
            handle_dir = (EXTRA_CONFIG.get(name, {}).get("handle.dir")
                          or f"/srv/dspace/{name}/handle-server")
            config = _exec(host, "cat", f"{handle_dir}/config.dct", check=True).stdout
            bind = re.search(r'"hdl_http_config"\s*=\s*\{[^}]*?"bind_address"\s*=\s*"([^"]*)"',
                             config)
            assert bind and bind.group(1) not in ("", "0.0.0.0", "127.0.0.1"), config
            done = _exec(host, "curl", "-sS", "--max-time", "20",
                         f"http://{bind.group(1)}:{ports['handle_http']}/api/site", check=True)
            assert advertised_ports(json.loads(done.stdout)["site"]) == wanted, done.stdout
    host = lab.hosts[1]
    assert _exec(host, "test", "-f", "/srv/dspace/cris/hdl/sitebndl.zip").returncode == 0
    # Ant made [dspace]/handle-server (it reads the installer's dspace.cfg, not the installed
    # local.cfg), but the server and its setup live in handle.dir only
    assert _exec(host, "test", "-e", "/srv/dspace/cris/handle-server/config.dct").returncode != 0


def test_bundles_built_for_dspace_dir_default_run_from_srv_dspace(
        converged: list[dict[str, Any]], lab: Any) -> None:
    """The bundles' server-boot.jar carries the build's dspace.dir (/dspace), also in
    logging.config (application.properties:128 at dspace-9.3); /dspace does not exist on the
    hosts, and every backend runs from /srv/dspace/<name>, logging there."""
    read_props = ("import sys, zipfile; print(zipfile.ZipFile(sys.argv[1])"
                  ".read('application.properties').decode())")
    for index, host in enumerate(lab.hosts, 1):
        assert _exec(host, "test", "-e", "/dspace").returncode != 0, host.name
        for name, _, _ in INSTANCES[index]:
            home = f"/srv/dspace/{name}"
            props = _exec(host, "python3", "-c", read_props, f"{home}/webapps/server-boot.jar",
                          check=True).stdout
            assert "logging.config = /dspace/config/log4j2.xml" in props, props
            unit = f"dspace-{name}-backend.service"
            assert _exec(host, "systemctl", "is-active", unit).stdout.strip() == "active"
            command = _exec(host, "systemctl", "show", "-p", "ExecStart", unit,
                            check=True).stdout
            assert f"-Dlogging.config={home}/config/log4j2.xml" in command, command
            log = _exec(host, "cat", f"{home}/log/dspace.log", check=True).stdout
            assert "HTTP listener started" in log, (host.name, name)
            # sitemaps and the Solr resync run from the timers only (local.cfg sets "-")
            assert "Scheduled job generateSitemap is disabled" in log, (host.name, name)
            assert "Scheduled job solrDatabaseResync is disabled" in log, (host.name, name)
            assert "with cron" not in log, (host.name, name)
            for task in ("generate-sitemaps", "solr-database-resync"):
                timer = f"dspace-{name}-{task}.timer"
                assert _exec(host, "systemctl", "is-active", timer).stdout.strip() == "active"


def test_cris_instance_runs_on_java_21_with_its_cores_and_workbook(
        converged: list[dict[str, Any]], lab: Any) -> None:
    host = lab.hosts[1]
    command = _exec(host, "systemctl", "show", "-p", "ExecStart", "dspace-cris-backend.service",
                    check=True).stdout
    assert "/usr/lib/jvm/java-21-openjdk-" in command, command
    status = _exec(host, "curl", "-sS", "--max-time", "20",
                   "http://127.0.0.1:8983/solr/admin/cores?action=STATUS&wt=json",
                   check=True).stdout
    cores = set(json.loads(status)["status"])
    assert {"cris-audit", "cris-dedup", "cris-search", "cris-qaevent"} <= cores, cores
    assert "cris-ocr" not in cores  # shipped, but only IIIF search uses it (off)
    assert _exec(host, "test", "-e", "/srv/dspace/cris/etc").returncode != 0
    marker = _exec(host, "cat", "/var/lib/dspace-deploy/dspace_backend/cris/cris-layout-imported",
                   check=True).stdout
    assert "/srv/dspace/cris/config/conftool/cris-layout-configuration.xls" in marker


def test_subscription_timers_run_on_both_flavors(converged: list[dict[str, Any]],
                                                 lab: Any) -> None:
    """DSpace-CRIS's subscription-send requires -t content|statistics; a run without it
    prints the help and exits 1 (so its timer would fail every night)."""
    host = lab.hosts[1]
    for name in ("repo", "cris"):
        service = f"dspace-{name}-subscription-send-daily.service"
        done = _exec(host, "systemctl", "start", service)
        journal = _exec(host, "journalctl", "--no-pager", "-u", service, "-n", "40").stdout
        assert done.returncode == 0, journal
        assert "Missing required option" not in journal and "usage:" not in journal, journal
        runs = journal.count("The script has completed")
        assert runs >= (2 if name == "cris" else 1), journal


def test_no_secret_in_any_run_artifact(converged: list[dict[str, Any]], lab: Any,
                                       state_home: Path) -> None:
    assert_no_secret_in_files(state_home, vault_secrets(lab))


def test_rest_answers_over_https_with_the_hosts_name(converged: list[dict[str, Any]],
                                                      lab: Any) -> None:
    """The self-signed certificate of each vhost names its host (checked by verify too)."""
    from cryptography import x509

    host = lab.hosts[1]
    for name in (f"repo.{host.name}.lab.test", f"cris.{host.name}.lab.test"):
        _, _, peer = _https(host, name, "/server/api")
        cert = x509.load_der_x509_certificate(peer["der"])
        names = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        assert name in names, (name, names)

