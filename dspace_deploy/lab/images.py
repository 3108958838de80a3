"""Lab base images: a minimal Debian with systemd and sshd, built locally with debootstrap.

No registry is needed: `debootstrap --variant=minbase` fills a directory tree from a Debian
mirror, the tree is configured for use as a container host, and `podman import` turns it
into an image. An image is built once and reused; its tag carries a hash of everything in
its recipe (suite, mirrors, packages, the configuration below, the controller's extra CA
certificates), so changing any of them builds a new image:

    localhost/dspace-deploy-lab:<os>-<hash12>   the build (looked up to decide on a build)
    localhost/dspace-deploy-lab:<os>            alias for humans, moved to the newest build

A preloaded image is the base image plus Debian packages installed with apt (never started,
no service runs), for test labs whose tests are not about installing those packages (the
suite's time goes to `apt-get install` of Java, PostgreSQL, nginx, Node.js on every fresh
host otherwise). Its tag carries a hash of the base image's tag and the package list:

    localhost/dspace-deploy-lab-preloaded:<os>-<hash12>
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.i18n import _
from dspace_deploy.lab import podman

# Bump when the build steps change in a way the recipe fields below do not capture.
RECIPE_VERSION = 1
IMAGE_REPOSITORY = "localhost/dspace-deploy-lab"
SUITES = {"debian12": "bookworm", "debian13": "trixie"}
OS_NAMES = tuple(SUITES)
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "python3",  # Ansible modules
    "openssh-server",
    "sudo",  # become for the `deploy` user
    "iproute2",  # `ip`, Ansible's network facts
    "ca-certificates",
)
PRELOADED_REPOSITORY = "localhost/dspace-deploy-lab-preloaded"
MIRROR_ENV = "DSPACE_DEPLOY_DEBIAN_MIRROR"
SECURITY_MIRROR_ENV = "DSPACE_DEPLOY_DEBIAN_SECURITY_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
CONTROLLER_CA_DIR = Path("/usr/local/share/ca-certificates")
DEBOOTSTRAP_SCRIPTS = Path("/usr/share/debootstrap/scripts")
DEBOOTSTRAP_INSTALL = "sudo apt-get install -y debootstrap"
DEBOOTSTRAP_FALLBACK = Path("/usr/sbin/debootstrap")  # not on a non-root user's PATH

Progress = Callable[[str], None]

# Files written into the tree (all part of the recipe hash).
SSHD_CONFIG = """\
# dspace-deploy lab host: key login only.
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""
# Host keys are removed from the image so that every lab host makes its own at first boot.
HOSTKEYS_UNIT = """\
[Unit]
Description=Generate SSH host keys (dspace-deploy lab host)
Before=ssh.service ssh.socket
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""
HOSTKEYS_UNIT_NAME = "dspace-lab-ssh-hostkeys.service"
# Run inside the tree (chroot), after the files above are in place.
CONFIGURE_SCRIPT = """\
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
update-ca-certificates --fresh >/dev/null
passwd --lock root >/dev/null
systemctl enable ssh.service dspace-lab-ssh-hostkeys.service >/dev/null 2>&1
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \\
  /var/log/apt/* /var/log/dpkg.log /var/log/bootstrap.log /var/log/alternatives.log \\
  /tmp/* /var/tmp/*
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
# Each container gets its own machine id (empty file: systemd makes one at boot) and
# the hostname podman gives it.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/hostname
"""
# Run in a container of the base image (no systemd: nothing starts), with the packages as
# arguments; then the container is committed. The cleanup is the base image's.
PRELOAD_SCRIPT = """\
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# No service may start during the installs (the policy-rc.d convention of Debian images).
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get update -qq
apt-get install -y -qq "$@" >/dev/null
rm -f /usr/sbin/policy-rc.d
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \\
  /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log /tmp/* /var/tmp/*
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
: > /etc/machine-id
"""


@dataclass(frozen=True)
class Recipe:
    """Everything an image is built from. Two equal recipes give the same image."""

    os_name: str
    suite: str
    mirror: str
    security_mirror: str
    packages: tuple[str, ...]
    # The controller's extra CA certificates: (path under /usr/local/share/ca-certificates,
    # contents), trusted inside every lab host.
    ca_certificates: tuple[tuple[str, bytes], ...]
    version: int = RECIPE_VERSION

    @classmethod
    def for_os(
        cls,
        os_name: str,
        *,
        mirror: str | None = None,
        security_mirror: str | None = None,
        ca_dir: Path | None = None,
    ) -> Recipe:
        if os_name not in SUITES:
            raise InputError(
                _("Unknown lab OS: {names}.").format(names=repr(os_name)),
                hint=_("Choose from: {names}.").format(names=", ".join(OS_NAMES)),
            )
        ca_root = ca_dir or CONTROLLER_CA_DIR
        return cls(
            os_name=os_name,
            suite=SUITES[os_name],
            mirror=(mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR).rstrip("/"),
            security_mirror=(
                security_mirror or os.environ.get(SECURITY_MIRROR_ENV) or DEFAULT_SECURITY_MIRROR
            ).rstrip("/"),
            packages=PACKAGES,
            ca_certificates=tuple(
                (str(path.relative_to(ca_root)), path.read_bytes())
                for path in controller_ca_certificates(ca_root)
            ),
        )

    def digest(self) -> str:
        """Hex hash of the whole recipe, build steps included."""
        document = {
            "version": self.version,
            "os": self.os_name,
            "suite": self.suite,
            "mirror": self.mirror,
            "security_mirror": self.security_mirror,
            "packages": sorted(self.packages),
            "ca_certificates": [
                [name, hashlib.sha256(data).hexdigest()] for name, data in self.ca_certificates
            ],
            "sources": self.apt_sources(),
            "sshd_config": SSHD_CONFIG,
            "hostkeys_unit": HOSTKEYS_UNIT,
            "configure": CONFIGURE_SCRIPT,
        }
        encoded = json.dumps(document, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.os_name}-{self.digest()[:12]}"

    @property
    def alias(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.os_name}"

    def apt_sources(self, keyring: str | None = None) -> str:
        """/etc/apt/sources.list.d/debian.sources (deb822): main, updates, security."""
        signed = f"Signed-By: {keyring}\n" if keyring else ""
        return (
            f"Types: deb\nURIs: {self.mirror}\n"
            f"Suites: {self.suite} {self.suite}-updates\nComponents: main\n{signed}\n"
            f"Types: deb\nURIs: {self.security_mirror}\n"
            f"Suites: {self.suite}-security\nComponents: main\n{signed}"
        )


def controller_ca_certificates(ca_dir: Path | None = None) -> list[Path]:
    """The controller's extra CA certificates (what `update-ca-certificates` adds), sorted."""
    root = ca_dir or CONTROLLER_CA_DIR
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*.crt") if path.is_file())


def ensure_image(os_name: str, progress: Progress | None = None) -> str:
    """The tag of the lab image for `os_name`, building it first if it does not exist."""
    recipe = Recipe.for_os(os_name)
    tag = recipe.tag
    podman.podman_path()
    if podman.image_exists(tag):
        return tag
    _require_build_tools()
    images_dir = resources.cache_home() / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _message: None)
    # One build per OS at a time on this controller (pytest-xdist workers, two terminals):
    # the second caller waits, then finds the image the first one built. Two OSes build side
    # by side (debootstrap mostly waits on the mirror).
    lock = images_dir / f"build-{os_name}.lock"
    waiting = _("waiting for another {os} image build").format(os=os_name)
    with _locked(lock, on_wait=lambda: say(waiting)):
        if podman.image_exists(tag):
            return tag
        build(recipe, images_dir, say)
    return tag


# The Debian release number of each lab OS (roles key OpenJDK majors by it).
DEBIAN_RELEASE = {"debian12": 12, "debian13": 13}


def stack_packages(os_name: str, roles: Path | None = None) -> list[str]:
    """The Debian packages the roles install on a lab host of `os_name` for the DSpace line
    it suits (taken from the roles' vars where they keep them as lists): what a preloaded
    image holds. A package missing here is still installed by its role, as on a plain image,
    so this list only decides speed, never what a host ends up with. The roles' share is
    what `up` gives the base system role to install first (filter dspace_stack_packages) for
    one instance from a bundle on the newest Java, with an ACME site and an SFTP target."""
    import yaml

    from dspace_deploy import plans

    root = roles or resources.roles_dir()

    def role_value(role: str, name: str) -> Any:
        return yaml.safe_load((root / role / "vars" / "main.yml").read_text())[name]

    javas = role_value("dspace_backend", "dspace_backend_debian_openjdk")[DEBIAN_RELEASE[os_name]]
    plan = {"name": "lab", "java_major": max(javas), "tls_mode": "acme"}
    stack = plans.filter_module("dspace_packages").stack_packages(
        [plan], bundles={"lab": {"installer": "bundle"}}, backup_targets=[{"type": "sftp"}],
        roles=root)
    return sorted({*role_value("common", "common_base_packages"), "chrony", *stack})


def preloaded_tag(base_tag: str, packages: Sequence[str]) -> str:
    """Tag of the base image `base_tag` plus `packages` (order and repeats do not matter)."""
    os_name = base_tag.rsplit(":", 1)[1].split("-", 1)[0]
    document = {"base": base_tag, "packages": sorted(set(packages)), "script": PRELOAD_SCRIPT}
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return f"{PRELOADED_REPOSITORY}:{os_name}-{digest[:12]}"


def ensure_preloaded_image(
    os_name: str, packages: Sequence[str], progress: Progress | None = None
) -> str:
    """The tag of the lab image for `os_name` with `packages` installed (the plain image
    when there are none), building the base and then the preloaded image if missing."""
    base = ensure_image(os_name, progress)
    if not packages:
        return base
    tag = preloaded_tag(base, packages)
    if podman.image_exists(tag):
        return tag
    say = progress or (lambda _message: None)
    images_dir = resources.cache_home() / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    # A lock of its own: base images (of this OS too, for other labs) can be built meanwhile.
    lock = images_dir / f"preload-{os_name}.lock"
    with _locked(lock, on_wait=lambda: say("waiting for another image build")):
        if not podman.image_exists(tag):
            _build_preloaded(base, tag, sorted(set(packages)), say)
    return tag


def _build_preloaded(base: str, tag: str, packages: list[str], say: Progress) -> None:
    container = f"dspace-deploy-preload-{tag.rsplit('-', 1)[1]}"
    started = time.monotonic()
    say(f"building lab image {tag} ({base} with {len(packages)} packages)")
    podman.podman(["rm", "--force", container], check=False)  # leftover of an interrupted build
    try:
        podman.podman(
            ["--runtime", podman.RUNTIME, "run", "--name", container, base,
             "/bin/sh", "-c", PRELOAD_SCRIPT, "preload", *packages],
            what=f"installing packages into {tag}",
            timeout=1800,
        )
        podman.podman(
            ["commit", "--quiet", "--change", 'CMD ["/sbin/init"]',
             "--change", f"LABEL dspace-deploy.preloaded={' '.join(packages)}", container, tag],
            what=f"committing {tag}",
            timeout=600,
        )
    finally:
        podman.podman(["rm", "--force", container], check=False)
    say(f"built {tag} in {time.monotonic() - started:.0f} s")
    # Each is about 1 GB: keep one older build of this OS besides the new one.
    os_name = tag.rsplit(":", 1)[1].split("-", 1)[0]
    _prune_tags(PRELOADED_REPOSITORY, f"{os_name}-", tag)


def build(recipe: Recipe, images_dir: Path, say: Progress) -> None:
    """debootstrap, configure, import, tag; the tree is removed in every case."""
    name = f"{recipe.os_name}-{recipe.digest()[:12]}"
    tree = images_dir / name
    log = images_dir / f"{name}.log"
    _remove_tree(tree)  # leftover of an interrupted build
    try:
        started = time.monotonic()
        say(_("building lab image {tag} (debootstrap {suite}, about 1-2 minutes)").format(
            tag=recipe.tag, suite=recipe.suite))
        _debootstrap(recipe, tree, log)
        _configure(recipe, tree)
        say(_("importing {tag}").format(tag=recipe.tag))
        _import(recipe, tree)
        say(_("built {tag} in {seconds} s").format(tag=recipe.tag,
                                                  seconds=f"{time.monotonic() - started:.0f}"))
    finally:
        _remove_tree(tree)
    log.unlink(missing_ok=True)
    podman.podman(["tag", recipe.tag, recipe.alias], what=_("tagging {alias}").format(
        alias=recipe.alias))
    _prune_older(recipe)


def debootstrap_args(recipe: Recipe, tree: Path) -> list[str]:
    """The debootstrap command line (script fallback for controllers older than the suite)."""
    args = [
        "debootstrap",
        "--variant=minbase",
        "--components=main",
        f"--include={','.join(recipe.packages)}",
        recipe.suite,
        str(tree),
        recipe.mirror,
    ]
    script = _debootstrap_script(recipe.suite)
    if script is not None:
        args.append(str(script))
    return args


def _debootstrap_script(suite: str) -> Path | None:
    """None when debootstrap knows the suite; else its `sid` script (same layout)."""
    if (DEBOOTSTRAP_SCRIPTS / suite).exists():
        return None
    sid = DEBOOTSTRAP_SCRIPTS / "sid"
    return sid if sid.exists() else None


def _require_build_tools() -> None:
    if shutil.which("debootstrap") is None and not DEBOOTSTRAP_FALLBACK.exists():
        raise EnvironmentProblem(
            _("debootstrap is not installed on this controller; it builds the lab base image."),
            hint=_("Install it with: {command}.").format(command=DEBOOTSTRAP_INSTALL),
        )
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            _("Building the lab base image needs root (debootstrap and chroot), and lab hosts "
              "run under rootful podman."),
            hint=_("Run `dspace-deploy lab up` as root (for instance with sudo)."),
        )


def _debootstrap(recipe: Recipe, tree: Path, log: Path) -> None:
    args = debootstrap_args(recipe, tree)
    executable = shutil.which("debootstrap") or str(DEBOOTSTRAP_FALLBACK)
    with log.open("wb") as out:
        out.write(f"$ {' '.join(args)}\n".encode())
        out.flush()
        result = subprocess.run(
            [executable, *args[1:]], stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        # debootstrap keeps the details in the tree's debootstrap.log; add it to ours.
        inner = tree / "debootstrap" / "debootstrap.log"
        if inner.is_file():
            with log.open("ab") as out:
                out.write(b"\n--- debootstrap/debootstrap.log ---\n" + inner.read_bytes())
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise EnvironmentProblem(
            _("debootstrap failed (exit {code}) building the {os} lab image from {mirror}. "
              "Last lines of its log:").format(code=result.returncode, os=recipe.os_name,
                                              mirror=recipe.mirror)
            + f"\n{tail}\n" + _("Full log: {path}.").format(path=log),
            hint=_("A different mirror can be set with {setting}.").format(
                setting=f"{MIRROR_ENV}=http://.../debian"),
        )


def _configure(recipe: Recipe, tree: Path) -> None:
    (tree / "etc/apt/sources.list").unlink(missing_ok=True)
    keyring = next(
        (
            f"/usr/share/keyrings/debian-archive-keyring.{suffix}"
            for suffix in ("pgp", "gpg")
            if (tree / f"usr/share/keyrings/debian-archive-keyring.{suffix}").exists()
        ),
        None,
    )
    sources = tree / "etc/apt/sources.list.d/debian.sources"
    sources.parent.mkdir(parents=True, exist_ok=True)
    sources.write_text(recipe.apt_sources(keyring))
    for name, data in recipe.ca_certificates:
        target = tree / "usr/local/share/ca-certificates" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o644)
    sshd = tree / "etc/ssh/sshd_config.d/dspace-lab.conf"
    sshd.parent.mkdir(parents=True, exist_ok=True)
    sshd.write_text(SSHD_CONFIG)
    (tree / "etc/systemd/system" / HOSTKEYS_UNIT_NAME).write_text(HOSTKEYS_UNIT)
    result = subprocess.run(
        ["chroot", str(tree), "/bin/sh", "-c", CONFIGURE_SCRIPT],
        capture_output=True,
        check=False,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
    )
    if result.returncode != 0:
        raise EnvironmentProblem(
            _("Configuring the {os} lab image failed (exit {code}):").format(
                os=recipe.os_name, code=result.returncode) + " "
            + (result.stderr or result.stdout).decode(errors="replace").strip()[-2000:]
        )


def _import(recipe: Recipe, tree: Path) -> None:
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(tree), "-c", "."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert tar.stdout is not None
    try:
        result = subprocess.run(
            [
                podman.podman_path(),
                "import",
                "--change",
                'CMD ["/sbin/init"]',
                "--change",
                f"LABEL dspace-deploy.recipe={recipe.digest()[:12]}",
                "--change",
                f"LABEL {podman.OS_LABEL}={recipe.os_name}",
                "--message",
                f"dspace-deploy lab base image ({recipe.suite}, recipe {recipe.version})",
                "-",
                recipe.tag,
            ],
            stdin=tar.stdout,
            capture_output=True,
            check=False,
        )
    finally:
        tar.stdout.close()
        tar_err = tar.stderr.read() if tar.stderr else b""
        tar_rc = tar.wait()
        if tar.stderr:
            tar.stderr.close()
    if tar_rc != 0 or result.returncode != 0:
        message = (result.stderr + tar_err).decode(errors="replace").strip()
        raise EnvironmentProblem(_("Importing the lab image {tag} failed: {error}").format(
            tag=recipe.tag, error=message))


def _prune_older(recipe: Recipe, keep: int = 1) -> None:
    """Remove this OS's older builds but the newest `keep` (our own tags only; an image a
    container still uses stays). Keeping one spares a rebuild when two settings alternate
    (e.g. two users with different mirrors)."""
    _prune_tags(IMAGE_REPOSITORY, f"{recipe.os_name}-", recipe.tag, keep)


def _prune_tags(repository: str, prefix: str, current: str, keep: int = 1) -> None:
    """Remove the tags `repository:prefix*` but `current` and the newest `keep` others."""
    result = podman.podman(["images", "--format", "json", repository], check=False)
    try:
        listed = json.loads(result.stdout or b"[]") or []
    except ValueError:
        return
    created: dict[str, int] = {}
    for image in listed:
        for tag in image.get("Names") or []:
            if tag.startswith(f"{repository}:{prefix}") and tag != current:
                created[tag] = int(image.get("Created") or 0)
    for tag in sorted(created, key=lambda name: created[name], reverse=True)[keep:]:
        podman.podman(["rmi", tag], check=False)


@contextlib.contextmanager
def _locked(path: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mounts_under(tree: Path) -> list[str]:
    """Mount points inside `tree` (debootstrap may leave /proc, /sys, /dev mounted)."""
    root = str(tree.resolve())
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            point = fields[4].replace("\\040", " ")
            if point == root or point.startswith(root + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def _remove_tree(tree: Path) -> None:
    """Delete a build tree, never following a mount into the controller's /dev or /proc."""
    if not tree.exists():
        return
    for point in _mounts_under(tree):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    left = _mounts_under(tree)
    if left:
        raise EnvironmentProblem(
            _("Cannot remove the image build tree {path}: still mounted: {mounts}.").format(
                path=tree, mounts=", ".join(left)),
            hint=_("Unmount them (umount --lazy PATH) and remove the directory by hand."),
        )
    shutil.rmtree(tree, ignore_errors=False)
