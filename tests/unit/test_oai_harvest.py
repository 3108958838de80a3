"""The OAI-PMH harvester against small, real OAI-PMH 2.0 documents (served by a fake `fetch` that
keys on the request's arguments) and its urllib transport against a local HTTP(S) server."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from dspace_deploy.oai.harvest import Harvester, HarvestError, OaiError, http_fetch

BASE = "https://repo.example.edu/server/oai/request"
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<responseDate>2026-12-05T08:00:00Z</responseDate>"
    '<request verb="{verb}">' + BASE + "</request>{body}</OAI-PMH>"
)


def oai(verb: str, body: str) -> bytes:
    return ENVELOPE.format(verb=verb, body=body).encode()


def record(n: int, *, deleted: bool = False, dc: str = "") -> str:
    status = ' status="deleted"' if deleted else ""
    header = (
        f"<header{status}><identifier>oai:repo:123456789/{n}</identifier>"
        f"<datestamp>2021-01-0{1 + n % 9}T00:00:00Z</datestamp>"
        "<setSpec>com_123456789_1</setSpec><setSpec>col_123456789_10</setSpec></header>"
    )
    if deleted:
        return f"<record>{header}</record>"
    metadata = (
        '<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>Article {n}</dc:title>{dc}</oai_dc:dc></metadata>"
    )
    return f"<record>{header}{metadata}</record>"


class Feed:
    """A fetch(url) that answers from a table keyed on the query's arguments; records calls."""

    def __init__(self, answers: dict[tuple[tuple[str, str], ...], bytes]) -> None:
        self.answers = answers
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        base, query = url.split("?", 1)
        assert base == BASE
        key = tuple(sorted(urllib.parse.parse_qsl(query)))
        if key not in self.answers:
            return oai("", '<error code="badArgument">unexpected request</error>')
        return self.answers[key]


def k(**params: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(params.items()))


def test_identify() -> None:
    feed = Feed(
        {
            k(verb="Identify"): oai(
                "Identify",
                "<Identify><repositoryName>Repositorio UNX</repositoryName>"
                f"<baseURL>{BASE}</baseURL><protocolVersion>2.0</protocolVersion>"
                "<adminEmail>a@unx.edu</adminEmail><adminEmail>b@unx.edu</adminEmail>"
                "<earliestDatestamp>2015-03-04T05:06:07Z</earliestDatestamp>"
                "<deletedRecord>transient</deletedRecord>"
                "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify>",
            )
        }
    )
    ident = Harvester(BASE, fetch=feed).identify()
    assert ident.repository_name == "Repositorio UNX"
    assert ident.admin_emails == ["a@unx.edu", "b@unx.edu"]
    assert ident.earliest_datestamp == "2015-03-04T05:06:07Z"
    assert ident.deleted_record == "transient"
    assert ident.as_dict()["granularity"] == "YYYY-MM-DDThh:mm:ssZ"


def test_formats_and_sets_follow_tokens() -> None:
    feed = Feed(
        {
            k(verb="ListMetadataFormats"): oai(
                "ListMetadataFormats",
                "<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
                "<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>"
                "<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/"
                "</metadataNamespace></metadataFormat></ListMetadataFormats>",
            ),
            k(verb="ListSets"): oai(
                "ListSets",
                "<ListSets><set><setSpec>driver</setSpec><setName>Open Access DRIVERset"
                "</setName></set><resumptionToken cursor=\"0\">////100</resumptionToken>"
                "</ListSets>",
            ),
            k(verb="ListSets", resumptionToken="////100"): oai(
                "ListSets",
                "<ListSets><set><setSpec>openaire</setSpec><setName>OpenAIRE</setName></set>"
                '<resumptionToken cursor="1"/></ListSets>',
            ),
        }
    )
    h = Harvester(BASE, fetch=feed)
    [dc] = h.list_metadata_formats()
    assert (dc.prefix, dc.namespace) == ("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc/")
    assert [(s.spec, s.name) for s in h.list_sets()] == [
        ("driver", "Open Access DRIVERset"),
        ("openaire", "OpenAIRE"),
    ]


def test_list_records_follows_tokens_and_stops_at_the_limit() -> None:
    page1 = "".join(record(n) for n in range(3))
    page2 = record(3) + record(4, deleted=True)
    feed = Feed(
        {
            k(verb="ListRecords", metadataPrefix="oai_dc", set="col_123456789_10"): oai(
                "ListRecords",
                f'<ListRecords>{page1}<resumptionToken completeListSize="5" cursor="0">'
                "oai_dc///col_123456789_10/3</resumptionToken></ListRecords>",
            ),
            k(verb="ListRecords", resumptionToken="oai_dc///col_123456789_10/3"): oai(
                "ListRecords", f"<ListRecords>{page2}<resumptionToken/></ListRecords>"
            ),
        }
    )
    h = Harvester(BASE, fetch=feed)
    records = h.list_records("oai_dc", set="col_123456789_10")
    assert [r.header.identifier.rsplit("/", 1)[1] for r in records] == ["0", "1", "2", "3", "4"]
    assert records[0].fields == {"title": ["Article 0"]}
    assert records[0].header.set_specs == ["com_123456789_1", "col_123456789_10"]
    assert records[4].header.deleted and records[4].metadata is None and records[4].fields == {}
    assert len(feed.urls) == 2
    feed.urls.clear()
    assert len(h.list_records("oai_dc", set="col_123456789_10", limit=2)) == 2
    assert len(feed.urls) == 1  # the second page is not asked for


def test_list_identifiers_and_get_record() -> None:
    dc = "<dc:date>2020-05-17</dc:date><dc:date> 2020 </dc:date><dc:type></dc:type>"
    feed = Feed(
        {
            k(verb="ListIdentifiers", metadataPrefix="oai_dc"): oai(
                "ListIdentifiers",
                "<ListIdentifiers><header><identifier>oai:repo:123456789/7</identifier>"
                "<datestamp>2021-01-01T00:00:00Z</datestamp></header></ListIdentifiers>",
            ),
            k(verb="GetRecord", identifier="oai:repo:123456789/7", metadataPrefix="oai_dc"): oai(
                "GetRecord", f"<GetRecord>{record(7, dc=dc)}</GetRecord>"
            ),
        }
    )
    h = Harvester(BASE, fetch=feed)
    [header] = h.list_identifiers("oai_dc")
    rec = h.get_record(header.identifier, "oai_dc")
    assert rec.fields == {"title": ["Article 7"], "date": ["2020-05-17", "2020"], "type": [""]}


def test_oai_errors_and_empty_lists() -> None:
    feed = Feed(
        {
            k(verb="ListRecords", metadataPrefix="oai_dc"): oai(
                "ListRecords", '<error code="noRecordsMatch">No matches for the query</error>'
            ),
            k(verb="GetRecord", identifier="x", metadataPrefix="oai_dc"): oai(
                "GetRecord", '<error code="idDoesNotExist">The given id does not exist</error>'
            ),
            k(verb="ListSets"): oai(
                "ListSets", '<error code="noSetHierarchy">This repository has no sets</error>'
            ),
        }
    )
    h = Harvester(BASE, fetch=feed)
    assert h.list_records("oai_dc") == []  # noRecordsMatch: an empty list
    with pytest.raises(OaiError) as e:
        h.get_record("x", "oai_dc")
    assert (e.value.code, e.value.message) == ("idDoesNotExist", "The given id does not exist")
    with pytest.raises(OaiError, match="noSetHierarchy"):
        h.list_sets()


def test_not_oai_answers_are_harvest_errors() -> None:
    answers = {
        k(verb="Identify"): b"<html><body>Welcome</body></html>",
        k(verb="ListSets"): b"<OAI-PMH",
        k(verb="ListMetadataFormats"): oai("ListMetadataFormats", ""),
        # a token that comes back forever
        k(verb="ListIdentifiers", metadataPrefix="oai_dc"): oai(
            "ListIdentifiers", "<ListIdentifiers><resumptionToken>t</resumptionToken>"
            "</ListIdentifiers>"
        ),
        k(verb="ListIdentifiers", resumptionToken="t"): oai(
            "ListIdentifiers", "<ListIdentifiers><resumptionToken>t</resumptionToken>"
            "</ListIdentifiers>"
        ),
    }
    h = Harvester(BASE, fetch=Feed(answers))
    with pytest.raises(HarvestError, match="not an OAI-PMH answer"):
        h.identify()
    with pytest.raises(HarvestError, match="not XML"):
        h.list_sets()
    with pytest.raises(HarvestError, match="no <ListMetadataFormats>"):
        h.list_metadata_formats()
    with pytest.raises(HarvestError, match="came twice"):
        h.list_identifiers("oai_dc")


# ------------------------------------------------------------------------------------- transport


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Host")))
        if "missing" in self.path:
            self.send_error(404, "Not here")
            return
        body = oai("Identify", '<error code="badVerb">Illegal verb</error>')
        self.send_response(200)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    _Handler.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_http_fetch_connects_to_the_given_address_with_the_urls_host(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a proxy in the environment is not used for a given address (it would refuse: port 9)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    port = server.server_address[1]
    # the name does not resolve; connect_to takes the connection to 127.0.0.1
    url = f"http://repo.lab.invalid:{port}/server/oai/request"
    h = Harvester(url, fetch=http_fetch(connect_to="127.0.0.1", timeout=5))
    with pytest.raises(OaiError, match="badVerb"):
        h.identify()
    assert _Handler.seen == [("/server/oai/request?verb=Identify", f"repo.lab.invalid:{port}")]
    with pytest.raises(HarvestError, match="HTTP 404"):
        http_fetch(connect_to="127.0.0.1", timeout=5)(url + "/missing")
    with pytest.raises(HarvestError, match="cannot connect"):
        http_fetch(timeout=5)(url)  # without connect_to the name is looked up, and fails
    with pytest.raises(HarvestError, match="unknown url type"):
        Harvester("repo.example.edu/server/oai/request").identify()  # no scheme


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_https_fetch_sends_the_urls_host_as_sni_and_checks_the_certificate(
    server, tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=repo.lab.invalid", "-addext", "subjectAltName=DNS:repo.lab.invalid",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,func-returns-value]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    url = f"https://repo.lab.invalid:{port}/server/oai/request"
    h = Harvester(url, fetch=http_fetch(connect_to="127.0.0.1", cafile=str(cert), timeout=5))
    with pytest.raises(OaiError, match="badVerb"):
        h.identify()
    assert names == ["repo.lab.invalid"]
    # the default trust store does not know this certificate; verify=False accepts it
    with pytest.raises(HarvestError, match="CERTIFICATE_VERIFY_FAILED"):
        http_fetch(connect_to="127.0.0.1", timeout=5)(url + "?verb=Identify")
    assert b"badVerb" in http_fetch(connect_to="127.0.0.1", verify=False, timeout=5)(url)
