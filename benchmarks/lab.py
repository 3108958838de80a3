"""Time a workshop lab: `lab up --students N --content sample` until the last instance
answers with its content, for N students and for 1; then `lab reset` of one student and of
all. Prints figures, never asserts.

Usage: .venv/bin/python benchmarks/lab.py [--students 20] [--per-host K] [--content sample]
                                          [--plain] [--skip-single] [--keep]
Makes throw-away workshops on podman lab hosts of this machine (XDG dirs in a temp directory)
with the look-alike DSpace 9 (tests/lookalike), from the preloaded lab image unless --plain
(then `up` installs every package), and removes them unless --keep. "Answers with its
content": GET /server/api/core/communities/search/top through the HTTPS proxy lists at least
one community (with --content none: the REST root answers).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--per-host", type=int, default=None)
    parser.add_argument("--content", default="sample", choices=("sample", "none"))
    parser.add_argument("--plain", action="store_true", help="no preloaded image")
    parser.add_argument("--skip-single", action="store_true", help="no 1-student run")
    parser.add_argument("--keep", action="store_true", help="leave the workshops up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dspace-labbench-") as tmp:
        for kind in ("DATA", "STATE", "CONFIG"):
            os.environ[f"XDG_{kind}_HOME"] = f"{tmp}/{kind.lower()}"
        artifacts = Path(tmp) / "artifacts"
        from tests.lookalike import build_release

        build_release("9", artifacts / "9-dspace")
        figures: dict[str, Any] = {}
        sizes = [args.students] + ([] if args.skip_single or args.students == 1 else [1])
        for students in sizes:
            figures[f"{students} students"] = _bench(students, args, artifacts)
        print(json.dumps(figures, indent=2))


def _bench(students: int, args: argparse.Namespace, artifacts: Path) -> dict[str, Any]:
    from dspace_deploy.lab import workshop
    from dspace_deploy.lab.labs import list_labs

    name = f"bench-{students}"
    preload = None
    if not args.plain:
        from tests.integration.conftest import preload_packages

        preload = preload_packages()
    out: dict[str, Any] = {}
    started = time.monotonic()
    try:
        request = workshop.WorkshopRequest(name, students, per_host=args.per_host,
                                           content=args.content)
        outcome = workshop.lab_up(request, artifacts=str(artifacts), preload=preload,
                                  progress=lambda m: print(f"  {m}", flush=True))
        addresses = {h.name: h.address for lab in list_labs() if lab.name == name
                     for h in lab.hosts}
        for student in outcome.students:  # the last one to answer ends the clock
            _wait_for_content(str(addresses[student.host]), student.hostname, args.content)
        out["up_to_last_content_s"] = round(time.monotonic() - started, 1)
        out["phases_s"] = {k: round(v, 1) for k, v in outcome.seconds.items()}
        out["hosts"] = len(addresses)
        out["ok"] = outcome.ok
        print(f"{students} students: {out}", flush=True)
        if args.content == "sample" and outcome.ok:
            mark = time.monotonic()
            one = workshop.lab_reset(name, [outcome.students[0].name])
            out["reset_one_s"] = round(time.monotonic() - mark, 1)
            mark = time.monotonic()
            every = workshop.lab_reset(name)
            out["reset_all_s"] = round(time.monotonic() - mark, 1)
            out["reset_ok"] = one.ok and every.ok
    finally:
        if not args.keep:
            workshop.lab_down(name)
    return out


def _wait_for_content(address: str, hostname: str, content: str, timeout: float = 600) -> None:
    path = ("/server/api/core/communities/search/top?size=5" if content == "sample"
            else "/server/api")
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, body = _get(address, hostname, path)
            if status == 200 and (content != "sample" or json.loads(body).get("_embedded")):
                return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{hostname} did not answer with its content in {timeout:.0f} s")
        time.sleep(1)


def _get(address: str, hostname: str, path: str) -> tuple[int, bytes]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, 443), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname=hostname) as tls:
        tls.sendall(f"GET {path} HTTP/1.0\r\nHost: {hostname}\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


if __name__ == "__main__":
    main()
