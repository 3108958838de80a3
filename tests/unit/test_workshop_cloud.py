"""`lab up --students N --cloud aws` through h-cloud's real dspace_deploy.cloud.aws against
moto's server mode (signed HTTP requests), as far as moto can go: the plan and its refusal
without consent, the VMs with the workshop's host names and key, the inventory and vault
written for them, the sheet, a rerun that creates nothing, and `lab down` deleting every
tagged resource. Not here, because moto runs no VM: the SSH wait (replaced by a no-op) and
the playbook runs (recorded instead of run; tests/integration/test_workshop.py runs them on
lab hosts)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.cloud import aws
from dspace_deploy.lab import labs, workshop
from tests.unit.test_cloud import aws_env, moto_endpoint  # noqa: F401 - fixtures
from tests.unit.test_workshop import Calls, Cli, result

ADMIN = "203.0.113.7/32"


@pytest.fixture
def recorded_runs(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls(runs=[])

    def run_playbook(verb: str, playbook: str, site: Any, *, limit: str | None = None,
                     extravars: dict[str, Any] | None = None, observer: Any = None) -> Any:
        calls.runs.append({"verb": verb, "limit": limit, "extravars": extravars or {},
                           "hosts": dict(site.hostvars)})
        return result(limit.split(",") if limit else list(site.hosts))

    monkeypatch.setattr(workshop, "run_playbook", run_playbook)
    monkeypatch.setattr(aws, "wait_until_ready", lambda host, plan, *args: None)
    return calls


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(capsys, monkeypatch)


def _instances(region: str) -> list[dict[str, Any]]:
    import boto3

    ec2 = boto3.client("ec2", region_name=region)
    pages = ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                             "Values": ["pending", "running"]}])
    return [i for r in pages["Reservations"] for i in r["Instances"]]


def test_cloud_workshop_against_moto(aws_env: dict[str, str], recorded_runs: Calls,  # noqa: F811
                                     cli: Cli) -> None:
    args = ["lab", "up", "--name", "cw", "--students", "5", "--per-host", "3", "--cloud",
            "aws", "--region", "us-east-1", "--size", "t3.xlarge", "--admin-cidr", ADMIN]
    refused = cli.invoke([*args, "--json"])
    assert refused.exit_code == 2 and "--yes" in json.loads(refused.stdout)["error"]
    assert _instances("us-east-1") == [] and not labs.lab_dir("cw").exists()

    done = cli.invoke([*args, "--yes", "--json"])
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    running = _instances("us-east-1")
    names = sorted(t["Value"] for i in running for t in i["Tags"] if t["Key"] == "Name")
    assert names == ["cw-1", "cw-2"]
    hosts = recorded_runs.runs[0]["hosts"]
    assert sorted(hosts) == ["cw-1", "cw-2"]
    by_name = {t["Value"]: i for i in running for t in i["Tags"] if t["Key"] == "Name"}
    for host, item in hosts.items():
        assert item["ansible_host"] == by_name[host]["PublicIpAddress"]
        assert item["ansible_user"] == "admin"
        assert item["ansible_ssh_private_key_file"] == str(labs.lab_dir("cw") / "id_ed25519")
    assert [s["name"] for s in document["students"]] == ["s01", "s02", "s03", "s04", "s05"]
    address = by_name["cw-2"]["PublicIpAddress"]
    assert document["students"][3]["url"] == f"https://s04.{address}.nip.io/"
    assert [r["verb"] for r in recorded_runs.runs] == ["up", "lab-golden"]
    sheet = Path(document["credentials"]["csv"]).read_text()
    passwords = [r["password"] for r in csv.DictReader(io.StringIO(sheet))]
    assert len(passwords) == 5
    for secret in (*passwords, aws_env["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in done.stdout + done.stderr
        for path in labs.lab_dir("cw").rglob("*"):
            if path.is_file() and path.name != "credentials.csv" \
                    and path.name != "credentials.html":
                assert secret.encode() not in path.read_bytes(), path

    again = cli.invoke([*args, "--yes", "--json"])  # a rerun creates nothing
    assert again.exit_code == 0, again.output
    assert sorted(i["InstanceId"] for i in _instances("us-east-1")) == sorted(
        i["InstanceId"] for i in running)
    assert [r["verb"] for r in recorded_runs.runs] == ["up", "lab-golden", "up"]

    down = cli.invoke(["lab", "down", "cw", "--json"])
    assert down.exit_code == 0, down.output
    assert _instances("us-east-1") == []
    assert not labs.lab_dir("cw").exists()
    assert not labs.lab_vault_password_file("cw").exists()
    found = aws.list_resources("lab-cw", "us-east-1")
    assert not list(found.all()), found

