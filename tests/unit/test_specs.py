"""The variable specs: loading, role discovery, defaults kept equal, generated docs fresh."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from dspace_deploy import resources
from dspace_deploy.inventory import docs, specs
from tests.unit.fixtures.helpers import FIXTURE_ROLES, REPO

REAL_ROLES = REPO / "roles"


def test_fixture_role_spec_is_modelled() -> None:
    catalog = specs.load_catalog(FIXTURE_ROLES)
    port = catalog.variables["demo_port"]
    assert (port.type, port.default, port.has_default, port.owner) == ("int", 8080, True, "demo")
    assert port.origin == FIXTURE_ROLES / "demo/meta/argument_specs.yml"
    packages = catalog.variables["demo_packages"]
    assert (packages.type, packages.elements, packages.default) == ("list", "str", [])
    assert catalog.variables["demo_mode"].choices == ("slow", "safe")
    assert catalog.variables["demo_token"].no_log
    assert not catalog.variables["demo_token"].has_default
    assert catalog.variables["demo_anything"].type == "raw"
    assert catalog.variables["demo_min_memory_mb"].entry_point == "precheck"
    assert catalog.internal == {"demo_internal_packages": "demo"}
    assert [g.owner for g in catalog.groups] == ["site", "demo"]  # nospec has no spec


def test_site_spec_is_modelled() -> None:
    catalog = specs.load_catalog(FIXTURE_ROLES)
    site_name = catalog.variables["site_name"]
    assert site_name.required and site_name.pattern == "^[a-z][a-z0-9-]{1,30}$"
    instances = catalog.variables["dspace_instances"]
    assert (instances.type, instances.elements, instances.required) == ("list", "dict", True)
    line = instances.options["line"]
    assert line.choices == ("8", "9", "10") and line.default == "9"
    assert instances.options["name"].required and instances.options["hostname"].format
    assert instances.options["java_version"].type == "int"
    secrets = catalog.variables["vault_instance_secrets"]
    assert secrets.no_log and secrets.values is not None
    assert set(secrets.values.options) == {"db_password", "admin_password"}
    assert all(o.origin == specs.SITE_SPEC for o in instances.options.values())


def test_every_type_is_supported() -> None:
    catalog = specs.load_catalog(FIXTURE_ROLES)
    types = {o.type for o in catalog.variables.values()}
    assert types <= set(specs.TYPES)
    assert {"str", "int", "bool", "float", "list", "dict", "raw"} <= types
    parsed = specs.parse_option("x", {"type": "path"}, Path("s.yml"), "t", "main")
    assert parsed.type == "path" and parsed.description == ""


def test_defaults_cover_site_and_roles() -> None:
    defaults = specs.defaults(FIXTURE_ROLES)
    assert defaults["demo_port"] == 8080 and defaults["demo_ports"] == [80, 443]
    assert "site_name" not in defaults and "demo_token" not in defaults


def test_real_roles_are_discovered() -> None:
    catalog = specs.load_catalog(REAL_ROLES)
    found = {role for role, _ in specs.role_spec_files(REAL_ROLES)}
    assert {g.owner for g in catalog.groups} == {"site"} | found
    assert found == {p.parent.parent.name for p in REAL_ROLES.glob("*/meta/argument_specs.y*ml")}


@pytest.mark.parametrize(("raw", "message"), [
    ({"type": "text"}, "supported"),
    ({"type": "str", "elements": "str"}, "not a list"),
    ({"type": "str", "colour": "red"}, "unknown keys: colour"),
    ({"type": "list", "choices": "a"}, "choices"),
    ({"format": "phone"}, "format"),
])
def test_malformed_spec_is_a_spec_error(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(specs.SpecError, match=message):
        specs.parse_option("x", raw, Path("spec.yml"), "role", "main")


def test_variable_declared_twice_is_a_spec_error(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    shutil.copytree(FIXTURE_ROLES / "demo", roles / "demo")
    shutil.copytree(FIXTURE_ROLES / "demo", roles / "copy")
    with pytest.raises(specs.SpecError, match="declared twice"):
        specs.load_catalog(roles)


def test_catalog_follows_spec_edits(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    shutil.copytree(FIXTURE_ROLES / "demo", roles / "demo")
    assert "demo_new" not in specs.load_catalog(roles).variables
    spec = roles / "demo/meta/argument_specs.yml"
    data = yaml.safe_load(spec.read_text())
    data["argument_specs"]["main"]["options"]["demo_new"] = {"type": "int", "default": 1}
    spec.write_text(yaml.safe_dump(data))
    os.utime(spec, (1, 1))  # a different modification time
    assert "demo_new" in specs.load_catalog(roles).variables


# --- every default documented: defaults/main.yml == the spec's defaults --------------------


def _defaults_mismatch(role: Path) -> list[str]:
    defaults_file = next((p for p in (role / "defaults/main.yml", role / "defaults/main.yaml")
                          if p.is_file()), None)
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file else {}
    spec_files = dict(specs.role_spec_files(role.parent))
    declared = (specs.load_spec_file(spec_files[role.name], role.name).options
                if role.name in spec_files else {})
    with_default = {n: o.default for n, o in declared.items() if o.has_default}
    problems = []
    for name in sorted(set(defaults) - set(declared)):
        problems.append(f"{name}: in defaults/main.yml but not declared in meta/argument_specs.yml")
    for name in sorted(set(with_default) - set(defaults)):
        problems.append(f"{name}: has a spec default but is missing from defaults/main.yml")
    for name in sorted(set(defaults) & set(declared)):
        if name not in with_default:
            problems.append(f"{name}: in defaults/main.yml but the spec has no default")
        elif defaults[name] != with_default[name]:
            problems.append(f"{name}: defaults/main.yml has {defaults[name]!r}, the spec "
                            f"{with_default[name]!r}")
    return problems


def _roles(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


@pytest.mark.parametrize("role", _roles(REAL_ROLES), ids=lambda p: p.name)
def test_role_defaults_equal_spec_defaults(role: Path) -> None:
    assert _defaults_mismatch(role) == []


def test_fixture_role_defaults_equal_spec_defaults() -> None:
    assert _defaults_mismatch(FIXTURE_ROLES / "demo") == []


def test_defaults_check_catches_undocumented_defaults() -> None:
    assert _defaults_mismatch(FIXTURE_ROLES / "nospec") == [
        "nospec_value: in defaults/main.yml but not declared in meta/argument_specs.yml"
    ]


# --- docs/variables.md ------------------------------------------------------------------------


def test_variables_doc_is_up_to_date() -> None:
    current = (REPO / "docs/variables.md").read_text(encoding="utf-8")
    assert current == docs.render(), (
        f"docs/variables.md is stale: run `{docs.REGENERATE}` and commit the result")


def test_variables_doc_lists_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "roles_dir", lambda: FIXTURE_ROLES)
    text = docs.render(specs.load_catalog())
    for name in ("site_name", "dspace_instances[].line", "vault_instance_secrets.NAME.db_password",
                 "demo_port", "demo_min_memory_mb"):
        assert f"| `{name}` |" in text
    assert '`"8"`, `"9"`, `"10"`' in text
    assert "## Role `demo`" in text


def test_docs_check_mode(tmp_path: Path) -> None:
    out = tmp_path / "variables.md"
    assert docs.main(["--output", str(out), "--check"]) == 1
    assert docs.main(["--output", str(out)]) == 0
    assert docs.main(["--output", str(out), "--check"]) == 0
