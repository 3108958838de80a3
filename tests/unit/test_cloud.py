"""`cloud up | list | down` against moto's server mode: a real HTTP endpoint that checks
signed requests, in this process (ThreadedMotoServer); boto3 and the `dspace-deploy` CLI
reach it through AWS_ENDPOINT_URL as they would reach AWS.

moto ships no Debian image; MOTO_AMIS_PATH (read when moto is first imported, so set at the
top of this module) gives it tests/unit/data/debian-amis.json: images of the Debian cloud
account 136693071363, older and newer ones, arm64, a backports image and an image of another
account with a Debian-like name that must never be chosen.

moto is not AWS (docs/cloud.md, "Limits"): instances run at once, there is no real VM to
SSH into (so `--no-wait`), no quota, no throttling. Those are in test_cloud_failures.py.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

AMIS = Path(__file__).parent / "data" / "debian-amis.json"
os.environ["MOTO_AMIS_PATH"] = str(AMIS)
if "moto.ec2.models.amis" in sys.modules:  # imported earlier by another test module
    importlib.reload(sys.modules["moto.ec2.models.amis"])

from dspace_deploy.cloud import aws  # noqa: E402
from dspace_deploy.cloud import inventory as cloud_inventory  # noqa: E402
from dspace_deploy.errors import InputError  # noqa: E402
from dspace_deploy.inventory.scaffold import create_site  # noqa: E402
from dspace_deploy.inventory.validate import load_site  # noqa: E402
from dspace_deploy.site import HostEntry, InstanceAnswers, SiteAnswers  # noqa: E402

EXE = str(Path(sys.executable).parent / "dspace-deploy")
# Distinctive fake credentials: none may appear in any file or output of the toolkit.
ACCESS_KEY = "AKIAQDSPACEDEPLOYTST"
SECRET_KEY = "dSpAcEdEpLoYsEcReTkEy0123456789abcdefXYZ"
ADMIN = "203.0.113.7/32"
NEWEST_DEBIAN_13 = "ami-0deb13a0000000002"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean moto and an environment that reaches it with fake credentials; the user's own
    AWS files and XDG directories are out of reach."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _instance(name: str) -> dict[str, Any]:
    return asdict(InstanceAnswers(name=name, hostname=f"{name}.example.edu",
                                  admin_email="admin@example.edu"))


@pytest.fixture
def site(tmp_path: Path, aws_env: dict[str, str]) -> Path:
    """A site of two repositories, each on a host of its own (names as the user chose)."""
    target = tmp_path / "site"
    create_site(target, SiteAnswers(site_name="demo", instances=[]),
                [HostEntry(name, {"ansible_host": f"{name}.example.edu",
                                  "dspace_instances": [_instance(name)]})
                 for name in ("arts", "science")],
                vault_password_file=tmp_path / "config" / "vault.txt")
    return target


@pytest.fixture
def init_site(tmp_path: Path, aws_env: dict[str, str]) -> Path:
    """A site as plain `dspace-deploy init` writes it: one host, site-wide instance."""
    target = tmp_path / "init-site"
    instance = InstanceAnswers(name="repo", hostname="repo.example.edu",
                               admin_email="admin@example.edu")
    create_site(target, SiteAnswers(site_name="demo", instances=[instance]),
                [HostEntry("repo", {"ansible_host": "repo.example.edu"})],
                vault_password_file=tmp_path / "config" / "vault.txt")
    return target


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **env}, stdin=subprocess.DEVNULL, timeout=120)


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr + result.stdout
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _ec2() -> Any:
    import boto3

    return boto3.client("ec2")


def _live_instances(ec2: Any) -> list[dict[str, Any]]:
    reservations = ec2.describe_instances(Filters=[{
        "Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}])
    return [i for r in reservations["Reservations"] for i in r["Instances"]]


def _tags(item: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])}


def _ingress(ec2: Any, group: str) -> set[tuple[str, int, int, str]]:
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    return {(r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("CidrIpv4") or r["CidrIpv6"])
            for r in rules if not r["IsEgress"]}


EXPECTED_INGRESS = {("tcp", 22, 22, ADMIN)} | {
    (protocol, port, port, network)
    for protocol, port in (("tcp", 80), ("tcp", 443), ("tcp", 2641), ("udp", 2641),
                           ("tcp", 8000))
    for network in ("0.0.0.0/0", "::/0")}


def _files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


# --- the whole cycle through the command line ------------------------------------------------


def test_up_list_rerun_down_through_the_cli(site: Path, tmp_path: Path,
                                            aws_env: dict[str, str]) -> None:
    original_hosts = (site / "hosts.yml").read_text()
    up = ["cloud", "up", "-i", str(site), "--count", "2", "--admin-cidr", ADMIN,
          "--data-volume-gb", "30", "--no-wait", "--yes"]
    first = _json(_cli(*up, "--json", env=aws_env))
    ec2 = _ec2()

    # the plan: newest official Debian 13 image, 2 VMs, a dated cost
    plan = first["plan"]
    assert plan["image"]["id"] == NEWEST_DEBIAN_13
    assert [h["action"] for h in plan["hosts"]] == ["create", "create"]
    assert plan["cost"]["price_table_date"] and plan["cost"]["complete"]
    assert plan["cost"]["monthly"] > 0

    # the instances: Debian image, tags, IMDSv2-free settings aside, both running
    instances = _live_instances(ec2)
    assert sorted(_tags(i)["Name"] for i in instances) == ["arts", "science"]
    for instance in instances:
        tags = _tags(instance)
        assert instance["ImageId"] == NEWEST_DEBIAN_13
        assert instance["InstanceType"] == "t3.large"
        assert tags["dspace-deploy:managed"] == "true"
        assert tags["dspace-deploy:site"] == "demo"
        assert tags["dspace-deploy:creation-id"]
        assert instance["KeyName"] == "dspace-deploy-demo"
    # the data volume: gp3, encrypted, 30 GB, tagged, kept after the instance ends
    volumes = ec2.describe_volumes(Filters=[{"Name": "size", "Values": ["30"]}])["Volumes"]
    assert len(volumes) == 2
    for volume in volumes:
        assert volume["VolumeType"] == "gp3"
        assert volume["Encrypted"] is True
        assert _tags(volume)["dspace-deploy:site"] == "demo"
    # kept after the instance ends; the root volume goes with it
    for instance in instances:
        mapping = {m["DeviceName"]: m["Ebs"] for m in instance["BlockDeviceMappings"]}
        assert mapping["/dev/sdf"]["DeleteOnTermination"] is False
        assert mapping["/dev/xvda"]["DeleteOnTermination"] is True
    # the security group opens exactly the listed ports
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["dspace-deploy-demo"]}])["SecurityGroups"]
    assert len(groups) == 1
    assert _tags(groups[0])["dspace-deploy:managed"] == "true"
    assert _ingress(ec2, groups[0]["GroupId"]) == EXPECTED_INGRESS
    keys = ec2.describe_key_pairs()["KeyPairs"]
    assert [k["KeyName"] for k in keys] == ["dspace-deploy-demo"]
    assert _tags(keys[0])["dspace-deploy:site"] == "demo"

    # the inventory: both hosts, public addresses, Debian's admin user, the site's key
    addresses = {h["name"]: h["public_address"] for h in first["hosts"]}
    loaded = load_site(site, require_vault=False)
    assert sorted(loaded.hosts) == ["arts", "science"]
    for name, address in addresses.items():
        assert loaded.hostvars[name]["ansible_host"] == address
        assert loaded.hostvars[name]["ansible_user"] == "admin"
        key = Path(loaded.hostvars[name]["ansible_ssh_private_key_file"])
        assert key.is_file() and (key.stat().st_mode & 0o077) == 0
    assert (site / "hosts.yml").read_text() == original_hosts  # both hosts were listed

    # a second `cloud up` creates nothing
    again = _json(_cli(*up, "--json", env=aws_env))
    assert again["plan"]["creates_anything"] is False
    assert [h["action"] for h in again["plan"]["hosts"]] == ["keep", "keep"]
    assert len(_live_instances(ec2)) == 2
    assert len(ec2.describe_volumes(Filters=[{"Name": "size", "Values": ["30"]}])["Volumes"]) == 2
    assert len(ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["dspace-deploy-demo"]}])["SecurityGroups"]) == 1
    assert {h["name"]: h["public_address"] for h in again["hosts"]} == addresses

    listed = _json(_cli("cloud", "list", "-i", str(site), "--json", env=aws_env))
    kinds = sorted(r["kind"] for r in listed["resources"])
    # the root volumes carry the tags too (they end with their instances)
    assert kinds == ["instance", "instance", "key-pair", "security-group", *["volume"] * 4]

    text = _cli("cloud", "list", "-i", str(site), env=aws_env)
    assert text.returncode == 0 and "dspace-deploy-demo" in text.stdout

    down = _json(_cli("cloud", "down", "-i", str(site), "--yes", "--json", env=aws_env))
    assert down["failed"] == [] and down["refused"] == []
    deleted = [r["kind"] for r in down["deleted"]]
    # in order: instances, then their volumes, the security group, the key pair
    assert deleted == ["instance", "instance", "volume", "volume", "security-group", "key-pair"]
    assert _live_instances(ec2) == []
    assert ec2.describe_volumes(Filters=[{"Name": "size", "Values": ["30"]}])["Volumes"] == []
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    assert (site / "hosts.yml").read_text() == original_hosts
    assert not (site / cloud_inventory.STATE_FILE).exists()
    assert not (site / "host_vars" / "science").exists()

    # no AWS credential anywhere: outputs, inventory, the controller's state and data
    outputs = json.dumps([first, again, listed, down]) + text.stdout + text.stderr
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert secret not in outputs
        for path in _files_under(site, tmp_path / "data", tmp_path / "state",
                                 tmp_path / "config"):
            assert secret.encode() not in path.read_bytes(), path


def test_init_then_cloud_up_gives_inits_host_a_vm(init_site: Path,
                                                  aws_env: dict[str, str]) -> None:
    up = _json(_cli("cloud", "up", "-i", str(init_site), "--admin-cidr", ADMIN, "--no-wait",
                    "--yes", "--json", env=aws_env))
    [host] = up["hosts"]
    assert host["name"] == "repo"
    assert up["dns"] == [{"hostname": "repo.example.edu", "address": host["public_address"],
                          "host": "repo"}]
    loaded = load_site(init_site, require_vault=False)
    assert loaded.hosts == ["repo"]
    # host_vars/repo/cloud.yml wins over the address `init` wrote into hosts.yml
    assert loaded.hostvars["repo"]["ansible_host"] == host["public_address"]
    down = _json(_cli("cloud", "down", "-i", str(init_site), "--yes", "--json", env=aws_env))
    assert [r["kind"] for r in down["deleted"]] == ["instance", "volume", "security-group",
                                                    "key-pair"]
    assert load_site(init_site, require_vault=False).hostvars["repo"]["ansible_host"] == (
        "repo.example.edu")


def test_vms_that_would_make_the_inventory_invalid_are_refused_before_creating(
        init_site: Path, aws_env: dict[str, str]) -> None:
    # a second VM would share the site-wide instance, and so its hostname
    result = _cli("cloud", "up", "-i", str(init_site), "--count", "2", "--admin-cidr", ADMIN,
                  "--no-wait", "--yes", env=aws_env)
    assert result.returncode == 2
    assert "repo.example.edu is also used by instance repo on host demo-1" in result.stderr
    assert _live_instances(_ec2()) == []
    assert _ec2().describe_key_pairs()["KeyPairs"] == []
    assert "demo-1" not in (init_site / "hosts.yml").read_text()


def test_up_in_a_terminal_less_run_asks_for_yes_and_creates_nothing(
        site: Path, aws_env: dict[str, str]) -> None:
    result = _cli("cloud", "up", "-i", str(site), "--admin-cidr", ADMIN, "--no-wait",
                  env=aws_env)
    assert result.returncode == 2
    assert "Add --yes" in result.stderr
    assert "Estimated monthly cost" in result.stdout
    assert _live_instances(_ec2()) == []
    assert _ec2().describe_key_pairs()["KeyPairs"] == []


def test_json_without_yes_is_one_error_document(site: Path, aws_env: dict[str, str]) -> None:
    result = _cli("cloud", "up", "-i", str(site), "--admin-cidr", ADMIN, "--no-wait", "--json",
                  env=aws_env)
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False and "--yes" in document["error"]


def test_up_without_admin_cidr_or_with_the_whole_internet_is_bad_input(
        site: Path, aws_env: dict[str, str]) -> None:
    missing = _cli("cloud", "up", "-i", str(site), "--yes", "--no-wait", env=aws_env)
    assert missing.returncode == 2 and "--admin-cidr" in missing.stderr
    everyone = _cli("cloud", "up", "-i", str(site), "--admin-cidr", "0.0.0.0/0", "--yes",
                    "--no-wait", env=aws_env)
    assert everyone.returncode == 2 and "whole Internet" in everyone.stderr
    assert "Traceback" not in missing.stderr + everyone.stderr
    assert _live_instances(_ec2()) == []


# --- the API (what `lab up --cloud aws` calls) --------------------------------------------


def _plan(tmp_path: Path, **changes: Any) -> Any:
    arguments: dict[str, Any] = {"count": 1, "admin_cidr": ADMIN,
                                 "key_path": tmp_path / "keys" / "id_ed25519"}
    arguments.update(changes)
    return aws.plan("demo", **arguments)


def test_the_newest_official_image_of_the_release_and_architecture(
        tmp_path: Path, aws_env: dict[str, str]) -> None:
    assert _plan(tmp_path).image_id == NEWEST_DEBIAN_13  # not backports, not another owner
    assert _plan(tmp_path, debian="12").image_id == "ami-0deb12a0000000002"
    arm = _plan(tmp_path, size="t4g.large")
    assert (arm.architecture, arm.image_id) == ("arm64", "ami-0deb13a0000000003")


def test_plan_writes_nothing(tmp_path: Path, aws_env: dict[str, str]) -> None:
    planned = _plan(tmp_path, count=3)
    assert planned.key_action == "generate"
    assert not (tmp_path / "keys").exists()
    assert [h.name for h in planned.hosts] == ["demo-1", "demo-2", "demo-3"]
    assert planned.creates_anything
    assert _live_instances(_ec2()) == []
    assert _ec2().describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["dspace-deploy-demo"]}])["SecurityGroups"] == []


def test_apply_returns_the_hosts_and_a_rerun_reconciles_the_ports(
        tmp_path: Path, aws_env: dict[str, str]) -> None:
    hosts = aws.apply(_plan(tmp_path, count=2), wait_for_ssh=False)
    assert [(h.name, h.user) for h in hosts] == [("demo-1", "admin"), ("demo-2", "admin")]
    assert all(h.public_address and h.private_address and h.instance_id for h in hosts)
    ec2 = _ec2()
    group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["dspace-deploy-demo"]}])["SecurityGroups"][0]
    # someone opens PostgreSQL by hand; the administrators move to another network
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    seen: list[str] = []
    checked = []
    again = aws.apply(_plan(tmp_path, count=2, admin_cidr="198.51.100.0/24"),
                      progress=seen.append,
                      ready_check=lambda host, plan: checked.append(host.name))
    assert [h.instance_id for h in again] == [h.instance_id for h in hosts]
    assert checked == ["demo-1", "demo-2"]  # the injected readiness check ran for each VM
    assert not any("launching" in line for line in seen)
    expected = {rule if rule[1] != 22 else ("tcp", 22, 22, "198.51.100.0/24")
                for rule in EXPECTED_INGRESS}
    assert _ingress(ec2, group["GroupId"]) == expected


def test_a_larger_count_adds_only_the_missing_vms(tmp_path: Path,
                                                  aws_env: dict[str, str]) -> None:
    first = aws.apply(_plan(tmp_path, count=1), wait_for_ssh=False)
    second = _plan(tmp_path, count=3)
    assert [h.action for h in second.hosts] == ["keep", "create", "create"]
    hosts = aws.apply(second, wait_for_ssh=False)
    assert hosts[0].instance_id == first[0].instance_id
    assert len(_live_instances(_ec2())) == 3
    fewer = _plan(tmp_path, count=1)
    assert [r.name for r in fewer.extra_instances] == ["demo-2", "demo-3"]


def test_names_of_resources_not_made_by_the_toolkit_are_refused_and_left_alone(
        tmp_path: Path, aws_env: dict[str, str]) -> None:
    ec2 = _ec2()
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    foreign = ec2.create_security_group(GroupName="dspace-deploy-demo", VpcId=vpc["VpcId"],
                                        Description="made by hand")["GroupId"]
    with pytest.raises(InputError, match="did not create it"):
        _plan(tmp_path)
    # an instance with the site's Name but without the toolkit's tags
    stranger = ec2.run_instances(ImageId=NEWEST_DEBIAN_13, MinCount=1, MaxCount=1,
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                     {"Key": "Name", "Value": "demo-1"},
                                     {"Key": "dspace-deploy:site", "Value": "demo"}]}]
                                 )["Instances"][0]["InstanceId"]
    report = aws.destroy("demo", None)
    assert report.deleted == []
    assert [(r.kind, r.id) for r, _why in report.refused] == [("security-group", foreign)]
    assert [i["InstanceId"] for i in _live_instances(ec2)] == [stranger]
    assert ec2.describe_security_groups(GroupIds=[foreign])["SecurityGroups"]


def test_destroy_leaves_a_site_volume_attached_to_a_foreign_instance(
        tmp_path: Path, aws_env: dict[str, str]) -> None:
    hosts = aws.apply(_plan(tmp_path), wait_for_ssh=False)
    ec2 = _ec2()
    volume = ec2.describe_volumes(Filters=[{"Name": "size", "Values": ["50"]}])["Volumes"][0]
    ec2.detach_volume(VolumeId=volume["VolumeId"], InstanceId=hosts[0].instance_id,
                      Device="/dev/sdf")
    other = ec2.run_instances(ImageId=NEWEST_DEBIAN_13, MinCount=1, MaxCount=1,
                              Placement={"AvailabilityZone": volume["AvailabilityZone"]}
                              )["Instances"][0]["InstanceId"]
    ec2.attach_volume(VolumeId=volume["VolumeId"], InstanceId=other, Device="/dev/sdg")
    report = aws.destroy("demo", None)
    assert [r.id for r, _why in report.refused] == [volume["VolumeId"]]
    assert hosts[0].instance_id in [r.id for r in report.deleted]
    assert ec2.describe_volumes(VolumeIds=[volume["VolumeId"]])["Volumes"]


def test_a_bad_subnet_is_bad_input_before_anything_is_created(
        tmp_path: Path, aws_env: dict[str, str]) -> None:
    with pytest.raises(InputError, match="subnet"):
        _plan(tmp_path, subnet="subnet-0123456789abcdef0")
    assert _ec2().describe_key_pairs()["KeyPairs"] == []


def test_an_unknown_instance_type_is_bad_input(tmp_path: Path,
                                               aws_env: dict[str, str]) -> None:
    with pytest.raises(InputError, match="no instance type"):
        _plan(tmp_path, size="t3.gigantic")


def test_a_given_public_key_is_imported(tmp_path: Path, aws_env: dict[str, str]) -> None:
    key = tmp_path / "mine"
    aws.generate_key(key, "demo")
    planned = _plan(tmp_path, key_path=key)
    assert planned.key_action == "import"
    aws.apply(planned, wait_for_ssh=False)
    assert _ec2().describe_key_pairs()["KeyPairs"][0]["KeyName"] == "dspace-deploy-demo"
    assert _plan(tmp_path, key_path=key).key_action == "exists"


def test_a_stopped_vm_is_started_again_not_replaced(tmp_path: Path,
                                                    aws_env: dict[str, str]) -> None:
    [host] = aws.apply(_plan(tmp_path), wait_for_ssh=False)
    ec2 = _ec2()
    ec2.stop_instances(InstanceIds=[host.instance_id])
    planned = _plan(tmp_path)
    assert [(h.action, h.instance_id) for h in planned.hosts] == [("start", host.instance_id)]
    assert not planned.creates_anything
    [again] = aws.apply(planned, wait_for_ssh=False)
    assert again.instance_id == host.instance_id
    assert [i["State"]["Name"] for i in _live_instances(ec2)] == ["running"]


def test_down_by_site_name_without_an_inventory(tmp_path: Path,
                                                aws_env: dict[str, str]) -> None:
    """What `lab up --cloud aws` (or a lost inventory) left behind is removed by name."""
    aws.apply(_plan(tmp_path), wait_for_ssh=False)
    listed = _json(_cli("cloud", "list", "--site", "demo", "--region", "us-east-1", "--json",
                        env=aws_env))
    assert "instance" in [r["kind"] for r in listed["resources"]]
    down = _json(_cli("cloud", "down", "--site", "demo", "--yes", "--json", env=aws_env))
    assert [r["kind"] for r in down["deleted"]] == ["instance", "volume", "security-group",
                                                    "key-pair"]
    assert _live_instances(_ec2()) == []
    both = _cli("cloud", "down", "--site", "demo", "-i", str(tmp_path), env=aws_env)
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_rerun_without_subnet_stays_in_the_subnet_of_the_sites_vms(
        tmp_path: Path, aws_env: dict[str, str]) -> None:
    ec2 = _ec2()
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24",
                               AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    first = aws.apply(_plan(tmp_path, subnet=subnet), wait_for_ssh=False)
    again = _plan(tmp_path, count=2)  # no --subnet: not the default VPC
    assert (again.subnet_id, again.vpc_id) == (subnet, vpc)
    hosts = aws.apply(again, wait_for_ssh=False)
    assert hosts[0].instance_id == first[0].instance_id
    assert {i["SubnetId"] for i in _live_instances(ec2)} == {subnet}


def test_another_ssh_key_while_the_key_pair_exists_is_refused(
        init_site: Path, tmp_path: Path, aws_env: dict[str, str]) -> None:
    up = ["cloud", "up", "-i", str(init_site), "--admin-cidr", ADMIN, "--no-wait", "--yes"]
    assert _cli(*up, env=aws_env).returncode == 0
    other = tmp_path / "other-key"
    aws.generate_key(other, "demo")
    result = _cli(*up, "--ssh-key", str(other), env=aws_env)
    assert result.returncode == 2
    assert "holds the public key of" in result.stderr and "delete-key-pair" in result.stderr
    assert len(_live_instances(_ec2())) == 1


def test_vms_ssh_does_not_reach_stay_in_the_inventory_for_a_rerun_or_down(
        init_site: Path, aws_env: dict[str, str]) -> None:
    """moto's addresses lead nowhere: the SSH wait gives up, says what to check, and the VM
    is neither rolled back nor missing from the inventory."""
    result = _cli("cloud", "up", "-i", str(init_site), "--admin-cidr", ADMIN, "--yes",
                  "--wait-timeout", "1", env=aws_env)
    assert result.returncode == 1, result.stderr
    assert "did not answer over SSH" in result.stderr and "--admin-cidr" in result.stderr
    [instance] = _live_instances(_ec2())
    written = load_site(init_site, require_vault=False).hostvars["repo"]["ansible_host"]
    assert written == instance["PublicIpAddress"]
