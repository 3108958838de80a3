"""A workshop lab: `lab up --students 3 --per-host 2` on podman lab hosts, end to end.

Three students at two per host make two hosts (s01 and s02 on the first, ports slots 0 and 1;
s03 on the second), from the preloaded lab image (the package installs are under test in
test_stack/test_site), the look-alike DSpace 9, content `sample-en`. Proven here: each
student's URL answers through the HTTPS proxy with its content; each student logs in through
the REST API (CSRF token first, as DSpace requires) with the login and password of the
credentials sheet, and a wrong password is refused; the sheet lists exactly the three; no
password is in any run artifact; `lab reset --student s02` restores s02 and leaves s01's
changes; a rerun of `lab up` changes nothing (runner stats) and takes no second golden;
`lab down` removes the containers, the lab directory and the vault password.

Without the content support (role dspace_content, playbooks/content.yml) the workshop is
made with `--content none` and the content and reset tests are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import csv
import json
import secrets
import socket
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import preload_packages
from tests.integration.helpers import EXE, assert_no_secret_in_files, cli, unchunk

pytestmark = [pytest.mark.lab, pytest.mark.lookalike]

STUDENTS, PER_HOST = 3, 2


def _content_supported() -> bool:
    from dspace_deploy.errors import DeployError
    from dspace_deploy.lab import workshop

    try:
        workshop._require_content_support(
            workshop.plan_workshop(workshop.WorkshopRequest("probe", 1), host_memory_mb=8192))
    except DeployError:
        return False
    return True


CONTENT = "sample" if _content_supported() else "none"
needs_content = pytest.mark.skipif(
    CONTENT == "none", reason="no sample content support in this build (role dspace_content)")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    build_release("9", root / "9-dspace")
    return root


@pytest.fixture(scope="module")
def workshop_up(artifacts: Path, state_home: Path,
                _isolated_user_dirs: Path) -> Iterator[dict[str, Any]]:
    from dspace_deploy.lab import workshop

    name = f"t-ws-{secrets.token_hex(3)}"
    started = time.monotonic()
    try:
        request = workshop.WorkshopRequest(name, STUDENTS, per_host=PER_HOST, content=CONTENT)
        outcome = workshop.lab_up(request, artifacts=str(artifacts), preload=preload_packages(),
                                  progress=lambda message: print(message, flush=True))
        seconds = time.monotonic() - started
        print(f"workshop lab up: {seconds:.0f} s {outcome.seconds}", flush=True)
        assert outcome.ok, json.dumps(outcome.as_dict(), indent=1)[-4000:]
        yield {"name": name, "outcome": outcome, "artifacts": artifacts, "seconds": seconds}
    finally:
        from dspace_deploy.errors import DeployError

        with contextlib.suppress(DeployError):  # test_lab_down_removes_everything did it
            workshop.lab_down(name)


def _sheet(workshop_up: dict[str, Any]) -> list[dict[str, str]]:
    with Path(workshop_up["outcome"].sheet["csv"]).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _lab(workshop_up: dict[str, Any]) -> Any:
    from dspace_deploy.lab.labs import list_labs

    return next(lab for lab in list_labs() if lab.name == workshop_up["name"])


def _address(workshop_up: dict[str, Any], host: str) -> str:
    lab = _lab(workshop_up)
    address = next(h.address for h in lab.hosts if h.name == host)
    assert address, f"{host} has no address"
    return str(address)


def _request(address: str, hostname: str, method: str, path: str,
             headers: dict[str, str] | None = None, body: bytes = b"",
             ) -> tuple[int, dict[str, str], bytes]:
    """An HTTPS request to the lab host's address with SNI and Host the student's name.
    Returns the status, the headers (names lowercased; Set-Cookie joined) and the body."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # lab certificates are self-signed
    lines = [f"{method} {path} HTTP/1.1", f"Host: {hostname}", "Connection: close",
             "Accept: application/json, text/html", f"Content-Length: {len(body)}"]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    with socket.create_connection((address, 443), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname=hostname) as tls:
        tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, str] = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        key = key.strip().lower()
        parsed[key] = f"{parsed[key]}; {value.strip()}" if key in parsed else value.strip()
    if "chunked" in parsed.get("transfer-encoding", ""):
        payload = unchunk(payload)
    return int(status_line.split()[1]), parsed, payload



def _login(address: str, hostname: str, user: str, password: str) -> tuple[int, dict[str, str]]:
    """DSpace's password login: the CSRF token from a first request, then the POST."""
    status, headers, _ = _request(address, hostname, "GET", "/server/api/authn/status")
    assert status == 200, status
    token = headers.get("dspace-xsrf-token")
    assert token, headers
    form = urllib.parse.urlencode({"user": user, "password": password}).encode()
    status, headers, _ = _request(
        address, hostname, "POST", "/server/api/authn/login",
        {"Content-Type": "application/x-www-form-urlencoded", "X-XSRF-TOKEN": token,
         "Cookie": f"DSPACE-XSRF-COOKIE={token}"}, form)
    return status, headers


def _top_communities(address: str, hostname: str) -> list[str]:
    status, _, body = _request(address, hostname, "GET",
                               "/server/api/core/communities/search/top?page=0&size=50")
    assert status == 200, body[:300]
    page = json.loads(body)
    return [c["name"] for c in (page.get("_embedded") or {}).get("communities", [])]


def _exec(container: str, command: str, stdin: str | None = None) -> str:
    done = subprocess.run(["podman", "exec", "-i", container, "bash", "-c", command],
                          input=stdin, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done.stdout


# --- tests, in order ----------------------------------------------------------------------


def test_the_sheet_lists_exactly_the_students(workshop_up: dict[str, Any]) -> None:
    rows = _sheet(workshop_up)
    name = workshop_up["name"]
    assert [r["student"] for r in rows] == ["s01", "s02", "s03"]
    assert [r["url"] for r in rows] == [f"https://s0{n}.{name}.lab.test/" for n in (1, 2, 3)]
    assert len({r["password"] for r in rows}) == 3
    html = Path(workshop_up["outcome"].sheet["html"]).read_text()
    assert html.count('class="card"') == 3
    for path in workshop_up["outcome"].sheet.values():
        assert Path(path).stat().st_mode & 0o777 == 0o600
    hosts = {s.name: s.host for s in workshop_up["outcome"].students}
    assert hosts == {"s01": f"{name}-1", "s02": f"{name}-1", "s03": f"{name}-2"}


def test_each_student_url_answers(workshop_up: dict[str, Any]) -> None:
    for student in workshop_up["outcome"].students:
        address = _address(workshop_up, student.host)
        status, _, body = _request(address, student.hostname, "GET", "/server/api")
        assert status == 200, (student.name, body[:300])
        root = json.loads(body)
        assert root["dspaceUI"] == f"https://{student.hostname}", root
        status, _, body = _request(address, student.hostname, "GET", "/")
        assert status == 200 and b"<ds-app" in body, (student.name, body[:300])


@needs_content
def test_each_student_url_answers_with_its_content(workshop_up: dict[str, Any]) -> None:
    for student in workshop_up["outcome"].students:
        address = _address(workshop_up, student.host)
        assert _top_communities(address, student.hostname), student.name
        status, _, body = _request(address, student.hostname, "GET",
                                   "/server/api/discover/search/objects?dsoType=ITEM&size=5")
        assert status == 200, body[:300]
        assert json.loads(body)["_embedded"]["searchResult"]["page"]["totalElements"] > 0


def test_each_student_logs_in_with_the_sheet(workshop_up: dict[str, Any]) -> None:
    rows = {r["student"]: r for r in _sheet(workshop_up)}
    for student in workshop_up["outcome"].students:
        address = _address(workshop_up, student.host)
        row = rows[student.name]
        status, headers = _login(address, student.hostname, row["login"], row["password"])
        assert status == 200 and headers.get("authorization", "").startswith("Bearer "), (
            student.name, status)
        # another student's password is no key to this instance
        other = rows["s03" if student.name != "s03" else "s01"]["password"]
        status, _ = _login(address, student.hostname, row["login"], other)
        assert status == 401, (student.name, status)


def test_no_password_in_run_artifacts_or_output(workshop_up: dict[str, Any],
                                                state_home: Path) -> None:
    passwords = [r["password"] for r in _sheet(workshop_up)]
    assert_no_secret_in_files(state_home, passwords)
    document = json.dumps(workshop_up["outcome"].as_dict())
    assert not any(p in document for p in passwords)


def _plant(workshop_up: dict[str, Any], student: str) -> None:
    from tests.lookalike.seed import Community, content_sql

    host = next(s.host for s in workshop_up["outcome"].students if s.name == student)
    container = next(h.container for h in _lab(workshop_up).hosts if h.name == host)
    planted = Community(f"123456789/9{secrets.randbelow(1000)}", f"Planted by {student}")
    _exec(container, f"runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -d dspace_{student}",
          stdin=content_sql([planted], [], []))


@needs_content
def test_reset_one_student_restores_only_that_one(workshop_up: dict[str, Any]) -> None:
    students = {s.name: s for s in workshop_up["outcome"].students}
    for name in ("s01", "s02"):
        _plant(workshop_up, name)
    for name in ("s01", "s02"):
        student = students[name]
        address = _address(workshop_up, student.host)
        assert f"Planted by {name}" in _top_communities(address, student.hostname)
    started = time.monotonic()
    code, document, stderr = cli("lab", "reset", workshop_up["name"], "--student", "s02",
                                 "--yes")
    print(f"lab reset s02: {time.monotonic() - started:.0f} s", flush=True)
    assert code == 0, json.dumps(document, indent=1)[-3000:] + stderr[-2000:]
    assert [s["name"] for s in document["students"]] == ["s02"]
    s01, s02 = students["s01"], students["s02"]
    assert "Planted by s02" not in _top_communities(_address(workshop_up, s02.host),
                                                    s02.hostname)
    assert _top_communities(_address(workshop_up, s02.host), s02.hostname)  # golden is back
    assert "Planted by s01" in _top_communities(_address(workshop_up, s01.host), s01.hostname)


def test_rerun_of_lab_up_changes_nothing(workshop_up: dict[str, Any]) -> None:
    started = time.monotonic()
    code, document, stderr = cli(
        "lab", "up", "--name", workshop_up["name"], "--students", str(STUDENTS),
        "--per-host", str(PER_HOST), "--content", CONTENT, "--artifacts",
        str(workshop_up["artifacts"]))
    print(f"lab up rerun: {time.monotonic() - started:.0f} s", flush=True)
    assert code == 0, json.dumps(document, indent=1)[-3000:] + stderr[-2000:]
    assert document["runs"]["up"]["changed"] == 0, document["runs"]["up"]
    assert set(document["runs"]) == {"up"}  # no second golden snapshot
    rows = _sheet(workshop_up)
    assert [r["student"] for r in rows] == ["s01", "s02", "s03"]
    # a wrong shape is refused before anything is touched
    code, document, _ = cli("lab", "up", "--name", workshop_up["name"], "--students", "4",
                            "--per-host", str(PER_HOST), "--content", CONTENT)
    assert code == 2 and "another shape" in document["error"], document


def test_lab_down_removes_everything(workshop_up: dict[str, Any]) -> None:
    from dspace_deploy.lab import labs

    name = workshop_up["name"]
    containers = [h.container for h in _lab(workshop_up).hosts]
    done = subprocess.run([EXE, "lab", "down", name, "--json"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(json.loads(done.stdout)["removed"][0]["containers"]) == sorted(containers)
    left = subprocess.run(["podman", "ps", "--all", "--filter", f"label=dspace-deploy.lab={name}",
                           "--format", "{{.Names}}"], capture_output=True, text=True,
                          check=True).stdout.split()
    assert left == []
    assert not labs.lab_dir(name).exists()
    assert not labs.lab_vault_password_file(name).exists()
