"""The lab address plan: a subnet per lab from a pool, fixed host addresses, no overlaps."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.lab import labs, network, podman
from dspace_deploy.lab.network import LabNetwork

Net = ipaddress.IPv4Network
POOL = Net("10.188.0.0/16")


def test_hosts_get_fixed_addresses_after_the_gateway() -> None:
    subnet = Net("10.188.7.0/24")
    assert network.host_address(subnet, 1) == "10.188.7.11"
    assert network.host_address(subnet, labs.MAX_HOSTS) == "10.188.7.60"
    for index in (0, 245):
        with pytest.raises(InputError, match="does not fit"):
            network.host_address(subnet, index)
    lab_network = LabNetwork("dspace-lab-demo", "10.188.7.0/24")
    assert lab_network.gateway == "10.188.7.1"
    assert lab_network.address(2) == "10.188.7.12"


def test_the_first_free_subnet_of_the_pool_is_chosen() -> None:
    assert network.choose_subnet([], POOL) == Net("10.188.0.0/24")
    taken = [Net("10.188.0.0/24"), Net("10.188.1.0/24"), Net("10.88.0.0/16")]
    assert network.choose_subnet(taken, POOL) == Net("10.188.2.0/24")
    # a larger network (another tool's, a route) covers several lab subnets
    assert network.choose_subnet([Net("10.188.0.0/23"), Net("10.188.3.0/25")],
                                 POOL) == Net("10.188.2.0/24")


def test_a_full_pool_is_an_environment_problem_with_a_way_out() -> None:
    with pytest.raises(EnvironmentProblem, match="Every lab subnet") as caught:
        network.choose_subnet([Net("10.0.0.0/8")], POOL)
    assert network.POOL_ENV in (caught.value.hint or "")


def test_the_pool_comes_from_the_environment_and_is_checked() -> None:
    assert network.pool({}) == POOL
    assert network.pool({network.POOL_ENV: "10.77.0.0/20"}) == Net("10.77.0.0/20")
    for bad in ("10.77.0.0/25", "not-a-network", "10.77.0.1/16"):
        with pytest.raises(InputError, match=network.POOL_ENV):
            network.pool({network.POOL_ENV: bad})


def test_conflicts_name_the_other_networks_only() -> None:
    networks = {"dspace-lab-a": [Net("10.188.0.0/24")], "other": [Net("10.188.0.0/16")],
                "far": [Net("10.99.0.0/24")]}
    assert network.conflicts(Net("10.188.0.0/24"), networks, "dspace-lab-a") == ["other"]


def test_subnets_are_read_from_podmans_listing() -> None:
    listing = [{"name": "podman", "subnets": [{"subnet": "10.88.0.0/16"}]},
               {"name": "v6", "subnets": [{"subnet": "fd00::/64"}, {"subnet": "bogus"}]},
               {"name": "none"}]
    assert network.subnets_of(listing) == {"podman": [Net("10.88.0.0/16")], "v6": [],
                                           "none": []}


class FakePodman:
    """podman's network commands over an in-memory set of networks (refusing overlaps as
    podman does); `steal` makes another lab take a subnet right before our create."""

    def __init__(self, networks: dict[str, tuple[str, str | None]]) -> None:
        self.networks = dict(networks)  # name -> (subnet, lab label)
        self.steal: list[tuple[str, str]] = []  # (name, subnet) created before our next create
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str], **_kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        args = list(args)
        self.calls.append(args)
        if args[:2] == ["network", "ls"]:
            return self._ok(json.dumps([self._info(name) for name in self.networks]))
        if args[:2] == ["network", "inspect"]:
            if args[2] not in self.networks:
                return subprocess.CompletedProcess(args, 125, b"", b"network not found")
            return self._ok(json.dumps([self._info(args[2])]))
        if args[:2] == ["network", "create"]:
            while self.steal:
                name, subnet = self.steal.pop()
                self.networks[name] = (subnet, name.removeprefix("dspace-lab-"))
            subnet = args[args.index("--subnet") + 1]
            label = args[args.index("--label") + 1].split("=", 1)[1]
            if any(Net(subnet).overlaps(Net(have)) for have, _ in self.networks.values()):
                return subprocess.CompletedProcess(
                    args, 125, b"", f"subnet {subnet} is already used on the host".encode())
            self.networks[args[-1]] = (subnet, label)
            return self._ok("")
        if args[:2] == ["network", "rm"]:
            del self.networks[args[2]]
            return self._ok("")
        raise AssertionError(f"unexpected podman call {args}")

    def _info(self, name: str) -> dict[str, Any]:
        subnet, lab = self.networks[name]
        return {"name": name, "subnets": [{"subnet": subnet}],
                "labels": {podman.LAB_LABEL: lab} if lab else {}}

    @staticmethod
    def _ok(stdout: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess([], 0, stdout.encode(), b"")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakePodman:
    fake = FakePodman({"podman": ("10.88.0.0/16", None)})
    monkeypatch.setattr(podman, "podman", fake)
    monkeypatch.delenv(network.POOL_ENV, raising=False)
    return fake


def test_two_labs_get_subnets_that_do_not_overlap(fake: FakePodman) -> None:
    first = network.ensure("a")
    second = network.ensure("b")
    assert (first.subnet, second.subnet) == ("10.188.0.0/24", "10.188.1.0/24")
    assert fake.networks["dspace-lab-a"] == ("10.188.0.0/24", "a")
    create = next(call for call in fake.calls if call[:2] == ["network", "create"])
    assert "--disable-dns" in create
    # again: the existing network is adopted, nothing created
    before = len(fake.networks)
    assert network.ensure("a", first) == first
    assert len(fake.networks) == before


def test_a_lab_created_meanwhile_takes_the_subnet_and_we_take_the_next(
    fake: FakePodman,
) -> None:
    fake.steal.append(("dspace-lab-other", "10.188.0.0/24"))
    assert network.ensure("mine").subnet == "10.188.1.0/24"


def test_a_missing_network_is_recreated_on_its_recorded_subnet(fake: FakePodman) -> None:
    recorded = LabNetwork("dspace-lab-a", "10.188.5.0/24")
    assert network.ensure("a", recorded) == recorded
    assert fake.networks["dspace-lab-a"] == ("10.188.5.0/24", "a")


def test_a_recorded_subnet_another_network_took_is_refused(fake: FakePodman) -> None:
    fake.networks["dspace-lab-b"] = ("10.188.5.0/24", "b")
    with pytest.raises(EnvironmentProblem, match="dspace-lab-b"):
        network.ensure("a", LabNetwork("dspace-lab-a", "10.188.5.0/24"))
    assert "dspace-lab-a" not in fake.networks


def test_a_network_of_the_same_name_not_ours_is_left_alone(fake: FakePodman) -> None:
    fake.networks["dspace-lab-a"] = ("10.188.9.0/24", None)
    with pytest.raises(EnvironmentProblem, match="not lab a's"):
        network.ensure("a")
    assert network.remove("a") is False
    assert "dspace-lab-a" in fake.networks


def test_a_network_whose_subnet_moved_is_refused(fake: FakePodman) -> None:
    fake.networks["dspace-lab-a"] = ("10.188.9.0/24", "a")
    with pytest.raises(EnvironmentProblem, match=r"10\.188\.9\.0/24"):
        network.ensure("a", LabNetwork("dspace-lab-a", "10.188.5.0/24"))


def test_removing_takes_only_the_labs_own_network(fake: FakePodman) -> None:
    network.ensure("a")
    network.ensure("b")
    assert network.lab_networks() == ["a", "b"]
    assert network.remove("a") is True
    assert network.remove("a") is False
    assert set(fake.networks) == {"podman", "dspace-lab-b"}


# --- labs on their network ----------------------------------------------------------------


def _networked_lab(tmp_path: Path) -> labs.Lab:
    lab_network = LabNetwork("dspace-lab-demo", "10.188.3.0/24")
    return labs.Lab(
        name="demo", hosts=labs.plan_hosts("demo", ["debian12", "debian13"], lab_network),
        dir=tmp_path / "demo", inventory=tmp_path / "demo" / "inventory",
        vault_password_file=tmp_path / "vault.txt", ssh_key=tmp_path / "demo" / "id_ed25519",
        connection="ssh", network=lab_network,
    )


def test_lab_hosts_are_planned_on_fixed_addresses_and_know_each_other(tmp_path: Path) -> None:
    lab = _networked_lab(tmp_path)
    assert [h.address for h in lab.hosts] == ["10.188.3.11", "10.188.3.12"]
    assert [lab.fixed_address(h) for h in lab.hosts] == ["10.188.3.11", "10.188.3.12"]
    assert labs.etc_hosts(lab, lab.hosts[0]) == [
        ("demo-1.lab.test", "127.0.0.1"),
        ("demo-2", "10.188.3.12"),
        ("demo-2.lab.test", "10.188.3.12"),
    ]
    assert labs.host_vars(lab, lab.hosts[1])["ansible_host"] == "10.188.3.12"


def test_lab_json_records_the_network_and_reads_format_1(tmp_path: Path) -> None:
    lab = _networked_lab(tmp_path)
    lab.dir.mkdir()
    labs._write_meta(lab)
    meta = labs._read_meta(lab.dir)
    assert meta is not None and meta["format"] == 2
    assert meta["network"] == {"name": "dspace-lab-demo", "subnet": "10.188.3.0/24"}
    again = labs._lab_from_meta(lab.dir, meta)
    assert again.network == lab.network
    assert [again.fixed_address(h) for h in again.hosts] == ["10.188.3.11", "10.188.3.12"]
    # a lab made before networks: no network, addresses are whatever podman gave
    old = {key: value for key, value in meta.items() if key != "network"} | {"format": 1}
    legacy = labs._lab_from_meta(lab.dir, old)
    assert legacy.network is None
    labs._write_meta(legacy)  # `lab up` / `lab start` of an old lab keep it as it is
    rewritten = labs._read_meta(lab.dir)
    assert rewritten is not None and rewritten["format"] == 1 and rewritten["network"] is None
    assert legacy.fixed_address(legacy.hosts[0]) is None
    assert labs.etc_hosts(legacy, legacy.hosts[0]) == [("demo-1.lab.test", "127.0.0.1")]


def test_a_stopped_host_shows_its_fixed_address_a_running_one_its_actual(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lab = _networked_lab(tmp_path)
    infos = {
        "dspace-lab-demo-1": {"State": {"Running": False}, "Config": {"Labels": {
            podman.LAB_LABEL: "demo"}}},
        "dspace-lab-demo-2": {"State": {"Running": True}, "Config": {"Labels": {
            podman.LAB_LABEL: "demo"}}, "NetworkSettings": {"Networks": {
                "dspace-lab-demo": {"IPAddress": "10.188.3.12"}, "podman": {
                    "IPAddress": "10.88.0.9"}}}},
    }
    monkeypatch.setattr(podman, "inspect", lambda container: infos[container])
    labs._refresh(lab)
    assert [(h.state, h.address) for h in lab.hosts] == [("stopped", "10.188.3.11"),
                                                        ("running", "10.188.3.12")]


def test_a_host_off_its_fixed_address_is_an_error(tmp_path: Path) -> None:
    lab = _networked_lab(tmp_path)
    info = {"NetworkSettings": {"Networks": {"dspace-lab-demo": {"IPAddress": "10.188.3.99"}}}}
    with pytest.raises(EnvironmentProblem, match=r"not its fixed address 10\.188\.3\.11"):
        labs._current_address(lab, lab.hosts[0], info)


def test_run_arguments_put_the_host_on_its_network_and_address() -> None:
    args = podman.run_args(container="c", hostname="h", image="i", lab="demo",
                           os_name="debian13", network="dspace-lab-demo",
                           address="10.188.3.11", limits=((1024, 1024), (4096, 4096)))
    joined = " ".join(args)
    assert "--network dspace-lab-demo --ip 10.188.3.11" in joined
    assert "--restart always" in joined
    plain = " ".join(podman.run_args(container="c", hostname="h", image="i", lab="demo",
                                     os_name="debian13", limits=((1, 1), (1, 1))))
    assert "--network" not in plain and "--ip" not in plain
