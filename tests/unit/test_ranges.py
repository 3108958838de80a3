"""Values the types accept but no host can use are refused while the inventory is validated:
every numeric and enumerated variable of every spec has its real range, schedules are
systemd calendar expressions, and the names a variable refers to exist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dspace_deploy import resources
from dspace_deploy.errors import ValidationFailed
from dspace_deploy.inventory import docs, specs
from dspace_deploy.inventory.specs import SpecError
from dspace_deploy.inventory.validate import load_site
from dspace_deploy.lines import LINES, PORT_SLOT_MAX
from tests.unit.fixtures.helpers import REPO, build, instance, secrets_for, site

SITE = "group_vars/all/site.yml"
TARGETS = [{"name": "local", "type": "local", "path": "/var/backups/dspace-deploy"},
           {"name": "offsite", "type": "sftp", "host": "backup.example.edu",
            "path": "/srv/backups"}]
VAULT = {**secrets_for("repo"),
         "vault_backup_secrets": {"local": {"password": "bk-local-0123456789"},
                                  "offsite": {"password": "bk-offsite-0123456789"}}}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def problems_of(tmp_path: Path, **variables: Any) -> list[Any]:
    """The problems of a site whose group_vars/all/site.yml also sets `variables`."""
    variables.setdefault("dspace_backup_targets", TARGETS)
    root, password = build(tmp_path / "site", {SITE: site(**variables)}, vault=VAULT)
    try:
        load_site(root, password)
    except ValidationFailed as failed:
        return list(failed.problems)
    return []


def _slot(value: Any) -> dict[str, Any]:
    return {"dspace_instances": [instance(port_slot=value)]}


def _instance(**changes: Any) -> dict[str, Any]:
    return {"dspace_instances": [instance(**changes)]}


def _sftp_port(value: Any) -> dict[str, Any]:
    return {"dspace_backup_targets": [TARGETS[0], {**TARGETS[1], "port": value}]}


BAD = [
    ("heap negative", {"dspace_backend_heap": "-1g"}, "dspace_backend_heap"),
    ("heap zero", {"dspace_backend_heap": "0m"}, "dspace_backend_heap"),
    ("heap without unit", {"dspace_backend_heap": "2"}, "dspace_backend_heap"),
    ("solr heap zero", {"solr_heap": "0g"}, "solr_heap"),
    ("ssh port 0", {"common_ssh_port": 0}, "common_ssh_port"),
    ("ssh port 70000", {"common_ssh_port": 70000}, "common_ssh_port"),
    ("solr port 0", {"solr_port": 0}, "solr_port"),
    ("solr port 70000", {"solr_port": 70000}, "solr_port"),
    ("solr port privileged", {"solr_port": 80}, "solr_port"),
    ("solr host public", {"solr_host": "0.0.0.0"}, "solr_host"),
    ("firewall port 0", {"common_firewall_allowed_tcp_ports": [443, 0]},
     "common_firewall_allowed_tcp_ports[1]"),
    ("firewall udp 70000", {"common_firewall_allowed_udp_ports": [70000]},
     "common_firewall_allowed_udp_ports[0]"),
    ("sftp port 0", _sftp_port(0), "dspace_backup_targets[1].port"),
    ("sftp port 70000", _sftp_port(70000), "dspace_backup_targets[1].port"),
    ("memory fraction 2.5", {"postgresql_memory_fraction": 2.5}, "postgresql_memory_fraction"),
    ("memory fraction 0", {"postgresql_memory_fraction": 0}, "postgresql_memory_fraction"),
    ("max connections negative", {"postgresql_max_connections": -5},
     "postgresql_max_connections"),
    ("retention negative", {"dspace_backup_retention": {"daily": -1}},
     "dspace_backup_retention.daily"),
    ("retention unknown key", {"dspace_backup_retention": {"dialy": 7}},
     "dspace_backup_retention.dialy"),
    ("backup schedule", {"dspace_backup_schedule": "every night at 2"},
     "dspace_backup_schedule"),
    ("backup schedule hour 25", {"dspace_backup_schedule": "*-*-* 25:00:00"},
     "dspace_backup_schedule"),
    ("task schedule", {"dspace_tasks_schedule_overrides": {"checker": "sometimes"}},
     "dspace_tasks_schedule_overrides.checker"),
    ("task schedules", {"dspace_tasks_schedules": {"cleanup": "0 1 * * *"}},
     "dspace_tasks_schedules.cleanup"),
    ("unknown task", {"dspace_tasks_schedule_overrides": {"chcker": "daily"}},
     "dspace_tasks_schedule_overrides.chcker"),
    ("unknown task java opts", {"dspace_tasks_java_opts_overrides": {"index": "-Xmx1g"}},
     "dspace_tasks_java_opts_overrides.index"),
    ("scheduled target", {"dspace_backup_scheduled_targets": ["offsite", "ofsite"]},
     "dspace_backup_scheduled_targets[1]"),
    ("task nice 20", {"dspace_tasks_nice": 20}, "dspace_tasks_nice"),
    ("task delay negative", {"dspace_tasks_randomized_delay": -1},
     "dspace_tasks_randomized_delay"),
    ("proxy timeout 0", {"proxy_read_timeout": 0}, "proxy_read_timeout"),
    ("body size", {"proxy_client_max_body_size": "-1m"}, "proxy_client_max_body_size"),
    ("start timeout 0", {"dspace_backend_start_timeout": 0}, "dspace_backend_start_timeout"),
    ("keep releases 0", {"dspace_ui_keep_releases": 0}, "dspace_ui_keep_releases"),
    ("port slot 100", _slot(100), "dspace_instances[0].port_slot"),
    ("port slot negative", _slot(-1), "dspace_instances[0].port_slot"),
    ("java 11", _instance(java_version=11), "dspace_instances[0].java_version"),
    ("java 18", _instance(java_version=18), "dspace_instances[0].java_version"),
    ("node 19", _instance(node_version=19), "dspace_instances[0].node_version"),
    ("backup max age 0", {"dspace_backup_max_age_hours": 0}, "dspace_backup_max_age_hours"),
]


@pytest.mark.parametrize(("variables", "key"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_values_no_host_can_use_are_refused(tmp_path: Path, variables: dict[str, Any],
                                            key: str) -> None:
    problems = problems_of(tmp_path, **variables)
    assert [p.key for p in problems] == [key], [str(p) for p in problems]
    assert SITE in problems[0].location
    assert problems[0].fix


GOOD = [
    {"common_ssh_port": 65535, "solr_port": 1024, "common_firewall_allowed_tcp_ports": [1]},
    {"postgresql_memory_fraction": 0.5, "postgresql_max_connections": 0},
    {"dspace_backup_retention": {"hourly": 24, "daily": 0, "last": 3, "yearly": 5}},
    {"dspace_backup_schedule": "", "dspace_tasks_schedule_overrides": {"checker": ""}},
    {"dspace_backup_schedule": "Mon..Fri *-*-* 02:00:00 Europe/Rome",
     "dspace_tasks_schedule_overrides": {"checker": "weekly", "cleanup": "*-*-01 03:00"}},
    {"dspace_backup_scheduled_targets": ["offsite"], "dspace_tasks_nice": 19},
    {"dspace_backend_heap": "2g", "solr_heap": "768m", "proxy_client_max_body_size": "0"},
    {"solr_host": "::1", "dspace_ui_keep_releases": 1},
    _slot(PORT_SLOT_MAX),
    _instance(java_version=21, node_version=22),
]


@pytest.mark.parametrize("variables", GOOD)
def test_values_at_the_edges_of_their_range_are_accepted(tmp_path: Path,
                                                         variables: dict[str, Any]) -> None:
    assert [str(p) for p in problems_of(tmp_path, **variables)] == []


def test_a_scheduled_target_must_exist_with_the_default_targets_too(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, dspace_backup_targets=None,
                           dspace_backup_scheduled_targets=["offsite"])
    assert [p.key for p in problems] == ["dspace_backup_scheduled_targets[0]"]
    assert "local" in problems[0].fix  # the targets there are


def test_the_message_names_the_range(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, common_ssh_port=70000)
    assert "70000" in problem.what
    assert "1 to 65535" in problem.fix
    (problem,) = problems_of(tmp_path, postgresql_memory_fraction=2.5)
    assert "0.01 to 0.5" in problem.fix
    (problem,) = problems_of(tmp_path, dspace_backup_schedule="every night")
    assert "systemd" in problem.what and "man systemd.time" in problem.fix


# --- every numeric and enumerated variable has its range --------------------------------------

def _walk(option: specs.Option, path: str) -> list[tuple[str, specs.Option]]:
    found = [(path, option)]
    for name, sub in option.options.items():
        found += _walk(sub, f"{path}.{name}")
    if option.values is not None:
        found += _walk(option.values, f"{path}.*")
    return found


def _every_option() -> list[tuple[str, specs.Option]]:
    catalog = specs.load_catalog()
    result = []
    for group in catalog.groups:
        for name, option in group.options.items():
            result += _walk(option, name)
    return result


def test_every_numeric_variable_has_a_range() -> None:
    numeric = [(path, o) for path, o in _every_option()
               if o.type in ("int", "float") or o.elements in ("int", "float")]
    assert len(numeric) > 25
    missing = [path for path, o in numeric if o.minimum is None and o.choices is None]
    assert missing == []


def test_every_schedule_is_checked_as_a_calendar_expression() -> None:
    schedules = [path for path, o in _every_option() if o.format == "calendar"]
    assert sorted(schedules) == ["dspace_backup_schedule", "dspace_tasks_schedule_overrides.*",
                                 "dspace_tasks_schedules.*", "lareferencia_stats_schedule"]


def test_the_spec_defaults_are_within_their_ranges(tmp_path: Path) -> None:
    """A site that sets nothing but the required variables is valid with every default."""
    assert problems_of(tmp_path, dspace_backup_targets=None) == []


def test_ranges_follow_the_toolkit_facts() -> None:
    catalog = specs.load_catalog()
    item = catalog.variables["dspace_instances"].options
    assert (item["port_slot"].minimum, item["port_slot"].maximum) == (0, PORT_SLOT_MAX)
    node = sorted({n for facts in LINES.values() for n in facts.node_majors})
    assert sorted(item["node_version"].choices or ()) == node
    backend_vars = yaml.safe_load((REPO / "roles/dspace_backend/vars/main.yml").read_text())
    java = sorted({j for majors in backend_vars["dspace_backend_debian_openjdk"].values()
                   for j in majors})
    assert sorted(item["java_version"].choices or ()) == java


def test_docs_show_the_ranges() -> None:
    text = docs.render()
    row = next(line for line in text.splitlines() if line.startswith("| `common_ssh_port`"))
    assert "Range: 1 to 65535." in row
    row = next(line for line in text.splitlines() if line.startswith("| `dspace_tasks_schedules`"))
    assert "Each value: a systemd calendar expression" in row


# --- the extension file of a role: meta/argument_checks.yml -------------------------------------

def _role(tmp_path: Path, checks: dict[str, Any]) -> Path:
    role = tmp_path / "roles" / "demo" / "meta"
    role.mkdir(parents=True)
    (role / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": {"main": {
        "options": {"demo_port": {"type": "int", "default": 80},
                    "demo_map": {"type": "dict", "default": {}},
                    "demo_items": {"type": "list", "elements": "dict", "default": [],
                                   "options": {"port": {"type": "int"}}}}}}}))
    (role / "argument_checks.yml").write_text(yaml.safe_dump({"checks": checks}))
    return tmp_path / "roles"


def test_role_checks_reach_nested_options_and_values(tmp_path: Path) -> None:
    roles = _role(tmp_path, {"demo_port": {"min": 1, "max": 65535},
                             "demo_map.*": {"format": "calendar"},
                             "demo_items.port": {"min": 1, "max": 65535}})
    catalog = specs.load_catalog(roles)
    assert catalog.variables["demo_port"].maximum == 65535
    assert catalog.variables["demo_map"].values is not None
    assert catalog.variables["demo_map"].values.format == "calendar"
    assert catalog.variables["demo_items"].options["port"].minimum == 1


@pytest.mark.parametrize(("checks", "words"), [
    ({"demo_prot": {"min": 1}}, "demo_prot"),
    ({"demo_items.prot": {"min": 1}}, "demo_items.prot"),
    ({"demo_port": {"minimum": 1}}, "minimum"),
    ({"demo_port": {"min": "one"}}, "min"),
    ({"demo_port": {"min": 5, "max": 1}}, "max"),
    ({"demo_port": {"format": "calendar"}}, "format"),
])
def test_a_wrong_role_check_is_a_spec_error(tmp_path: Path, checks: dict[str, Any],
                                           words: str) -> None:
    roles = _role(tmp_path, checks)
    with pytest.raises(SpecError, match=words):
        specs.load_catalog(roles)


# --- the role specs still work with Ansible itself ----------------------------------------------

def _ansible_validator() -> Any:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    return ArgumentSpecValidator


@pytest.mark.parametrize("role", sorted(p.name for p in (REPO / "roles").iterdir()))
def test_ansible_accepts_every_role_spec_and_its_defaults(role: str) -> None:
    raw = yaml.safe_load((REPO / "roles" / role / "meta/argument_specs.yml").read_text())
    for entry, spec in raw["argument_specs"].items():
        options = spec.get("options") or {}
        defaults = {k: v["default"] for k, v in options.items() if "default" in v}
        required = {k: {} if v.get("type") == "dict" else "x" for k, v in options.items()
                    if v.get("required")}
        result = _ansible_validator()(options).validate({**defaults, **required})
        assert result.error_messages == [], (role, entry)


def test_plain_ansible_playbook_refuses_an_unknown_retention_key(tmp_path: Path) -> None:
    """The role spec's retention keys reach Ansible's own validation (ansible-playbook
    without dspace-deploy), and the specs still load there."""
    playbook = tmp_path / "check.yml"
    spec = REPO / "roles/dspace_backup/meta/argument_specs.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Validate", "ansible.builtin.validate_argument_spec": {
                "argument_spec": "{{ (lookup('ansible.builtin.file', spec_file) | from_yaml)"
                                 ".argument_specs.main.options }}",
                "provided_arguments": {"dspace_backup_plan": {},
                                       "dspace_backup_retention": "{{ retention }}"}}}]}]))

    def run(retention: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c",
             "local", str(playbook), "-e", json.dumps({"spec_file": str(spec),
                                                       "retention": retention})],
            capture_output=True, text=True, check=False, cwd=tmp_path,
            env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                 "HOME": str(tmp_path), "ANSIBLE_NOCOLOR": "1",
                 "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")})

    good = run({"daily": 7, "weekly": 4})
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run({"dialy": 7})
    assert bad.returncode != 0 and "dialy" in bad.stdout, bad.stdout + bad.stderr
    assert resources.roles_dir() == REPO / "roles"
