"""The parts of `cloud` that need no AWS: the inventory edits, the cloud-init user data, the
price table and the estimate, the rules of the security group, the CLI's help."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dspace_deploy.cloud import aws, prices, userdata
from dspace_deploy.cloud import inventory as cloud_inventory
from dspace_deploy.cloud.model import CloudHost
from dspace_deploy.errors import InputError
from dspace_deploy.inventory.scaffold import create_site
from dspace_deploy.inventory.validate import load_site
from dspace_deploy.site import HostEntry, InstanceAnswers, SiteAnswers

EXE = str(Path(sys.executable).parent / "dspace-deploy")


# --- hosts.yml: VMs added without touching the rest ------------------------------------------

SHAPES = {
    "hosts listed": """\
---
# the site's hosts
all:
  children:
    dspace:
      hosts:
        repo:   # the first one
          ansible_host: 192.0.2.10
""",
    "empty flow mapping": """\
all:
  children:
    dspace:
      hosts: {}   # none yet
""",
    "child groups only": """\
all:
  children:
    dspace:
      children:
        lima: {}
""",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_vms_are_added_to_the_dspace_group_and_the_rest_is_kept(shape: str,
                                                                 tmp_path: Path) -> None:
    text = SHAPES[shape]
    (tmp_path / "hosts.yml").write_text(text)
    assert cloud_inventory.ensure_listed(tmp_path, ["demo-1", "demo-2"]) == ["demo-1", "demo-2"]
    after = (tmp_path / "hosts.yml").read_text()
    for line in text.splitlines():
        if "hosts:" not in line and "dspace:" not in line:
            assert line in after  # comments and other entries stay
    assert set(cloud_inventory.listed_hosts(tmp_path)) >= {"demo-1", "demo-2"}
    assert cloud_inventory.ensure_listed(tmp_path, ["demo-1", "demo-2"]) == []
    assert (tmp_path / "hosts.yml").read_text() == after


def test_a_shape_it_cannot_edit_is_refused_with_the_lines_to_add(tmp_path: Path) -> None:
    text = "all:\n  children:\n    dspace: {hosts: {other: {}}}\n"
    (tmp_path / "hosts.yml").write_text(text)
    with pytest.raises(InputError, match=r"demo-1: \{\}"):
        cloud_inventory.ensure_listed(tmp_path, ["demo-1"])
    assert (tmp_path / "hosts.yml").read_text() == text


def test_vm_names_take_the_inventory_hosts_first() -> None:
    assert cloud_inventory.vm_names("demo", ["repo"], 1) == ["repo"]
    assert cloud_inventory.vm_names("demo", ["repo"], 3) == ["repo", "demo-1", "demo-2"]
    assert cloud_inventory.vm_names("demo", ["demo-1", "a", "b"], 2) == ["demo-1", "a"]
    assert cloud_inventory.vm_names("demo", ["demo-2"], 3) == ["demo-2", "demo-1", "demo-3"]


def _site(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    create_site(target, SiteAnswers("demo", [InstanceAnswers("repo", "repo.example.edu")]),
                [HostEntry("repo", {"ansible_host": "repo.example.edu"})],
                vault_password_file=tmp_path / "vault.txt")
    return target


def test_written_and_removed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An added host gets a hosts.yml line and host_vars; `remove` restores hosts.yml."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    site = _site(tmp_path)
    original = (site / "hosts.yml").read_text()
    plan = _fake_plan(tmp_path)
    hosts = [CloudHost("repo", "i-1", "198.51.100.1", "172.31.0.1"),
             CloudHost("demo-1", "i-2", "198.51.100.2", "172.31.0.2")]
    cloud_inventory.write(site, plan, hosts)
    assert "demo-1: {}" in (site / "hosts.yml").read_text()
    written = yaml.safe_load((site / "host_vars" / "demo-1" / "cloud.yml").read_text())
    assert written == {
        "ansible_host": "198.51.100.2", "ansible_port": 22, "ansible_user": "admin",
        "ansible_become": True,
        "ansible_ssh_private_key_file": str(plan.key_path),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={plan.known_hosts} "
                                   "-o StrictHostKeyChecking=accept-new"}
    state = cloud_inventory.read_state(site)
    assert state is not None and state.region == "us-east-1"
    assert state.added_to_hosts_file == ["demo-1"]
    cloud_inventory.remove(site, "demo")
    assert (site / "hosts.yml").read_text() == original
    assert not (site / "host_vars" / "repo").exists()
    assert cloud_inventory.read_state(site) is None


def test_a_single_host_vars_file_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "host_vars").mkdir()
    (site / "host_vars" / "repo.yml").write_text("---\nansible_port: 2222\n")
    with pytest.raises(InputError, match=r"host_vars/repo/cloud\.yml"):
        cloud_inventory.check(site, ["repo"])


def test_the_inventory_check_uses_the_site_validation(tmp_path: Path) -> None:
    site = _site(tmp_path)
    cloud_inventory.check(site, ["repo"])  # one VM for init's host: fine
    with pytest.raises(InputError, match="is also used by instance repo"):
        cloud_inventory.check(site, ["repo", "demo-1"])
    assert load_site(site, require_vault=False).hosts == ["repo"]  # nothing written


def _fake_plan(tmp_path: Path) -> aws.CloudPlan:
    from dspace_deploy.cloud.model import CloudInventory, CloudPlan

    return CloudPlan(
        site="demo", region="us-east-1", account="123456789012", size="t3.large",
        architecture="amd64", debian="13", image_id="ami-1", image_name="debian-13-amd64-x",
        image_created="", vpc_id="vpc-1", subnet_id="subnet-1", availability_zone="",
        admin_cidr="203.0.113.7/32", data_volume_gb=50, root_volume_gb=20,
        root_device="/dev/xvda", key_name="dspace-deploy-demo",
        key_path=tmp_path / "key", key_action="generate", known_hosts=tmp_path / "kh",
        security_group_name="dspace-deploy-demo", security_group_id=None,
        ingress=aws.ingress_rules("203.0.113.7/32"), hosts=[],
        cost=prices.estimate("us-east-1", "t3.large", 1, 70),
        existing=CloudInventory("demo", "us-east-1"))


# --- the security group's rules ----------------------------------------------------------------


def test_the_rules_open_only_ssh_to_the_admins_and_web_and_handle_to_all() -> None:
    rules = {(r.protocol, r.port, r.cidr) for r in aws.ingress_rules("203.0.113.7/32")}
    assert ("tcp", 22, "203.0.113.7/32") in rules
    assert {port for proto, port, cidr in rules if cidr in ("0.0.0.0/0", "::/0")} == {
        80, 443, 2641, 8000}
    assert {(p, port) for p, port, _ in rules} == {
        ("tcp", 22), ("tcp", 80), ("tcp", 443), ("tcp", 2641), ("udp", 2641), ("tcp", 8000)}
    assert not {port for _, port, _ in rules} & {8080, 4000, 5432, 8983}


@pytest.mark.parametrize(("given", "kept"), [
    ("203.0.113.7/32", "203.0.113.7/32"), ("203.0.113.7", "203.0.113.7/32"),
    ("198.51.100.9/24", "198.51.100.0/24"), ("2001:db8::1/64", "2001:db8::/64")])
def test_admin_networks(given: str, kept: str) -> None:
    assert aws.checked_admin_cidr(given) == kept


@pytest.mark.parametrize("given", ["0.0.0.0/0", "::/0", "everyone", "10.0.0.300/8"])
def test_bad_admin_networks(given: str) -> None:
    with pytest.raises(InputError):
        aws.checked_admin_cidr(given)


def test_rules_of_a_described_group_round_trip() -> None:
    rules = aws.ingress_rules("203.0.113.7/32")
    described = {"IpPermissions": aws.permissions(rules)}
    assert sorted(r.key() for r in aws.rules_of(described)) == sorted(r.key() for r in rules)
    ranged = {"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                                 "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}
    assert [r.port for r in aws.rules_of(ranged)] == [0]  # never equal to a wanted rule
    everything = {"IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}
    assert [(r.protocol, r.port) for r in aws.rules_of(everything)] == [("-1", -1)]


# --- user data --------------------------------------------------------------------------------


def test_user_data_is_cloud_config_whose_script_is_valid_sh() -> None:
    text = userdata.user_data(30)
    assert text.startswith("#cloud-config\n")
    document = yaml.safe_load(text)
    [script] = document["bootcmd"]
    assert f"want_bytes={30 * 1024 ** 3}" in script
    assert "LABEL=$label /srv ext4 defaults,nofail" in script
    assert "/srv/postgresql /var/lib/postgresql none bind" in script
    assert "/srv/solr /var/solr none bind" in script
    checked = subprocess.run(["dash", "-n"], input=script, text=True, capture_output=True,
                             check=False)
    assert checked.returncode == 0, checked.stderr
    # only a disk with no filesystem and no partition is ever formatted
    assert script.index("blkid -o value -s TYPE") < script.index("mkfs.ext4")
    assert script.index('wc -l)" -eq 1') < script.index("mkfs.ext4")


# --- prices -----------------------------------------------------------------------------------


def test_the_price_table_is_dated_and_sourced() -> None:
    table = prices.table()
    assert time.strptime(table["compiled"], "%Y-%m-%d")
    assert "aws.amazon.com" in table["source"]
    for region, data in table["regions"].items():
        assert data["gp3_gb_month"] > 0, region
        assert data["instance_per_hour"]["t3.large"] > 0, region


def test_the_estimate_adds_instances_volumes_and_addresses() -> None:
    cost = prices.estimate("us-east-1", "t3.large", 2, 70)
    # 2 x 0.0832 x 730 + 2 x 70 x 0.08 + 2 x 0.005 x 730
    assert cost.monthly == pytest.approx(121.47 + 11.2 + 7.3, abs=0.01)
    assert cost.complete
    unknown = prices.estimate("ap-south-2", "t3.large", 1, 70)
    assert not unknown.complete and unknown.monthly == pytest.approx(3.65)


# --- the command line -----------------------------------------------------------------------


def test_cloud_help_is_fast_and_imports_no_boto3() -> None:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-X", "importtime", EXE, "cloud", "up", "--help"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "--admin-cidr" in result.stdout and "--data-volume-gb" in result.stdout
    assert "boto3" not in result.stderr and "botocore" not in result.stderr
    assert time.monotonic() - started < 5  # generous: the machine is shared (budget 0.3 s)


def test_the_ssh_wait_gives_up_with_what_to_check(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing answers SSH with the site's key on this address: after the timeout, one
    paragraph naming the admin network (the usual cause), and the VMs are left for a rerun
    or `cloud down`."""
    from dspace_deploy.cloud.model import CloudFailure

    monkeypatch.setattr(aws.time, "sleep", lambda _seconds: None)
    plan = _fake_plan(tmp_path)
    host = CloudHost("demo-1", "i-1", "127.0.0.1", "172.31.0.1")
    with pytest.raises(CloudFailure) as failure:
        aws.wait_until_ready(host, plan, timeout=0.5)
    message = str(failure.value)
    assert "did not answer over SSH" in message and "--admin-cidr 203.0.113.7/32" in message
    assert "cloud down" in message


# --- the user-data script, run: a mount namespace and fake disk tools ------------------------

_FAKE_TOOLS = {
    # disks: $FAKE/disks/NAME holds "SIZE FSTYPE LABEL PARTITIONS" (fstype/label "-": none)
    "lsblk": r'''
case "$*" in
  "-rno PKNAME /dev/nvme0n1p1") echo nvme0n1 ;;
  "-drnpo NAME,TYPE") for d in $(ls "$FAKE/disks"); do echo "/dev/$d disk"; done ;;
  -bdrno\ SIZE\ *) set -- $(cat "$FAKE/disks/${3##*/}"); echo "$1" ;;
  -rno\ NAME\ *) name=${3##*/}; set -- $(cat "$FAKE/disks/$name"); echo "$name"
                 i=0; while [ "$i" -lt "$4" ]; do i=$((i + 1)); echo "${name}p$i"; done ;;
  *) echo "lsblk: unexpected $*" >&2; exit 9 ;;
esac''',
    "blkid": r'''
case "$*" in
  "-L dspace-data") for d in $(ls "$FAKE/disks"); do set -- $(cat "$FAKE/disks/$d")
                      [ "$3" = dspace-data ] && { echo "/dev/$d"; exit 0; }; done; exit 2 ;;
  -o\ value\ -s\ TYPE\ *) set -- $(cat "$FAKE/disks/${5##*/}"); [ "$2" != - ] && echo "$2"
                          exit 0 ;;
  *) echo "blkid: unexpected $*" >&2; exit 9 ;;
esac''',
    "findmnt": r'''
case "$*" in
  "-rno SOURCE /") echo /dev/nvme0n1p1 ;;
  -rn\ *) grep -qxF "$2" "$FAKE/mounted" 2>/dev/null ;;
  *) echo "findmnt: unexpected $*" >&2; exit 9 ;;
esac''',
    "mkfs.ext4": r'''
echo "mkfs.ext4 $*" >> "$FAKE/log"
disk=${4##*/}; set -- $(cat "$FAKE/disks/$disk")
echo "$1 ext4 dspace-data $4" > "$FAKE/disks/$disk"''',
    "mount": r'''
echo "mount $*" >> "$FAKE/log"; echo "$1" >> "$FAKE/mounted"''',
}


def _boot(tmp_path: Path, disks: dict[str, str]) -> tuple[int, str, str]:
    """Run the user-data script as cloud-init would on a boot of a host with `disks`, in a
    mount namespace where /etc/fstab, /srv and /var are scratch copies."""
    import shutil

    if shutil.which("unshare") is None or shutil.which("dash") is None:
        pytest.fail("the test needs unshare and dash (util-linux, dash)")
    fake = tmp_path / "fake"
    for name, body in _FAKE_TOOLS.items():
        tool = fake / "bin" / name
        tool.parent.mkdir(parents=True, exist_ok=True)
        tool.write_text("#!/bin/sh\nset -u\n" + body.lstrip("\n") + "\n")
        tool.chmod(0o755)
    (fake / "disks").mkdir(exist_ok=True)
    for old in (fake / "disks").iterdir():
        old.unlink()
    for name, spec in disks.items():
        (fake / "disks" / name).write_text(spec + "\n")
    (fake / "mounted").write_text("")
    (tmp_path / "root" / "srv").mkdir(parents=True, exist_ok=True)
    (tmp_path / "root" / "var").mkdir(parents=True, exist_ok=True)
    fstab = tmp_path / "root" / "fstab"
    if not fstab.exists():
        fstab.write_text("# the image's own\n")
    script = tmp_path / "bootcmd.sh"
    script.write_text(userdata.mount_script(50))
    root = tmp_path / "root"
    setup = (f"/bin/mount --bind {fstab} /etc/fstab && /bin/mount --bind {root}/srv /srv && "
             f"/bin/mount --bind {root}/var /var && "
             f"FAKE={fake} PATH={fake}/bin:$PATH dash {script}")
    result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", setup],
                            capture_output=True, text=True, check=False, timeout=60)
    if "Operation not permitted" in result.stderr and "/bin/mount" not in result.stderr:
        pytest.fail(f"no mount namespace here: {result.stderr}")
    log = (fake / "log").read_text() if (fake / "log").exists() else ""
    (fake / "log").unlink(missing_ok=True)
    return result.returncode, log, result.stderr


GIB50 = str(50 * 1024 ** 3)


def test_the_script_formats_only_the_empty_data_disk_and_mounts_it(tmp_path: Path) -> None:
    disks = {
        "nvme0n1": f"{GIB50} - - 1",  # the root disk, same size, partitioned
        "nvme1n1": f"{GIB50} xfs - 0",  # same size but has a filesystem: not ours
        "nvme2n1": f"{2 * int(GIB50)} - - 0",  # an instance-store disk: another size
        "nvme3n1": f"{GIB50} - - 0",  # the data volume
    }
    code, log, stderr = _boot(tmp_path, disks)
    assert code == 0, stderr
    assert log.splitlines() == ["mkfs.ext4 -q -L dspace-data /dev/nvme3n1", "mount /srv",
                                "mount /var/lib/postgresql", "mount /var/solr"]
    fstab = (tmp_path / "root" / "fstab").read_text().splitlines()
    assert fstab == [
        "# the image's own",
        "LABEL=dspace-data /srv ext4 defaults,nofail 0 2",
        "/srv/postgresql /var/lib/postgresql none bind,nofail,"
        "x-systemd.requires-mounts-for=/srv 0 0",
        "/srv/solr /var/solr none bind,nofail,x-systemd.requires-mounts-for=/srv 0 0"]
    assert (tmp_path / "root" / "srv" / "postgresql").is_dir()
    assert (tmp_path / "root" / "var" / "solr").is_dir()
    # the next boot: the volume has its label; nothing is formatted or written twice
    disks["nvme3n1"] = f"{GIB50} ext4 dspace-data 0"
    code, log, stderr = _boot(tmp_path, disks)
    assert code == 0, stderr
    assert "mkfs" not in log and "mount /srv" in log
    assert (tmp_path / "root" / "fstab").read_text().splitlines() == fstab


def test_the_script_formats_nothing_without_a_volume_of_the_size(tmp_path: Path) -> None:
    code, log, stderr = _boot(tmp_path, {"nvme0n1": f"{GIB50} - - 1",
                                         "nvme1n1": f"{2 * int(GIB50)} - - 0"})
    assert code != 0
    assert "no data volume" in stderr
    assert log == ""
