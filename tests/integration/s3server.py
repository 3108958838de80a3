"""A real S3 protocol server on the controller for lab hosts: moto's server, in its own
process, with request signing and IAM policies enforced.

moto answers the S3 HTTP API as AWS does (SigV4 signatures, buckets, multipart uploads), so
restic on a lab host talks to it exactly as it would to AWS or MinIO; no boto3 call is
mocked. With INITIAL_NO_AUTH_ACTION_COUNT the server accepts only the first few requests
unsigned (the setup below: an IAM user, its access key, its policy) and checks every later
request's signature and permissions, so wrong credentials fail as they do on a real store.

It listens on the controller's address on the lab hosts' network (the lab network's gateway,
else podman's default bridge), on a free port, never on a public interface.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETUP_REQUESTS = 3  # create_user, create_access_key, put_user_policy


@dataclass
class S3Server:
    endpoint: str  # http://<gateway>:<port>
    access_key_id: str
    secret_access_key: str
    process: subprocess.Popen[bytes]

    def client(self, secret: str | None = None) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.access_key_id,
                            aws_secret_access_key=secret or self.secret_access_key)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def bridge_gateway() -> str:
    """The controller's address on podman's default network (10.88.0.1 by default)."""
    done = subprocess.run(["podman", "network", "inspect", "podman", "--format",
                           "{{range .Subnets}}{{.Gateway}}{{end}}"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip() or "10.88.0.1"


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def start(address: str | None = None, log: Path | None = None) -> S3Server:
    """Start the server on `address` (the lab network's gateway; default: podman's default
    bridge, which exists only while a container uses it) and make an IAM user whose key may
    use S3."""
    import boto3

    address = address or bridge_gateway()
    port = _free_port(address)
    server = Path(sys.executable).parent / "moto_server"
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
    process = subprocess.Popen(
        [str(server), "-H", address, "-p", str(port)],
        env={"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_REQUESTS), "PATH": "/usr/bin:/bin"},
        stdout=output, stderr=subprocess.STDOUT)
    endpoint = f"http://{address}:{port}"
    _wait_for(address, port, process)
    setup = {"endpoint_url": endpoint, "region_name": "us-east-1",
             "aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
    iam = boto3.client("iam", **setup)
    iam.create_user(UserName="dspace-backup")
    key = iam.create_access_key(UserName="dspace-backup")["AccessKey"]
    iam.put_user_policy(UserName="dspace-backup", PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    return S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], process)


def _wait_for(address: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with status {process.returncode}")
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"moto_server did not listen on {address}:{port} within 30 s")
