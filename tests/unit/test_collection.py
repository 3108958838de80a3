"""The collection tarball (`dspace-deploy collection build`): what goes in, what stays out, and
that it installs offline and its playbooks load from the installed copy with no repository
configuration (the lab run is tests/integration/test_collection.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from dspace_deploy import __version__, collection, resources
from tests.unit.fixtures.helpers import REPO

BIN = Path(sys.executable).parent
MAX_BYTES = 2 * 1024 * 1024
# FQCN references to another collection: module calls (`community.x.y:`) and filters
# (`| community.x.y`).
_FQCN = re.compile(r"\b((?!ansible\.builtin\b|dspace\.deploy\b)[a-z_]+\.[a-z_]+)\.[a-z_0-9]+\b")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> collection.Built:
    return collection.build(tmp_path_factory.mktemp("collection"))


@pytest.fixture(scope="module")
def members(built: collection.Built) -> set[str]:
    with tarfile.open(built.tarball) as archive:
        return set(archive.getnames())


@pytest.fixture(scope="module")
def manifest(built: collection.Built) -> dict[str, Any]:
    with tarfile.open(built.tarball) as archive:
        handle = archive.extractfile("MANIFEST.json")
        assert handle is not None
        return dict(json.load(handle)["collection_info"])


def _clean_environment(tmp: Path, collections: Path | None = None) -> dict[str, str]:
    """No repository ansible.cfg (the working directory is `tmp`), no ANSIBLE_* of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["HOME"] = str(tmp)  # no ~/.ansible of the user
    if collections is not None:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    return env


def test_tarball_is_named_after_the_toolkit_version(built: collection.Built,
                                                    manifest: dict[str, Any]) -> None:
    assert built.tarball.name == f"dspace-deploy-{__version__}.tar.gz"
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == (
        "dspace", "deploy", __version__)


def test_every_role_goes_in_with_its_argument_specs(members: set[str]) -> None:
    roles = [p for p in sorted(resources.roles_dir().iterdir()) if (p / "tasks").is_dir()]
    assert len(roles) >= 9
    for role in roles:
        for path in role.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert f"roles/{role.name}/{path.relative_to(role)}" in members, path
        assert f"roles/{role.name}/meta/argument_specs.yml" in members
    gate = collection.local_collection_dir() / "roles" / "action"
    for path in gate.rglob("*"):
        if path.is_file():
            assert f"roles/action/{path.relative_to(gate)}" in members, path


def test_every_playbook_and_what_it_reads_goes_in(members: set[str]) -> None:
    playbooks = resources.playbooks_dir()
    files = [p for p in playbooks.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) > 20
    for path in files:
        assert f"playbooks/{path.relative_to(playbooks)}" in members, path
    assert "playbooks/site.yml" in members and "playbooks/filter_plugins/dspace_plan.py" in members


def test_plugins_runtime_and_docs_go_in(members: set[str], built: collection.Built) -> None:
    assert {"plugins/modules/converged_state.py", "plugins/modules/systemd_unit_set.py",
            "plugins/modules/solr_cores.py", "plugins/modules/file_set.py",
            "plugins/module_utils/files.py",
            "plugins/modules/staged_archive.py", "plugins/action/staged_archive.py",
            "plugins/filter/content_hash.py",
            "meta/runtime.yml", "README.md", "docs/variables.md", "docs/collection.md",
            "MANIFEST.json", "FILES.json"} <= members
    with tarfile.open(built.tarball) as archive:
        handle = archive.extractfile("meta/runtime.yml")
        assert handle is not None
        runtime = yaml.safe_load(handle)
    from ansible.module_utils.compat.version import LooseVersion
    from ansible.release import __version__ as core

    floor = re.fullmatch(r">=\s*([0-9.]+)", runtime["requires_ansible"])
    assert floor, runtime
    assert LooseVersion(core) >= LooseVersion(floor.group(1))


def test_no_tests_caches_or_secrets_go_in(members: set[str], built: collection.Built) -> None:
    for name in members:
        parts = name.split("/")
        assert not {"tests", ".venv", "molecule", "__pycache__", ".git"} & set(parts), name
        assert not any(p.startswith(".") for p in parts), name
        assert not name.endswith((".pyc", ".key", ".pem", ".retry")), name
        assert not re.search(r"(^|/)vault[^/]*\.yml$|vault-pass", name), name
    with tarfile.open(built.tarball) as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            assert handle is not None
            content = handle.read()
            assert b"$ANSIBLE_VAULT" not in content, member.name
            assert b"PRIVATE KEY-----\n" not in content, member.name
    assert built.tarball.stat().st_size < MAX_BYTES


def test_declared_dependencies_are_the_collections_the_roles_call(
        manifest: dict[str, Any]) -> None:
    used = set()
    for root in (resources.roles_dir(), resources.playbooks_dir(),
                 collection.local_collection_dir() / "roles"):
        for path in root.rglob("*.yml"):
            for line in path.read_text().splitlines():
                if line.lstrip().startswith("#"):
                    continue
                used.update(_FQCN.findall(line))
    # names that look like FQCNs but are not collections
    used = {u for u in used if u.split(".")[0] in {"community", "ansible", "containers"}}
    assert used, "no collection call found: the pattern is broken"
    assert set(manifest["dependencies"]) == used


def test_readme_lists_every_role_and_playbook(built: collection.Built) -> None:
    with tarfile.open(built.tarball) as archive:
        handle = archive.extractfile("README.md")
        assert handle is not None
        text = handle.read().decode()
    for role in built.roles:
        assert re.search(rf"\| `dspace\.deploy\.{role}` \| \S", text), role
    for playbook in built.playbooks:
        assert re.search(rf"\| `dspace\.deploy\.{playbook}` \| \S", text), playbook
    assert "docs/variables.md" in text
    assert {"site", "upgrade", "backup"} <= set(built.playbooks)


@pytest.fixture(scope="module")
def installed(built: collection.Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tarball installed offline into a clean collections path, outside the repository."""
    home = tmp_path_factory.mktemp("installed")
    target = home / "collections"
    done = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline",
         str(built.tarball), "-p", str(target)],
        cwd=home, env=_clean_environment(home), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    inventory = home / "hosts.yml"
    inventory.write_text("all:\n  children:\n    dspace:\n      hosts:\n        h1:\n")
    return {"home": home, "target": target, "output": done.stdout, "inventory": inventory,
            "dir": target / "ansible_collections" / "dspace" / "deploy"}


def test_installs_offline_with_the_dependencies_of_the_ansible_package(
        installed: dict[str, Any]) -> None:
    assert (installed["dir"] / "playbooks" / "site.yml").is_file()
    # The declared dependencies came from the `ansible` package's bundle, not from Galaxy.
    for dependency in ("community.crypto", "community.general", "community.postgresql"):
        assert re.search(rf"'{dependency}:[0-9.]+' is already installed", installed["output"])


def test_every_playbook_loads_from_the_installed_collection(
        built: collection.Built, installed: dict[str, Any]) -> None:
    """No repository ansible.cfg, roles path or adjacent collection: unqualified role names
    resolve inside dspace.deploy."""
    home = installed["home"]
    listed = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(installed["inventory"]),
         *(f"dspace.deploy.{name}" for name in built.playbooks), "--list-tasks"],
        cwd=home, env=_clean_environment(home, installed["target"]), capture_output=True,
        text=True, check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "[WARNING]" not in listed.stderr, listed.stderr
    for name in built.playbooks:
        assert f"playbook: {installed['dir'] / 'playbooks' / name}.yml" in listed.stdout, name
    # site.yml imports common, postgresql, solr and proxy (without Ansible's own validation,
    # so no task of theirs is listed): each resolved to the collection's copy, whose
    # tasks/main.yml imports the gate.
    assert listed.stdout.count("dspace.deploy.action : Converge ") >= 4, listed.stdout


def test_sources_are_not_copied_into_git() -> None:
    """The collection is assembled at build time: the repository's local collection holds
    only its own plugins and the `action` role, never a second copy of roles or playbooks."""
    local = collection.local_collection_dir()
    assert not (local / "playbooks").exists()
    assert {p.name for p in (local / "roles").iterdir()} == {"action"}
    assert resources.roles_dir() == REPO / "roles"


def test_offline_install_names_a_missing_dependency_and_no_deps_skips_it(
        built: collection.Built, tmp_path: Path) -> None:
    """An environment with ansible-core alone (the `ansible` package's collections hidden)."""
    env = {**_clean_environment(tmp_path), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False"}
    command = [str(BIN / "ansible-galaxy"), "collection", "install", "--offline",
               str(built.tarball), "-p", str(tmp_path / "collections")]
    refused = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                             check=False)
    assert refused.returncode != 0
    assert "community." in refused.stderr and "dependencies map" in refused.stderr, refused.stderr
    done = subprocess.run([*command, "--no-deps"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_roles_hash_the_same_in_the_collection(built: collection.Built, tmp_path: Path) -> None:
    """The converged-state stamps hash each role's code: the same in the collection and in the
    repository, so a host converged from AWX is converged for `dspace-deploy up` too."""
    import importlib.util

    plugin = collection.local_collection_dir() / "plugins" / "filter" / "content_hash.py"
    spec = importlib.util.spec_from_file_location("content_hash_plugin", plugin)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tarfile.open(built.tarball) as archive:
        archive.extractall(tmp_path, filter="data")
    for role in built.roles:
        source = (resources.roles_dir() / role if role != "action"
                  else collection.local_collection_dir() / "roles" / role)
        assert module.content_hash(str(source)) == module.content_hash(
            str(tmp_path / "roles" / role)), role


def test_cli_verb_prints_one_json_document(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "dspace-deploy"), "collection", "build", "--out",
                           str(tmp_path), "--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] and document["collection"] == "dspace.deploy"
    assert Path(document["tarball"]) == tmp_path / f"dspace-deploy-{__version__}.tar.gz"
    assert Path(document["tarball"]).is_file() and "site" in document["playbooks"]


def test_a_missing_ansible_galaxy_is_one_clear_error(tmp_path: Path) -> None:
    from dspace_deploy.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem, match="ansible-galaxy is not installed"):
        collection.build(tmp_path, galaxy=str(tmp_path / "no-such-ansible-galaxy"))
    assert not list(tmp_path.glob("*.tar.gz"))



def test_playbook_dir_is_the_collections_under_a_wrapper_playbook(tmp_path: Path) -> None:
    """In AWX a project's playbook imports dspace.deploy.upgrade, whose precheck runs
    `{{ playbook_dir }}/files/upgrade_host_facts.py`: ansible-core 2.19 gives each imported
    play the directory of its own playbook, so the file is found in the collection."""
    playbooks = tmp_path / "collections" / "ansible_collections" / "t" / "c" / "playbooks"
    (playbooks / "files").mkdir(parents=True)
    (playbooks.parent / "galaxy.yml").write_text(
        "namespace: t\nname: c\nversion: 1.0.0\nreadme: README.md\nauthors: [t]\n")
    (playbooks / "files" / "probe.sh").write_text("#!/bin/sh\necho probed-from-collection\n")
    (playbooks / "p.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.script:\n        cmd: '{{ playbook_dir }}/files/probe.sh'\n"
        "        executable: sh\n      register: probe\n"
        "    - ansible.builtin.debug:\n        msg: '{{ probe.stdout | trim }}'\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "site.yml").write_text("- ansible.builtin.import_playbook: t.c.p\n")
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "site.yml"],
        cwd=project, env=_clean_environment(tmp_path, tmp_path / "collections"),
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"msg": "probed-from-collection"' in done.stdout, done.stdout


def test_postgresql_loops_carry_no_password(tmp_path: Path) -> None:
    """Job events keep each loop item whole (AWX stores them unredacted): the postgresql role's
    loops that need no password iterate over the databases without it."""
    playbook = tmp_path / "p.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n"
        f"  vars_files: [{resources.roles_dir() / 'postgresql' / 'vars' / 'main.yml'}]\n"
        "  vars:\n    postgresql_databases:\n"
        "      - {name: repo, owner: repo, password: s3cret-value, extensions: [pgcrypto]}\n"
        "  tasks:\n    - ansible.builtin.debug:\n        var: _postgresql_databases_public\n")
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(playbook)], cwd=tmp_path, env=_clean_environment(tmp_path),
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"owner": "repo"' in done.stdout and '"pgcrypto"' in done.stdout
    assert "s3cret-value" not in done.stdout
    server = (resources.roles_dir() / "postgresql" / "tasks" / "server.yml").read_text()
    tasks = server.split("\n- name: ")
    for task in tasks:
        if "loop: \"{{ postgresql_databases" in task:
            assert "no_log: true" in task, task


def test_build_problems_are_told_in_the_chosen_language(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    from dspace_deploy import i18n
    from dspace_deploy.errors import EnvironmentProblem

    monkeypatch.setattr(collection, "local_collection_dir", lambda: tmp_path / "gone")
    try:
        i18n.use("pt")
        with pytest.raises(EnvironmentProblem) as raised:
            collection.stage(tmp_path / "stage")
        with pytest.raises(EnvironmentProblem) as missing_galaxy:
            collection.build(tmp_path / "dist", galaxy=str(tmp_path / "no-ansible-galaxy"))
    finally:
        i18n.use("en")
    assert str(raised.value).startswith(f"A coleção local {tmp_path / 'gone'} está faltando.")
    assert "O ansible-galaxy não está instalado" in str(missing_galaxy.value)
