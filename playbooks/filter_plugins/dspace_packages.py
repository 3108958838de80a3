"""Ansible filter: the Debian packages the roles of `up` install on a host, so that the base
system role installs them in its own apt transaction (`common_stack_packages`; docs/stack.md,
"One apt transaction"). Each role keeps its own apt task, which then finds its packages
installed: this list only decides speed, never what a host ends up with, as long as it names
nothing a role would not install on that host (a package named here that no role wants would
be installed for nothing, and on a host converged without it a re-run would report a change).

  dspace_stack_packages(plans, converge_plans, bundles, solr_held=False, solr_java_package='',
                        backup_targets=None, lareferencia_stats_instances=None) -> [str]

`plans` are the host's instance plans (dspace_plans: the host-level roles, PostgreSQL, Solr
and the proxy, run when there is one), `converge_plans` those `up` converges
(dspace_converge_plans: the per-instance roles run for these), `bundles` the verified artifact
bundle of each plan by name (dspace_plan_bundles: without an installer the backend builds from
source and installs a JDK and Maven too). The other arguments are the site's own settings the
roles read: whether Solr is left alone for an upgrade (dspace_solr_held_by), Solr's Java
package (solr_java_package), the backup targets (dspace_backup_targets: an SFTP target needs
the SSH client) and the instances whose LA Referencia statistics collector is installed.

The package lists the roles keep in their `vars/main.yml` are read from there (the roles of
this content tree: `<content>/roles` next to `<content>/playbooks`); the names the roles write
into their apt tasks are repeated here, and a unit test (tests/unit/test_stack_packages.py)
holds the two together. `dspace_deploy.lab.images.stack_packages` builds the lab's preloaded
image from the same function.

Left out on purpose:
- the UI's source build tools (roles/dspace_ui/tasks/source.yml): the role installs them only
  when the host has no cached build of the release, which the controller cannot know.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"  # <content>/playbooks/filter_plugins/


@functools.cache
def _role_vars(roles: Path, role: str) -> dict[str, Any]:
    loaded = yaml.safe_load((roles / role / "vars" / "main.yml").read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def role_list(role: str, name: str, roles: Path = ROLES) -> list[str]:
    """The package list (or single package) `name` of the role's vars/main.yml."""
    value = _role_vars(roles, role)[name]
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _names(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, Iterable) and not isinstance(
        value, (str, Mapping)) else []


def stack_packages(plans: Any, converge_plans: Any = None, bundles: Any = None, *,
                   solr_held: Any = False, solr_java_package: Any = "",
                   backup_targets: Any = None, lareferencia_stats_instances: Any = None,
                   roles: Path = ROLES) -> list[str]:
    """The packages the roles of `up` install on a host with these plans (sorted, unique;
    [] for a host without instances, which gets the base system only)."""
    plans = [p for p in plans or [] if isinstance(p, Mapping)]
    if not plans:
        return []
    converge = plans if converge_plans is None else [
        p for p in converge_plans if isinstance(p, Mapping)]
    table = bundles if isinstance(bundles, Mapping) else {}
    targets = [t for t in backup_targets or [] if isinstance(t, Mapping)]
    collecting = set(_names(lareferencia_stats_instances))

    def role(name: str, var: str) -> list[str]:
        return role_list(name, var, roles)

    # Host-level roles (site.yml: when dspace_plans | length > 0).
    packages = [*role("postgresql", "postgresql_packages"), *role("proxy", "proxy_packages")]
    if any(p.get("tls_mode") == "acme" for p in plans):  # proxy: tasks/deploy.yml
        packages += role("proxy", "proxy_acme_packages")
    if not solr_held:  # solr: tasks/install.yml
        packages += [str(solr_java_package or "") or "default-jre-headless",
                     *role("solr", "solr_base_packages")]
    # Per-instance roles (site.yml: a loop over dspace_converge_plans).
    for plan in converge:
        java = int(plan["java_major"])
        bundle = table.get(plan.get("name"))
        # dspace_backend: tasks/install_steps.yml (source mode: no installer in the bundle)
        packages += [f"openjdk-{java}-jre-headless", "ant"]
        if not (bundle.get("installer") if isinstance(bundle, Mapping) else ""):
            packages += [f"openjdk-{java}-jdk-headless", "maven"]
        packages += role("dspace_ui", "dspace_ui_node_package")  # dspace_ui: tasks/node.yml
        packages += role("handle_server", "handle_server_packages")
        packages += ["util-linux"]  # dspace_tasks: tasks/deploy.yml
        packages += ["restic", "rsync", "util-linux"]  # dspace_backup: tasks/deploy.yml
        if any(t.get("type") == "sftp" for t in targets):
            packages += ["openssh-client"]
        if plan.get("name") in collecting:  # lareferencia_stats: tasks/install.yml
            packages += ["python3-venv", "python3-packaging"]
    return sorted(set(packages))


class FilterModule:
    """Ansible's entry point for filter plugins."""

    def filters(self) -> dict[str, Any]:
        return {"dspace_stack_packages": stack_packages}
