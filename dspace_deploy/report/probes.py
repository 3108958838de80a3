"""The controller's own probes of a member, from outside, as a user or a harvester sees it.

Each probe connects to the host's address (the public name when it resolves on the
controller, else the inventory's `ansible_host`: lab hosts' names resolve nowhere) and speaks
to it under the instance's public name (TLS SNI and the Host header). Standard library only,
plus `cryptography` (an Ansible dependency) to read certificates. Every probe returns what it
saw, never raises for a host that does not answer.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import struct
import time
import warnings
from datetime import UTC, datetime

from dspace_deploy.i18n import _
from dspace_deploy.report.model import HandleInfo, OaiInfo, TlsInfo

TIMEOUT = 10.0
PROTOCOLS = (
    ("TLSv1", ssl.TLSVersion.TLSv1),
    ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
    ("TLSv1.2", ssl.TLSVersion.TLSv1_2),
    ("TLSv1.3", ssl.TLSVersion.TLSv1_3),
)


def address_of(hostname: str, ansible_host: str | None) -> str:
    """Where to connect: the public name if the controller resolves it, else ansible_host."""
    try:
        socket.getaddrinfo(hostname, 443, type=socket.SOCK_STREAM)
        return hostname
    except (OSError, UnicodeError):
        return ansible_host or hostname


def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _connect_tls(address: str, hostname: str, context: ssl.SSLContext,
                 port: int = 443) -> ssl.SSLSocket:
    raw = socket.create_connection((address, port), timeout=TIMEOUT)
    try:
        return context.wrap_socket(raw, server_hostname=hostname)
    except BaseException:
        raw.close()
        raise


# --- TLS ------------------------------------------------------------------------------------

def probe_tls(address: str, hostname: str, mode: str = "", port: int = 443) -> TlsInfo:
    """The certificate served for `hostname` (issuer, expiry), whether the controller trusts
    it, the protocol versions the server accepts, and the HSTS header of its home page."""
    info = TlsInfo(mode=mode)
    try:
        with _connect_tls(address, hostname, _unverified(), port) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as err:
        info.error = _why(err)
        return info
    if der:
        _read_certificate(info, der)
    info.trusted, info.trust_error = _verify(address, hostname, port)
    info.protocols = [name for name, version in PROTOCOLS
                      if _accepts(address, hostname, port, version)]
    try:
        _status, headers, _body = https_get(address, hostname, "/", port)
        info.hsts = headers.get("strict-transport-security")
    except (OSError, ssl.SSLError, http.client.HTTPException):
        info.hsts = None
    return info


def _read_certificate(info: TlsInfo, der: bytes) -> None:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    info.issuer = cert.issuer.rfc4514_string()
    info.subject = cert.subject.rfc4514_string()
    expires = cert.not_valid_after_utc
    info.not_after = expires.isoformat()
    left = (expires - datetime.now(UTC)).total_seconds()
    info.days_left = int(left / 86400)
    info.expired = left < 0


def _verify(address: str, hostname: str, port: int) -> tuple[bool, str | None]:
    context = ssl.create_default_context()
    cafile = os.environ.get("DSPACE_DEPLOY_REPORT_CAFILE")  # a network's own CA
    if cafile:
        context.load_verify_locations(cafile)
    try:
        with _connect_tls(address, hostname, context, port):
            return True, None
    except ssl.SSLCertVerificationError as err:
        return False, str(err.verify_message or err)
    except (OSError, ssl.SSLError) as err:
        return False, _why(err)


def _accepts(address: str, hostname: str, port: int, version: ssl.TLSVersion) -> bool:
    context = _unverified()
    try:
        # Old versions need the lowest security level to be offered by the client at all;
        # asking for them is the point here, so Python's deprecation warning is not for us.
        context.set_ciphers("ALL:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = version
            context.maximum_version = version
    except (ValueError, ssl.SSLError):
        return False
    try:
        with _connect_tls(address, hostname, context, port):
            return True
    except (OSError, ssl.SSLError):
        return False


def https_get(address: str, hostname: str, path: str,
              port: int = 443) -> tuple[int, dict[str, str], bytes]:
    """GET https://hostname/path from `address` without following redirects; headers lower-case."""
    with _connect_tls(address, hostname, _unverified(), port) as tls:
        tls.settimeout(TIMEOUT * 3)
        connection = http.client.HTTPConnection(hostname, port, timeout=TIMEOUT * 3)
        connection.sock = tls
        connection.request("GET", path, headers={"Host": hostname, "User-Agent":
                                                 "dspace-deploy-report"})
        response = connection.getresponse()
        body = response.read(4 * 1024 * 1024)
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, body


# --- UI -------------------------------------------------------------------------------------

def probe_ui(address: str, hostname: str) -> tuple[bool, str | None]:
    """Whether the home page, through the proxy, was rendered on the server: Angular
    Universal marks the root it rendered `ng-server-context="ssr"` (dspace-angular 9.3,
    tests/integration/test_real_ui.py); a client-side shell has an empty `<ds-app></ds-app>`."""
    try:
        status, _headers, body = https_get(address, hostname, "/")
    except (OSError, ssl.SSLError, http.client.HTTPException) as err:
        return False, _why(err)
    text = body.decode("utf-8", "replace")
    if status != 200:
        return False, f"HTTP {status}"
    if 'ng-server-context="ssr"' in text:
        return True, None
    if "<ds-app" in text:
        return False, _("the page is the client-side shell (server-side rendering is off or "
                        "failed)")
    return False, _("the page is not the DSpace UI")


# --- Handle ---------------------------------------------------------------------------------

def probe_handle(address: str, prefix: str, tcp_port: int, http_port: int,
                 sample: str | None) -> HandleInfo:
    """The handle server's public ports (TCP and UDP handle protocol, HTTP interface) and the
    resolution of a sample handle through its HTTP JSON API (`/api/handles/<handle>`)."""
    handle = sample or f"{prefix}/0"  # the site object's handle (DSpace creates it)
    info = HandleInfo(prefix=prefix, sample=handle)
    info.ports[f"tcp/{tcp_port}"] = _tcp(address, tcp_port)
    info.ports[f"udp/{tcp_port}"] = _udp_handle(address, tcp_port, handle)
    info.ports[f"http/{http_port}"] = _tcp(address, http_port)
    if info.ports[f"http/{http_port}"] != "open":
        info.error = f"http/{http_port} {info.ports[f'http/{http_port}']}"
        return info
    try:
        connection = http.client.HTTPConnection(address, http_port, timeout=TIMEOUT)
        connection.request("GET", f"/api/handles/{handle}")
        response = connection.getresponse()
        document = json.loads(response.read(1024 * 1024) or b"{}")
    except (OSError, ValueError, http.client.HTTPException) as err:
        info.error = _why(err)
        return info
    values = document.get("values") if isinstance(document, dict) else None
    urls = [v.get("data", {}).get("value") for v in values or []
            if isinstance(v, dict) and v.get("type") == "URL"]
    if document.get("responseCode") == 1 and urls:
        info.resolved_url = str(urls[0])
    else:
        info.error = f"responseCode {document.get('responseCode')}"
    return info


def _tcp(address: str, port: int) -> str:
    try:
        with socket.create_connection((address, port), timeout=TIMEOUT):
            return "open"
    except ConnectionRefusedError:
        return "closed"
    except TimeoutError:
        return "filtered"
    except OSError as err:
        return _why(err)


def _udp_handle(address: str, port: int, handle: str) -> str:
    """Send a handle resolution request (RFC 3652) by UDP: "open" when the server answers it
    with a Handle protocol message, "closed" when the host says nothing listens (ICMP port
    unreachable), "no answer" when the datagram went unanswered (a firewall, or a server with
    UDP resolution off), "not a handle server" when something else answered."""
    request_id = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(3)
        try:
            udp.connect((address, port))
            udp.send(resolution_request(handle, request_id))
            answer = udp.recv(65535)
        except ConnectionRefusedError:
            return "closed"
        except TimeoutError:
            return "no answer"
        except OSError as err:
            return _why(err)
    try:
        resolution_answer(answer, request_id)
    except ValueError:
        return "not a handle server"
    return "open"


def resolution_request(handle: str, request_id: int = 1) -> bytes:
    """A Handle protocol 2.1 resolution request (RFC 3652 sections 2.2.1-2.2.2, 3.2): the
    envelope, a header with OC_RESOLUTION (1), the body (handle, no index, no type), and an
    empty credential."""
    name = handle.encode("utf-8")
    body = struct.pack(">I", len(name)) + name + struct.pack(">II", 0, 0)
    expiration = int(time.time()) + 60
    header = struct.pack(">IIIHBBII", 1, 0, 0, 0, 0, 0, expiration, len(body))
    message = header + body + struct.pack(">I", 0)
    envelope = struct.pack(">BBHIIII", 2, 1, 0, 0, request_id, 0, len(message))
    return envelope + message


def resolution_answer(message: bytes, request_id: int) -> tuple[int, list[str]]:
    """The response code and the URL values of a Handle protocol answer to the resolution
    request `request_id` (RFC 3652 sections 2.2.1-2.2.3, 3.2; values: RFC 3651 section 3.1,
    encoded as RFC 3652 section 2.1.4 lays them out). ValueError when it is not one."""
    try:
        envelope = struct.unpack_from(">BBBBIIII", message)
        opcode, code, flags, _serial, _rec, _r, _exp, body_length = struct.unpack_from(
            ">IIIHBBII", message, 20)
    except struct.error as err:
        raise ValueError(f"not a Handle protocol message: {err}") from None
    if envelope[0] != 2 or envelope[5] != request_id or envelope[7] != len(message) - 20:
        raise ValueError("not an answer to this request")
    if opcode not in (0, 1) or 44 + body_length > len(message):
        raise ValueError("not an answer to a resolution request")
    if code != 1:
        return code, []
    offset = 44
    if flags & 0x00800000:  # RD: a request digest (hash type, then SHA-1 or SHA-256)
        offset += 1 + {2: 20, 3: 32}.get(message[offset], 16)
    try:
        urls = []
        offset += 4 + struct.unpack_from(">I", message, offset)[0]  # the handle
        (count,) = struct.unpack_from(">I", message, offset)
        offset += 4
        for _ in range(count):
            offset += 4 + 4 + 1 + 4 + 1  # index, timestamp, TTL type, TTL, permissions
            type_name, offset = _string(message, offset)
            data, offset = _string(message, offset)
            (references,) = struct.unpack_from(">I", message, offset)
            offset += 4
            for _ref in range(references):
                offset += 4 + struct.unpack_from(">I", message, offset)[0] + 4
            if type_name == b"URL":
                urls.append(data.decode("utf-8", "replace"))
    except struct.error as err:
        raise ValueError(f"a truncated resolution answer: {err}") from None
    return code, urls


def _string(message: bytes, offset: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from(">I", message, offset)
    value = message[offset + 4:offset + 4 + length]
    if len(value) != length:
        raise struct.error("string beyond the end of the message")
    return value, offset + 4 + length


# --- OAI-PMH --------------------------------------------------------------------------------

def probe_oai(address: str, base_url: str, sample: int) -> OaiInfo:
    """Harvest the feed with h-oaival's client and check a sample of records against the
    network's rules (dspace_deploy/oai, docs/oai-validation.md)."""
    info = OaiInfo(base_url=base_url)
    try:
        from dspace_deploy.oai.harvest import Harvester, HarvestError, OaiError, http_fetch
        from dspace_deploy.oai.validate import check_feed
    except ImportError:
        info.error = _("the OAI-PMH validator (dspace_deploy.oai) is not installed")
        return info
    host = base_url.split("://", 1)[-1].split("/", 1)[0]
    connect_to = None if address == host else address
    harvester = Harvester(base_url, fetch=http_fetch(connect_to=connect_to, verify=False))
    try:
        report = check_feed(harvester, sample=sample)
    except (HarvestError, OaiError) as err:
        info.error = str(err)
        return info
    data = report.as_dict()
    info.score = data.get("score")
    info.verbs = dict(data.get("verbs") or {})
    info.sets_present = dict(data.get("sets_present") or {})
    records = data.get("records") or []
    info.records_checked = len(records)
    info.identifiers = [str(record.get("identifier")) for record in records]
    info.rules = [{k: str(rule.get(k, "")) for k in ("id", "title", "source", "severity")}
                  for rule in data.get("rules") or []]
    severity = {rule["id"]: rule["severity"] for rule in info.rules}
    info.failures = [
        {"identifier": str(record.get("identifier")), "rule_id": str(failure.get("rule_id")),
         "severity": severity.get(str(failure.get("rule_id")), ""),
         "message": str(failure.get("message"))}
        for record in records for failure in record.get("failures") or []
    ]
    return info


def sample_handle(oai: OaiInfo, prefix: str) -> str | None:
    """A handle of an item the feed showed (oai:<host>:<prefix>/<n>), else None."""
    for identifier in oai.identifiers:
        handle = identifier.rsplit(":", 1)[-1]
        if handle.startswith(f"{prefix}/"):
            return handle
    return None


def _why(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:200]

