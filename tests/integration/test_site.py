"""`up`, `check` and `verify` on real lab hosts (Debian 12 and 13 systemd containers).

One lab of two hosts serves the whole module. The hosts carry no DSpace instance (the
full stack is tests/integration/test_stack.py), so `up` converges the base system only,
which keeps these foundation tests fast. In the order a user works: check, up, up
again (changed=0 from runner stats), verify; then the failure paths on copies of the
inventory: a broken inventory touches no host, an unreachable host is reported while the
others complete; and the podman connection next to SSH. Finally every artifact of every
run is searched for every generated secret.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dspace_deploy import resources
from tests.integration.helpers import (
    assert_no_secret_in_files,
    cli,
    vault_secrets,
    without_instances,
)

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    # base system only (see the module docstring)
    return without_instances(
        lab_factory("site", hosts=2, oses=("debian12", "debian13"), connection="ssh"))


@pytest.fixture(scope="module")
def converged(lab: Any) -> list[dict[str, Any]]:
    """Two `up` runs; their JSON documents."""
    inventory = str(lab.inventory)
    runs = []
    for _ in range(2):
        code, document, stderr = cli("up", "-i", inventory)
        assert code == 0, json.dumps(document, indent=1) + stderr
        runs.append(document)
    return runs


def _copy_inventory(lab: Any, tmp_path: Path) -> Path:
    target = tmp_path / "inventory"
    shutil.copytree(lab.inventory, target)
    return target


def _hosts_yml(inventory: Path) -> dict[str, Any]:
    return yaml.safe_load((inventory / "hosts.yml").read_text())


def _artifact_dirs(state_home: Path) -> set[Path]:
    return {p for p in state_home.glob("*/runs/artifacts/*") if p.is_dir()}


def test_check_passes_on_fresh_hosts(lab: Any) -> None:
    code, document, _ = cli("check", "-i", str(lab.inventory))
    assert code == 0, document
    assert set(document["hosts"]) == {h.name for h in lab.hosts}
    for stats in document["hosts"].values():
        assert stats["failed"] == 0 and stats["unreachable"] == 0 and stats["changed"] == 0


def test_check_lists_every_problem_of_the_base_system(lab: Any, tmp_path: Path) -> None:
    """The base system's precheck reads the host in one probe and names every problem it
    finds, each once: too little memory and disk, a program on port 80, an SSH port the
    firewall would close, a CA file missing on the controller. Nothing changes."""
    inventory = _copy_inventory(lab, tmp_path)
    site_file = inventory / "group_vars" / "all" / "site.yml"
    data = yaml.safe_load(site_file.read_text())
    data.update({"common_min_memory_mb": 10 ** 9, "common_min_disk_free_gb": 10 ** 7,
                 "common_ssh_port": 2222,
                 "common_extra_ca_certificates": [str(tmp_path / "missing-ca.pem")]})
    site_file.write_text(yaml.safe_dump(data))
    host = lab.hosts[0]
    subprocess.run(["podman", "exec", host.container, "systemd-run", "--unit=squatter80",
                    "python3", "-m", "http.server", "80"], check=True, capture_output=True)
    try:
        _host_sh(host, "for i in $(seq 50); do ss -Hltn 'sport = :80' | grep -q . && exit 0;"
                       " sleep 0.1; done; exit 1")
        code, document, _ = cli("check", "-i", str(inventory), "--limit", host.name)
    finally:
        subprocess.run(["podman", "exec", host.container, "systemctl", "stop", "squatter80"],
                       check=False, capture_output=True)
    assert code == 1, document
    assert document["hosts"][host.name]["changed"] == 0
    message = " ".join(f["message"] for f in document["failures"] if f["host"] == host.name)
    assert f"common precheck found 5 problem(s) on {host.name}" in message, message
    for expected in (
            "MiB of memory, less than the 1000000000 MiB needed (common_min_memory_mb)",
            "The filesystem mounted on / has",
            "TCP port 80 is held by python3 (pid ",
            "Ansible reaches the host over SSH on port 22, but the firewall would open only "
            "TCP port(s) 2222 and cut the connection off",
            f'common_extra_ca_certificates lists "{tmp_path}/missing-ca.pem", which is not'):
        assert expected in message, message


def test_first_up_changes_every_host(converged: list[dict[str, Any]], lab: Any) -> None:
    first = converged[0]
    assert set(first["hosts"]) == {h.name for h in lab.hosts}
    for stats in first["hosts"].values():
        assert stats["changed"] > 0
        assert stats["failed"] == 0 and stats["unreachable"] == 0


def test_second_up_changes_nothing(converged: list[dict[str, Any]]) -> None:
    second = converged[1]
    assert second["ok"] is True
    for host, stats in second["hosts"].items():
        assert stats["changed"] == 0, f"{host} changed on the second run"
        assert stats["ok"] > 0


def _host_sh(host: Any, command: str) -> str:
    done = subprocess.run(["podman", "exec", host.container, "sh", "-c", command],
                          capture_output=True, text=True, check=True)
    return done.stdout


JOURNALD_DROPIN = "/etc/systemd/journald.conf.d/50-dspace-deploy.conf"


def test_converged_rerun_takes_the_fast_path(converged: list[dict[str, Any]], lab: Any) -> None:
    """The second run skipped the deploy tasks (stamps unchanged): far fewer tasks than the
    first, and `--full` runs them all again, still changing nothing."""
    first, second = converged
    host = lab.hosts[0].name
    assert second["hosts"][host]["ok"] * 3 < first["hosts"][host]["ok"], (first, second)
    code, full, _ = cli("up", "-i", str(lab.inventory), "--limit", host, "--full")
    assert code == 0, full
    assert full["hosts"][host]["changed"] == 0
    assert full["hosts"][host]["ok"] > 3 * second["hosts"][host]["ok"], (full, second)


def test_stamps_are_private_and_hold_no_secret(converged: list[dict[str, Any]],
                                               lab: Any) -> None:
    secrets = vault_secrets(lab)
    for host in lab.hosts:
        listing = _host_sh(host, "stat -c '%a %U %n' /var/lib/dspace-deploy/stamps/*.json")
        assert "/common.json" in listing, listing
        assert all(line.startswith("600 root ") for line in listing.splitlines()), listing
        stamps = _host_sh(host, "cat /var/lib/dspace-deploy/stamps/*.json")
        assert not any(secret in stamps for secret in secrets)


def test_up_repairs_a_managed_file_edited_by_hand(converged: list[dict[str, Any]],
                                                  lab: Any) -> None:
    host = lab.hosts[0]
    original = _host_sh(host, f"cat {JOURNALD_DROPIN}")
    _host_sh(host, f"printf '[Journal]\\nSystemMaxUse=1M\\n' > {JOURNALD_DROPIN}")
    code, document, _ = cli("up", "-i", str(lab.inventory), "--limit", host.name)
    assert code == 0, document
    assert document["hosts"][host.name]["changed"] > 0, "the stamp missed the edited file"
    assert _host_sh(host, f"cat {JOURNALD_DROPIN}") == original
    code, document, _ = cli("up", "-i", str(lab.inventory), "--limit", host.name)
    assert code == 0, document
    assert document["hosts"][host.name]["changed"] == 0


def test_up_restarts_a_stopped_service(converged: list[dict[str, Any]], lab: Any) -> None:
    host = lab.hosts[-1]
    _host_sh(host, "systemctl stop nftables")
    assert _host_sh(host, "systemctl is-active nftables || true").strip() == "inactive"
    code, document, _ = cli("up", "-i", str(lab.inventory), "--limit", host.name)
    assert code == 0, document
    assert document["hosts"][host.name]["changed"] > 0
    assert _host_sh(host, "systemctl is-active nftables").strip() == "active"
    code, document, _ = cli("up", "-i", str(lab.inventory), "--limit", host.name)
    assert code == 0 and document["hosts"][host.name]["changed"] == 0, document


def test_verify_passes_on_every_host(converged: list[dict[str, Any]], lab: Any) -> None:
    code, document, stderr = cli("verify", "-i", str(lab.inventory))
    assert code == 0, json.dumps(document, indent=1) + stderr
    for host in lab.hosts:
        counts = document["hosts"][host.name]
        assert counts["failed"] == 0 and counts["error"] == 0
        assert counts["passed"] >= 8, counts


def test_verify_detects_a_broken_host(converged: list[dict[str, Any]], lab: Any) -> None:
    """A check that cannot fail is worthless: break the firewall on one host, see it fail,
    then repair the host with `up`."""
    victim = lab.hosts[0]
    subprocess.run(["podman", "exec", victim.container, "systemctl", "stop", "nftables"],
                   check=True)
    try:
        code, document, _ = cli("verify", "-i", str(lab.inventory), "--limit", victim.name)
        assert code == 1
        failed = [c for c in document["hosts"][victim.name]["checks"]
                  if c["outcome"] == "failed"]
        assert any("nftables" in c["check"] or "firewall" in c["check"] for c in failed), failed
    finally:
        code, document, _ = cli("up", "-i", str(lab.inventory), "--limit", victim.name)
    assert code == 0 and document["hosts"][victim.name]["changed"] > 0


def test_broken_inventory_touches_no_host(converged: list[dict[str, Any]], lab: Any,
                                          tmp_path: Path, state_home: Path) -> None:
    inventory = _copy_inventory(lab, tmp_path)
    site_file = inventory / "group_vars" / "all" / "site.yml"
    data = yaml.safe_load(site_file.read_text())
    data["common_timezon"] = "America/Bogota"  # a typo a user makes
    site_file.write_text(yaml.safe_dump(data))
    before = _artifact_dirs(state_home)
    code, document, stderr = cli("up", "-i", str(inventory))
    assert code == 2
    assert "common_timezon" in stderr and "common_timezone" in stderr
    assert any(p["key"] == "common_timezon" for p in document["problems"])
    assert _artifact_dirs(state_home) == before, "Ansible ran although the input was bad"


def test_unreachable_host_is_reported_while_others_complete(
    converged: list[dict[str, Any]], lab: Any, tmp_path: Path
) -> None:
    inventory = _copy_inventory(lab, tmp_path)
    hosts = _hosts_yml(inventory)
    group = hosts["all"]["children"]["dspace"]["hosts"]
    template = dict(group[lab.hosts[0].name] or {})
    ghost = {**template, "ansible_host": "127.0.0.1", "ansible_port": 9}  # nothing listens
    if "dspace_instances" in ghost:
        ghost["dspace_instances"] = [
            {**i, "hostname": f"ghost-{i['name']}.lab.test"} for i in ghost["dspace_instances"]
        ]
    group["ghost"] = ghost
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    code, document, _ = cli("up", "-i", str(inventory))
    assert code == 1
    assert document["hosts"]["ghost"]["unreachable"] >= 1
    assert any(f["host"] == "ghost" and f["unreachable"] for f in document["failures"])
    for host in lab.hosts:
        stats = document["hosts"][host.name]
        assert stats["failed"] == 0 and stats["unreachable"] == 0 and stats["ok"] > 0


def test_a_changed_host_key_stops_the_run(converged: list[dict[str, Any]], lab: Any,
                                          tmp_path: Path) -> None:
    """A host whose SSH key is not the one recorded (a man in the middle, or a rebuilt host) is
    not contacted: ansible-runner would turn host key checking off, the toolkit turns it on."""
    inventory = _copy_inventory(lab, tmp_path)
    first = lab.hosts[0]
    forged = tmp_path / "known_hosts"
    other_key = subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "forged")],
        capture_output=True, text=True, check=True)
    assert other_key.returncode == 0
    forged_public = (tmp_path / "forged.pub").read_text().split()[:2]
    lines = [line for line in lab.known_hosts.read_text().splitlines()
             if first.address not in line.split()[0].split(",")]
    lines.append(f"{first.address} {' '.join(forged_public)}")
    forged.write_text("\n".join(lines) + "\n")
    for path in inventory.rglob("*.yml"):
        text = path.read_text()
        if str(lab.known_hosts) in text:
            path.write_text(text.replace(str(lab.known_hosts), str(forged)))
    # A persisting SSH master connection of an earlier run would skip the handshake.
    for socket in (resources.cache_home() / "ssh").glob("*"):
        socket.unlink()
    code, document, _ = cli("check", "-i", str(inventory))
    assert code == 1
    assert document["hosts"][first.name]["unreachable"] >= 1, document
    message = " ".join(f["message"] for f in document["failures"] if f["host"] == first.name)
    assert "host key" in message.lower() or "HOST IDENTIFICATION" in message, message
    second = document["hosts"][lab.hosts[1].name]
    assert second["unreachable"] == 0 and second["failed"] == 0


def test_podman_connection_works_like_ssh(converged: list[dict[str, Any]], lab: Any,
                                          tmp_path: Path) -> None:
    """On-premise hosts use SSH (the lab default); the podman connection must agree."""
    inventory = _copy_inventory(lab, tmp_path)
    hosts = _hosts_yml(inventory)
    group = hosts["all"]["children"]["dspace"]["hosts"]
    for host in lab.hosts:
        entry = group[host.name]
        for key in [k for k in entry if k.startswith("ansible_")]:
            del entry[key]
        entry["ansible_connection"] = "containers.podman.podman"
        entry["ansible_host"] = host.container
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    code, document, _ = cli("up", "-i", str(inventory))
    assert code == 0, document
    assert all(s["changed"] == 0 for s in document["hosts"].values())
    code, document, _ = cli("verify", "-i", str(inventory))
    assert code == 0, document


def test_no_secret_in_any_artifact(converged: list[dict[str, Any]], lab: Any,
                                   state_home: Path) -> None:
    secrets = vault_secrets(lab)
    documents = json.dumps(converged)
    assert not any(secret in documents for secret in secrets), "a secret reached --json"
    assert_no_secret_in_files(state_home, secrets)


def test_dry_run_on_converged_hosts_changes_nothing(converged: list[dict[str, Any]],
                                                    lab: Any) -> None:
    code, document, _ = cli("up", "-i", str(lab.inventory), "--check", "--diff")
    assert code == 0, document
    assert all(s["changed"] == 0 for s in document["hosts"].values())


def test_requiretty_hosts_work_with_pipelining_off(converged: list[dict[str, Any]], lab: Any,
                                                   tmp_path: Path) -> None:
    """Some sites' sudoers say `Defaults requiretty`. Pipelined sudo then fails; the
    documented per-host `ansible_pipelining: false` works without touching sudoers."""
    host = lab.hosts[-1]
    sudoers = "/etc/sudoers.d/zz-requiretty"
    subprocess.run(["podman", "exec", host.container, "sh", "-c",
                    f"echo 'Defaults requiretty' > {sudoers} && chmod 0440 {sudoers}"],
                   check=True)
    try:
        code, document, _ = cli("up", "-i", str(lab.inventory), "--limit", host.name)
        assert code == 1, "pipelined sudo should fail under requiretty"
        assert document["hosts"][host.name]["ok"] == 0 or document["failures"]
        inventory = _copy_inventory(lab, tmp_path)
        hosts = _hosts_yml(inventory)
        hosts["all"]["children"]["dspace"]["hosts"][host.name]["ansible_pipelining"] = False
        (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
        code, document, _ = cli("up", "-i", str(inventory), "--limit", host.name)
        assert code == 0, document
        assert document["hosts"][host.name]["changed"] == 0
    finally:
        subprocess.run(["podman", "exec", host.container, "rm", "-f", sudoers], check=True)
