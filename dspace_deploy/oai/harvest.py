"""An OAI-PMH 2.0 harvester on the standard library (urllib + xml.etree), so that it also runs on
a managed host's own Python.

`Harvester(base_url)` speaks the six verbs of the protocol
(http://www.openarchives.org/OAI/openarchivesprotocol.html, section 4) with GET requests, follows
`resumptionToken`s (section 3.5) and turns the answers into small dataclasses. An OAI error answer
(section 3.6) raises `OaiError(code, message)`; anything that is not a well-formed OAI-PMH answer
(connection, TLS, HTTP status, XML, a token that loops) raises `HarvestError`. `noRecordsMatch`
on a list verb is the protocol's way of saying "an empty list", so list methods return `[]` for it.

The transport is pluggable: `fetch(url) -> bytes`. `http_fetch()` builds the default one; its
`connect_to` connects to a given address while the URL's host name stays in the TLS SNI, the
certificate check and the `Host` header (lab hosts' names do not resolve on the controller).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from dspace_deploy.i18n import _

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
VERBS = (
    "Identify",
    "ListMetadataFormats",
    "ListSets",
    "ListIdentifiers",
    "ListRecords",
    "GetRecord",
)
MAX_ERROR_BODY = 200  # characters of a non-OAI answer quoted in an error

Fetch = Callable[[str], bytes]


class HarvestError(Exception):
    """The answer could not be obtained or is not an OAI-PMH answer."""


class OaiError(Exception):
    """The repository answered with an OAI-PMH error (`<error code="...">message</error>`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------------------- transport


def http_fetch(
    connect_to: str | None = None,
    cafile: str | None = None,
    verify: bool = True,
    timeout: float = 30,
) -> Fetch:
    """A `fetch(url) -> bytes` on urllib. `connect_to`: an IP address (or name) to open the TCP
    connection to instead of the URL's host; `cafile`: CA bundle for the certificate check;
    `verify=False`: no certificate check at all (a lab's self-signed certificate)."""
    context = ssl.create_default_context(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    handlers: list[urllib.request.BaseHandler] = [
        _HTTPHandler(connect_to),
        _HTTPSHandler(connect_to, context),
    ]
    if connect_to:  # a given address is reached directly, never through an *_proxy variable
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)

    def fetch(url: str) -> bytes:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "dspace-deploy-oai/1"})
            with opener.open(request, timeout=timeout) as answer:
                body: bytes = answer.read()
                return body
        except urllib.error.HTTPError as e:
            text = e.read(MAX_ERROR_BODY).decode("utf-8", "replace").strip()
            raise HarvestError(
                _("{url}: HTTP {status} {reason} {body}").format(
                    url=url, status=e.code, reason=e.reason, body=text
                ).strip()
            ) from None
        except ValueError as e:  # not a URL urllib can open ("unknown url type")
            raise HarvestError(_("{url}: {reason}").format(url=url, reason=e)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            reason = e.reason if isinstance(e, urllib.error.URLError) else e
            raise HarvestError(
                _("{url}: cannot connect: {reason}").format(url=url, reason=reason)
            ) from None

    return fetch


class _DirectedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, connect_to: str | None, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self.connect_to = connect_to

    def connect(self) -> None:
        address = (self.connect_to or self.host, self.port)
        self.sock = socket.create_connection(address, self.timeout)


class _DirectedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self, host: str, *, connect_to: str | None, context: ssl.SSLContext, **kwargs: Any
    ) -> None:
        super().__init__(host, context=context, **kwargs)
        self.connect_to = connect_to
        self.tls = context

    def connect(self) -> None:
        address = (self.connect_to or self.host, self.port)
        raw = socket.create_connection(address, self.timeout)
        # SNI and the certificate's name are the URL's host, whatever address we connected to
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connect_to: str | None) -> None:
        super().__init__()
        self.connect_to = connect_to

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_DirectedHTTPConnection, connect_to=self.connect_to), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, connect_to: str | None, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self.connect_to = connect_to
        self.tls = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = partial(_DirectedHTTPSConnection, connect_to=self.connect_to, context=self.tls)
        return self.do_open(connection, req)


# ------------------------------------------------------------------------------------------ values


@dataclass(frozen=True)
class Identify:
    repository_name: str
    base_url: str
    protocol_version: str
    admin_emails: list[str]
    earliest_datestamp: str
    deleted_record: str
    granularity: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


@dataclass(frozen=True)
class OaiSet:
    spec: str
    name: str


@dataclass(frozen=True)
class Header:
    identifier: str
    datestamp: str
    set_specs: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass(frozen=True)
class Record:
    header: Header
    metadata: ET.Element | None  # the element inside <metadata> (oai_dc:dc for oai_dc)

    @property
    def fields(self) -> dict[str, list[str]]:
        """Flat metadata by local element name: {"title": [...], "date": [...]} for oai_dc;
        each value stripped of surrounding white space, empty elements kept as ""."""
        out: dict[str, list[str]] = {}
        if self.metadata is None:
            return out
        for child in self.metadata:
            if isinstance(child.tag, str):
                out.setdefault(_local(child.tag), []).append((child.text or "").strip())
        return out


# ---------------------------------------------------------------------------------------- harvester


class Harvester:
    """An OAI-PMH 2.0 client for one base URL (for a DSpace: `<oai.url>/<context>`)."""

    def __init__(self, base_url: str, *, fetch: Fetch | None = None, timeout: float = 30) -> None:
        self.base_url = base_url
        self.fetch: Fetch = fetch or http_fetch(timeout=timeout)

    def identify(self) -> Identify:
        node = self._answer({"verb": "Identify"}).find(_o("Identify"))
        if node is None:
            raise self._malformed("Identify", _("no <Identify> element"))
        return Identify(
            repository_name=_text(node, "repositoryName"),
            base_url=_text(node, "baseURL"),
            protocol_version=_text(node, "protocolVersion"),
            admin_emails=[(e.text or "").strip() for e in node.findall(_o("adminEmail"))],
            earliest_datestamp=_text(node, "earliestDatestamp"),
            deleted_record=_text(node, "deletedRecord"),
            granularity=_text(node, "granularity"),
        )

    def list_metadata_formats(self, identifier: str | None = None) -> list[MetadataFormat]:
        params = {"verb": "ListMetadataFormats"}
        if identifier:
            params["identifier"] = identifier
        node = self._answer(params).find(_o("ListMetadataFormats"))
        if node is None:
            raise self._malformed("ListMetadataFormats", _("no <ListMetadataFormats> element"))
        return [
            MetadataFormat(
                _text(f, "metadataPrefix"), _text(f, "schema"), _text(f, "metadataNamespace")
            )
            for f in node.findall(_o("metadataFormat"))
        ]

    def list_sets(self) -> list[OaiSet]:
        return [
            OaiSet(_text(s, "setSpec"), _text(s, "setName"))
            for s in self._pages("ListSets", {"verb": "ListSets"}, "set", None)
        ]

    def list_identifiers(
        self, prefix: str, set: str | None = None, *, limit: int | None = None
    ) -> list[Header]:
        params = _list_params("ListIdentifiers", prefix, set)
        return [_header(h) for h in self._pages("ListIdentifiers", params, "header", limit)]

    def list_records(
        self, prefix: str, set: str | None = None, limit: int | None = None
    ) -> list[Record]:
        """Records of the feed (all pages, or the first `limit` records)."""
        params = _list_params("ListRecords", prefix, set)
        return [_record(r) for r in self._pages("ListRecords", params, "record", limit)]

    def get_record(self, identifier: str, prefix: str) -> Record:
        params = {"verb": "GetRecord", "identifier": identifier, "metadataPrefix": prefix}
        node = self._answer(params).find(f"{_o('GetRecord')}/{_o('record')}")
        if node is None:
            raise self._malformed("GetRecord", _("no <GetRecord><record> element"))
        return _record(node)

    # ---------------------------------------------------------------------------------- internals

    def _pages(
        self, verb: str, params: dict[str, str], item: str, limit: int | None
    ) -> list[ET.Element]:
        """The `item` elements of a list verb, page after page until the token is empty."""
        out: list[ET.Element] = []
        seen: set[str] = set()
        while True:
            try:
                root = self._answer(params)
            except OaiError as e:
                if e.code == "noRecordsMatch" and "resumptionToken" not in params:
                    return out
                raise
            node = root.find(_o(verb))
            if node is None:
                raise self._malformed(verb, _("no <{verb}> element").format(verb=verb))
            out.extend(node.findall(_o(item)))
            if limit is not None and len(out) >= limit:
                return out[:limit]
            token = (node.findtext(_o("resumptionToken")) or "").strip()
            if not token:
                return out
            if token in seen:
                raise self._malformed(
                    verb, _("the resumptionToken {token} came twice").format(token=token)
                )
            seen.add(token)
            params = {"verb": verb, "resumptionToken": token}

    def _answer(self, params: dict[str, str]) -> ET.Element:
        """The checked <OAI-PMH> root of the answer; OaiError for an error answer."""
        url = f"{self.base_url}?{urllib.parse.urlencode(params)}"
        body = self.fetch(url)
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            snippet = body[:MAX_ERROR_BODY].decode("utf-8", "replace").strip()
            raise HarvestError(
                _("{url}: not XML ({error}): {body}").format(url=url, error=e, body=snippet)
            ) from None
        if root.tag != _o("OAI-PMH"):
            raise HarvestError(
                _("{url}: not an OAI-PMH answer (root element {tag})").format(url=url, tag=root.tag)
            )
        error = root.find(_o("error"))
        if error is not None:
            raise OaiError(error.get("code", ""), (error.text or "").strip())
        return root

    def _malformed(self, verb: str, what: str) -> HarvestError:
        return HarvestError(
            _("{url}: malformed {verb} answer: {what}").format(
                url=self.base_url, verb=verb, what=what
            )
        )


# ---------------------------------------------------------------------------------------- parsing


def _o(name: str) -> str:
    return f"{{{OAI_NS}}}{name}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(node: ET.Element, name: str) -> str:
    return (node.findtext(_o(name)) or "").strip()


def _list_params(verb: str, prefix: str, set_spec: str | None) -> dict[str, str]:
    params = {"verb": verb, "metadataPrefix": prefix}
    if set_spec:
        params["set"] = set_spec
    return params


def _header(node: ET.Element) -> Header:
    return Header(
        identifier=_text(node, "identifier"),
        datestamp=_text(node, "datestamp"),
        set_specs=[(s.text or "").strip() for s in node.findall(_o("setSpec"))],
        deleted=node.get("status") == "deleted",
    )


def _record(node: ET.Element) -> Record:
    header = node.find(_o("header"))
    if header is None:
        raise HarvestError(_("a record without a header"))
    metadata = node.find(_o("metadata"))
    elements = [] if metadata is None else [c for c in metadata if isinstance(c.tag, str)]
    return Record(_header(header), elements[0] if elements else None)
