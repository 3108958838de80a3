"""The instance plan seen from Python: the one implementation is the playbook's filter plugin
(playbooks/filter_plugins/dspace_plan.py), loaded here by path so the CLI, bundle checks and
`verify` compute exactly what the playbook computes."""

from __future__ import annotations

import functools
import importlib.util
from types import ModuleType
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import InputError
from dspace_deploy.site import Site


@functools.cache
def filter_module(name: str) -> ModuleType:
    """playbooks/filter_plugins/<name>.py, loaded by path (the playbook's own code)."""
    path = resources.playbooks_dir() / "filter_plugins" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_dspace_deploy_{name}_filter", path)
    if spec is None or spec.loader is None:
        raise InputError(f"Cannot load the filter plugin {path}.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plan_module() -> ModuleType:
    """playbooks/filter_plugins/dspace_plan.py: the one implementation of the instance plan."""
    return filter_module("dspace_plan")


def site_plans(site: Site) -> dict[str, list[dict[str, Any]]]:
    """Each DSpace host's instance plans, as the playbook computes them."""
    plan = plan_module()
    result = {}
    for host in site.hosts:
        hostvars = site.hostvars.get(host, {})
        user = hostvars.get("common_service_user") or "dspace"
        try:
            result[host] = plan.instance_plan(hostvars.get("dspace_instances") or [], str(user))
        except Exception as exc:  # PlanError: validation lets nothing through that fails here
            raise InputError(f"Host {host}: {exc}") from exc
    return result
