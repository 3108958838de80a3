"""What moto cannot simulate: throttling, quota and capacity errors half-way through
`cloud up`, and a clean-up that fails in turn (botocore's Stubber answers each request with
what the test queues, in order, and fails on any request not queued).

Also: missing credentials or region are one paragraph with the fix, and the clients retry
throttled requests (botocore's adaptive mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.cloud import aws
from dspace_deploy.cloud.model import (
    CREATION_TAG,
    MANAGED_TAG,
    SITE_TAG,
    CloudFailure,
    CloudInventory,
    CloudPlan,
    PlannedHost,
)
from dspace_deploy.cloud.prices import estimate
from dspace_deploy.errors import EnvironmentProblem, InputError

EXE = str(Path(sys.executable).parent / "dspace-deploy")
CREATION = "c0ffee000001"


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[aws.Clients, Any]]:
    import boto3
    from botocore.stub import Stubber

    session = boto3.session.Session(aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x",
                                    region_name="us-east-1")
    clients = aws.Clients("us-east-1", session.client("ec2"), session.client("sts"))
    monkeypatch.setattr(aws.uuid, "uuid4", lambda: uuid.UUID(CREATION + "0" * 20))
    monkeypatch.setattr(aws.time, "sleep", lambda _seconds: None)  # waiters' and retries'
    with Stubber(clients.ec2) as stub:
        yield clients, stub
        stub.assert_no_pending_responses()


def _plan(tmp_path: Path, count: int = 1) -> CloudPlan:
    key = tmp_path / "id_ed25519"
    key.write_text("private\n")
    key.with_name("id_ed25519.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA test\n")
    return CloudPlan(
        site="demo", region="us-east-1", account="123456789012", size="t3.large",
        architecture="amd64", debian="13", image_id="ami-0deb13a0000000002",
        image_name="debian-13-amd64-20251117-2300", image_created="2025-11-17",
        vpc_id="vpc-1", subnet_id="subnet-1", availability_zone="us-east-1a",
        admin_cidr="203.0.113.7/32", data_volume_gb=50, root_volume_gb=20,
        root_device="/dev/xvda", key_name="dspace-deploy-demo", key_path=key,
        key_action="import", known_hosts=tmp_path / "known_hosts",
        security_group_name="dspace-deploy-demo", security_group_id=None,
        ingress=aws.ingress_rules("203.0.113.7/32"),
        hosts=[PlannedHost(f"demo-{i}", "create") for i in range(1, count + 1)],
        cost=estimate("us-east-1", "t3.large", count, 70),
        existing=CloudInventory("demo", "us-east-1"))


def _tags(**extra: str) -> list[dict[str, str]]:
    tags = {MANAGED_TAG: "true", SITE_TAG: "demo", CREATION_TAG: CREATION, **extra}
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _queue_key_and_group(stub: Any) -> None:
    stub.add_response("import_key_pair", {"KeyName": "dspace-deploy-demo",
                                          "KeyPairId": "key-1"})
    stub.add_response("create_security_group", {"GroupId": "sg-1"})
    stub.add_response("describe_security_groups", {"SecurityGroups": [
        {"GroupId": "sg-1", "GroupName": "dspace-deploy-demo", "IpPermissions": []}]})
    stub.add_response("authorize_security_group_ingress", {"Return": True})


def _queue_empty_listing(stub: Any, volumes: list[dict[str, Any]] | None = None) -> None:
    stub.add_response("describe_instances", {"Reservations": []})
    stub.add_response("describe_volumes", {"Volumes": volumes or []})
    stub.add_response("describe_security_groups", {"SecurityGroups": []})
    stub.add_response("describe_key_pairs", {"KeyPairs": []})


@pytest.mark.parametrize(("code", "words"), [
    ("RequestLimitExceeded", "throttled"),
    ("InstanceLimitExceeded", "quota or capacity"),
    ("VcpuLimitExceeded", "quota or capacity"),
])
def test_a_failed_launch_removes_the_security_group_and_key_pair_it_made(
        stubbed: tuple[aws.Clients, Any], tmp_path: Path, code: str, words: str) -> None:
    clients, stub = stubbed
    _queue_key_and_group(stub)
    stub.add_client_error("run_instances", service_error_code=code, service_message="no more")
    stub.add_response("delete_security_group", {}, {"GroupId": "sg-1"})
    stub.add_response("delete_key_pair", {}, {"KeyName": "dspace-deploy-demo"})
    with pytest.raises(CloudFailure) as failure:
        aws.apply(_plan(tmp_path), clients=clients, wait_for_ssh=False)
    message = str(failure.value)
    assert words in message and code in message
    assert "removed (security-group sg-1, key-pair key-1)" in message


def test_a_launch_failing_for_the_second_vm_removes_the_first_and_its_data_volume(
        stubbed: tuple[aws.Clients, Any], tmp_path: Path) -> None:
    clients, stub = stubbed
    _queue_key_and_group(stub)
    stub.add_response("run_instances", {"Instances": [{"InstanceId": "i-1"}]})
    stub.add_client_error("run_instances", service_error_code="InsufficientInstanceCapacity",
                          service_message="no t3.large in us-east-1a")
    stub.add_response("terminate_instances", {}, {"InstanceIds": ["i-1"]})
    stub.add_response("describe_instances", {"Reservations": [{"Instances": [
        {"InstanceId": "i-1", "State": {"Name": "terminated", "Code": 48}}]}]})
    _queue_empty_listing(stub, volumes=[
        {"VolumeId": "vol-data", "State": "available", "Size": 50,
         "Tags": _tags(Name="demo-1"), "Attachments": []},
        # made by an earlier run of the site: not this run's to remove
        {"VolumeId": "vol-older", "State": "available", "Size": 50,
         "Tags": [*_tags(Name="demo-9")[:2], {"Key": CREATION_TAG, "Value": "earlier"}],
         "Attachments": []}])
    stub.add_response("delete_volume", {}, {"VolumeId": "vol-data"})
    stub.add_response("delete_security_group", {}, {"GroupId": "sg-1"})
    stub.add_response("delete_key_pair", {}, {"KeyName": "dspace-deploy-demo"})
    with pytest.raises(CloudFailure) as failure:
        aws.apply(_plan(tmp_path, count=2), clients=clients, wait_for_ssh=False)
    message = str(failure.value)
    assert "InsufficientInstanceCapacity" in message
    assert "instance i-1" in message and "volume vol-data" in message
    assert "vol-older" not in message


def test_a_clean_up_that_fails_names_what_is_left_for_cloud_down(
        stubbed: tuple[aws.Clients, Any], tmp_path: Path) -> None:
    clients, stub = stubbed
    _queue_key_and_group(stub)
    stub.add_client_error("run_instances", service_error_code="RequestLimitExceeded")
    stub.add_response("delete_security_group", {}, {"GroupId": "sg-1"})
    stub.add_client_error("delete_key_pair", service_error_code="RequestLimitExceeded")
    with pytest.raises(CloudFailure) as failure:
        aws.apply(_plan(tmp_path), clients=clients, wait_for_ssh=False)
    message = str(failure.value)
    assert "key-pair key-1" in message
    assert "dspace-deploy cloud down" in message


def test_throttled_listing_is_one_paragraph_with_what_to_do(
        stubbed: tuple[aws.Clients, Any]) -> None:
    clients, stub = stubbed
    stub.add_client_error("describe_instances", service_error_code="RequestLimitExceeded",
                          service_message="Request limit exceeded.")
    with pytest.raises(CloudFailure) as failure:
        aws.list_resources("demo", "us-east-1", clients=clients)
    message = str(failure.value)
    assert "throttled" in message and "run the command again" in message
    assert "\n" not in message


def test_destroy_reports_what_it_could_not_delete_and_goes_on(
        stubbed: tuple[aws.Clients, Any]) -> None:
    clients, stub = stubbed
    stub.add_response("describe_instances", {"Reservations": []})
    stub.add_response("describe_volumes", {"Volumes": [
        {"VolumeId": "vol-data", "State": "available", "Size": 50, "Tags": _tags(),
         "Attachments": []}]})
    stub.add_response("describe_security_groups", {"SecurityGroups": [
        {"GroupId": "sg-1", "GroupName": "dspace-deploy-demo", "Tags": _tags(),
         "IpPermissions": []}]})
    stub.add_response("describe_key_pairs", {"KeyPairs": [
        {"KeyName": "dspace-deploy-demo", "KeyPairId": "key-1", "Tags": _tags()}]})
    stub.add_response("describe_security_groups", {"SecurityGroups": []})  # namesakes
    stub.add_response("describe_key_pairs", {"KeyPairs": []})
    stub.add_response("describe_instances", {"Reservations": []})  # volumes left
    stub.add_response("describe_volumes", {"Volumes": [
        {"VolumeId": "vol-data", "State": "available", "Size": 50, "Tags": _tags(),
         "Attachments": []}]})
    stub.add_response("describe_security_groups", {"SecurityGroups": []})
    stub.add_response("describe_key_pairs", {"KeyPairs": []})
    stub.add_client_error("delete_volume", service_error_code="VolumeInUse")
    stub.add_response("delete_security_group", {}, {"GroupId": "sg-1"})
    stub.add_response("delete_key_pair", {}, {"KeyName": "dspace-deploy-demo"})
    report = aws.destroy("demo", "us-east-1", clients=clients)
    assert [r.id for r, _why in report.failed] == ["vol-data"]
    assert [r.id for r in report.deleted] == ["sg-1", "key-1"]
    assert not report.ok


def test_the_clients_retry_throttling_adaptively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    clients = aws.clients_for("sa-east-1")
    for client in (clients.ec2, clients.sts):
        assert client.meta.config.retries["mode"] == "adaptive"
        assert client.meta.config.retries["total_max_attempts"] >= 10
    assert clients.region == "sa-east-1"


# --- credentials and region: one paragraph with the fix ---------------------------------------


def _without_aws(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                # no instance role either: the metadata service is not asked
                "AWS_EC2_METADATA_DISABLED": "true", **extra})
    return env


def test_missing_credentials_are_one_paragraph_with_the_fix(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in _without_aws(tmp_path).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(EnvironmentProblem) as problem:
        aws.clients_for("us-east-1")
    message = str(problem.value)
    assert "No AWS credentials" in message and "AWS_PROFILE" in message
    assert "\n" not in message
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with pytest.raises(InputError, match="No AWS region"):
        aws.clients_for(None)


def test_the_command_line_says_the_same_and_exits_3(tmp_path: Path) -> None:
    from dspace_deploy.inventory.scaffold import create_site
    from dspace_deploy.site import HostEntry, InstanceAnswers, SiteAnswers

    site = tmp_path / "site"
    create_site(site, SiteAnswers("demo", [InstanceAnswers("repo", "repo.example.edu")]),
                [HostEntry("repo", {"ansible_host": "192.0.2.10"})],
                vault_password_file=tmp_path / "vault.txt")
    env = _without_aws(tmp_path, AWS_DEFAULT_REGION="us-east-1",
                       XDG_DATA_HOME=str(tmp_path / "data"))
    result = subprocess.run([EXE, "cloud", "list", "-i", str(site)], capture_output=True,
                            text=True, env=env, check=False, timeout=60)
    assert result.returncode == 3
    assert result.stderr.startswith("error: No AWS credentials")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_destroy_as_aws_answers_root_volumes_going_away_by_themselves(
        stubbed: tuple[aws.Clients, Any]) -> None:
    """Unlike moto, AWS still lists a root volume after its instance ended (`deleting`), or
    in use with DeleteOnTermination while the instance shuts down: neither is deleted by
    hand nor waited for; the data volume (kept by the instance) is deleted."""
    clients, stub = stubbed
    instance = {"InstanceId": "i-1", "State": {"Name": "running", "Code": 16},
                "Tags": _tags(Name="demo-1")}
    stub.add_response("describe_instances", {"Reservations": [{"Instances": [instance]}]})
    stub.add_response("describe_volumes", {"Volumes": []})
    stub.add_response("describe_security_groups", {"SecurityGroups": []})
    stub.add_response("describe_key_pairs", {"KeyPairs": []})
    stub.add_response("describe_security_groups", {"SecurityGroups": []})  # namesakes
    stub.add_response("describe_key_pairs", {"KeyPairs": []})
    stub.add_response("terminate_instances", {}, {"InstanceIds": ["i-1"]})
    stub.add_response("describe_instances", {"Reservations": [{"Instances": [
        {**instance, "State": {"Name": "terminated", "Code": 48}}]}]})
    stub.add_response("describe_instances", {"Reservations": []})  # volumes left
    stub.add_response("describe_volumes", {"Volumes": [
        {"VolumeId": "vol-root", "State": "deleting", "Size": 20, "Tags": _tags()},
        {"VolumeId": "vol-root2", "State": "in-use", "Size": 20, "Tags": _tags(),
         "Attachments": [{"InstanceId": "i-1", "DeleteOnTermination": True}]},
        {"VolumeId": "vol-data", "State": "available", "Size": 50, "Tags": _tags()}]})
    stub.add_response("describe_security_groups", {"SecurityGroups": []})
    stub.add_response("describe_key_pairs", {"KeyPairs": []})
    stub.add_response("delete_volume", {}, {"VolumeId": "vol-data"})
    report = aws.destroy("demo", "us-east-1", clients=clients)
    assert report.ok
    assert [r.id for r in report.deleted] == ["i-1", "vol-data"]


def test_a_throttled_request_is_retried_and_then_answered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real HTTP endpoint that throttles the first two requests (as EC2 does: HTTP 503,
    RequestLimitExceeded): the toolkit's clients retry and get the answer."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []
    throttled = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
                 b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
                 b"</Message></Error></Errors><RequestID>r1</RequestID></Response>")
    answer = (b'<?xml version="1.0" encoding="UTF-8"?><DescribeKeyPairsResponse '
              b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r2</requestId>'
              b"<keySet/></DescribeKeyPairsResponse>")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers.get("Authorization", ""))
            body, status = (throttled, 503) if len(seen) <= 2 else (answer, 200)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                monkeypatch.delenv(name)
        for name, value in _without_aws(tmp_path).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_port}")
        clients = aws.clients_for("us-east-1")
        keys = aws.call("listing key pairs", clients.ec2.describe_key_pairs)
    finally:
        server.shutdown()
    assert keys["KeyPairs"] == []
    assert len(seen) == 3
    assert all(auth.startswith("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/") for auth in seen)
