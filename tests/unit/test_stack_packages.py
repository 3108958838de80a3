"""The packages the base system role installs for the host's other roles in its own apt
transaction (playbooks/filter_plugins/dspace_packages.py, `common_stack_packages` in
playbooks/site.yml): what the roles would install on that host, no more and no less."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from dspace_deploy import plans, resources
from tests.unit.fixtures.helpers import ansible_debug

REPO = Path(__file__).resolve().parents[2]
packages = plans.filter_module("dspace_packages").stack_packages
plan = plans.plan_module().instance_plan

# The roles' apt tasks of `up` the list stands for, and the one left out on purpose (the UI's
# source build tools: installed only when the host has no cached build).
UP_APT_TASKS = {
    "postgresql": ["deploy.yml"], "proxy": ["deploy.yml"], "solr": ["install.yml"],
    "dspace_backend": ["install_steps.yml"], "dspace_ui": ["node.yml"],
    "handle_server": ["deploy.yml"], "dspace_tasks": ["deploy.yml"],
    "dspace_backup": ["deploy.yml"], "lareferencia_stats": ["install.yml"],
}


def inst(name: str = "repo", **extra: Any) -> dict[str, Any]:
    return {"name": name, "hostname": f"{name}.example.edu", "admin_email": "a@example.edu",
            **extra}


def _bundled(*plans_: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: {"installer": f"/bundles/{p['name']}/installer.tar.gz"} for p in plans_}


def test_a_host_without_instances_gets_nothing_beyond_the_base() -> None:
    assert packages([], [], {}) == []
    assert packages(None) == []


def test_one_instance_from_a_bundle_on_debian_13() -> None:
    (p,) = plan([inst()], "dspace", "13")
    assert packages([p], [p], _bundled(p)) == sorted({
        "postgresql", "python3-psycopg2",  # postgresql
        "nginx", "openssl", "python3-cryptography",  # proxy (self-signed: no certbot)
        "default-jre-headless", "curl", "lsof", "procps", "rsync",  # solr
        "openjdk-21-jre-headless", "ant",  # dspace_backend from a bundle: no JDK, no Maven
        "nodejs",  # dspace_ui
        "bind9-host", "iproute2",  # handle_server
        "util-linux", "restic",  # dspace_tasks, dspace_backup (local target)
    })


def test_the_options_of_the_site_add_and_remove_what_their_roles_do() -> None:
    alpha, beta = plan([inst("alpha", line="8"), inst("beta", line="8", tls_mode="acme")],
                       "dspace", "12")
    base = set(packages([alpha, beta], [alpha, beta], _bundled(alpha, beta)))
    assert {p for p in base if p.startswith("openjdk-")} == {"openjdk-17-jre-headless"}
    assert "certbot" in base  # one ACME site is enough
    # Source builds (no installer): the JDK and Maven of the backend.
    source = set(packages([alpha, beta], [alpha, beta], {}))
    assert source - base == {"openjdk-17-jdk-headless", "maven"}
    # Solr left alone for an upgrade: neither its Java nor its own tools.
    held = set(packages([alpha, beta], [alpha, beta], _bundled(alpha, beta), solr_held=True))
    assert base - held == {"default-jre-headless", "lsof", "procps", "curl"}
    java = packages([alpha], [alpha], _bundled(alpha), solr_java_package="openjdk-17-jre-headless")
    assert "default-jre-headless" not in java
    sftp = packages([alpha], [alpha], {}, backup_targets=[{"name": "off", "type": "sftp"}])
    assert "openssh-client" in sftp
    assert "openssh-client" not in packages([alpha], [alpha], {}, backup_targets=[
        {"name": "local", "type": "local"}])
    stats = set(packages([alpha, beta], [alpha, beta], {}, lareferencia_stats_instances=["beta"]))
    assert stats - source == {"python3-venv", "python3-packaging"}
    assert "python3-venv" not in packages([alpha], [alpha], {}, lareferencia_stats_instances=["x"])
    # An instance waiting for an upgrade: only the host-level roles run for it.
    pending = set(packages([alpha], [], {}))
    assert pending == set(packages([alpha], [alpha], _bundled(alpha))) - {
        "openjdk-17-jre-headless", "ant", "nodejs", "bind9-host", "iproute2", "restic",
        "util-linux"}


def _apt_names(role: str, task_file: str) -> set[str]:
    """The package names a role's apt tasks can install, with every option taken: the YAML
    list items, the quoted names of a Jinja expression, and the role's vars/main.yml lists it
    names (a templated name such as openjdk-{{ ... }}-jre-headless kept as a pattern)."""
    role_vars = yaml.safe_load((resources.roles_dir() / role / "vars" / "main.yml").read_text())
    tasks = yaml.safe_load((resources.roles_dir() / role / "tasks" / task_file).read_text())
    found: set[str] = set()

    def walk(items: list[dict[str, Any]]) -> None:
        for task in items:
            walk(task.get("block", []))
            apt = task.get("ansible.builtin.apt")
            if not isinstance(apt, dict) or "name" not in apt:
                continue
            value = apt["name"]
            for text in value if isinstance(value, list) else [value]:
                if "{{" not in text:
                    found.add(text)
                    continue
                found.update(n for n in re.findall(r"'([a-z0-9][a-z0-9.+-]*)'", text))
                for var in re.findall(r"\b([a-z_][a-z0-9_]*_packages?)\b", text):
                    known = role_vars.get(var)
                    for item in [known] if isinstance(known, str) else known or []:
                        found.add(re.sub(r"\{\{.*?\}\}", "N", str(item)))

    walk(tasks)
    return found


def test_the_list_is_what_the_roles_apt_tasks_install() -> None:
    """Every package the roles' apt tasks of `up` name is in the list of a host that takes
    every option, and the list names nothing else (so it never installs what no role
    would). Java majors are compared as the pattern openjdk-N-..."""
    wanted = set().union(*(_apt_names(r, f) for r, files in UP_APT_TASKS.items() for f in files))
    alpha, beta = plan([inst("alpha"), inst("beta", tls_mode="acme")], "dspace", "13")
    listed = {re.sub(r"^openjdk-[0-9]+-", "openjdk-N-", name) for name in packages(
        [alpha, beta], [alpha, beta], {}, backup_targets=[{"type": "sftp"}],
        lareferencia_stats_instances=["alpha"])}
    assert listed == wanted


def test_site_yml_gives_the_list_to_the_base_system_role(tmp_path: Path) -> None:
    """site.yml's expression, evaluated by a real `ansible` run on localhost (connection local,
    nothing changed): Ansible finds the filter and the site's settings reach it."""
    site = yaml.safe_load((REPO / "playbooks" / "site.yml").read_text())
    (task,) = [t for play in site for t in play.get("tasks", [])
               if t.get("name") == "Converge the base system"]
    expression = task["vars"]["common_stack_packages"]
    alpha, beta = plan([inst("alpha"), inst("beta", tls_mode="acme")], "dspace", "13")
    out = ansible_debug(tmp_path, {
        "dspace_plans": [alpha, beta], "dspace_converge_plans": [alpha],
        "dspace_plan_bundles": _bundled(alpha, beta), "dspace_solr_held_by": [],
        "dspace_backup_targets": [{"name": "off", "type": "sftp"}],
        "lareferencia_stats_enabled": True, "lareferencia_stats_instances": {"alpha": {}},
    }, expression)
    assert out == packages([alpha, beta], [alpha], _bundled(alpha, beta),
                           backup_targets=[{"type": "sftp"}],
                           lareferencia_stats_instances=["alpha"])
    assert {"certbot", "openssh-client", "python3-venv", "openjdk-21-jre-headless"} <= set(out)
    assert "maven" not in out  # alpha has an installer; beta waits for an upgrade
