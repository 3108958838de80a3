"""A lab's own podman network: a fixed subnet per lab and a fixed address per host.

On podman's default network a container gets whatever address is free when it starts, so a
stopped and restarted lab host (or every host after the controller restarts) can come back
on another address and the lab's inventory goes stale. A lab therefore owns a bridge network
`dspace-lab-<lab>` with a /24 subnet of its own, chosen once from a pool and recorded in
lab.json, and host number n always gets `--ip <subnet>.(10 + n)`: podman keeps a static
address in the container's configuration, so every start (podman start, the restart policy,
podman-restart.service after a reboot) gives the same one.

Subnets never overlap: the pool's /24s that any podman network (of any lab, any user of
this controller's rootful podman) or a route of the controller already uses are skipped,
and podman itself refuses an overlapping subnet, which covers two labs created at the same
moment (the loser takes the next free one). A lab whose recorded subnet is now used by
another network is refused, with that network's name, rather than moved.

The network has podman's DNS off: the hosts' names are written into every host's /etc/hosts
(`--add-host`, the addresses being fixed), which needs no aardvark-dns process and leaves
the hosts' resolver (the Debian mirror, npm) as it was.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.i18n import _
from dspace_deploy.lab import podman

POOL_ENV = "DSPACE_DEPLOY_LAB_SUBNETS"
# Inside 10/8 but apart from podman's own default network (10.88.0.0/16) and the start of
# its pool for new networks (10.89.0.0/16 upwards, filled from the bottom).
DEFAULT_POOL = "10.188.0.0/16"
PREFIX = 24
# Host n gets .(HOST_OFFSET + n): .1 is the gateway, the rest below is left free.
HOST_OFFSET = 10
NETWORK_PREFIX = "dspace-lab-"
# Attempts when another lab takes the chosen subnet between our listing and our create.
CREATE_ATTEMPTS = 5

Subnet = ipaddress.IPv4Network


@dataclass(frozen=True)
class LabNetwork:
    name: str
    subnet: str  # e.g. 10.188.3.0/24

    def address(self, index: int) -> str:
        return host_address(ipaddress.IPv4Network(self.subnet), index)

    @property
    def gateway(self) -> str:
        return str(ipaddress.IPv4Network(self.subnet).network_address + 1)

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "subnet": self.subnet}


# --- the address plan (pure) ---------------------------------------------------------------


def network_name(lab: str) -> str:
    return f"{NETWORK_PREFIX}{lab}"


def host_address(subnet: Subnet, index: int) -> str:
    """The fixed address of host number `index` (from 1) in `subnet`."""
    offset = HOST_OFFSET + index
    if index < 1 or offset >= subnet.num_addresses - 1:
        raise InputError(
            _("Lab host number {index} does not fit in the lab subnet {subnet}.").format(
                index=index, subnet=subnet),
            hint=_("A lab subnet is a /{prefix}; use fewer hosts.").format(prefix=PREFIX),
        )
    return str(subnet.network_address + offset)


def pool(environ: Mapping[str, str] | None = None) -> Subnet:
    """The pool lab subnets come from (DSPACE_DEPLOY_LAB_SUBNETS, default 10.188.0.0/16)."""
    text = (environ if environ is not None else os.environ).get(POOL_ENV) or DEFAULT_POOL
    try:
        value = ipaddress.IPv4Network(text.strip())
    except ValueError as error:
        raise InputError(
            _("{setting}={value} is not an IPv4 network ({error}).").format(
                setting=POOL_ENV, value=text, error=error),
            hint=_("Give a network such as {example}.").format(example=DEFAULT_POOL),
        ) from error
    if value.prefixlen > PREFIX:
        raise InputError(
            _("{setting}={value} is smaller than one lab subnet (/{prefix}).").format(
                setting=POOL_ENV, value=text, prefix=PREFIX),
            hint=_("Give a network such as {example}.").format(example=DEFAULT_POOL),
        )
    return value


def choose_subnet(taken: Iterable[Subnet], within: Subnet) -> Subnet:
    """The first /24 of `within` that overlaps none of `taken`."""
    used = list(taken)
    for candidate in within.subnets(new_prefix=PREFIX):
        if not any(candidate.overlaps(other) for other in used):
            return candidate
    raise EnvironmentProblem(
        _("Every lab subnet of {pool} is in use (by labs or other podman networks).").format(
            pool=within),
        hint=_("Remove labs you no longer need (`dspace-deploy lab list`, `lab down NAME`), "
               "or give another pool with {setting}=10.x.0.0/16.").format(setting=POOL_ENV),
    )


def conflicts(subnet: Subnet, networks: Mapping[str, list[Subnet]], own: str) -> list[str]:
    """Names of the networks other than `own` whose subnets overlap `subnet`."""
    return sorted(name for name, subnets in networks.items()
                  if name != own and any(subnet.overlaps(other) for other in subnets))


def subnets_of(listing: Iterable[Mapping[str, Any]]) -> dict[str, list[Subnet]]:
    """Network name -> its IPv4 subnets, from `podman network ls --format json`."""
    found: dict[str, list[Subnet]] = {}
    for network in listing:
        values = []
        for item in network.get("subnets") or []:
            try:
                parsed = ipaddress.ip_network(str(item.get("subnet", "")))
            except ValueError:
                continue
            if isinstance(parsed, ipaddress.IPv4Network):
                values.append(parsed)
        found[str(network.get("name", ""))] = values
    return found


def create_args(lab: str, name: str, subnet: Subnet) -> list[str]:
    return ["network", "create", "--subnet", str(subnet), "--disable-dns",
            "--label", f"{podman.LAB_LABEL}={lab}", name]


# --- podman --------------------------------------------------------------------------------


def _listing() -> list[dict[str, Any]]:
    result = podman.podman(["network", "ls", "--format", "json"],
                           what=_("listing podman networks"))
    data: list[dict[str, Any]] = json.loads(result.stdout or b"[]") or []
    return data


def _inspect(name: str) -> dict[str, Any] | None:
    result = podman.podman(["network", "inspect", name], check=False)
    if result.returncode != 0:
        return None
    data = json.loads(result.stdout or b"[]")
    return data[0] if data else None


def ensure(lab: str, recorded: LabNetwork | None = None) -> LabNetwork:
    """The lab's network, created if missing: on `recorded`'s subnet when the lab has one
    (refused if another network took it), else on the first free subnet of the pool."""
    name = network_name(lab)
    existing = _inspect(name)
    if existing is not None:
        return _adopt(lab, name, existing, recorded)
    if recorded is not None:
        subnet = ipaddress.IPv4Network(recorded.subnet)
        clash = conflicts(subnet, subnets_of(_listing()), name)
        if clash:
            raise EnvironmentProblem(
                _("Lab {lab}'s subnet {subnet} is now used by the podman network {others}; "
                  "its hosts' recorded addresses cannot be given back.").format(
                      lab=lab, subnet=subnet, others=", ".join(clash)),
                hint=_("Remove that network, or remove the lab (`{command}`) and create it "
                       "again on a free subnet.").format(command=f"dspace-deploy lab down {lab}"),
            )
        _create(lab, name, subnet)
        return LabNetwork(name, str(subnet))
    avoid: list[Subnet] = []
    for _attempt in range(CREATE_ATTEMPTS):
        taken = [s for subnets in subnets_of(_listing()).values() for s in subnets]
        subnet = choose_subnet([*taken, *avoid], pool())
        result = podman.podman(create_args(lab, name, subnet), check=False)
        if result.returncode == 0:
            return LabNetwork(name, str(subnet))
        if b"already used" not in result.stderr:
            _create(lab, name, subnet)  # raises with podman's message
        avoid.append(subnet)  # a route of the controller, or another lab was faster
    raise EnvironmentProblem(
        _("Could not create the podman network {name}: the subnets tried ({subnets}) are "
          "used on this controller.").format(name=name,
                                             subnets=", ".join(str(s) for s in avoid)),
        hint=_("Give another pool with {setting}=10.x.0.0/16.").format(setting=POOL_ENV),
    )


def _create(lab: str, name: str, subnet: Subnet) -> None:
    podman.podman(create_args(lab, name, subnet),
                  what=_("creating the lab network {name} ({subnet})").format(name=name,
                                                                             subnet=subnet))


def _adopt(lab: str, name: str, info: Mapping[str, Any],
           recorded: LabNetwork | None) -> LabNetwork:
    labels = info.get("labels") or {}
    subnets = subnets_of([info]).get(name) or []
    if labels.get(podman.LAB_LABEL) != lab or not subnets:
        raise EnvironmentProblem(
            _("A podman network named {name} exists but is not lab {lab}'s; dspace-deploy "
              "leaves it alone.").format(name=name, lab=lab),
            hint=_("Remove or rename it, or choose another lab name."),
        )
    actual = LabNetwork(name, str(subnets[0]))
    if recorded is not None and recorded.subnet != actual.subnet:
        raise EnvironmentProblem(
            _("Lab {lab}'s network {name} has subnet {actual}, not the {recorded} its hosts' "
              "addresses were planned in.").format(lab=lab, name=name, actual=actual.subnet,
                                                  recorded=recorded.subnet),
            hint=_("Remove the lab (`{command}`) and create it again.").format(
                command=f"dspace-deploy lab down {lab}"),
        )
    return actual


def remove(lab: str) -> bool:
    """Remove lab `lab`'s network if it exists and carries the lab's label."""
    name = network_name(lab)
    info = _inspect(name)
    if info is None or (info.get("labels") or {}).get(podman.LAB_LABEL) != lab:
        return False
    podman.podman(["network", "rm", name], what=_("removing the lab network {name}").format(
        name=name))
    return True


def lab_networks() -> list[str]:
    """Lab names of the lab networks on this controller (by label)."""
    return sorted({str((item.get("labels") or {}).get(podman.LAB_LABEL))
                   for item in _listing() if (item.get("labels") or {}).get(podman.LAB_LABEL)})
