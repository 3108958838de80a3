"""Lab hosts without podman: recipes and tags, podman arguments, names, shapes, CLI output."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dspace_deploy.cli import app
from dspace_deploy.errors import EXIT_ENVIRONMENT, EnvironmentProblem, InputError
from dspace_deploy.lab import images, labs, network, podman
from dspace_deploy.lab import inventory as lab_inventory

EXE = str(Path(sys.executable).parent / "dspace-deploy")


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "ca"
    (directory / "sub").mkdir(parents=True)
    (directory / "one.crt").write_text("-----BEGIN CERTIFICATE-----\nAAA\n")
    (directory / "sub" / "two.crt").write_text("-----BEGIN CERTIFICATE-----\nBBB\n")
    (directory / "ignored.pem").write_text("not a .crt")
    return directory


# --- recipes and tags ---------------------------------------------------------------------


def test_recipe_tag_is_stable_and_well_formed(ca_dir: Path) -> None:
    first = images.Recipe.for_os("debian12", ca_dir=ca_dir, mirror="http://m/debian")
    second = images.Recipe.for_os("debian12", ca_dir=ca_dir, mirror="http://m/debian/")
    assert first == second
    assert first.tag == second.tag
    assert re.fullmatch(r"localhost/dspace-deploy-lab:debian12-[0-9a-f]{12}", first.tag)
    assert first.alias == "localhost/dspace-deploy-lab:debian12"
    assert first.suite == "bookworm"
    assert images.Recipe.for_os("debian13", ca_dir=ca_dir).suite == "trixie"


def test_recipe_takes_every_crt_below_the_ca_directory(ca_dir: Path) -> None:
    recipe = images.Recipe.for_os("debian13", ca_dir=ca_dir)
    assert [name for name, _ in recipe.ca_certificates] == ["one.crt", "sub/two.crt"]


def test_recipe_tag_changes_with_ca_certificate_contents(ca_dir: Path) -> None:
    before = images.Recipe.for_os("debian13", ca_dir=ca_dir).tag
    (ca_dir / "sub" / "two.crt").write_text("-----BEGIN CERTIFICATE-----\nCCC\n")
    changed = images.Recipe.for_os("debian13", ca_dir=ca_dir).tag
    (ca_dir / "three.crt").write_text("x")
    added = images.Recipe.for_os("debian13", ca_dir=ca_dir).tag
    assert len({before, changed, added}) == 3


def test_recipe_tag_changes_with_suite_packages_mirror_and_version(ca_dir: Path) -> None:
    base = images.Recipe.for_os("debian13", ca_dir=ca_dir)
    variants = [
        dataclasses.replace(base, suite="forky"),
        dataclasses.replace(base, packages=(*base.packages, "vim")),
        dataclasses.replace(base, mirror="http://mirror.example/debian"),
        dataclasses.replace(base, security_mirror="http://mirror.example/debian-security"),
        dataclasses.replace(base, version=base.version + 1),
    ]
    tags = {base.tag, *(variant.tag for variant in variants)}
    assert len(tags) == len(variants) + 1
    # The hash does not depend on the order packages are listed in.
    shuffled = dataclasses.replace(base, packages=tuple(reversed(base.packages)))
    assert shuffled.tag == base.tag


def test_recipe_mirror_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, ca_dir: Path
) -> None:
    monkeypatch.setenv(images.MIRROR_ENV, "http://local-mirror/debian")
    recipe = images.Recipe.for_os("debian12", ca_dir=ca_dir)
    assert recipe.mirror == "http://local-mirror/debian"
    assert "URIs: http://local-mirror/debian\nSuites: bookworm bookworm-updates" in (
        recipe.apt_sources()
    )
    assert "Suites: bookworm-security" in recipe.apt_sources()


def test_unknown_os_is_bad_input(ca_dir: Path) -> None:
    with pytest.raises(InputError, match="debian12, debian13"):
        images.Recipe.for_os("ubuntu24", ca_dir=ca_dir)


def test_debootstrap_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "sid").write_text("")
    (scripts / "bookworm").write_text("")
    monkeypatch.setattr(images, "DEBOOTSTRAP_SCRIPTS", scripts)
    recipe = images.Recipe.for_os("debian12", ca_dir=tmp_path, mirror="http://m/debian")
    args = images.debootstrap_args(recipe, Path("/tree"))
    assert args[0] == "debootstrap"
    assert "--variant=minbase" in args
    include = next(arg for arg in args if arg.startswith("--include="))
    assert set(include.split("=", 1)[1].split(",")) >= {
        "systemd",
        "systemd-sysv",
        "python3",
        "openssh-server",
        "sudo",
        "iproute2",
        "ca-certificates",
    }
    assert args[-3:] == ["bookworm", "/tree", "http://m/debian"]
    # A controller whose debootstrap predates trixie uses the sid script.
    trixie = images.Recipe.for_os("debian13", ca_dir=tmp_path, mirror="http://m/debian")
    assert images.debootstrap_args(trixie, Path("/tree"))[-4:] == [
        "trixie",
        "/tree",
        "http://m/debian",
        str(scripts / "sid"),
    ]


def test_ensure_image_ignores_the_alias_and_builds_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only the hashed tag counts as a build; concurrent callers build once."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(images, "CONTROLLER_CA_DIR", tmp_path / "no-ca")
    monkeypatch.setattr(podman, "podman_path", lambda: "/usr/bin/podman")
    monkeypatch.setattr(images, "_require_build_tools", lambda: None)
    recipe = images.Recipe.for_os("debian12")
    existing = {recipe.alias}  # a hand-made image under the alias only
    builds: list[str] = []

    def fake_build(recipe: images.Recipe, images_dir: Path, say: Any) -> None:
        time.sleep(0.3)
        builds.append(recipe.tag)
        existing.add(recipe.tag)

    monkeypatch.setattr(podman, "image_exists", lambda tag: tag in existing)
    monkeypatch.setattr(images, "build", fake_build)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(images.ensure_image("debian12")))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [recipe.tag]
    assert results == [recipe.tag] * 3


def test_images_of_two_oses_build_side_by_side(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two xdist workers that need Debian 12 and Debian 13 do not wait for each other."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(images, "CONTROLLER_CA_DIR", tmp_path / "no-ca")
    monkeypatch.setattr(podman, "podman_path", lambda: "/usr/bin/podman")
    monkeypatch.setattr(images, "_require_build_tools", lambda: None)
    existing: set[str] = set()
    spans: dict[str, tuple[float, float]] = {}

    def fake_build(recipe: images.Recipe, images_dir: Path, say: Any) -> None:
        started = time.monotonic()
        time.sleep(0.5)
        spans[recipe.os_name] = (started, time.monotonic())
        existing.add(recipe.tag)

    monkeypatch.setattr(podman, "image_exists", lambda tag: tag in existing)
    monkeypatch.setattr(images, "build", fake_build)
    threads = [threading.Thread(target=images.ensure_image, args=(name,))
               for name in ("debian12", "debian13")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (start12, end12), (start13, end13) = spans["debian12"], spans["debian13"]
    assert start12 < end13 and start13 < end12, "the builds ran one after the other"


def test_preloaded_tag_follows_the_base_and_the_package_set() -> None:
    base = "localhost/dspace-deploy-lab:debian13-74a0bfaae960"
    tag = images.preloaded_tag(base, ["nginx", "postgresql"])
    assert re.fullmatch(r"localhost/dspace-deploy-lab-preloaded:debian13-[0-9a-f]{12}", tag)
    assert images.preloaded_tag(base, ["postgresql", "nginx", "nginx"]) == tag
    assert images.preloaded_tag(base, ["nginx"]) != tag
    assert images.preloaded_tag(base.replace("74a0", "74a1"), ["nginx", "postgresql"]) != tag


def test_preloaded_image_installs_on_the_base_commits_and_builds_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The packages go in with apt in a container of the base image that never boots; the
    commit keeps systemd as the command; a second call finds the image."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    base = "localhost/dspace-deploy-lab:debian13-74a0bfaae960"
    monkeypatch.setattr(images, "ensure_image", lambda os_name, progress=None: base)
    existing = {base}
    calls: list[list[str]] = []

    older = [f"{images.PRELOADED_REPOSITORY}:debian13-{n}" for n in ("aaa", "bbb")]
    listing = json.dumps([
        {"Names": [older[0]], "Created": 1}, {"Names": [older[1]], "Created": 2},
        {"Names": [f"{images.PRELOADED_REPOSITORY}:debian12-ccc"], "Created": 0}]).encode()

    def fake_podman(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append(list(args))
        if args[0] == "commit":
            existing.add(args[-1])
        out = listing if args[0] == "images" else b""
        return subprocess.CompletedProcess(args, 0, out, b"")

    monkeypatch.setattr(podman, "podman", fake_podman)
    monkeypatch.setattr(podman, "image_exists", lambda tag: tag in existing)
    tag = images.ensure_preloaded_image("debian13", ["postgresql", "nginx"])
    assert tag == images.preloaded_tag(base, ["nginx", "postgresql"])
    (run,) = [c for c in calls if "run" in c]
    assert run[run.index("run") + 3] == base  # --name NAME IMAGE
    assert "--systemd=always" not in run and "/sbin/init" not in run
    assert run[-3:] == ["preload", "nginx", "postgresql"]
    assert "policy-rc.d" in images.PRELOAD_SCRIPT and "apt-get install" in images.PRELOAD_SCRIPT
    (commit,) = [c for c in calls if c[0] == "commit"]
    assert 'CMD ["/sbin/init"]' in commit and commit[-1] == tag
    removal = ["rm", "--force", run[run.index("--name") + 1]]
    removals = [index for index, call in enumerate(calls) if call == removal]
    assert removals[-1] > calls.index(commit)  # the build container goes (a leftover too)
    # about 1 GB each: the newest older build of this OS stays, the others go
    assert [c for c in calls if c[0] == "rmi"] == [["rmi", older[0]]]
    calls.clear()
    assert images.ensure_preloaded_image("debian13", ["nginx", "postgresql"]) == tag
    assert images.ensure_preloaded_image("debian13", []) == base
    assert calls == []


def test_a_lab_remembers_its_preloaded_packages(tmp_path: Path) -> None:
    lab = _lab(tmp_path, "ssh")
    lab.preload = {"debian13": ["nginx"]}
    lab.dir.mkdir(parents=True, exist_ok=True)
    labs._write_meta(lab)
    meta = labs._read_meta(lab.dir)
    assert meta is not None
    assert labs._lab_from_meta(lab.dir, meta).preload == {"debian13": ["nginx"]}


# --- podman arguments ---------------------------------------------------------------------


def test_run_arguments() -> None:
    args = podman.run_args(
        container="dspace-lab-demo-1",
        hostname="demo-1",
        image="localhost/dspace-deploy-lab:debian13-0123456789ab",
        lab="demo",
        os_name="debian13",
        add_hosts=[("demo-1.lab.test", "127.0.0.1")],
        limits=((1024, 1024), (4096, 4096)),
    )
    assert args[:3] == ["--runtime", "runc", "run"]
    joined = " ".join(args)
    for expected in (
        "--detach",
        "--name dspace-lab-demo-1",
        "--hostname demo-1",
        "--systemd=always",
        "--cap-add NET_ADMIN",
        "--cap-add SYS_ADMIN",
        "--ulimit nofile=1024:1024",
        "--ulimit nproc=4096:4096",
        "--label dspace-deploy.lab=demo",
        "--label dspace-deploy.os=debian13",
        "--add-host demo-1.lab.test:127.0.0.1",
    ):
        assert expected in joined
    assert args[-2:] == ["localhost/dspace-deploy-lab:debian13-0123456789ab", "/sbin/init"]


def test_default_ulimits_stay_within_the_controllers_own() -> None:
    import resource

    (nofile_soft, nofile_hard), (nproc_soft, nproc_hard) = podman.ulimits()
    own_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    own_nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    assert nofile_soft <= 1024 and nofile_soft <= nofile_hard
    assert own_nofile == resource.RLIM_INFINITY or nofile_hard <= own_nofile
    assert own_nproc == resource.RLIM_INFINITY or nproc_hard <= own_nproc
    assert nproc_soft == nproc_hard >= 1


def test_other_podman_arguments() -> None:
    assert podman.container_name("demo", 3) == "dspace-lab-demo-3"
    assert podman.exec_args("c", ["sh", "-s"], interactive=True) == [
        "exec",
        "--interactive",
        "c",
        "sh",
        "-s",
    ]
    assert podman.ps_args("demo") == [
        "ps",
        "--all",
        "--filter",
        "label=dspace-deploy.lab=demo",
        "--format",
        "json",
    ]
    assert "label=dspace-deploy.lab" in podman.ps_args()


def test_state_and_address_from_inspect() -> None:
    running = {
        "State": {"Running": True},
        "NetworkSettings": {"IPAddress": "", "Networks": {"podman": {"IPAddress": "10.88.0.7"}}},
    }
    assert podman.state_of(running) == "running"
    assert podman.address_of(running) == "10.88.0.7"
    assert podman.state_of({"State": {"Running": False}}) == "stopped"
    assert podman.state_of(None) == "missing"
    assert podman.address_of(None) is None


def _path_without_podman(tmp_path: Path) -> str:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    return str(empty)


def test_missing_podman_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", _path_without_podman(tmp_path))
    with pytest.raises(EnvironmentProblem) as caught:
        podman.podman_path()
    text = str(caught.value)
    assert "podman is not installed" in text
    assert "sudo apt-get install -y podman runc debootstrap" in text
    assert "runc" in text and "ulimit" in text
    assert caught.value.exit_code == EXIT_ENVIRONMENT
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with pytest.raises(EnvironmentProblem):
        labs.create_lab("demo")
    assert not (tmp_path / "data").exists()  # nothing was touched


def test_missing_podman_on_the_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": _path_without_podman(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [EXE, "lab", "up", "--name", "demo"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == EXIT_ENVIRONMENT
    assert result.stderr.startswith("error: podman is not installed")
    assert "sudo apt-get install -y podman runc debootstrap" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --- names, shapes, inventory -------------------------------------------------------------


@pytest.mark.parametrize("name", ["lab", "demo", "course-3", "t-1a2b3c", "a" * 21])
def test_valid_lab_names(name: str) -> None:
    assert labs.validate_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "3lab", "Lab", "lab_1", "-lab", "a" * 22, "la b", "é", "demo\n"]
)
def test_invalid_lab_names(name: str) -> None:
    with pytest.raises(InputError, match="lab name"):
        labs.validate_name(name)


def test_oses_are_assigned_round_robin() -> None:
    assert labs.assign_oses(1, []) == ["debian13"]
    assert labs.assign_oses(3, ["debian13"]) == ["debian13"] * 3
    assert labs.assign_oses(5, ["debian12", "debian13"]) == [
        "debian12",
        "debian13",
        "debian12",
        "debian13",
        "debian12",
    ]
    assert labs.assign_oses(1, ["debian12", "debian13"]) == ["debian12"]


@pytest.mark.parametrize("count", [0, -1, 51])
def test_host_count_is_bounded(count: int) -> None:
    with pytest.raises(InputError, match="1 to 50"):
        labs.assign_oses(count, ["debian13"])


def test_unknown_os_in_a_lab() -> None:
    with pytest.raises(InputError, match="centos"):
        labs.assign_oses(2, ["debian13", "centos"])


def test_a_lab_of_another_shape_must_be_removed_first() -> None:
    meta = {"connection": "podman", "hosts": [{"os": "debian13"}]}
    labs._check_same_shape("demo", meta, ["debian13"], "podman")
    for oses, connection in (
        (["debian13", "debian13"], "podman"),
        (["debian12"], "podman"),
        (["debian13"], "ssh"),
    ):
        with pytest.raises(InputError, match="lab down demo"):
            labs._check_same_shape("demo", meta, oses, connection)


def _lab(tmp_path: Path, connection: str) -> labs.Lab:
    return labs.Lab(
        name="demo",
        hosts=[
            labs.LabHost("demo-1", "dspace-lab-demo-1", "debian12", "10.88.0.5"),
            labs.LabHost("demo-2", "dspace-lab-demo-2", "debian13", "10.88.0.6"),
        ],
        dir=tmp_path,
        inventory=tmp_path / "inventory",
        vault_password_file=tmp_path / "vault-password.txt",
        ssh_key=tmp_path / "id_ed25519",
        connection=connection,
    )


def test_host_connection_variables(tmp_path: Path) -> None:
    lab = _lab(tmp_path, "podman")
    assert labs.host_vars(lab, lab.hosts[0]) == {
        "ansible_connection": "containers.podman.podman",
        "ansible_host": "dspace-lab-demo-1",
    }
    lab = _lab(tmp_path, "ssh")
    ssh = labs.host_vars(lab, lab.hosts[1])
    assert ssh["ansible_host"] == "10.88.0.6"
    assert ssh["ansible_user"] == "deploy"
    assert ssh["ansible_become"] is True
    assert ssh["ansible_ssh_private_key_file"] == str(tmp_path / "id_ed25519")
    assert f"UserKnownHostsFile={tmp_path / 'known_hosts'}" in ssh["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=accept-new" in ssh["ansible_ssh_common_args"]


def test_each_host_runs_the_line_its_debian_suits(tmp_path: Path) -> None:
    entries = lab_inventory.host_entries(_lab(tmp_path, "podman"))
    instances = {entry.name: entry.vars["dspace_instances"] for entry in entries}
    assert instances["demo-1"][0]["line"] == "8"
    assert instances["demo-2"][0]["line"] == "9"
    assert instances["demo-1"][0]["hostname"] == "demo-1.lab.test"
    assert instances["demo-2"][0]["hostname"] == "demo-2.lab.test"
    assert {item[0]["name"] for item in instances.values()} == {"repo"}


def test_lab_hosts_trust_the_controllers_ca_certificates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca_dir: Path
) -> None:
    monkeypatch.setattr(images, "CONTROLLER_CA_DIR", ca_dir)
    assert lab_inventory.group_vars(_lab(tmp_path, "podman")) == {
        "common_extra_ca_certificates": [str(ca_dir / "one.crt"), str(ca_dir / "sub/two.crt")]
    }


def test_provision_script_installs_the_key_for_root_and_deploy() -> None:
    script = labs.provision_script("ssh-ed25519 AAAA lab key")
    assert "useradd --create-home --shell /bin/bash deploy" in script
    assert "'ssh-ed25519 AAAA lab key'" in script
    assert "/root /home/deploy" in script
    assert "NOPASSWD:ALL" in script and "/etc/sudoers.d/deploy" in script
    assert "ssh.service" in script


# --- command line -------------------------------------------------------------------------


def test_lab_up_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def fake_create(**kwargs: Any) -> labs.Lab:
        seen.update(kwargs)
        kwargs["progress"]("a progress line, on stderr")
        return _lab(tmp_path, kwargs["connection"])

    monkeypatch.setattr(labs, "create_lab", fake_create)
    result = CliRunner().invoke(
        app,
        [
            "lab",
            "up",
            "--hosts",
            "2",
            "--os",
            "debian12",
            "--os",
            "debian13",
            "--name",
            "demo",
            "--connection",
            "ssh",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (seen["name"], seen["hosts"], seen["oses"], seen["connection"]) == (
        "demo",
        2,
        ["debian12", "debian13"],
        "ssh",
    )
    document = json.loads(result.stdout)
    assert document["ok"] is True
    lab = document["lab"]
    assert lab["name"] == "demo"
    assert lab["connection"] == "ssh"
    assert lab["inventory"] == str(tmp_path / "inventory")
    assert [host["os"] for host in lab["hosts"]] == ["debian12", "debian13"]
    assert set(lab["hosts"][0]) == {"name", "container", "os", "address", "state"}


def test_lab_up_human_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(labs, "create_lab", lambda **kwargs: _lab(tmp_path, "podman"))
    result = CliRunner().invoke(app, ["lab", "up", "--name", "demo"])
    assert result.exit_code == 0, result.output
    assert "demo-1" in result.stdout and "10.88.0.6" in result.stdout
    assert f"dspace-deploy up -i {tmp_path / 'inventory'}" in result.stdout
    assert f"dspace-deploy verify -i {tmp_path / 'inventory'}" in result.stdout
    assert "dspace-deploy lab down demo" in result.stdout


def test_lab_up_rejects_unknown_os_and_host_counts() -> None:
    for args in (
        ["--os", "debian11"],
        ["--hosts", "0"],
        ["--hosts", "51"],
        ["--connection", "telnet"],
    ):
        result = CliRunner().invoke(app, ["lab", "up", *args])
        assert result.exit_code == 2, args


def test_lab_list_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(labs, "list_labs", lambda: [_lab(tmp_path, "podman")])
    monkeypatch.setattr(labs, "orphan_labs", lambda: ["old"])
    result = CliRunner().invoke(app, ["lab", "list", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [lab["name"] for lab in document["labs"]] == ["demo"]
    assert document["orphans"] == ["old"]


def test_lab_errors_with_json_are_one_document(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    result = subprocess.run(
        [EXE, "lab", "up", "--name", "Bad", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["exit_code"] == 2
    assert "Invalid lab name 'Bad'" in document["error"]
    assert "Traceback" not in result.stderr


def test_lab_down_needs_a_name_or_all() -> None:
    result = CliRunner().invoke(app, ["lab", "down"])
    assert result.exit_code != 0


def test_lab_down_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    removed: list[str] = []
    monkeypatch.setattr(labs, "list_labs", lambda: [_lab(tmp_path, "podman")])
    monkeypatch.setattr(
        labs, "destroy_lab", lambda name: removed.append(name) or [f"dspace-lab-{name}-1"]
    )
    result = CliRunner().invoke(app, ["lab", "down", "--all", "--json"])
    assert result.exit_code == 0, result.output
    assert removed == ["demo"]
    assert json.loads(result.stdout)["removed"] == [
        {"name": "demo", "containers": ["dspace-lab-demo-1"]}
    ]


def test_new_addresses_replace_only_the_hosts_ansible_host() -> None:
    text = (
        "---\n# comment kept\nall:\n  children:\n    dspace:\n      hosts:\n"
        "        demo-1:\n          ansible_host: 10.88.0.5\n          ansible_user: deploy\n"
        "          dspace_instances:\n          - name: repo\n"
        "            hostname: demo-1.lab.test\n"
        "        demo-2:\n          ansible_host: 10.88.0.6\n"
        "        other: {}\n"
    )
    new = lab_inventory.replace_addresses(text, {"demo-1": "10.88.0.6", "demo-2": "10.88.0.5"})
    assert lab_inventory._addresses(new) == {
        "demo-1": "10.88.0.6",
        "demo-2": "10.88.0.5",
        "other": None,
    }
    changed = [
        (old, line)
        for old, line in zip(text.splitlines(), new.splitlines(), strict=True)
        if old != line
    ]
    assert changed == [
        ("          ansible_host: 10.88.0.5", "          ansible_host: 10.88.0.6"),
        ("          ansible_host: 10.88.0.6", "          ansible_host: 10.88.0.5"),
    ]


def test_lab_vars_file_is_yaml_with_the_ca_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca_dir: Path
) -> None:
    import yaml

    monkeypatch.setattr(images, "CONTROLLER_CA_DIR", ca_dir)
    data = yaml.safe_load(lab_inventory.lab_vars_text(_lab(tmp_path, "ssh")))
    assert data == lab_inventory.group_vars(_lab(tmp_path, "ssh"))


def test_the_scaffold_accepts_a_lab_inventory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca_dir: Path
) -> None:
    """The real create_site writes a valid inventory for a two-OS SSH lab."""
    import yaml

    monkeypatch.setattr(images, "CONTROLLER_CA_DIR", ca_dir)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    lab = _lab(tmp_path / "lab", "ssh")
    lab.dir.mkdir()
    lab_inventory.write(lab)
    hosts = yaml.safe_load((lab.inventory / "hosts.yml").read_text())
    group = hosts["all"]["children"]["dspace"]["hosts"]
    assert group["demo-1"]["ansible_host"] == "10.88.0.5"
    assert group["demo-2"]["dspace_instances"][0]["line"] == "9"
    assert lab.vault_password_file.stat().st_mode & 0o777 == 0o600
    site = yaml.safe_load((lab.inventory / "group_vars/all/site.yml").read_text())
    assert site["site_name"] == "lab-demo"
    # A restarted host gets a new address: only hosts.yml changes, secrets stay.
    vault_before = (lab.inventory / "group_vars/all/vault.yml").read_text()
    lab.hosts[0].address = "10.88.0.9"
    lab_inventory.update_addresses(lab)
    group = yaml.safe_load((lab.inventory / "hosts.yml").read_text())["all"]["children"]
    assert group["dspace"]["hosts"]["demo-1"]["ansible_host"] == "10.88.0.9"
    assert (lab.inventory / "group_vars/all/vault.yml").read_text() == vault_before


def test_systemd_timeout_names_the_failed_units(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_podman(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        command = args[2:]
        if command[:2] == ["systemctl", "is-system-running"]:
            out = b"starting\n"
        elif "--failed" in command:
            out = b"nginx.service loaded failed failed A web server\n"
        else:
            out = b"42 postgresql.service start running\n"
        return subprocess.CompletedProcess(args, 1, out, b"")

    monkeypatch.setattr(podman, "podman", fake_podman)
    with pytest.raises(EnvironmentProblem) as caught:
        podman.wait_for_systemd("dspace-lab-demo-1", timeout=0.2, interval=0.05)
    text = str(caught.value)
    assert "did not finish booting" in text
    assert "state: starting" in text
    assert "failed units: nginx.service" in text
    assert "still starting: postgresql.service" in text
    assert "podman exec dspace-lab-demo-1 systemctl status" in text


def test_debootstrap_failure_shows_the_end_of_its_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "debootstrap"
    fake.write_text(
        '#!/bin/sh\nfor i in $(seq 1 30); do echo "I: line $i"; done\n'
        "echo 'E: Couldn'\\''t download packages: systemd'\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    recipe = images.Recipe.for_os("debian13", ca_dir=tmp_path / "no-ca")
    log = tmp_path / "build.log"
    with pytest.raises(EnvironmentProblem) as caught:
        images._debootstrap(recipe, tmp_path / "tree", log)
    text = str(caught.value)
    assert "debootstrap failed (exit 1)" in text
    assert "E: Couldn't download packages: systemd" in text
    assert "I: line 30" in text and "I: line 2\n" not in text  # the end, not all of it
    assert f"Full log: {log}" in text
    assert images.MIRROR_ENV in text
    assert log.is_file()


def test_missing_debootstrap_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", _path_without_podman(tmp_path))
    monkeypatch.setattr(images, "DEBOOTSTRAP_FALLBACK", tmp_path / "nowhere")
    with pytest.raises(EnvironmentProblem, match="sudo apt-get install -y debootstrap"):
        images._require_build_tools()


def test_removing_a_lab_removes_its_vault_password_even_without_its_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A lab whose directory is already gone (a half-removed lab, a drill's kept lab removed by
    hand) still loses its vault password file: no password outlives its lab."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    removed: list[list[str]] = []
    monkeypatch.setattr(podman, "podman_path", lambda: "/usr/bin/podman")
    monkeypatch.setattr(podman, "lab_containers",
                        lambda lab=None: [{"Names": ["dspace-lab-drill1-1"]}])
    monkeypatch.setattr(podman, "remove", lambda names: removed.append(list(names)))
    monkeypatch.setattr(network, "lab_networks", lambda: ["drill1"])
    monkeypatch.setattr(network, "remove", lambda lab: removed.append([f"network {lab}"]))
    password = labs.lab_vault_password_file("drill1")
    password.parent.mkdir(parents=True)
    password.write_text("secret\n")
    assert not labs.lab_dir("drill1").exists()
    assert labs.destroy_lab("drill1") == ["dspace-lab-drill1-1"]
    assert removed == [["dspace-lab-drill1-1"], ["network drill1"]]
    assert not password.exists()
