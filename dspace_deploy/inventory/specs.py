"""The variable specs: every toolkit variable, declared once in argument-spec format.

Sources: `site_spec.yml` next to this module (site-level variables) and each role's
`meta/argument_specs.yml` under `resources.roles_dir()`, discovered at run time. A role's
variables come from its entry point `main`; options only other entry points declare are
added too. The model keeps what validation and the docs need; `origin` says which file
declared a variable.

dspace-deploy's extension keys (pattern, pattern_hint, format, values, min, max) sit in the
site spec itself. A role's spec is also read by Ansible and ansible-lint, whose schema allows
no extra key, so a role keeps its extensions beside it in `meta/argument_checks.yml`
(`checks:` mapping an option path such as `port`, `targets.port` or `schedules.*` to its
extension keys); they are merged into the role's options here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dspace_deploy import resources
from dspace_deploy.errors import DeployError

SITE_SPEC = Path(__file__).resolve().parent / "site_spec.yml"
SITE_OWNER = "site"

TYPES = ("str", "int", "bool", "float", "list", "dict", "path", "raw")
FORMATS = ("email", "hostname", "calendar")
CHECKS_FILE = "argument_checks.yml"  # a role's extension keys, beside its argument_specs.yml
# dspace-deploy extensions of a scalar (Ansible ignores them; see the module docstring)
_EXTENSION_KEYS = {"pattern", "pattern_hint", "format", "min", "max"}
_OPTION_KEYS = {
    "type", "required", "default", "choices", "elements", "options", "description", "no_log",
    "version_added", "aliases", "apply_defaults", "example", "mutually_exclusive",
    "required_together", "required_one_of", "required_if", "required_by", "fallback",
    "values", *_EXTENSION_KEYS,
}


class SpecError(DeployError):
    """A spec file is malformed: a defect of the toolkit's content, not of the inventory."""


@dataclass(frozen=True)
class Option:
    """One variable (or nested option) as a spec declares it."""

    name: str
    type: str = "str"
    required: bool = False
    default: Any = None
    has_default: bool = False
    choices: tuple[Any, ...] | None = None
    elements: str | None = None  # element type of a list
    options: dict[str, Option] = field(default_factory=dict)  # nested options (dict / list of dict)
    values: Option | None = None  # spec of each value of a free-keyed dict (extension)
    description: str = ""
    no_log: bool = False
    pattern: str | None = None  # extension: full-match regular expression for str values
    pattern_hint: str | None = None
    format: str | None = None  # extension: "email", "hostname" or "calendar"
    minimum: int | float | None = None  # extension (`min`): of a number, or of each element
    maximum: int | float | None = None  # extension (`max`)
    origin: Path = SITE_SPEC  # spec file that declares it
    owner: str = SITE_OWNER  # "site" or the role name
    entry_point: str = "main"


@dataclass(frozen=True)
class SpecGroup:
    """The variables of one spec file: the site, or one role."""

    owner: str
    origin: Path
    short_description: str
    description: str
    options: dict[str, Option]


@dataclass(frozen=True)
class Catalog:
    """Every declared variable, by name, plus the groups they come from (for the docs)."""

    groups: tuple[SpecGroup, ...]
    variables: dict[str, Option]
    internal: dict[str, str]  # role constants (vars/main.yml) -> role name: not settable

    def defaults(self) -> dict[str, Any]:
        """Every top-level default (site and roles)."""
        return {name: opt.default for name, opt in self.variables.items() if opt.has_default}

    def get(self, name: str) -> Option | None:
        return self.variables.get(name)

    def names(self) -> list[str]:
        return sorted(self.variables)

    def required(self) -> list[Option]:
        return [opt for opt in self.variables.values() if opt.required]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v).strip() for v in value)
    return str(value).strip()


def parse_option(name: str, raw: Any, origin: Path, owner: str, entry_point: str) -> Option:
    """Build an Option from its argument-spec mapping; raise SpecError when malformed."""
    where = f"{origin}: option {name}"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SpecError(f"{where} is not a mapping.")
    unknown = set(raw) - _OPTION_KEYS
    if unknown:
        raise SpecError(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
    type_ = raw.get("type", "str")
    if type_ not in TYPES:
        raise SpecError(f"{where} has type {type_!r}; supported: {', '.join(TYPES)}.")
    elements = raw.get("elements")
    if elements is not None and elements not in TYPES:
        raise SpecError(f"{where} has elements {elements!r}; supported: {', '.join(TYPES)}.")
    if elements is not None and type_ != "list":
        raise SpecError(f"{where} has elements but is not a list.")
    extensions = _extensions(raw, type_, elements, where)
    choices = raw.get("choices")
    if choices is not None and not isinstance(choices, list):
        raise SpecError(f"{where} has choices that are not a list.")
    nested_raw = raw.get("options") or {}
    if not isinstance(nested_raw, dict):
        raise SpecError(f"{where} has options that are not a mapping.")
    nested = {
        str(key): parse_option(f"{name}.{key}", value, origin, owner, entry_point)
        for key, value in nested_raw.items()
    }
    # nested Option names are the bare key
    nested = {key: _renamed(opt, key) for key, opt in nested.items()}
    values = None
    if raw.get("values") is not None:
        if type_ != "dict":
            raise SpecError(f"{where} has values but is not a dict.")
        values = _renamed(parse_option(f"{name}.*", raw["values"], origin, owner, entry_point), "*")
    return Option(
        name=name,
        type=type_,
        required=bool(raw.get("required", False)),
        default=raw.get("default"),
        has_default="default" in raw,
        choices=tuple(choices) if choices is not None else None,
        elements=elements,
        options=nested,
        values=values,
        description=_text(raw.get("description")),
        no_log=bool(raw.get("no_log", False)),
        **extensions,
        origin=origin,
        owner=owner,
        entry_point=entry_point,
    )


def _extensions(raw: dict[str, Any], type_: str, elements: str | None,
                where: str) -> dict[str, Any]:
    """The extension keys of one option, checked against its type, as Option fields."""
    scalar = elements if type_ == "list" and elements else type_
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise SpecError(f"{where} has format {fmt!r}; supported: {', '.join(FORMATS)}.")
    if (fmt is not None or raw.get("pattern") is not None) and scalar not in ("str", "path"):
        raise SpecError(f"{where} has a format or pattern but holds no strings.")
    bounds = {key: raw.get(key) for key in ("min", "max")}
    for key, value in bounds.items():
        if value is None:
            continue
        if scalar not in ("int", "float"):
            raise SpecError(f"{where} has {key} but holds no numbers.")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"{where} has {key} {value!r}, which is not a number.")
    low, high = bounds["min"], bounds["max"]
    if low is not None and high is not None and low > high:
        raise SpecError(f"{where} has max {high} below its min {low}.")
    return {"pattern": raw.get("pattern"), "pattern_hint": raw.get("pattern_hint"),
            "format": fmt, "minimum": bounds["min"], "maximum": bounds["max"]}


def _apply_checks(options: dict[str, Option], path: Path) -> dict[str, Option]:
    """The options with the extension keys of a role's meta/argument_checks.yml merged in."""
    data = _read_yaml(path)
    checks = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(checks, dict):
        raise SpecError(f"{path} has no `checks:` mapping.")
    result = dict(options)
    for dotted, raw in checks.items():
        where = f"{path}: {dotted}"
        if not isinstance(raw, dict) or not raw or set(raw) - _EXTENSION_KEYS:
            found = sorted(set(raw) - _EXTENSION_KEYS) if isinstance(raw, dict) else ["no mapping"]
            raise SpecError(f"{where} must map to extension keys "
                            f"({', '.join(sorted(_EXTENSION_KEYS))}); found "
                            f"{', '.join(found) or 'nothing'}.")
        name, *rest = str(dotted).split(".")
        if name not in result:
            raise SpecError(f"{where} names no option of the role's argument_specs.yml.")
        result[name] = _with_checks(result[name], rest, raw, where)
    return result


def _with_checks(opt: Option, rest: list[str], raw: dict[str, Any], where: str) -> Option:
    from dataclasses import replace

    if not rest:
        return replace(opt, **_extensions(raw, opt.type, opt.elements, where))
    head, tail = rest[0], rest[1:]
    if head == "*" and opt.type == "dict" and not opt.options:
        values = opt.values or Option(name="*", type="str", origin=opt.origin,
                                      owner=opt.owner, entry_point=opt.entry_point)
        return replace(opt, values=_with_checks(values, tail, raw, where))
    if head not in opt.options:
        raise SpecError(f"{where} names no option of the role's argument_specs.yml.")
    nested = dict(opt.options)
    nested[head] = _with_checks(nested[head], tail, raw, where)
    return replace(opt, options=nested)


def _renamed(opt: Option, name: str) -> Option:
    from dataclasses import replace

    return replace(opt, name=name)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"Cannot read the variable spec {path}: {exc}") from exc


def load_spec_file(path: Path, owner: str, entry_points: Iterable[str] | None = None) -> SpecGroup:
    """One argument_specs file. For roles, `main` comes first; other entry points add options."""
    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("argument_specs"), dict):
        raise SpecError(f"{path} has no argument_specs mapping.")
    specs: dict[str, Any] = data["argument_specs"]
    names = list(entry_points) if entry_points is not None else list(specs)
    if "main" in names:
        names.remove("main")
        names.insert(0, "main")
    options: dict[str, Option] = {}
    short = description = ""
    for entry in names:
        spec = specs.get(entry)
        if spec is None:
            continue
        if not isinstance(spec, dict):
            raise SpecError(f"{path}: entry point {entry} is not a mapping.")
        if not short:
            short = _text(spec.get("short_description"))
            description = _text(spec.get("description"))
        raw_options = spec.get("options") or {}
        if not isinstance(raw_options, dict):
            raise SpecError(f"{path}: entry point {entry} has options that are not a mapping.")
        for name, raw in raw_options.items():
            if name not in options:
                options[str(name)] = parse_option(str(name), raw, path, owner, entry)
    checks = path.parent / CHECKS_FILE
    if owner != SITE_OWNER and checks.is_file():
        options = _apply_checks(options, checks)
    return SpecGroup(owner, path, short, description, options)


def role_spec_files(roles_dir: Path) -> list[tuple[str, Path]]:
    """(role name, spec path) for every role that has meta/argument_specs.yml, by name."""
    found = []
    if roles_dir.is_dir():
        for role in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
            for name in ("argument_specs.yml", "argument_specs.yaml"):
                spec = role / "meta" / name
                if spec.is_file():
                    found.append((role.name, spec))
                    break
    return found


def _role_internal_vars(roles_dir: Path) -> dict[str, str]:
    internal: dict[str, str] = {}
    if not roles_dir.is_dir():
        return internal
    for role in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
        for name in ("main.yml", "main.yaml"):
            path = role / "vars" / name
            if path.is_file():
                data = _read_yaml(path)
                if isinstance(data, dict):
                    internal.update({str(key): role.name for key in data})
    return internal


def role_constant(role: str, name: str, roles_dir: Path | None = None) -> Any:
    """A constant of a role's vars/main.yml (e.g. dspace_tasks_catalog), None when the role
    or the constant is missing."""
    root = roles_dir if roles_dir is not None else resources.roles_dir()
    for filename in ("main.yml", "main.yaml"):
        path = root / role / "vars" / filename
        if path.is_file():
            data = _read_yaml(path)
            return data.get(name) if isinstance(data, dict) else None
    return None


@functools.cache
def playbook_parameters(playbooks_dir: Path | None = None) -> frozenset[str]:
    """Role parameters the playbooks set themselves (the `vars:` of their role entries and
    `include_role` tasks, e.g. dspace_backend_plan derived from dspace_instances). A role may
    declare them required; the inventory never has to set them."""
    root = playbooks_dir if playbooks_dir is not None else resources.playbooks_dir()
    found: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                collect(item)
        elif isinstance(node, dict):
            if ("role" in node or "ansible.builtin.include_role" in node
                    or "include_role" in node) and isinstance(node.get("vars"), dict):
                found.update(str(key) for key in node["vars"])
            for key in ("roles", "tasks", "pre_tasks", "post_tasks", "block"):
                collect(node.get(key))

    for path in sorted(root.glob("*.yml")):
        collect(_read_yaml(path))
    return frozenset(found)


def load_catalog(roles_dir: Path | None = None, site_spec: Path | None = None) -> Catalog:
    """Every spec: the site spec and each role's, discovered in `roles_dir`."""
    roles_dir = roles_dir if roles_dir is not None else resources.roles_dir()
    site_spec = site_spec if site_spec is not None else SITE_SPEC
    return _load_catalog(roles_dir.resolve(), site_spec.resolve(), _stamp(roles_dir, site_spec))


def _stamp(roles_dir: Path, site_spec: Path) -> tuple[float, ...]:
    """Modification times of the spec files, so that the cache follows edits."""
    paths = [site_spec] + [q for _, p in role_spec_files(roles_dir)
                           for q in (p, p.parent / CHECKS_FILE)]
    stamps = []
    for path in paths:
        try:
            stamps.append(path.stat().st_mtime)
        except OSError:
            stamps.append(0.0)
    return tuple(stamps)


@functools.lru_cache(maxsize=8)
def _load_catalog(roles_dir: Path, site_spec: Path, _stamp: tuple[float, ...]) -> Catalog:
    groups = [load_spec_file(site_spec, SITE_OWNER, ["site"])]
    for role, path in role_spec_files(roles_dir):
        groups.append(load_spec_file(path, role))
    variables: dict[str, Option] = {}
    for group in groups:
        for name, option in group.options.items():
            if name in variables:
                other = variables[name]
                raise SpecError(
                    f"Variable {name} is declared twice: in {other.origin} and {option.origin}."
                )
            variables[name] = option
    internal = {k: v for k, v in _role_internal_vars(roles_dir).items() if k not in variables}
    return Catalog(tuple(groups), variables, internal)


def defaults(roles_dir: Path | None = None) -> dict[str, Any]:
    """Every default of the site spec and of every role spec."""
    return load_catalog(roles_dir).defaults()


def all_defaults() -> dict[str, Any]:
    """Alias of `defaults()` for the toolkit's content."""
    return defaults()
