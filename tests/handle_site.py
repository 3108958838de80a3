"""Read what a Handle.Net site bundle advertises: `siteinfo.bin` in `sitebndl.zip` is the
HS_SITE record of RFC 3652, section 3.2.2 (the binary form handle.net registers), and
`siteinfo.json` is the same record in Handle.Net's JSON form. Test helper (look-alike and lab
tests compare both with an instance's ports)."""

from __future__ import annotations

import ipaddress
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

PROTOCOLS = {0: "UDP", 1: "TCP", 2: "HTTP", 3: "HTTPS"}


def decode_site_info(data: bytes) -> dict[str, Any]:
    """The fields of an HS_SITE record: version, protocol version, serial number, primary
    flag, attributes and each server's id, address and interfaces (protocol, port)."""
    offset = 0

    def take(fmt: str) -> Any:
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def blob() -> bytes:
        nonlocal offset
        length = take(">I")
        value = data[offset:offset + length]
        offset += length
        return value

    site: dict[str, Any] = {"version": take(">H")}
    major, minor = take(">BB")
    site["protocolVersion"] = f"{major}.{minor}"
    site["serialNumber"] = take(">H")
    site["primarySite"] = bool(take(">B") & 0x80)
    take(">B")  # hash option
    blob()  # hash filter
    site["attributes"] = [{"name": blob().decode(), "value": blob().decode()}
                          for _ in range(take(">I"))]
    servers = []
    for _ in range(take(">I")):
        server_id = take(">I")
        raw = data[offset:offset + 16]
        offset += 16
        address = ipaddress.ip_address(raw)
        if address.ipv4_mapped or raw[:12] == bytes(12):
            address = ipaddress.ip_address(raw[12:])
        blob()  # public key
        interfaces = []
        for _ in range(take(">I")):
            kind, protocol, port = take(">BBI")
            interfaces.append({"query": bool(kind & 2), "admin": bool(kind & 1),
                               "protocol": PROTOCOLS.get(protocol, str(protocol)), "port": port})
        servers.append({"serverId": server_id, "address": str(address),
                        "interfaces": interfaces})
    site["servers"] = servers
    return site


def bundle_site(path: Path) -> dict[str, Any]:
    """The site record of a sitebndl.zip."""
    with zipfile.ZipFile(path) as bundle:
        return decode_site_info(bundle.read("siteinfo.bin"))


def advertised_ports(site: dict[str, Any]) -> list[tuple[str, int]]:
    """(protocol, port) of each interface of the site's servers, sorted."""
    return sorted((str(i["protocol"]), int(i["port"]))
                  for server in site["servers"] for i in server["interfaces"])


def json_site(text: str) -> dict[str, Any]:
    return dict(json.loads(text))
