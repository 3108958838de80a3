"""The report's controller probes against real local servers: a TLS web server with an
expired certificate and HSTS, a client-side shell instead of a rendered page, a handle HTTP
interface, closed ports."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dspace_deploy.report import probes

NAME = "repo.example.edu"


def _certificate(tmp: Path, days: int) -> tuple[Path, Path]:
    """A self-signed certificate for NAME that ends `days` from now (negative: expired)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=400))
            .not_valid_after(now + dt.timedelta(days=days, hours=-1 if days < 0 else 1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _serve(handler: type[http.server.BaseHTTPRequestHandler],
           context: ssl.SSLContext | None = None) -> tuple[http.server.HTTPServer, int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class _Web(http.server.BaseHTTPRequestHandler):
    body = b'<html><ds-app ng-server-context="ssr"><main>Home</main></ds-app></html>'
    hsts = True

    def do_GET(self) -> None:
        self.send_response(200)
        if self.hsts:
            self.send_header("Strict-Transport-Security", "max-age=63072000")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[int]:
    cert, key = _certificate(tmp_path, days=-3)
    (tmp_path / "ca.pem").write_bytes(cert.read_bytes())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    server, port = _serve(_Web, context)
    yield port
    server.shutdown()


def test_tls_probe_reads_an_expired_certificate(tls_site: int, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    info = probes.probe_tls("127.0.0.1", NAME, "provided", port=tls_site)
    assert info.error is None
    assert info.issuer == f"CN={NAME}"
    assert (info.days_left, info.expired) == (-3, True)
    assert (info.trusted, info.trust_error) == (False, "self-signed certificate")
    monkeypatch.setenv("DSPACE_DEPLOY_REPORT_CAFILE", str(tmp_path / "ca.pem"))
    info = probes.probe_tls("127.0.0.1", NAME, "provided", port=tls_site)
    assert (info.trusted, info.trust_error) == (False, "certificate has expired")
    assert info.hsts == "max-age=63072000"
    assert "TLSv1.2" in info.protocols and "TLSv1" not in info.protocols
    assert "TLSv1.1" not in info.protocols


def test_tls_probe_of_a_closed_port() -> None:
    info = probes.probe_tls("127.0.0.1", NAME, port=_closed_port())
    assert info.error is not None and "refused" in info.error.lower()


def test_ui_probe_tells_the_rendered_page_from_the_shell(tls_site: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    status, _headers, body = probes.https_get("127.0.0.1", NAME, "/", tls_site)
    assert status == 200 and b"ng-server-context" in body
    monkeypatch.setattr(_Web, "body", b"<html><ds-app></ds-app></html>")
    real = probes.https_get
    monkeypatch.setattr(probes, "https_get", lambda a, h, p: real(a, h, p, tls_site))
    rendered, why = probes.probe_ui("127.0.0.1", NAME)
    assert rendered is False and "client-side shell" in (why or "")
    monkeypatch.setattr(_Web, "body", b'<ds-app ng-server-context="ssr">x</ds-app>')
    assert probes.probe_ui("127.0.0.1", NAME) == (True, None)


class _Handles(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/api/handles/123456789/2":
            code, document = 200, {"responseCode": 1, "handle": "123456789/2", "values": [
                {"index": 1, "type": "URL", "data": {
                    "format": "string", "value": "https://repo/handle/123456789/2"}}]}
        else:
            code, document = 404, {"responseCode": 100}
        body = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_handle_probe_ports_and_resolution() -> None:
    server, http_port = _serve(_Handles)
    try:
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        tcp_port = tcp.getsockname()[1]
        info = probes.probe_handle("127.0.0.1", "123456789", tcp_port, http_port,
                                   "123456789/2")
        assert info.ports[f"tcp/{tcp_port}"] == "open"
        assert info.ports[f"http/{http_port}"] == "open"
        assert info.ports[f"udp/{tcp_port}"] == "closed"  # nothing bound on UDP: ICMP refusal
        assert info.resolved_url == "https://repo/handle/123456789/2"
        missing = probes.probe_handle("127.0.0.1", "123456789", tcp_port, http_port, None)
        assert missing.sample == "123456789/0"
        assert missing.resolved_url is None and missing.error == "responseCode 100"
        tcp.close()
    finally:
        server.shutdown()


def _udp_server(reply: Any) -> tuple[socket.socket, int, threading.Thread]:
    """A UDP socket on 127.0.0.1 whose thread answers each datagram with reply(datagram)
    (None: no answer)."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                data, peer = udp.recvfrom(65535)
            except OSError:
                return
            answer = reply(data)
            if answer is not None:
                udp.sendto(answer, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return udp, udp.getsockname()[1], thread


def _handle_answer(request: bytes) -> bytes:
    """What a handle server answers to a resolution request: the same request id, code 100."""
    request_id = struct.unpack_from(">I", request, 8)[0]
    message = struct.pack(">IIIHBBII", 1, 100, 0x80000000, 1, 0, 0, 0, 4) + b"\0" * 8
    return struct.pack(">BBBBIIII", 2, 1, 2, 11, 0, request_id, 0, len(message)) + message


@pytest.mark.parametrize(("reply", "state"), [
    (_handle_answer, "open"),
    (lambda request: None, "no answer"),  # read, never answered (a firewall drops alike)
    (lambda request: b"HTTP/1.1 400 Bad Request\r\n\r\n", "not a handle server"),
])
def test_the_udp_probe_judges_the_answer(reply: Any, state: str) -> None:
    udp, port, thread = _udp_server(reply)
    try:
        assert probes._udp_handle("127.0.0.1", port, "123456789/2") == state
    finally:
        udp.close()
        thread.join(5)


def test_handle_probe_of_a_stopped_server() -> None:
    port = _closed_port()
    info = probes.probe_handle("127.0.0.1", "123456789", port, port, None)
    assert set(info.ports.values()) == {"closed"}
    assert info.resolved_url is None and info.error == f"http/{port} closed"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
