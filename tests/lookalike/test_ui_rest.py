"""The UI and the REST API meet as the real releases do.

The look-alike backend (line 9) answers the REST calls the real dspace-angular 9.3 makes to
render its home page, in the shapes of DSpace's REST API; the look-alike UI makes the same
calls, writes into dist/browser at every start, answers 500 for the public host when the REST
API is unreachable and hangs when the REST root lacks a link it needs. Where the real build
is on this machine (tests/real_releases.py), the same assertions run against it too, so the
look-alike cannot drift from it unnoticed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.lookalike import build_release
from tests.lookalike.test_lookalike import (
    MISSING,
    Postgres,
    Procs,
    free_port,
    http,
    needs_tools,
    run,
    wait_for,
    wait_port,
)
from tests.real_releases import node_major, unpack_real_ui, why_no_real_ui

pytestmark = pytest.mark.lookalike

PUBLIC = "repo.example.test"
# The REST calls the real dspace-angular 9.3 made to render its home page for an anonymous
# visitor (observed against this backend; /work/shared/real-releases/README.md lists them),
# with the site's UUID as <site>. Paths below /server.
HOME_FEATURES = ("canViewUsageStatistics", "isCollectionAdmin", "isCommunityAdmin",
                 "administratorOf", "canSubmit", "coarNotifyEnabled", "canEditItem", "canSeeQA",
                 "canManageGroups", "canSendFeedback", "epersonRegistration",
                 "epersonForgotPassword")
HOME_CALLS = {
    "/api", "/api/authn/status", "/api/core/sites",
    "/api/system/scripts/metadata-export", "/api/system/scripts/metadata-import",
    "/api/config/properties/contentreport.enable", "/api/config/properties/submit.type-bind.field",
    "/api/discover/browses?size=9999", "/api/system/systemwidealerts/search/active",
    "/api/core/communities/search/top?page=0&size=5&sort=dc.title,ASC", "/api/discover",
    "/api/discover/search",
    "/api/discover/search/objects?sort=dc.date.accessioned,DESC&page=0&size=5&dsoType=ITEM"
    "&embed=thumbnail",
} | {f"/api/authz/authorizations/search/object?uri=<site>&feature={feature}&embed=feature"
     for feature in HOME_FEATURES}

UIS = ["lookalike", pytest.param("real", marks=pytest.mark.real_ui)]


@dataclass
class Backend:
    base: str  # http://127.0.0.1:<port>/server (the SSR URL)
    dspace: Path
    site: str

    @property
    def log(self) -> Path:
        return self.dspace / "log" / "dspace.log"

    def requests_since(self, offset: int) -> list[str]:
        """Paths (below /server, site UUID as <site>) of the requests logged after `offset`."""
        text = self.log.read_bytes()[offset:].decode()
        paths = re.findall(r" INFO \S+ Request GET /server(\S*) ", text)
        return [p.replace(f"{self.base}/api/core/sites/{self.site}", "<site>") for p in paths]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """A line-9 look-alike backend with its database, installed as the role installs it."""
    if MISSING:
        pytest.skip(f"missing: {', '.join(MISSING)}")
    root = Path(tempfile.mkdtemp(prefix="ui-rest-"))
    os.chmod(root, 0o755)
    procs = Procs()
    pg = Postgres(root / "pg")
    try:
        rel = build_release("9", tmp_path_factory.mktemp("bundle"))
        installer = rel.unpack_installer(root / "unpacked")
        dspace = root / "dspace"
        port = free_port()
        base = f"http://127.0.0.1:{port}/server"
        (installer / "config" / "local.cfg").write_text(
            f"dspace.dir = {dspace}\ndb.url = {pg.createdb('uirest')}\n"
            f"solr.server = http://127.0.0.1:{free_port()}/solr\ndspace.name = UI Test Repository\n"
            f"dspace.server.url = https://{PUBLIC}/server\ndspace.server.ssr.url = {base}\n"
            f"dspace.ui.url = https://{PUBLIC}\n")
        run(["ant", "fresh_install"], cwd=installer)
        jar = dspace / "webapps" / "server-boot.jar"
        # As the role's unit: the jar's baked logging.config names /dspace (docs/stack.md).
        procs.start(["java", f"-Ddspace.dir={dspace}",
                     f"-Dlogging.config={dspace}/config/log4j2.xml", f"-Dserver.port={port}",
                     "-Dserver.address=127.0.0.1", "-jar", str(jar)], log=root / "boot.out")
        wait_port(port)
        sites = json.loads(http(base + "/api/core/sites")[1])
        yield Backend(base, dspace, sites["_embedded"]["sites"][0]["id"])
    finally:
        procs.close()
        pg.close()
        shutil.rmtree(root, ignore_errors=True)


def _get(url: str, **headers: str) -> tuple[int, dict]:
    status, body = http(url, headers=headers)
    return status, json.loads(body) if body else {}


# ------------------------------------------------------------------------------- the REST API


@needs_tools
def test_root_lists_the_links_of_dspace_9_3(backend: Backend) -> None:
    status, root = _get(backend.base + "/api")
    assert status == 200 and root["dspaceServer"] == backend.base, root
    links = root["_links"]
    for rel in ("authn", "authorizations", "browses", "communities", "discover", "properties",
                "scripts", "sites", "systemwidealerts", "items", "epersons", "statistics"):
        assert links[rel]["href"].startswith(backend.base + "/api/"), (rel, links.get(rel))
    assert links["pid"] == {"href": backend.base + "/api/pid/find{?id}", "templated": True}
    # properties that are off leave their repositories out (@ConditionalOnProperty)
    assert "duplicates" not in links and "orcidqueues" not in links
    assert list(links) == sorted(links), "links are sorted by rel (HalLinkService.addLinks)"
    assert links["self"]["href"] == backend.base + "/api"
    # through the proxy: dspaceServer is the public URL, self follows the forwarded request
    _, public = _get(backend.base + "/api", **{"X-Forwarded-Proto": "https",
                                              "X-Forwarded-Host": PUBLIC})
    assert public["_links"]["self"]["href"] == f"https://{PUBLIC}/server/api"


@needs_tools
def test_endpoints_answer_in_the_shapes_of_the_rest_api(backend: Backend) -> None:
    base = backend.base
    status, authn = _get(base + "/api/authn/status")
    assert status == 200 and authn["okay"] is True and authn["authenticated"] is False
    assert authn["type"] == "status"
    assert authn["_links"]["self"]["href"] == base + "/api/authn/status"

    status, sites = _get(base + "/api/core/sites")
    site = sites["_embedded"]["sites"][0]
    assert site["type"] == "site" and site["uuid"] == backend.site and site["handle"].endswith("/0")
    assert sites["page"] == {"size": 20, "totalElements": 1, "totalPages": 1, "number": 0}

    status, script = _get(base + "/api/system/scripts/metadata-export")
    assert status == 401 and script["status"] == 401, script  # anonymous

    status, prop = _get(base + "/api/config/properties/submit.type-bind.field")
    assert status == 200 and prop == {
        "name": "submit.type-bind.field", "values": ["dc.type"], "type": "property",
        "_links": {"self": {"href": base + "/api/config/properties/submit.type-bind.field"}}}
    # exposed but unset (contentreport.enable is commented out in 9.3), and not exposed
    for name in ("contentreport.enable", "db.password"):
        assert _get(base + f"/api/config/properties/{name}")[0] == 404, name

    status, browses = _get(base + "/api/discover/browses?size=9999")
    indexes = {b["id"]: b for b in browses["_embedded"]["browses"]}
    assert list(indexes) == ["dateissued", "author", "title", "subject"]
    assert indexes["author"]["browseType"] == "valueList"
    assert indexes["author"]["metadata"] == ["dc.contributor.*", "dc.creator"]
    assert indexes["dateissued"] | {"sortOptions": None, "_links": None} == {
        "id": "dateissued", "browseType": "flatBrowse", "metadata": ["dc.date.issued"],
        "dataType": "date", "sortOptions": None, "order": "ASC", "type": "browse", "_links": None}
    assert browses["_links"]["self"]["href"] == base + "/api/discover/browses?size=9999"

    site_uri = f"{base}/api/core/sites/{backend.site}"
    query = f"?uri={site_uri}&feature=canSendFeedback&embed=feature"
    status, granted = _get(base + "/api/authz/authorizations/search/object" + query)
    authorization = granted["_embedded"]["authorizations"][0]
    assert authorization["id"] == f"canSendFeedback_core.site_{backend.site}"
    assert authorization["_embedded"]["feature"]["resourcetypes"] == ["core.site"]
    # the self link keeps the query string, without `embed` (RestResourceController)
    assert granted["_links"]["self"]["href"] == (
        f"{base}/api/authz/authorizations/search/object?uri={site_uri}&feature=canSendFeedback")
    _, denied = _get(base + "/api/authz/authorizations/search/object"
                     f"?uri={site_uri}&feature=canSubmit&embed=feature")
    assert "_embedded" not in denied and denied["page"]["totalElements"] == 0

    status, top = _get(base + "/api/core/communities/search/top?page=0&size=5&sort=dc.title,ASC")
    assert status == 200 and top["page"]["size"] == 5
    assert top["_links"]["self"]["href"].endswith("/search/top?page=0&size=5&sort=dc.title,ASC")


@needs_tools
def test_every_request_is_logged(backend: Backend) -> None:
    offset = backend.log.stat().st_size
    http(backend.base + "/api/discover?probe=1")
    http(backend.base + "/nothing-here")
    assert backend.requests_since(offset) == ["/api/discover?probe=1", "/nothing-here"]


# ---------------------------------------------------------------------------------------- UIs


class Ui:
    """One UI server (look-alike or real) in a directory of its own."""

    def __init__(self, kind: str, root: Path, procs: Procs) -> None:
        if kind == "real":
            reason = why_no_real_ui() or (
                None if node_major() >= 20 else "the real UI needs Node.js 20+")
            if reason:
                pytest.skip(reason)
            self.app = unpack_real_ui(root)
        else:
            self.app = build_release("9", root / "bundle").unpack_ui(root / "ui")
        self.kind = kind
        self.procs = procs
        self.port = free_port()
        self.out = root / f"{kind}-ui.out"
        self.process: subprocess.Popen[bytes] | None = None

    def configure(self, ssr_base_url: str) -> None:
        (self.app / "config" / "config.prod.yml").write_text(
            f"ui:\n  ssl: false\n  host: 127.0.0.1\n  port: {self.port}\n  nameSpace: /\n"
            f"  baseUrl: https://{PUBLIC}\n  useProxies: true\n"
            f"rest:\n  ssl: true\n  host: {PUBLIC}\n  port: 443\n  nameSpace: /server\n"
            f"  ssrBaseUrl: {ssr_base_url}\n")

    def start(self, user: str | None = None) -> subprocess.Popen[bytes]:
        command = ["node", "dist/server/main.js"]
        if user:
            command = ["runuser", "-u", user, "--", *command]
        self.process = self.procs.start(command, cwd=self.app, log=self.out,
                                        env=dict(os.environ, NODE_ENV="production"))
        return self.process

    def wait_listening(self) -> None:
        wait_for(lambda: "Listening at" in self.out.read_text(), 60, f"the {self.kind} UI")

    def get(self, path: str = "/", host: str = PUBLIC, timeout: float = 60) -> tuple[int, str]:
        return http(f"http://127.0.0.1:{self.port}{path}", headers={"Host": host}, timeout=timeout)


@pytest.fixture
def ui_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ui-"))
    os.chmod(path, 0o755)  # a test runs the server as another user
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_tools
@pytest.mark.parametrize("kind", UIS)
def test_ui_renders_the_home_page_with_the_calls_of_the_real_ui(
        kind: str, backend: Backend, ui_dir: Path) -> None:
    procs = Procs()
    try:
        ui = Ui(kind, ui_dir, procs)
        ui.configure(backend.base)
        ui.start()
        ui.wait_listening()
        offset = backend.log.stat().st_size
        started = time.monotonic()
        status, body = ui.get("/")
        seconds = time.monotonic() - started
        calls = set(backend.requests_since(offset))
    finally:
        procs.close()
    assert status == 200, body[:500]
    assert re.search(r'<ds-app[^>]* ng-server-context="ssr"', body), body[:500]
    assert "<title>DSpace Repository :: Home</title>" in body
    assert calls == HOME_CALLS, (sorted(calls - HOME_CALLS), sorted(HOME_CALLS - calls))
    assert seconds < 30, seconds


@needs_tools
@pytest.mark.parametrize("kind", UIS)
def test_ui_without_its_rest_api_answers_500_for_the_public_host(kind: str, ui_dir: Path) -> None:
    procs = Procs()
    try:
        ui = Ui(kind, ui_dir, procs)
        ui.configure(f"http://127.0.0.1:{free_port()}/server")  # nothing listens there
        ui.start()
        ui.wait_listening()
        public = ui.get("/")
        other = ui.get("/", host="127.0.0.1")
        health = ui.get("/app/health")
    finally:
        procs.close()
    assert public[0] == 500, public[1][:300]
    assert "<title>DSpace Repository :: Service unavailable</title>" in public[1]
    # another Host gets the client-side shell (9+ renders only for ui.baseUrl's host)
    assert other[0] == 200 and "<ds-app></ds-app>" in other[1]
    assert health == (503, '{"error":"fetch failed"}')


class _RootWithoutBrowses(BaseHTTPRequestHandler):
    """A REST API whose root lacks the links the UI needs."""

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}/server"
        root = {"dspaceServer": base, "dspaceVersion": "DSpace 9.3", "type": "root",
                "_links": {"self": {"href": base + "/api"},
                           "authn": {"href": base + "/api/authn"},
                           "sites": {"href": base + "/api/core/sites"}}}
        body = json.dumps(root if self.path.rstrip("/") == "/server/api" else {}).encode()
        self.send_response(200 if self.path.rstrip("/") == "/server/api" else 404)
        self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@needs_tools
@pytest.mark.parametrize("kind", UIS)
def test_a_rest_root_without_the_links_the_ui_needs_hangs_the_page(kind: str, ui_dir: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RootWithoutBrowses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    procs = Procs()
    try:
        ui = Ui(kind, ui_dir, procs)
        ui.configure(f"http://127.0.0.1:{server.server_address[1]}/server")
        ui.start()
        ui.wait_listening()
        with pytest.raises((TimeoutError, socket.timeout)):
            ui.get("/", timeout=8)
        log = ui.out.read_text()
    finally:
        procs.close()
        server.shutdown()
    assert "doesn't contain the link" in log, log[-2000:]


@needs_tools
@pytest.mark.parametrize("kind", UIS)
def test_ui_writes_into_dist_browser_at_every_start(
        kind: str, ui_dir: Path, backend: Backend) -> None:
    if os.geteuid() != 0:
        pytest.skip("runs the server as another user (nobody): needs root")
    procs = Procs()
    try:
        ui = Ui(kind, ui_dir, procs)
        ui.configure(backend.base)
        # dist/browser owned by root, as a release unpacked by root is: the server cannot start
        shutil.chown(ui.app, "root")
        for path in (ui.app / "dist" / "browser" / "assets", ui.app / "dist" / "browser"):
            path.chmod(0o755)
        (ui.app / "dist" / "browser" / "assets").chmod(0o777)
        failed = ui.start(user="nobody")
        assert failed.wait(60) != 0
        assert "EACCES: permission denied" in ui.out.read_text(), ui.out.read_text()[-2000:]
        # as root it writes the hashed copies and the mapping in index.html, every start
        for _ in range(2):  # the second start replaces what the first one wrote
            ui.start()
            ui.wait_listening()
            procs.stop(ui.process)
    finally:
        procs.close()
    browser = ui.app / "dist" / "browser"
    assert len(list(browser.glob("dspace-theme.*.css"))) == 1  # the hashed copy, once
    assert len(list((browser / "assets").glob("config.*.json"))) == 1
    mapping = re.search(r'<script id="hashed-file-mapping" type="application/json">([^<]*)<',
                        (browser / "index.html").read_text())
    assert mapping, "index.html has no hashed file mapping"
    assert set(json.loads(mapping.group(1))) == {"assets/config.json", "dspace-theme.css"}


# ------------------------------------------------------------------ password login with CSRF


def _login(base: str, user: str, password: str, token: str | None,
           cookie: str | None) -> tuple[int, Any]:
    """Status and headers (case-insensitive, as HTTP's) of a login POST."""
    import urllib.error
    import urllib.parse
    import urllib.request

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["X-XSRF-TOKEN"] = token
    if cookie is not None:
        headers["Cookie"] = f"DSPACE-XSRF-COOKIE={cookie}"
    body = urllib.parse.urlencode({"user": user, "password": password}).encode()
    request = urllib.request.Request(base + "/api/authn/login", data=body, headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


@needs_tools
def test_password_login_needs_the_csrf_token_then_the_password(backend: Backend) -> None:
    """As DSpace (RestContract authentication.md, csrf-tokens.md; DSpaceCsrfTokenRepository,
    StatelessLoginFilter @dspace-9.3): a POST without the token is 403 and hands out one; the
    token in X-XSRF-TOKEN must equal the DSPACE-XSRF-COOKIE; a wrong password is 401; the
    right one gives the JWT in `Authorization: Bearer`."""
    import urllib.request

    run([str(backend.dspace / "bin" / "dspace"), "create-administrator", "-e",
         "trainer@example.test", "-f", "Ana", "-l", "Trainer", "-p", "kq7m-x3pd-9trw", "-c", "en"])
    status, headers = _login(backend.base, "trainer@example.test", "kq7m-x3pd-9trw", None, None)
    assert status == 403 and headers.get("DSPACE-XSRF-TOKEN"), (status, headers)
    with urllib.request.urlopen(backend.base + "/api/authn/status", timeout=10) as response:
        token = response.headers["DSPACE-XSRF-TOKEN"]
        cookie = re.search(r"DSPACE-XSRF-COOKIE=([^;]+)", response.headers["Set-Cookie"])
    assert token and cookie and cookie.group(1) == token
    assert "HttpOnly" in response.headers["Set-Cookie"]
    status, _ = _login(backend.base, "trainer@example.test", "kq7m-x3pd-9trw", "forged", token)
    assert status == 403
    status, headers = _login(backend.base, "trainer@example.test", "wrong-password", token,
                             token)
    assert status == 401 and headers.get("Authorization") is None
    status, headers = _login(backend.base, "TRAINER@example.test", "kq7m-x3pd-9trw", token,
                             token)
    assert status == 200 and headers["Authorization"].startswith("Bearer "), headers
    # the login resets the CSRF token (JWTTokenRestAuthenticationServiceImpl.addTokenToResponse):
    # an emptied cookie, then the new token in the cookie and in DSPACE-XSRF-TOKEN
    renewed = headers["DSPACE-XSRF-TOKEN"]
    assert renewed and renewed != token
    cookies = headers.get_all("Set-Cookie")
    assert cookies[0].startswith("DSPACE-XSRF-COOKIE=;")
    assert f"DSPACE-XSRF-COOKIE={renewed};" in cookies[1]


# ------------------------------------------------------------- groups through the REST API


class _Client:
    """A REST client as the Angular UI is one: the CSRF token of the last answer that brought
    one, the bearer token after the login."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.csrf: str | None = None
        self.bearer: str | None = None

    def call(self, method: str, path: str, body: bytes | None = None, ctype: str | None = None,
             csrf: bool = True) -> tuple[int, Any]:
        import urllib.error
        import urllib.request

        headers = {}
        if csrf and self.csrf:
            headers.update({"X-XSRF-TOKEN": self.csrf, "Cookie": f"DSPACE-XSRF-COOKIE={self.csrf}"})
        if self.bearer:
            headers["Authorization"] = self.bearer
        if ctype:
            headers["Content-Type"] = ctype
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, answer, raw = error.code, error.headers, error.read()
        self.csrf = answer.get("DSPACE-XSRF-TOKEN") or self.csrf
        if (answer.get("Authorization") or "").startswith("Bearer "):
            self.bearer = answer["Authorization"]
        return status, json.loads(raw) if raw else None

    def login(self, user: str, password: str) -> int:
        import urllib.parse

        self.call("GET", "/api/authn/status")
        form = urllib.parse.urlencode({"user": user, "password": password}).encode()
        return self.call("POST", "/api/authn/login", form, "application/x-www-form-urlencoded")[0]

    def post_json(self, path: str, data: Any) -> tuple[int, Any]:
        return self.call("POST", path, json.dumps(data).encode(), "application/json")


def _accounts(backend: Backend) -> tuple[str, str]:
    """An administrator and a user who can log in (password for both), and two without one."""
    dspace = str(backend.dspace / "bin" / "dspace")
    password = "w4tr-9xkq-m2pd"
    if "groups-admin@example.test" not in run([dspace, "user", "--list"]).stdout:
        run([dspace, "create-administrator", "-e", "groups-admin@example.test", "-f", "Gil",
             "-l", "Admin", "-p", password, "-c", "en"])
        for email in ("plain@example.test", "member-a@example.test", "member-b@example.test"):
            run([dspace, "user", "--add", "-m", email, "-g", "A", "-s", "B", "-p", password])
    return "groups-admin@example.test", password


@needs_tools
def test_groups_are_made_and_filled_through_rest_as_in_dspace_9_3(backend: Backend) -> None:
    """GroupRestRepository and GroupRestController @dspace-9.3: the CSRF check first (403), then
    who asks (401 anonymous, 403 no administrator), 201 for a new group with its description,
    500 for a name taken again (a unique index, nothing checks before the commit), 422 without a
    name; byMetadata finds names containing the query (LIKE); members are added by their links
    as text/uri-list (204; a link to nobody is 422 and adds no one)."""
    admin, password = _accounts(backend)
    anonymous, plain, client = _Client(backend.base), _Client(backend.base), _Client(backend.base)
    assert plain.login("plain@example.test", password) == 200
    assert client.login(admin, password) == 200
    trainers = {"name": "Workshop Trainers",
                "metadata": {"dc.description": [{"value": "People who teach the workshop"}]}}
    assert client.call("POST", "/api/eperson/groups", json.dumps(trainers).encode(),
                       "application/json", csrf=False)[0] == 403
    anonymous.call("GET", "/api/authn/status")
    assert anonymous.post_json("/api/eperson/groups", trainers)[0] == 401
    assert plain.post_json("/api/eperson/groups", trainers)[0] == 403
    assert client.call("POST", "/api/eperson/groups", b"name=x", "text/plain")[0] == 415
    status, group = client.post_json("/api/eperson/groups", trainers)
    assert status == 201, group
    assert group["name"] == "Workshop Trainers" and group["permanent"] is False
    assert group["type"] == "group" and group["handle"] is None
    assert group["metadata"]["dc.description"][0]["value"] == "People who teach the workshop"
    assert group["_links"]["self"]["href"] == f"{backend.base}/api/eperson/groups/{group['id']}"
    assert set(group["_links"]) == {"epersons", "object", "self", "subgroups"}
    assert client.post_json("/api/eperson/groups", {"name": "Workshop Trainers"})[0] == 500
    status, error = client.post_json("/api/eperson/groups", {"name": "  "})
    assert status == 422 and error["message"] == "Cannot create group, no group name is provided"
    assert client.call("POST", "/api/eperson/groups", b"", "application/json")[0] == 422
    # byMetadata: case-insensitive "contains"; LIKE wildcards stay wildcards
    search = "/api/eperson/groups/search/byMetadata?query="
    status, found = client.call("GET", search + "trainers")
    assert status == 200
    assert [g["name"] for g in found["_embedded"]["groups"]] == ["Workshop Trainers"]
    # with Administrator and Anonymous
    assert client.call("GET", search + "%25")[1]["page"]["totalElements"] == 3
    assert anonymous.call("GET", search + "trainers")[0] == 401
    assert plain.call("GET", search + "trainers")[0] == 403
    assert client.call("GET", "/api/eperson/groups/search/byMetadata")[0] == 400
    status, again = client.call("GET", f"/api/eperson/groups/{group['id']}")
    assert status == 200 and again["name"] == "Workshop Trainers"
    assert client.call("GET", "/api/eperson/groups/00000000-0000-4000-8000-000000000000")[0] == 404
    # members: the e-person's self link (any link ending in its UUID), as text/uri-list
    by_email = "/api/eperson/epersons/search/byEmail?email="
    status, member = client.call("GET", by_email + "member-a@example.test")
    assert status == 200 and member["email"] == "member-a@example.test"
    assert member["type"] == "eperson"
    assert client.call("GET", by_email + "nobody@example.test")[0] == 204
    assert anonymous.call("GET", by_email + "member-a@example.test")[0] == 204  # may not read it
    members = f"/api/eperson/groups/{group['id']}/epersons"
    link = member["_links"]["self"]["href"].encode()
    assert client.call("POST", members, link, "application/json")[0] == 415
    assert plain.call("POST", members, link, "text/uri-list")[0] == 403
    assert client.call("POST", "/api/eperson/groups/00000000-0000-4000-8000-000000000000/epersons",
                       link, "text/uri-list")[0] == 404
    nobody = f"{backend.base}/api/eperson/epersons/00000000-0000-4000-8000-000000000000".encode()
    assert client.call("POST", members, link + b"\n" + nobody, "text/uri-list")[0] == 422
    status, page = client.call("GET", members)
    assert status == 200 and page["_embedded"]["epersons"] == []
    assert page["page"]["totalElements"] == 0
    for _ in range(2):  # a member added twice is one member
        assert client.call("POST", members, link, "text/uri-list")[0] == 204
    status, page = client.call("GET", members)
    assert [e["email"] for e in page["_embedded"]["epersons"]] == ["member-a@example.test"]
    assert page["page"]["totalElements"] == 1
    # a token this backend did not sign is no login
    forged = _Client(backend.base)
    forged.bearer = client.bearer[:-2] + ("AA" if not client.bearer.endswith("AA") else "BB")
    assert forged.call("GET", search + "trainers")[0] == 401


def _program() -> Any:
    import importlib.machinery
    import importlib.util

    repo = Path(__file__).resolve().parents[2]
    os.environ["DSPACE_BACKUP_PROGRAM"] = str(repo / "roles/dspace_backup/files/dspace-backup")
    loader = importlib.machinery.SourceFileLoader(
        "dspace_content_program", str(repo / "roles/dspace_content/files/dspace-content"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@needs_tools
def test_dspace_content_seeds_groups_through_this_rest_api(
        backend: Backend, tmp_path: Path) -> None:
    """The seed program's REST client (roles/dspace_content/files/dspace-content) against the
    backend: groups made once with their members, read back; a second run makes nothing; a
    wrong password and a member without an account are errors that never show the password."""
    program = _program()
    admin, password = _accounts(backend)
    table = tmp_path / "groups.csv"
    table.write_text("name,description,members\n"
                     "Seed Readers,Who reads,member-a@example.test\n"
                     "Seed Writers,,MEMBER-A@example.test member-b@example.test\n")
    rows = program.read_groups(table)
    rest = program.Rest(backend.base)
    rest.login(admin, password)
    assert program.seed_groups(rest, rows) == ["Seed Readers", "Seed Writers"]
    again = program.Rest(backend.base)
    again.login(admin, password)
    assert program.seed_groups(again, rows) == []
    writers = program.find_group(again, "Seed Writers")
    assert program.member_emails(again, writers) == {"member-a@example.test",
                                                     "member-b@example.test"}
    assert "dc.description" not in writers["metadata"]
    readers = program.find_group(again, "Seed Readers")
    assert readers["metadata"]["dc.description"][0]["value"] == "Who reads"
    with pytest.raises(program.Error) as refused:
        program.Rest(backend.base).login(admin, "not-" + password)
    assert "refused the login of groups-admin@example.test (401" in refused.value.what
    assert password not in refused.value.what + refused.value.fix
    table.write_text("name,description,members\nSeed Ghosts,,ghost@example.test\n")
    with pytest.raises(program.Error) as ghost:
        program.seed_groups(again, program.read_groups(table))
    assert "ghost@example.test, who has no account" in ghost.value.what
