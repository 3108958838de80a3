"""create_site(): write a new site inventory from answers (used by `init` and `lab up`).

The templates in templates/site/ (Jinja2, StrictUndefined) are rendered in memory and the
result is validated with the same checks as `load_site` BEFORE anything is written. Then the
files, the vault password file (unless it exists) and the encrypted vault are written, and
the written inventory is loaded again: a scaffold that fails its own validation is a bug.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from dspace_deploy import resources
from dspace_deploy.errors import DeployError, InputError, Problem, ValidationFailed
from dspace_deploy.i18n import _
from dspace_deploy.inventory import vault
from dspace_deploy.inventory.loader import VAULT_REL, MemoryTree, display_path
from dspace_deploy.site import HostEntry, SiteAnswers

TIMEZONE_VAR = "common_timezone"
_HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def templates_dir() -> Path:
    return resources.site_templates_dir() / "site"


def _plain(value: Any) -> Any:
    """Data safe_dump can write: paths as strings, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def yaml_value(value: Any) -> str:
    """A scalar (or small collection) as one line of YAML, quoted when YAML needs it."""
    value = _plain(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
    text = text.strip()
    if text.endswith("..."):
        text = text[: -len("...")].rstrip()
    if isinstance(value, str) and text.startswith("'") and value.isprintable():
        text = json.dumps(value, ensure_ascii=False)  # "9" reads better than '9'
    return text


def yaml_block(value: dict[str, Any], indent: int) -> str:
    """A mapping as block YAML, every line indented by `indent` spaces."""
    text = yaml.safe_dump(_plain(value), default_flow_style=False, sort_keys=False, width=100,
                          allow_unicode=True, indent=2)
    pad = " " * indent
    return "\n".join(pad + line for line in text.rstrip("\n").splitlines())


def render(answers: SiteAnswers, hosts: list[HostEntry], target: Path,
           password_file: Path) -> dict[str, str]:
    """{relative path: text} of every templated file of the new inventory."""
    import jinja2

    from dspace_deploy.inventory.specs import load_catalog

    root = templates_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["yaml_value"] = yaml_value
    env.filters["yaml_block"] = yaml_block
    catalog = load_catalog()
    context = {
        "site_name": answers.site_name,
        "instances": answers.instances,
        "hosts": hosts,
        "timezone": answers.timezone,
        "timezone_var": TIMEZONE_VAR if catalog.get(TIMEZONE_VAR) else None,
        "password_file": _home_relative(password_file),
        "target": str(target),
    }
    files = {}
    for template in sorted(root.rglob("*.j2")):
        rel = template.relative_to(root).as_posix()
        files[rel[: -len(".j2")]] = env.get_template(rel).render(context)
    return files


def _home_relative(path: Path) -> str:
    try:
        return "~/" + str(path.resolve().relative_to(Path.home().resolve()))
    except ValueError:
        return str(path)


def _answer_problems(answers: SiteAnswers, hosts: list[HostEntry], target: Path) -> list[Problem]:
    problems = []
    hosts_location = display_path(target / "hosts.yml")
    if not hosts:
        problems.append(Problem(hosts_location, "dspace", _("no host given"),
                                _("give at least one host")))
    seen: set[str] = set()
    for host in hosts:
        if not _HOST_NAME.fullmatch(host.name or ""):
            problems.append(Problem(hosts_location, f"dspace.hosts.{host.name}",
                                    _("{name} is not a valid inventory host name").format(
                                        name=repr(host.name)),
                                    _("use letters, digits, dots, hyphens and underscores")))
        if host.name in seen:
            problems.append(Problem(hosts_location, f"dspace.hosts.{host.name}",
                                    _("the host is given twice"), _("give each host once")))
        seen.add(host.name)
    zone = answers.timezone
    zones = _timezones()
    if zones and zone not in zones:
        import difflib

        close = difflib.get_close_matches(zone, sorted(zones), n=1)
        problems.append(Problem(display_path(target / "group_vars/all/site.yml"), TIMEZONE_VAR,
                                _("{zone} is not a time zone name").format(zone=repr(zone)),
                                _("did you mean {name}?").format(name=close[0]) if close else
                                _("use a name under /usr/share/zoneinfo, e.g. America/Bogota")))
    return problems


def _timezones() -> set[str]:
    try:
        import zoneinfo

        return set(zoneinfo.available_timezones())
    except Exception:  # pragma: no cover - no tz database on the controller
        return set()


def target_ready(target: Path, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        raise InputError(_("{path} exists and is a file.").format(path=target),
                         hint=_("Choose a directory for the new site inventory."))
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise InputError(
            _("{path} is not empty.").format(path=target),
            hint=_("Choose a new or empty directory, or pass --force to rewrite the inventory "
                   "files there (the secrets of an existing vault are kept)."))


def check_answers(target: Path, answers: SiteAnswers, hosts: list[HostEntry], *,
                  vault_password_file: Path | None = None) -> dict[str, str]:
    """Validate answers as the inventory they would produce, writing nothing.
    Returns the rendered files; raises ValidationFailed."""
    from dspace_deploy.inventory.validate import check_tree

    password_file = vault_password_file or resources.vault_password_file(answers.site_name)
    files = render(answers, hosts, target, password_file)
    checked = check_tree(MemoryTree(target, files), require_vault=False)
    problems = _answer_problems(answers, hosts, target) + checked.problems
    if problems:
        raise ValidationFailed(problems)
    return files


def create_site(target: Path, answers: SiteAnswers, hosts: list[HostEntry], *,
                vault_password_file: Path | None = None, overwrite: bool = False) -> Path:
    """Write a new, valid site inventory into `target`; return the vault password file.

    Refuses a non-empty `target` unless `overwrite` (then the files are rewritten, and the
    secrets of an existing vault are kept). The vault password file is created (random,
    0600) unless it exists; it may not be inside `target`.
    """
    from dspace_deploy.inventory.validate import load_site

    target = Path(target)
    target_ready(target, overwrite)
    password_file = (vault_password_file.expanduser() if vault_password_file is not None
                     else resources.vault_password_file(answers.site_name))
    vault.refuse_inside(password_file, target)
    files = check_answers(target, answers, hosts, vault_password_file=password_file)

    vault_path = target / VAULT_REL
    data: dict[str, Any] = {}
    rewrite_vault = True
    if vault_path.exists():  # --force over an existing site: keep its secrets
        if not password_file.is_file():
            raise InputError(
                _("{vault} exists but its password file {password_file} does not, so its "
                  "secrets cannot be kept.").format(vault=display_path(vault_path),
                                                    password_file=password_file),
                hint=_("Point to the site's password file with --vault-password-file, or move "
                       "the old vault away first."))
        data = vault.read_vault(vault_path, password_file)
        rewrite_vault = not vault.is_encrypted_text(vault_path.read_text(encoding="utf-8"))

    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if not password_file.exists():
        vault.write_password_file(password_file)
    added = vault.fill_secrets(data, _instance_names(answers, hosts))
    added += vault.fill_backup_secrets(
        data, vault.backup_target_names({host.name: host.vars for host in hosts} or {"": {}}))
    if added or rewrite_vault:  # an unchanged vault keeps its bytes (and its Git history)
        vault.write_vault(vault_path, data, vault.read_password(password_file),
                          answers.site_name)

    try:
        load_site(target, password_file)
    except ValidationFailed as failed:  # pragma: no cover - a defect of the templates
        raise DeployError(
            f"The new inventory in {target} fails its own validation (a bug in "
            f"dspace-deploy; please report it):\n{failed}") from failed
    return password_file


def _instance_names(answers: SiteAnswers, hosts: list[HostEntry]) -> list[str]:
    names = [i.name for i in answers.instances]
    from_hosts = vault.instance_names({host.name: host.vars for host in hosts})
    return names + [name for name in from_hosts if name not in names]


__all__ = ["check_answers", "create_site", "render", "target_ready", "yaml_block", "yaml_value"]
