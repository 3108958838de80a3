"""The real dspace-angular 9.3 under the dspace_ui role, the rest of the stack look-alike.

One Debian 13 lab host, one DSpace 9 instance, deployed by `up` from a look-alike line-9
bundle whose UI archive is the real production build (tests/real_releases.py; the module
skips without it). The home page must come back through nginx for the public host name,
rendered server-side; `verify` passes (its checks include the unit's sandbox, which lab hosts
enforce as a VM does); the server rewrites files in dist/browser at every start and a second
`up` still changes nothing; and a UI that accepts connections but never answers fails the
role within its start timeout instead of half an hour.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import EXE, cli
from tests.real_releases import bundle_with_real_ui, why_no_real_ui

pytestmark = [pytest.mark.lab, pytest.mark.lookalike, pytest.mark.real_ui]

NAME = "repo"
# REST calls of the real UI's home page that the look-alike backend must have answered.
HOME_CALLS = ("/server/api/discover/browses?size=9999", "/server/api/config/properties/",
              "/server/api/core/communities/search/top?page=0&size=5&sort=dc.title,ASC",
              "/server/api/authz/authorizations/search/object?uri=")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = why_no_real_ui()
    if reason:
        pytest.skip(reason)
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    lookalike = build_release("9", tmp_path_factory.mktemp("lookalike") / "9-dspace")
    bundle_with_real_ui(lookalike.root, root / "9-dspace")
    return root


@pytest.fixture(scope="module")
def lab(lab_factory: Any, artifacts: Path) -> Any:
    lab = lab_factory("realui", hosts=1, oses=("debian13",), connection="ssh",
                      preload=True)
    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    host = lab.hosts[0]
    data["all"]["children"]["dspace"]["hosts"][host.name]["dspace_instances"] = [
        {"name": NAME, "hostname": _public(lab), "line": "9",
         "admin_email": f"admin@{host.name}.lab.test"}]
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return lab


def _public(lab: Any) -> str:
    return f"{NAME}.{lab.hosts[0].name}.lab.test"


def _exec(lab: Any, *command: str, check: bool = True,
          privileged: bool = False) -> subprocess.CompletedProcess[str]:
    """Run a command on the lab host as root; `privileged` adds the capabilities a lab host
    withholds (CAP_SYS_PTRACE: entering another user's process's namespaces)."""
    done = subprocess.run(["podman", "exec", *(["--privileged"] if privileged else []),
                           lab.hosts[0].container, *command],
                          capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done


def _up(lab: Any, artifacts: Path,
        inventory: Path | None = None) -> tuple[int, dict[str, Any], str]:
    started = time.monotonic()
    code, document, stderr = cli("up", "-i", str(inventory or lab.inventory),
                                 "--artifacts", str(artifacts))
    document["_seconds"] = round(time.monotonic() - started)
    return code, document, stderr


def _failures(document: dict[str, Any]) -> str:
    return json.dumps(document.get("failures"), indent=1)


def _home(lab: Any) -> tuple[int, str]:
    """GET https://<public name>/ through nginx on the lab host."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the lab's self-signed certificate
    name = _public(lab)
    with socket.create_connection((lab.hosts[0].address, 443), timeout=120) as raw, \
            context.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def _ui_pid(lab: Any) -> str:
    return _exec(lab, "systemctl", "show", "--property=MainPID", "--value",
                 f"dspace-{NAME}-ui.service").stdout.strip()


@pytest.fixture(scope="module")
def converged(lab: Any, artifacts: Path) -> dict[str, Any]:
    code, document, stderr = _up(lab, artifacts)
    print(f"real UI: first up {document['_seconds']} s")
    assert code == 0, _failures(document) + stderr[-3000:]
    return document


def test_the_home_page_is_rendered_server_side_through_nginx(converged: dict[str, Any],
                                                              lab: Any) -> None:
    status, body = _home(lab)
    assert status == 200, body[:500]
    assert 'ng-server-context="ssr"' in body and "<title>DSpace Repository :: Home</title>" in body
    package = json.loads(_exec(lab, "cat", f"/srv/dspace-ui/{NAME}/current/package.json").stdout)
    assert (package["name"], package["version"]) == ("dspace-angular", "9.3.0")
    # the real UI reached the look-alike backend over its internal SSR URL, for this page or
    # for the role's start wait (the UI may answer from its cache of anonymous pages)
    calls = _exec(lab, "cat", f"/srv/dspace/{NAME}/log/dspace.log").stdout
    for call in HOME_CALLS:
        assert f"Request GET {call}" in calls, call


def test_verify_passes_with_the_sandbox_in_force(converged: dict[str, Any], lab: Any) -> None:
    code, document, stderr = cli("verify", "-i", str(lab.inventory))
    problems = [(h, c["check"], c["message"]) for h, r in document.get("hosts", {}).items()
                for c in r["checks"] if c["outcome"] in ("failed", "error")]
    assert code == 0 and document["ok"], json.dumps(problems, indent=1) + stderr[-2000:]
    outcomes = {c["check"]: c["outcome"] for r in document["hosts"].values() for c in r["checks"]}
    assert outcomes.get("dspace_ui::test_ui_runs_in_its_sandbox") == "passed", outcomes


def test_the_ui_cannot_write_outside_dist_browser(converged: dict[str, Any], lab: Any) -> None:
    pid = _ui_pid(lab)
    namespaces = _exec(lab, "readlink", "/proc/1/ns/mnt", f"/proc/{pid}/ns/mnt",
                       privileged=True).stdout.split()
    assert len(namespaces) == 2 and namespaces[0] != namespaces[1], namespaces
    current = f"/srv/dspace-ui/{NAME}/current"
    # as root inside the UI's mount namespace: read-only everywhere but dist/browser
    for path in ("/etc/dspace-deploy-probe", f"{current}/config/dspace-deploy-probe",
                 f"/srv/dspace/{NAME}/dspace-deploy-probe"):
        probe = _exec(lab, "nsenter", f"--target={pid}", "--mount", "--", "touch", path,
                      check=False, privileged=True)
        assert probe.returncode != 0 and "Read-only file system" in probe.stderr, (path, probe)
    inside = f"{current}/dist/browser/dspace-deploy-probe"
    _exec(lab, "nsenter", f"--target={pid}", "--mount", "--", "sh", "-c",
          f"touch {inside} && rm {inside}", privileged=True)
    # the full sandbox: systemd holds CAP_SYS_ADMIN on lab hosts now
    unit = _exec(lab, "cat", f"/etc/systemd/system/dspace-{NAME}-ui.service").stdout
    assert "SystemCallFilter=@system-service @pkey" in unit


def test_a_restart_rewrites_dist_browser_and_a_second_up_changes_nothing(
        converged: dict[str, Any], lab: Any, artifacts: Path) -> None:
    browser = f"/srv/dspace-ui/{NAME}/current/dist/browser"
    _exec(lab, "systemctl", "restart", f"dspace-{NAME}-ui.service")
    deadline = time.monotonic() + 120
    while _exec(lab, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "30", "-H",
                f"Host: {_public(lab)}", "http://127.0.0.1:4000/", check=False).stdout != "200":
        assert time.monotonic() < deadline, _exec(lab, "journalctl", "-u",
                                                  f"dspace-{NAME}-ui", "-n", "30").stdout
        time.sleep(2)
    owners = _exec(lab, "stat", "-c", "%U %n", *_exec(
        lab, "sh", "-c", f"ls -d {browser}/dspace-theme.*.css {browser}/assets/config.*.json"
    ).stdout.split()).stdout
    assert owners.count("dspace ") == 2, owners  # written by the service user at this start
    assert "hashed-file-mapping" in _exec(lab, "cat", f"{browser}/index.html").stdout
    code, document, stderr = _up(lab, artifacts)
    print(f"real UI: second up {document['_seconds']} s")
    assert code == 0, _failures(document) + stderr[-2000:]
    changed = {h: s["changed"] for h, s in document["hosts"].items() if s["changed"]}
    assert not changed, f"second up changed something: {changed}"
    converged["_converged_up_seconds"] = document["_seconds"]


def test_a_ui_that_never_answers_fails_within_the_start_timeout(
        converged: dict[str, Any], lab: Any, artifacts: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The UI's REST API accepts connections and never answers, so the real UI accepts the
    role's request and never answers it either (its server-side rendering waits for the REST
    root): the role's wait gives up after dspace_ui_start_timeout (20 s here), not after
    retries x the request timeout. Last test of the module: it leaves the UI misconfigured."""
    if "_converged_up_seconds" not in converged:  # this test alone: measure a converged up
        code, document, stderr = _up(lab, artifacts)
        assert code == 0, _failures(document) + stderr[-2000:]
        converged["_converged_up_seconds"] = document["_seconds"]
    _exec(lab, "systemd-run", "--unit=silent-rest", "python3", "-c",
          "import socket\n"
          "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
          "s.bind(('127.0.0.1', 9999)); s.listen(64); held = []\n"
          "while True: held.append(s.accept())\n")
    inventory = tmp_path_factory.mktemp("inv-hang") / "inventory"
    shutil.copytree(lab.inventory, inventory)
    hosts_yml = inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    host_vars = data["all"]["children"]["dspace"]["hosts"][lab.hosts[0].name]
    host_vars["dspace_ui_start_timeout"] = 20
    host_vars["dspace_ui_config_overrides"] = {
        "rest": {"ssrBaseUrl": "http://127.0.0.1:9999/server"}}
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    code, document, _ = _up(lab, artifacts, inventory)
    print(f"real UI: up with a silent REST API failed after {document['_seconds']} s "
          f"(converged up: {converged['_converged_up_seconds']} s)")
    assert code == 1, document
    text = _failures(document)
    assert "did not answer" in text and "within 20 s" in text and "hangs" in text, text
    # A converged run plus the UI role's tasks and its 20 s wait; the wait of old alone
    # (10 retries x a 30 s request timeout) took more than 300 s.
    assert document["_seconds"] < converged["_converged_up_seconds"] + 20 + 90, (
        document["_seconds"], converged["_converged_up_seconds"])
