"""A thin wrapper around the `podman` command for lab hosts.

Argument lists are built by pure functions (`run_args`, `exec_args`, ...) so that they can
be unit-tested; `podman()` executes them. Every failure of podman becomes an
`EnvironmentProblem` that quotes podman's own message.

Why the extra flags on `podman run` (see /work/shared/test-hosts.md): podman's default
runtime (crun) fails on hosts with hybrid cgroups, and podman's default ulimits are above
what some controllers let a process set. `--runtime runc` and explicit `--ulimit` values
make lab hosts start with or without an /etc/containers/containers.conf.

Why `--cap-add SYS_ADMIN`: systemd sets up a service's sandbox (ProtectSystem, PrivateTmp,
ReadWritePaths, ProtectHome, PrivateDevices) in a mount namespace of its own, and creating one
needs CAP_SYS_ADMIN. Without it, systemd in a container skips the namespace and starts the
service unsandboxed without a word (systemd/systemd#34565, #29860; podman's default capability
set has no SYS_ADMIN, containers/common#1337), so a unit whose sandbox is wrong would pass every
lab test and fail on a real machine. With it the lab hosts apply the units' sandboxes as a VM
does (podman's default seccomp profile allows mount and unshare to a container holding
SYS_ADMIN). It also lets root inside a lab host mount file systems, one more reason why lab
hosts are for tests and training, not for production.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

from dspace_deploy.errors import EnvironmentProblem
from dspace_deploy.i18n import _

INSTALL_COMMAND = "sudo apt-get install -y podman runc debootstrap"
LAB_LABEL = "dspace-deploy.lab"
OS_LABEL = "dspace-deploy.os"
CONTAINER_PREFIX = "dspace-lab-"
RUNTIME = "runc"
# Soft limits match what systemd gives services by default. Hard limits: see `ulimits()`.
NOFILE_SOFT = 1024
NOFILE_HARD_MAX = 65536
NPROC_MAX = 32768
SYSTEMD_TIMEOUT = 60.0
RESTART_POLICY = "always"

Progress = Callable[[str], None]

_RUNTIME_PATHS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")


def _setup_hint() -> str:
    return _("Install it with: {command}.").format(command=INSTALL_COMMAND) + " " + _(
        "Lab hosts run with `--runtime runc` and explicit `--ulimit nofile=... --ulimit "
        "nproc=...` values, so no /etc/containers/containers.conf is needed (podman's default "
        "runtime crun fails on controllers with hybrid cgroups).")


def podman_path() -> str:
    """The podman executable, or an EnvironmentProblem saying how to install it."""
    path = shutil.which("podman")
    if path is None:
        raise EnvironmentProblem(
            _("podman is not installed on this controller (lab hosts are podman containers)."),
            hint=_setup_hint(),
        )
    return path


def require_runtime() -> None:
    """Fail clearly when the runc runtime that lab hosts use is missing."""
    if shutil.which(RUNTIME):
        return
    for folder in _RUNTIME_PATHS:
        if shutil.which(RUNTIME, path=folder):
            return
    raise EnvironmentProblem(
        _("The OCI runtime {runtime} is not installed on this controller; lab hosts use it "
          "because podman's default runtime (crun) fails on controllers with hybrid "
          "cgroups.").format(runtime=RUNTIME),
        hint=_("Install it with: {command}.").format(command=INSTALL_COMMAND),
    )


def ulimits() -> tuple[tuple[int, int], tuple[int, int]]:
    """(nofile soft, hard), (nproc soft, hard) for lab containers.

    podman's defaults (nofile 1048576) are above what some controllers let a process set,
    and runc then fails with "setrlimit ...: operation not permitted". Lab hosts get a
    soft nofile of 1024 (systemd's default for services) and a hard limit up to the
    controller's own, so that services with LimitNOFILE (Solr, Tomcat) still start.
    RLIMIT_NPROC counts per user id across every container of a rootful podman, so it is
    set well above a single host's needs (twenty lab hosts run the same Tomcat user).
    """
    nofile_hard = _own_hard_limit(resource.RLIMIT_NOFILE, NOFILE_HARD_MAX)
    nproc = _own_hard_limit(resource.RLIMIT_NPROC, NPROC_MAX)
    return (min(NOFILE_SOFT, nofile_hard), nofile_hard), (nproc, nproc)


def _own_hard_limit(which: int, ceiling: int) -> int:
    _soft, hard = resource.getrlimit(which)
    if hard == resource.RLIM_INFINITY or hard <= 0:
        return ceiling
    return min(hard, ceiling)


def container_name(lab: str, index: int) -> str:
    """Container of host number `index` (from 1) of lab `lab`."""
    return f"{CONTAINER_PREFIX}{lab}-{index}"


def run_args(
    *,
    container: str,
    hostname: str,
    image: str,
    lab: str,
    os_name: str,
    add_hosts: Sequence[tuple[str, str]] = (),
    limits: tuple[tuple[int, int], tuple[int, int]] | None = None,
    network: str | None = None,
    address: str | None = None,
) -> list[str]:
    """Arguments (after `podman`) that start one lab host, detached, booting systemd.

    With `network` and `address` the host sits on the lab's network at a fixed address
    (network.py). `--restart always` brings a host whose systemd stopped (a `poweroff`
    inside) back, and makes podman-restart.service start it when a systemd controller boots;
    a host stopped with `podman stop` stays stopped.
    """
    (nofile_soft, nofile_hard), (nproc_soft, nproc_hard) = limits or ulimits()
    args = [
        "--runtime",
        RUNTIME,
        "run",
        "--detach",
        "--name",
        container,
        "--hostname",
        hostname,
        "--systemd=always",
        "--cap-add",
        "NET_ADMIN",  # hosts run nftables
        "--cap-add",
        "SYS_ADMIN",  # systemd applies the units' sandboxes (see the module's docstring)
        "--ulimit",
        f"nofile={nofile_soft}:{nofile_hard}",
        "--ulimit",
        f"nproc={nproc_soft}:{nproc_hard}",
        "--label",
        f"{LAB_LABEL}={lab}",
        "--label",
        f"{OS_LABEL}={os_name}",
        "--restart",
        RESTART_POLICY,
    ]
    if network is not None:
        args += ["--network", network]
        if address is not None:
            args += ["--ip", address]
    for name, ip in add_hosts:
        args += ["--add-host", f"{name}:{ip}"]
    args += [image, "/sbin/init"]
    return args


def exec_args(container: str, command: Sequence[str], *, interactive: bool = False) -> list[str]:
    """Arguments (after `podman`) that run `command` as root inside a container."""
    return ["exec", *(["--interactive"] if interactive else []), container, *command]


def ps_args(lab: str | None = None) -> list[str]:
    """Arguments listing lab containers (all labs, or one), as JSON."""
    label = f"{LAB_LABEL}={lab}" if lab is not None else LAB_LABEL
    return ["ps", "--all", "--filter", f"label={label}", "--format", "json"]


def rm_args(containers: Sequence[str]) -> list[str]:
    return ["rm", "--force", "--time", "5", *containers]


def podman(
    args: Sequence[str],
    *,
    input: bytes | None = None,
    check: bool = True,
    timeout: float | None = None,
    what: str | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run podman with `args`; on failure (if `check`) raise an EnvironmentProblem."""
    command = [podman_path(), *args]
    try:
        result = subprocess.run(
            command, input=input, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise EnvironmentProblem(
            (_("`{command}` did not finish within {seconds} s while {what}.") if what else
             _("`{command}` did not finish within {seconds} s.")).format(
                command=f"podman {' '.join(args[:3])} ...", seconds=f"{timeout:.0f}", what=what)
        ) from error
    if check and result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip() or _("(no message)")
        raise EnvironmentProblem(
            (_("podman failed while {what} (`{command}`, exit {code}): {error}") if what else
             _("podman failed (`{command}`, exit {code}): {error}")).format(
                what=what, command=f"podman {' '.join(args[:4])} ...", code=result.returncode,
                error=message)
        )
    return result


def image_exists(tag: str) -> bool:
    return podman(["image", "exists", tag], check=False).returncode == 0


def inspect(container: str) -> dict[str, Any] | None:
    """`podman inspect` of a container, or None when it does not exist."""
    result = podman(["container", "inspect", container], check=False)
    if result.returncode != 0:
        return None
    data = json.loads(result.stdout or b"[]")
    return data[0] if data else None


def state_of(info: dict[str, Any] | None) -> str:
    """running, stopped or missing."""
    if info is None:
        return "missing"
    state = info.get("State") or {}
    return "running" if state.get("Running") else "stopped"


def address_of(info: dict[str, Any] | None, network: str | None = None) -> str | None:
    """The container's address on `network` (None: podman's default bridge network, or the
    first network it has an address on), if it has one."""
    if not info:
        return None
    settings = info.get("NetworkSettings") or {}
    if network is not None:
        value = ((settings.get("Networks") or {}).get(network) or {}).get("IPAddress")
        return str(value) if value else None
    if settings.get("IPAddress"):
        return str(settings["IPAddress"])
    for attached in (settings.get("Networks") or {}).values():
        if attached.get("IPAddress"):
            return str(attached["IPAddress"])
    return None


def lab_containers(lab: str | None = None) -> list[dict[str, Any]]:
    """Containers carrying the lab label (of one lab, or of all), as `podman ps` reports."""
    result = podman(ps_args(lab), what=_("listing lab containers"))
    data: list[dict[str, Any]] = json.loads(result.stdout or b"[]") or []
    return data


def remove(containers: Sequence[str]) -> None:
    if containers:
        podman(rm_args(containers), what=_("removing lab containers"), timeout=120)


def wait_for_systemd(
    container: str, *, timeout: float = SYSTEMD_TIMEOUT, interval: float = 0.5
) -> str:
    """Wait until systemd in `container` is up (running or degraded); return that state."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    while True:
        result = podman(
            exec_args(container, ["systemctl", "is-system-running"]), check=False, timeout=30
        )
        state = result.stdout.decode(errors="replace").strip() or "unknown"
        if state in ("running", "degraded"):
            return state
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    failed = podman(
        exec_args(container, ["systemctl", "list-units", "--failed", "--plain", "--no-legend"]),
        check=False,
        timeout=30,
    ).stdout.decode(errors="replace")
    jobs = podman(
        exec_args(container, ["systemctl", "list-jobs", "--no-legend"]), check=False, timeout=30
    ).stdout.decode(errors="replace")
    units = (", ".join(line.split()[0] for line in failed.splitlines() if line.strip())
             or _("none"))
    waiting = ", ".join(line.split()[1] for line in jobs.splitlines() if len(line.split()) > 1)
    raise EnvironmentProblem(
        (_("systemd in lab host {container} did not finish booting within {seconds} s "
           "(state: {state}; failed units: {units}; still starting: {waiting}).") if waiting
         else _("systemd in lab host {container} did not finish booting within {seconds} s "
                "(state: {state}; failed units: {units}).")).format(
            container=container, seconds=f"{timeout:.0f}", state=state, units=units,
            waiting=waiting),
        hint=_("Inspect it with: {command}.").format(
            command=f"podman exec {container} systemctl status; podman logs {container}"),
    )
