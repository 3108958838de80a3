"""Labs: named groups of podman lab hosts with a ready site inventory.

A lab lives in `resources.data_home()/labs/<name>/`:

    lab.json              what was asked for (hosts, OS of each, connection) and when, the
                          lab's network (subnet) and each host's fixed address
    id_ed25519[.pub]      SSH key pair installed for root and for the `deploy` user
    known_hosts           the hosts' SSH host keys (written here, never learned on first use)
    inventory/            a site inventory for `dspace-deploy up -i ...`

Its hosts are containers named `dspace-lab-<lab>-<n>` carrying the label
`dspace-deploy.lab=<lab>`; only containers with that label are ever stopped or removed. They
sit on the lab's own podman network `dspace-lab-<lab>` (same label) at fixed addresses
(network.py), so a host keeps its address, and the inventory stays right, across restarts of
the host or of the controller. Labs made before that (lab.json format 1: podman's default
network) keep working as they did: `lab up` refreshes their addresses.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.i18n import _, ngettext
from dspace_deploy.lab import images, network, podman
from dspace_deploy.lab.network import LabNetwork

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,20}$")
CONNECTIONS = ("podman", "ssh")
MAX_HOSTS = 50
DEFAULT_OS = "debian13"
# The DSpace line each lab OS suits (lines.py: DSpace 8 on Debian 12, 9 and 10 on 13).
LINE_FOR_OS = {"debian12": "8", "debian13": "9"}
DEPLOY_USER = "deploy"
INSTANCE_NAME = "repo"
HOST_DOMAIN = "lab.test"
METADATA = "lab.json"
# 2: the lab has a network of its own and fixed host addresses (1: podman's default network)
METADATA_FORMAT = 2
# Concurrent host starts: podman and systemd boots are mostly waiting, not computing.
START_WORKERS = 8
SSH_TIMEOUT = 30.0

Progress = Callable[[str], None]


@dataclass
class LabHost:
    name: str  # inventory host name, also its hostname
    container: str
    os: str
    # Address on the lab's network (fixed: known even when stopped); on podman's default
    # network for labs of format 1 (None when not running).
    address: str | None = None
    state: str = "running"  # running, stopped or missing

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "container": self.container,
            "os": self.os,
            "address": self.address,
            "state": self.state,
        }


@dataclass
class Lab:
    name: str
    hosts: list[LabHost]
    dir: Path
    inventory: Path
    vault_password_file: Path
    ssh_key: Path
    connection: str
    created: str = ""  # ISO 8601, UTC
    # OS -> Debian packages preinstalled in its hosts' image (test labs; empty: plain image)
    preload: dict[str, list[str]] = field(default_factory=dict)
    network: LabNetwork | None = None  # None: a lab of format 1, on podman's default network

    def fixed_address(self, host: LabHost) -> str | None:
        """The address `host` always has on the lab's network (None without one)."""
        if self.network is None:
            return None
        return self.network.address(self.hosts.index(host) + 1)

    @property
    def known_hosts(self) -> Path:
        """The hosts' SSH host keys, for `-o UserKnownHostsFile=...`."""
        return self.dir / "known_hosts"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "connection": self.connection,
            "created": self.created,
            "dir": str(self.dir),
            "inventory": str(self.inventory),
            "vault_password_file": str(self.vault_password_file),
            "ssh_key": str(self.ssh_key),
            "known_hosts": str(self.known_hosts),
            "network": self.network.as_dict() if self.network else None,
            "hosts": [host.as_dict() for host in self.hosts],
        }


# --- names and shapes (pure) -------------------------------------------------------------


def validate_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(
            _("Invalid lab name {name}.").format(name=repr(name)),
            hint=_("A lab name starts with a lowercase letter, then up to 20 lowercase "
                   "letters, digits or hyphens (e.g. `demo`, `course-3`)."),
        )
    return name


def assign_oses(hosts: int, oses: Sequence[str]) -> list[str]:
    """The OS of each host: the requested OSes in turn (round-robin)."""
    if not 1 <= hosts <= MAX_HOSTS:
        raise InputError(_("A lab has 1 to {most} hosts, not {hosts}.").format(most=MAX_HOSTS,
                                                                               hosts=hosts))
    chosen = list(oses) or [DEFAULT_OS]
    unknown = sorted({name for name in chosen if name not in images.SUITES})
    if unknown:
        raise InputError(
            _("Unknown lab OS: {names}.").format(names=", ".join(unknown)),
            hint=_("Choose from: {names}.").format(names=", ".join(images.OS_NAMES)),
        )
    return [chosen[index % len(chosen)] for index in range(hosts)]


def host_name(lab: str, index: int) -> str:
    return f"{lab}-{index}"


def lab_dir(name: str) -> Path:
    return labs_root() / name


def labs_root() -> Path:
    return resources.data_home() / "labs"


def plan_hosts(
    name: str, host_oses: Sequence[str], lab_network: LabNetwork | None = None
) -> list[LabHost]:
    return [
        LabHost(
            name=host_name(name, index),
            container=podman.container_name(name, index),
            os=os_name,
            address=lab_network.address(index) if lab_network else None,
            state="missing",
        )
        for index, os_name in enumerate(host_oses, start=1)
    ]


def etc_hosts(lab: Lab, host: LabHost) -> list[tuple[str, str]]:
    """(name, address) lines for `host`'s /etc/hosts: its own instance's public name on
    loopback (server-side rendering calls the REST API by that name), and the other hosts'
    names and public names at their fixed addresses (none without a lab network)."""
    entries = [(f"{host.name}.{HOST_DOMAIN}", "127.0.0.1")]
    for other in lab.hosts:
        address = lab.fixed_address(other)
        if other is not host and address:
            entries += [(other.name, address), (f"{other.name}.{HOST_DOMAIN}", address)]
    return entries


def host_vars(lab: Lab, host: LabHost) -> dict[str, Any]:
    """Connection variables of one host in the lab's inventory."""
    if lab.connection == "podman":
        return {"ansible_connection": "containers.podman.podman", "ansible_host": host.container}
    return {
        "ansible_host": host.address,
        "ansible_user": DEPLOY_USER,
        "ansible_become": True,
        "ansible_ssh_private_key_file": str(lab.ssh_key),
        "ansible_ssh_common_args": (
            f"-o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=accept-new"
        ),
    }


# --- creating ------------------------------------------------------------------------------


def create_lab(
    name: str = "lab",
    hosts: int = 1,
    oses: Sequence[str] = (DEFAULT_OS,),
    connection: str = "ssh",
    progress: Progress | None = None,
    preload: Mapping[str, Sequence[str]] | None = None,
) -> Lab:
    """Create lab `name` (or bring an existing one with the same shape back up).

    Hosts get their OS from `oses` in turn. An existing lab of another shape is an
    InputError: the user removes it first (`lab down`). A failed creation removes what it
    made. `preload` (OS -> Debian packages) starts the hosts of those OSes from a preloaded
    image (images.ensure_preloaded_image); a host recreated later gets the same image.
    """
    validate_name(name)
    host_oses = assign_oses(hosts, oses)
    if connection not in CONNECTIONS:
        raise InputError(
            _("Unknown lab connection {connection}.").format(connection=repr(connection)),
            hint=_("Choose `podman` or `ssh`."),
        )
    podman.podman_path()
    podman.require_runtime()
    _require_ssh_keygen()
    say = progress or (lambda _message: None)
    root = labs_root()
    root.mkdir(parents=True, exist_ok=True)
    directory = lab_dir(name)
    with _locked(root / f".{name}.lock"):
        meta = _read_meta(directory)
        if meta is not None:
            _check_same_shape(name, meta, host_oses, connection)
            return _resume(_lab_from_meta(directory, meta), say)
        # No lab.json: nothing, or the remains of an interrupted creation.
        _remove_lab(name, directory)
        try:
            return _create(name, directory, host_oses, connection, say, dict(preload or {}))
        except BaseException:
            say(_("creating lab {name} failed; removing what was made").format(name=name))
            with contextlib.suppress(Exception):
                _remove_lab(name, directory)
            raise


def start_lab(name: str, progress: Progress | None = None) -> Lab:
    """Start lab `name` as lab.json describes it (after a restart of the controller, say):
    stopped hosts are started, missing ones recreated, each on its fixed address; no need
    to repeat `lab up`'s options."""
    validate_name(name)
    podman.podman_path()
    podman.require_runtime()
    directory = lab_dir(name)
    root = labs_root()
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{name}.lock"):
        meta = _read_meta(directory)
        if meta is None:
            existing = [lab.name for lab in list_labs()]
            raise InputError(
                _("There is no lab named {name}.").format(name=repr(name)),
                hint=(_("Existing labs: {names}.").format(names=", ".join(existing))
                      if existing else
                      _("There are no labs; create one with `dspace-deploy lab up`.")),
            )
        return _resume(_lab_from_meta(directory, meta), progress or (lambda _message: None))


def stack_preload(oses: Sequence[str]) -> dict[str, list[str]]:
    """`create_lab`'s `preload` for `lab up --preload`: every OS with the stack's packages."""
    return {os_name: images.stack_packages(os_name) for os_name in dict.fromkeys(oses)}


def lab_vault_password_file(name: str) -> Path:
    """Labs keep their vault password where every site does, so commands find it unaided."""
    return resources.vault_password_file(f"lab-{name}")


def _create(
    name: str,
    directory: Path,
    host_oses: list[str],
    connection: str,
    say: Progress,
    preload: Mapping[str, Sequence[str]],
) -> Lab:
    tags = {
        os_name: images.ensure_preloaded_image(os_name, preload.get(os_name, ()), say)
        for os_name in dict.fromkeys(host_oses)
    }
    directory.mkdir(parents=True, mode=0o700)
    directory.chmod(0o700)
    lab_network = network.ensure(name)
    say(_("lab network {name}: {subnet}").format(name=lab_network.name,
                                                subnet=lab_network.subnet))
    lab = Lab(
        name=name,
        hosts=plan_hosts(name, host_oses, lab_network),
        dir=directory,
        inventory=directory / "inventory",
        vault_password_file=lab_vault_password_file(name),
        ssh_key=directory / "id_ed25519",
        connection=connection,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        preload={os_name: list(preload[os_name]) for os_name in host_oses if os_name in preload},
        network=lab_network,
    )
    _generate_key(lab)
    say(ngettext("starting {count} lab host", "starting {count} lab hosts",
                 len(lab.hosts)).format(count=len(lab.hosts)))
    _for_each(lab.hosts, lambda host: _start_new(lab, host, tags[host.os], say))
    _finish(lab)
    _write_inventory(lab)
    _write_meta(lab)
    return lab


def _resume(lab: Lab, say: Progress) -> Lab:
    """Start what is stopped, recreate what is missing, refresh addresses and keys."""
    old = {host.name: host.address for host in lab.hosts}  # as recorded in lab.json
    if lab.network is not None:  # recreated (same subnet) if someone removed it
        lab.network = network.ensure(lab.name, lab.network)
    _refresh(lab)
    rekey = not lab.ssh_key.is_file() or not lab.ssh_key.with_suffix(".pub").is_file()
    if rekey:  # a new key must reach every host, running or not
        _generate_key(lab)
    todo = [host for host in lab.hosts
            if rekey or host.state != "running"
            or (lab.network is not None and host.address != lab.fixed_address(host))]
    if todo:
        say(ngettext("lab {name} exists; bringing up {count} host",
                     "lab {name} exists; bringing up {count} hosts", len(todo)).format(
                         name=lab.name, count=len(todo)))

    def image(os_name: str) -> str:
        return images.ensure_preloaded_image(os_name, lab.preload.get(os_name, ()), say)

    def bring_up(host: LabHost) -> None:
        if host.state == "missing":
            _start_new(lab, host, image(host.os), say)
            return
        if host.state != "running":
            podman.podman(["start", host.container],
                          what=_("starting {container}").format(container=host.container))
        _prepare(lab, host)

    images_first = {host.os for host in todo if host.state == "missing"}
    for os_name in sorted(images_first):  # builds are serialised anyway
        image(os_name)
    _for_each(todo, bring_up)
    _finish(lab)
    if not lab.inventory.is_dir():
        _write_inventory(lab)
    elif lab.connection == "ssh" and any(old.get(h.name) != h.address for h in lab.hosts):
        _update_inventory_addresses(lab)
    _write_meta(lab)
    return lab


def _start_new(lab: Lab, host: LabHost, image: str, say: Progress) -> None:
    args = podman.run_args(
        container=host.container,
        hostname=host.name,
        image=image,
        lab=lab.name,
        os_name=host.os,
        add_hosts=etc_hosts(lab, host),
        network=lab.network.name if lab.network else None,
        address=lab.fixed_address(host),
    )
    podman.podman(args, what=_("starting lab host {container}").format(
        container=host.container), timeout=300)
    _prepare(lab, host)
    say(_("{host} ({os}) is up").format(host=host.name, os=host.os))


def _prepare(lab: Lab, host: LabHost) -> None:
    """Wait for systemd, install the lab key for root and `deploy`, start sshd."""
    podman.wait_for_systemd(host.container)
    public_key = lab.ssh_key.with_suffix(".pub").read_text().strip()
    podman.podman(
        podman.exec_args(host.container, ["/bin/sh", "-s"], interactive=True),
        input=provision_script(public_key).encode(),
        what=_("preparing {container} (user {user}, SSH key, sshd)").format(
            container=host.container, user=DEPLOY_USER),
        timeout=120,
    )
    host.state = "running"
    host.address = _current_address(lab, host, podman.inspect(host.container))


def _current_address(lab: Lab, host: LabHost, info: dict[str, Any] | None) -> str | None:
    """Where `host` answers now; a host off its fixed address is an error (not papered over
    by rewriting the inventory)."""
    if lab.network is None:
        return podman.address_of(info)
    address = podman.address_of(info, lab.network.name)
    fixed = lab.fixed_address(host)
    if address != fixed:
        raise EnvironmentProblem(
            _("Lab host {container} has address {address} on {network}, not its fixed "
              "address {fixed}.").format(container=host.container, address=address,
                                         network=lab.network.name, fixed=fixed),
            hint=_("Remove the lab (`{command}`) and create it again.").format(
                command=f"dspace-deploy lab down {lab.name}"),
        )
    return address


def provision_script(public_key: str) -> str:
    """Shell run as root in a new host: the `deploy` user, the lab key, sshd."""
    key = shlex.quote(public_key)
    user = DEPLOY_USER
    return f"""\
set -eu
id {user} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash {user}
printf '%s\\n' '{user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/{user}
chmod 0440 /etc/sudoers.d/{user}
for home in /root /home/{user}; do
  install -d -m 0700 "$home/.ssh"
  touch "$home/.ssh/authorized_keys"
  grep -qxF {key} "$home/.ssh/authorized_keys" ||
    printf '%s\\n' {key} >> "$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
done
chown -R {user}:{user} /home/{user}/.ssh
systemctl enable --now ssh.service >/dev/null 2>&1 || systemctl start ssh.service
"""


def _finish(lab: Lab) -> None:
    """Record the hosts' SSH host keys; with SSH, wait until every sshd answers."""
    keys: dict[str, list[str]] = {}

    def read_keys(host: LabHost) -> None:
        result = podman.podman(
            podman.exec_args(host.container, ["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"]),
            what=_("reading the SSH host keys of {container}").format(
                container=host.container),
        )
        keys[host.name] = [
            f"{host.address} {parts[0]} {parts[1]}"
            for parts in (line.split() for line in result.stdout.decode().splitlines())
            if len(parts) >= 2
        ]
        if lab.connection == "ssh" and host.address:
            _wait_for_port(host.address, 22, host.container)

    _for_each([h for h in lab.hosts if h.state == "running" and h.address], read_keys)
    lines = [line for host in lab.hosts for line in keys.get(host.name, [])]
    _write_private(lab.known_hosts, "".join(f"{line}\n" for line in lines))


def _wait_for_port(address: str, port: int, container: str) -> None:
    deadline = time.monotonic() + SSH_TIMEOUT
    while True:
        try:
            with socket.create_connection((address, port), timeout=3):
                return
        except OSError as error:
            if time.monotonic() >= deadline:
                raise EnvironmentProblem(
                    _("Lab host {container} does not answer on {address} from this controller "
                      "({error}).").format(container=container, address=f"{address}:{port}",
                                           error=error),
                    hint=_("Lab hosts are reachable from the controller under rootful podman "
                           "(a rootless podman's networks live in a namespace of their own); "
                           "`--connection podman` needs no network."),
                ) from error
            time.sleep(0.5)


def _generate_key(lab: Lab) -> None:
    for path in (lab.ssh_key, lab.ssh_key.with_suffix(".pub")):
        path.unlink(missing_ok=True)
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            f"dspace-deploy lab {lab.name}",
            "-f",
            str(lab.ssh_key),
        ],
        check=True,
        capture_output=True,
    )
    lab.ssh_key.chmod(0o600)


def _require_ssh_keygen() -> None:
    if shutil.which("ssh-keygen") is None:
        raise EnvironmentProblem(
            _("ssh-keygen is not installed on this controller; labs make an SSH key with it."),
            hint=_("Install it with: {command}.").format(
                command="sudo apt-get install -y openssh-client"),
        )


def _for_each(hosts: Sequence[LabHost], job: Callable[[LabHost], None]) -> None:
    """Run `job` for every host concurrently; raise the first failure after all ended."""
    if not hosts:
        return
    with ThreadPoolExecutor(max_workers=min(START_WORKERS, len(hosts))) as pool:
        futures = [pool.submit(job, host) for host in hosts]
    errors = [future.exception() for future in futures if future.exception() is not None]
    if errors:
        first = errors[0]
        assert first is not None
        if len(errors) > 1 and hasattr(first, "message"):
            first.message += f" ({len(errors) - 1} other host(s) failed too.)"
        raise first


# --- inventory -----------------------------------------------------------------------------


def _write_inventory(lab: Lab) -> None:
    from dspace_deploy.lab import inventory

    inventory.write(lab)


def _update_inventory_addresses(lab: Lab) -> None:
    from dspace_deploy.lab import inventory

    inventory.update_addresses(lab)


# --- listing and removing ------------------------------------------------------------------


def list_labs() -> list[Lab]:
    """Every lab defined in this data home, with each host's current state and address."""
    root = labs_root()
    if not root.is_dir():
        return []
    labs = []
    for directory in sorted(path for path in root.iterdir() if path.is_dir()):
        meta = _read_meta(directory)
        if meta is None:
            continue
        lab = _lab_from_meta(directory, meta)
        _refresh(lab)
        labs.append(lab)
    return labs


def orphan_labs() -> list[str]:
    """Names of labs that have containers but no definition in this data home."""
    known = {path.name for path in labs_root().glob("*") if (path / METADATA).is_file()}
    names = {
        (container.get("Labels") or {}).get(podman.LAB_LABEL, "")
        for container in podman.lab_containers()
    }
    names.update(network.lab_networks())
    return sorted(name for name in names if name and name not in known)


def destroy_lab(name: str) -> list[str]:
    """Remove lab `name`: its containers (by label) and its directory, not the images.

    Returns the names of the containers removed.
    """
    validate_name(name)
    podman.podman_path()
    directory = lab_dir(name)
    root = labs_root()
    containers = _container_names(name)
    if not directory.exists() and not containers and name not in network.lab_networks():
        existing = [lab.name for lab in list_labs()] + orphan_labs()
        raise InputError(
            _("There is no lab named {name}.").format(name=repr(name)),
            hint=(
                _("Existing labs: {names}.").format(names=", ".join(existing))
                if existing
                else _("There are no labs; create one with `dspace-deploy lab up`.")
            ),
        )
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{name}.lock"):
        return _remove_lab(name, directory)


def _remove_lab(name: str, directory: Path) -> list[str]:
    containers = _container_names(name)
    podman.remove(containers)
    network.remove(name)  # after its containers: podman refuses a network in use
    if directory.exists():
        shutil.rmtree(directory)
    # Also when the directory is already gone: a half-made or half-removed lab must not
    # leave its vault password behind.
    lab_vault_password_file(name).unlink(missing_ok=True)
    return containers


def _container_names(name: str) -> list[str]:
    names = []
    for container in podman.lab_containers(name):
        value = container.get("Names") or []
        names.extend(value if isinstance(value, list) else [value])
    return sorted(names)


def _refresh(lab: Lab) -> None:
    for host in lab.hosts:
        info = podman.inspect(host.container)
        labels = ((info or {}).get("Config") or {}).get("Labels") or {}
        if info is not None and labels.get(podman.LAB_LABEL) != lab.name:
            raise EnvironmentProblem(
                _("A container named {container} exists but is not part of lab {name}; "
                  "dspace-deploy leaves it alone.").format(container=host.container,
                                                           name=lab.name),
                hint=_("Rename or remove it, or choose another lab name."),
            )
        host.state = podman.state_of(info)
        if host.state == "running":
            host.address = podman.address_of(info, lab.network.name if lab.network else None)
        else:  # a stopped host of a lab network comes back on its fixed address
            host.address = lab.fixed_address(host)


# --- metadata ------------------------------------------------------------------------------


def _read_meta(directory: Path) -> dict[str, Any] | None:
    path = directory / METADATA
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(
            _("The lab definition {path} cannot be read ({error}).").format(path=path,
                                                                             error=error),
            hint=_("Remove the lab with `{command}`.").format(
                command=f"dspace-deploy lab down {directory.name}"),
        ) from error
    return data


def _write_meta(lab: Lab) -> None:
    data = {
        "format": METADATA_FORMAT if lab.network else 1,  # a lab of format 1 stays one
        "name": lab.name,
        "connection": lab.connection,
        "created": lab.created,
        "oses": sorted({host.os for host in lab.hosts}),
        "preload": lab.preload,
        "network": lab.network.as_dict() if lab.network else None,
        "hosts": [
            {"name": h.name, "container": h.container, "os": h.os, "address": h.address}
            for h in lab.hosts
        ],
    }
    path = lab.dir / METADATA
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.replace(path)


def _lab_from_meta(directory: Path, meta: dict[str, Any]) -> Lab:
    return Lab(
        name=meta["name"],
        hosts=[
            LabHost(
                name=item["name"],
                container=item["container"],
                os=item["os"],
                address=item.get("address"),
                state="unknown",
            )
            for item in meta["hosts"]
        ],
        dir=directory,
        inventory=directory / "inventory",
        vault_password_file=lab_vault_password_file(meta["name"]),
        ssh_key=directory / "id_ed25519",
        connection=meta["connection"],
        created=meta.get("created", ""),
        preload=dict(meta.get("preload") or {}),
        network=LabNetwork(**meta["network"]) if meta.get("network") else None,
    )


def _check_same_shape(
    name: str, meta: dict[str, Any], host_oses: list[str], connection: str
) -> None:
    have_oses = [item["os"] for item in meta["hosts"]]
    if have_oses == host_oses and meta["connection"] == connection:
        return
    def shape(oses: list[str], connection: str) -> str:
        return ngettext("{count} host ({oses}), connection {connection}",
                        "{count} hosts ({oses}), connection {connection}", len(oses)).format(
                            count=len(oses), oses=", ".join(oses), connection=connection)

    raise InputError(
        _("Lab {name} already exists with {have}; this asks for {want}.").format(
            name=repr(name), have=shape(have_oses, meta["connection"]),
            want=shape(host_oses, connection)),
        hint=_("Remove it first with `{command}`, or choose another --name.").format(
            command=f"dspace-deploy lab down {name}"),
    )


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
