"""Validate a site inventory before anything runs: every problem at once, with a fix each.

`load_site()` reads the inventory (loader.py), checks every variable where it is written
against the specs (specs.py), decrypts the vault (vault.py), then checks each DSpace host's
effective variables with the cross-field rules (rules.py). It raises `ValidationFailed`
listing every problem, or returns a `Site`. Reading files is all it does: no host is
contacted and nothing remote is imported.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import EnvironmentProblem, InputError, Problem, ValidationFailed
from dspace_deploy.i18n import _
from dspace_deploy.inventory import calendar, rules
from dspace_deploy.inventory.loader import (
    VAULT_REL,
    DiskTree,
    InventoryData,
    Tree,
    VarEntry,
    VarsSource,
    VaultValue,
    YamlDict,
    YamlList,
    display_path,
    find_hosts_file,
    load_inventory,
    parse_vars_text,
    plain,
    type_name,
)
from dspace_deploy.inventory.specs import Catalog, Option, load_catalog
from dspace_deploy.site import DSPACE_GROUP, Site

SECRETS_COMMAND = "dspace-deploy secrets sync -i {dir}"
# Connection variables that hold passwords: they belong in the vault like any secret.
_SECRET_CONNECTION_VARS = {
    "ansible_password", "ansible_ssh_pass", "ansible_ssh_password", "ansible_become_password",
    "ansible_become_pass", "ansible_sudo_pass", "ansible_sudo_password",
}
_BOOL_TRUE = {"yes", "on", "1", "true", "y", "t"}
_BOOL_FALSE = {"no", "off", "0", "false", "n", "f"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DNS = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")
_IPV4 = re.compile(r"(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}")


@dataclass
class Finding:
    """A problem inside one value: nested key path, line, what is wrong, how to fix it."""

    key: str
    line: int
    what: str
    fix: str


def is_template(value: Any) -> bool:
    """A Jinja expression: its value is only known when Ansible runs, so it is not checked."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


# --------------------------------------------------------------------------------------
# One value against one option


def check_value(opt: Option, value: Any, key: str, line: int,
                secret: bool = False) -> tuple[Any, list[Finding]]:
    """The value converted as Ansible would (e.g. 9 -> "9" for a str), and what is wrong.
    A secret (an option with no_log, or anything inside one) is never quoted back: the
    findings name the key and the rule only."""
    found: list[Finding] = []
    secret = secret or opt.no_log
    if value is None:
        if opt.type == "raw":
            return None, found
        fix = (_("remove the line to use the default, or give a value") if opt.has_default
               else _("give it a value, or remove the line"))
        found.append(Finding(key, line, _("has no value"), fix))
        return None, found
    if isinstance(value, VaultValue):
        if opt.type in ("str", "path", "raw"):
            return value, found
        found.append(Finding(key, line, _("is vault-encrypted but must be {expected}").format(
                                 expected=_type_label(opt)), _("encrypt only strings")))
        return value, found
    if is_template(value):
        return value, found
    ok, converted, fix = _convert(opt.type, value)
    if not ok:
        shown = "" if secret else f" ({_short(value)})"
        if secret:  # the usual fix may quote the value
            fix = _("write {expected}, in quotes").format(expected=_type_label(opt))
        found.append(Finding(key, line,
                             _("must be {expected}; found {found}").format(
                                 expected=_type_label(opt), found=type_name(value)) + shown,
                             fix))
        return value, found
    if opt.type == "list":
        converted = _check_list(opt, converted, key, line, found, secret)
    elif opt.type == "dict":
        converted = _check_dict(opt, converted, key, line, found, secret)
    else:
        _check_scalar(opt, converted, key, line, found, secret)
    return converted, found


def _short(value: Any) -> str:
    text = repr(plain(value)) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_label(opt: Option) -> str:
    """The option's type with its article: "a string", "a list of integers"."""
    if opt.type == "list" and opt.elements:
        return _("a list of {elements}").format(elements=_plural(opt.elements))
    return {"str": _("a string"), "int": _("an integer"), "bool": _("a boolean"),
            "float": _("a number"), "list": _("a list"), "dict": _("a mapping"),
            "path": _("a path (string)"), "raw": _("a value")}[opt.type]


def _plural(type_: str) -> str:
    return {"str": _("strings"), "int": _("integers"), "bool": _("booleans"),
            "float": _("numbers"), "list": _("lists"), "dict": _("mappings"),
            "path": _("paths"), "raw": _("values")}[type_]


def _convert(type_: str, value: Any) -> tuple[bool, Any, str]:
    """(accepted, converted value, fix when not accepted), stricter than Ansible where
    Ansible's conversion silently loses information."""
    if type_ == "raw":
        return True, value, ""
    if type_ in ("str", "path"):
        if isinstance(value, str):
            return True, value, ""
        if isinstance(value, bool):
            return False, value, _("quote the value: YAML reads yes, no, true, false, on and "
                                   "off as booleans")
        if isinstance(value, int):
            return True, str(value), ""
        if isinstance(value, float):
            return False, value, _('quote the value, e.g. "{value}": YAML reads 9.10 as the '
                                   "number 9.1").format(value=value)
        return False, value, _("write a single value, quoted if in doubt")
    if type_ == "int":
        if isinstance(value, bool):
            return False, value, _("write a whole number, e.g. 21")
        if isinstance(value, int):
            return True, value, ""
        if isinstance(value, float) and value.is_integer():
            return True, int(value), ""
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return True, int(value), ""
        return False, value, _("write a whole number, e.g. 21")
    if type_ == "float":
        if isinstance(value, bool):
            return False, value, _("write a number, e.g. 1.5")
        if isinstance(value, (int, float)):
            return True, float(value), ""
        if isinstance(value, str):
            try:
                return True, float(value), ""
            except ValueError:
                pass
        return False, value, _("write a number, e.g. 1.5")
    if type_ == "bool":
        if isinstance(value, bool):
            return True, value, ""
        if isinstance(value, (str, int)) and str(value).strip().lower() in _BOOL_TRUE:
            return True, True, ""
        if isinstance(value, (str, int)) and str(value).strip().lower() in _BOOL_FALSE:
            return True, False, ""
        return False, value, _("write true or false")
    if type_ == "list":
        if isinstance(value, list):
            return True, value, ""
        return False, value, _("write a YAML list: one `- item` per line, or [item1, item2]")
    if type_ == "dict":
        if isinstance(value, dict):
            return True, value, ""
        return False, value, _("write a mapping: `key: value` lines indented under the name")
    return False, value, _("see docs/variables.md")


def _check_scalar(opt: Option, value: Any, key: str, line: int, found: list[Finding],
                  secret: bool = False) -> None:
    shown = _("the secret value") if secret else repr(value)
    if opt.choices is not None:
        choices = [_choice(opt.type, c) for c in opt.choices]
        if value not in choices:
            listed = ", ".join(str(c) for c in choices)
            close = [] if secret else difflib.get_close_matches(
                str(value), [str(c) for c in choices], n=1)
            fix = (_("use one of {choices} (did you mean {close}?)") if close
                   else _("use one of {choices}")).format(choices=listed,
                                                           close=close[0] if close else "")
            found.append(Finding(key, line, _("{value} is not allowed").format(value=shown), fix))
            return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problem = range_problem(opt, value)
        if problem:
            found.append(Finding(key, line, _("{value} is {problem}").format(
                value=shown, problem=problem[0]), problem[1]))
            return
    if not isinstance(value, str):
        return
    if opt.pattern and not re.fullmatch(opt.pattern, value):
        hint = opt.pattern_hint or _("a value matching {pattern}").format(pattern=opt.pattern)
        found.append(Finding(key, line, _("{value} is not valid").format(value=shown),
                             _("use {what}").format(what=hint)))
        return
    if opt.format == "email" and not _EMAIL.fullmatch(value):
        found.append(Finding(key, line, _("{value} is not an e-mail address").format(value=shown),
                             _("write an address such as repositorio@example.edu")))
    if opt.format == "hostname":
        problem = hostname_problem(value)
        if problem:
            what = (_("{value} is not a valid host name").format(value=shown) if secret
                    else problem[0])
            found.append(Finding(key, line, what, problem[1]))
    if opt.format == "calendar" and value:
        why = calendar.problem(value)
        if why:
            found.append(Finding(key, line, _("{value} is not a systemd calendar expression "
                                              "({why})").format(value=shown, why=why),
                                 _("write an OnCalendar= expression such as \"*-*-* 02:30:00\" "
                                   "or \"Sun 04:00\", or \"\" for none; see `man systemd.time`, "
                                   "\"Calendar Events\" (`systemd-analyze calendar EXPRESSION` "
                                   "checks one)")))


def range_problem(opt: Option, value: float) -> tuple[str, str] | None:
    """(what, fix) when a number is outside the option's min..max."""
    low, high = opt.minimum, opt.maximum
    if (low is None or value >= low) and (high is None or value <= high):
        return None
    if low is not None and high is not None:
        return (_("outside {low}..{high}").format(low=low, high=high),
                _("use a number from {low} to {high}").format(low=low, high=high))
    if low is not None:
        return (_("below {low}").format(low=low), _("use {low} or more").format(low=low))
    return (_("above {high}").format(high=high), _("use {high} or less").format(high=high))


def _choice(type_: str, choice: Any) -> Any:
    if type_ in ("str", "path") and not isinstance(choice, str):
        return str(choice)
    return choice


def hostname_problem(value: str) -> tuple[str, str] | None:
    """(what, fix) when `value` is not a bare DNS name or IPv4 address."""
    text = value.strip()
    if "://" in text or "/" in text:
        bare = text.split("://", 1)[-1].split("/", 1)[0]
        if hostname_problem(bare) is None:
            return (_("{value} is a URL, not a host name").format(value=repr(value)),
                    _("write only the host name: {name}").format(name=bare))
    if ":" in text and not text.count(":") > 1:
        return (_("{value} includes a port").format(value=repr(value)),
                _("write only the host name: {name}").format(name=text.split(":")[0]))
    if text != text.lower() and _DNS.fullmatch(text.lower()):
        return (_("{value} has capital letters").format(value=repr(value)),
                _("write it in lowercase: {name}").format(name=text.lower()))
    if _IPV4.fullmatch(text) or _DNS.fullmatch(text):
        if text.endswith("."):
            return (_("{value} ends with a dot").format(value=repr(value)),
                    _("remove the trailing dot"))
        return None
    return (_("{value} is not a valid host name").format(value=repr(value)),
            _("use letters, digits, hyphens and dots only, e.g. repositorio.example.edu"))


def _check_list(opt: Option, value: list[Any], key: str, line: int,
                found: list[Finding], secret: bool = False) -> list[Any]:
    if not opt.elements and not opt.options:
        return value
    element = Option(
        name=opt.name, type=opt.elements or ("dict" if opt.options else "raw"),
        choices=opt.choices, options=opt.options, pattern=opt.pattern,
        pattern_hint=opt.pattern_hint, format=opt.format, minimum=opt.minimum,
        maximum=opt.maximum, origin=opt.origin, owner=opt.owner,
    )
    lines = value.lines if isinstance(value, YamlList) else []
    result = []
    for i, item in enumerate(value):
        item_line = lines[i] if i < len(lines) else line
        converted, sub = check_value(element, item, f"{key}[{i}]", item_line, secret)
        if sub and any(f.what == _("has no value") for f in sub):
            sub = [Finding(f"{key}[{i}]", item_line, _("is an empty item"),
                           _("remove the lone `-`, or give the item its value"))]
        found.extend(sub)
        result.append(converted)
    return _keep_lines(value, result)


def _check_dict(opt: Option, value: dict[Any, Any], key: str, line: int,
                found: list[Finding], secret: bool = False) -> dict[Any, Any]:
    lines = value.lines if isinstance(value, YamlDict) else {}
    result: dict[Any, Any] = YamlDict()
    if opt.options:
        for sub_key, sub_value in value.items():
            sub_line = lines.get(sub_key, line)
            path = f"{key}.{sub_key}"
            sub_opt = opt.options.get(str(sub_key))
            if sub_opt is None:
                found.append(Finding(path, sub_line,
                                     _("unknown option {name}").format(name=repr(sub_key)),
                                     suggest(str(sub_key), list(opt.options), nested=True)))
                result[sub_key] = sub_value
                continue
            converted, sub = check_value(sub_opt, sub_value, path, sub_line, secret)
            found.extend(sub)
            result[sub_key] = converted
        for name, sub_opt in opt.options.items():
            if sub_opt.required and name not in value:
                found.append(Finding(f"{key}.{name}", line, _("is required but missing"),
                                     _("add `{name}:` ({description})").format(
                                         name=name, description=_describe(sub_opt))))
    elif opt.values is not None:
        for sub_key, sub_value in value.items():
            converted, sub = check_value(opt.values, sub_value, f"{key}.{sub_key}",
                                         lines.get(sub_key, line), secret)
            found.extend(sub)
            result[sub_key] = converted
    else:
        return value
    if isinstance(result, YamlDict):
        result.lines = dict(lines)
        result.line = line
    return result


def _keep_lines(source: list[Any], items: list[Any]) -> list[Any]:
    result = YamlList(items)
    if isinstance(source, YamlList):
        result.lines = list(source.lines)
        result.line = source.line
    return result


def _describe(opt: Option) -> str:
    text = opt.description.split(". ")[0].rstrip(".")
    return text if len(text) <= 90 else text[:87] + "..."


def suggest(name: str, candidates: list[str], *, nested: bool = False,
            listing: str | None = None) -> str:
    """The closest candidate, else `listing` (a message with {names}) or the known options,
    else how to keep a site's own variable."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return _("did you mean {name}?").format(name=close[0])
    if listing:
        return listing.format(names=", ".join(sorted(candidates)))
    if nested:
        return _("remove it; known options: {names}").format(names=", ".join(sorted(candidates)))
    return _("remove it, or rename it local_{name} if it is the site's own variable (local_* "
             "variables are not checked)").format(name=name)


def apply_defaults(opt: Option, value: Any) -> Any:
    """The value with nested option defaults filled in (top-level defaults are not added)."""
    if isinstance(value, list) and opt.options:
        return [apply_defaults(Option(name=opt.name, type="dict", options=opt.options), v)
                for v in value]
    if isinstance(value, dict) and opt.options:
        result = dict(value)
        for name, sub in opt.options.items():
            if name not in result and sub.has_default:
                result[name] = sub.default
            elif name in result:
                result[name] = apply_defaults(sub, result[name])
        return result
    return value


# --------------------------------------------------------------------------------------
# Files


def check_source(source: VarsSource, catalog: Catalog) -> list[Problem]:
    """Every variable of one mapping as written in one file."""
    problems: list[Problem] = []
    base = display_path(source.path)

    def add(line: int, key: str, what: str, fix: str) -> None:
        problems.append(Problem(f"{base}:{line}" if line else base, key, what, fix))

    vault_names = [n for n in catalog.names() if n.startswith("vault_")]
    for name, value in source.data.items():
        line = source.data.lines.get(name, 0)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            add(line, str(name), _("is not a valid variable name"),
                _("use letters, digits and underscores, starting with a letter"))
            continue
        if name.startswith("vault_"):
            if not source.vault:
                add(line, name, _("is a secret (vault_*) outside the vault"),
                    _("secrets belong in {vault}, encrypted; move it there (`ansible-vault edit` "
                      "it) and delete it here").format(vault=VAULT_REL))
                continue
            opt = catalog.get(name)
            if opt is None:
                bare = name[len("vault_"):]
                if bare in catalog.variables or bare.startswith(("local_", "ansible_")):
                    continue  # vault_<var>: the secret value a template of <var> refers to
                add(line, name, _("is not a known secret"),
                    suggest(name, vault_names, listing=_("known secrets: {names}")) + "; " +
                    _("the site's own secrets are named vault_local_*"))
                continue
            problems.extend(_findings(base, check_value(opt, value, name, line)[1]))
            continue
        if source.vault:
            add(line, name, _("only vault_* variables belong in the vault"),
                _("rename it vault_{name} and set `{setting}` in group_vars/all/site.yml, or "
                  "move it to site.yml if it is no secret").format(
                      name=name, setting=f'{name}: "{{{{ vault_{name} }}}}"'))
            continue
        if name.startswith("ansible_"):
            if name in _SECRET_CONNECTION_VARS and _plaintext_secret(value):
                add(line, name, _("is a password in plain text"),
                    _("put it in {vault} as vault_{name} and write `{setting}` here").format(
                        vault=VAULT_REL, name=name, setting=f'{name}: "{{{{ vault_{name} }}}}"'))
            continue
        if name.startswith("local_"):
            continue
        opt = catalog.get(name)
        if opt is None:
            if name in catalog.internal:
                role = catalog.internal[name]
                add(line, name, _("is an internal constant of role {role} "
                                  "(roles/{role}/vars/main.yml) and cannot be set from an "
                                  "inventory").format(role=role),
                    _("remove it; see docs/variables.md for the variables you can set"))
            else:
                add(line, name, _("is not a variable dspace-deploy knows"),
                    suggest(name, [n for n in catalog.names() if not n.startswith("vault_")]))
            continue
        if opt.no_log and _plaintext_secret(value):
            add(line, name, _("is a secret in plain text"),
                _("put the value in {vault} as vault_{name} and write `{setting}` here").format(
                    vault=VAULT_REL, name=name, setting=f'{name}: "{{{{ vault_{name} }}}}"'))
            continue
        problems.extend(_findings(base, check_value(opt, value, name, line)[1]))
    return problems


def _plaintext_secret(value: Any) -> bool:
    return value not in (None, "") and not isinstance(value, VaultValue) and not is_template(value)


def _findings(base: str, findings: list[Finding]) -> list[Problem]:
    return [Problem(f"{base}:{f.line}" if f.line else base, f.key, f.what, f.fix)
            for f in findings]


# --------------------------------------------------------------------------------------
# The whole site


@dataclass
class Checked:
    """What validation found, before it becomes a Site or a ValidationFailed."""

    inventory: InventoryData
    problems: list[Problem]
    hosts: list[str]
    site_name: str | None
    hostvars: dict[str, dict[str, Any]]
    secrets: list[str]
    vault_password_file: Path | None


def load_site(path: Path, vault_password_file: Path | None = None, *,
              require_vault: bool = True) -> Site:
    """Read and validate a site inventory; raise ValidationFailed listing every problem.

    `hostvars` hold each dspace host's effective inventory variables (no vault value, no
    spec default); `secrets` every decrypted vault string (for redaction). With
    `require_vault=False` the vault is not opened and secrets are not checked.
    """
    root = Path(path)
    _require_inventory_dir(root)
    checked = check_tree(DiskTree(root), vault_password_file=vault_password_file,
                         require_vault=require_vault)
    if checked.problems:
        raise ValidationFailed(_masked(checked.problems, checked.secrets))
    assert checked.site_name is not None
    password = checked.vault_password_file or resources.vault_password_file(checked.site_name)
    return Site(
        path=root,
        name=checked.site_name,
        hosts=checked.hosts,
        hostvars=checked.hostvars,
        vault_file=root / VAULT_REL,
        vault_password_file=password,
        secrets=checked.secrets,
    )


def _masked(problems: list[Problem], secrets: list[str]) -> list[Problem]:
    """Second line of defence: no decrypted secret in a message, whatever the check (the
    checks themselves never quote a no_log value)."""
    from dspace_deploy.redact import Redactor

    redactor = Redactor(secrets)
    if not redactor:
        return problems
    return [Problem(redactor.text(p.location), redactor.text(p.key), redactor.text(p.what),
                    redactor.text(p.fix)) for p in problems]


def _require_inventory_dir(root: Path) -> None:
    hint = _("Create a site inventory with `dspace-deploy init DIR` (see docs/inventory.md), "
             "then pass it with -i DIR or $DSPACE_DEPLOY_INVENTORY.")
    if not root.exists():
        raise InputError(_("The inventory directory {path} does not exist.").format(path=root),
                         hint=hint)
    if not root.is_dir():
        raise InputError(_("{path} is a file, not an inventory directory.").format(path=root),
                         hint=_("Pass the directory that holds hosts.yml.") + " " + hint)
    if find_hosts_file(DiskTree(root)) is None:
        if (root / "hosts").is_file() or (root / "hosts.ini").is_file():
            raise InputError(
                _("{path} has an INI inventory; dspace-deploy reads hosts.yml (YAML).").format(
                    path=root),
                hint=_("Convert it: `{command}`, then remove the INI file.").format(
                    command="ansible-inventory -i hosts -y --list > hosts.yml"))
        raise InputError(_("{path} has no hosts.yml, so it is not a site inventory.").format(
                             path=root), hint=hint)


def check_tree(tree: Tree, *, vault_password_file: Path | None = None,
               require_vault: bool = True, catalog: Catalog | None = None) -> Checked:
    """Validate an inventory tree (on disk, or in memory before `init` writes it)."""
    catalog = catalog or load_catalog()
    inv = load_inventory(tree)
    problems = list(inv.problems)
    hosts_location = display_path(inv.hosts_file) if inv.hosts_file else display_path(tree.root)

    # Whole-file vaults: only the site vault, which must be encrypted.
    vault_vf = inv.vault_file()
    for vf in inv.all_files():
        if vf.encrypted and vf.rel != VAULT_REL:
            problems.append(Problem(vf.location, "(file)",
                                    _("only group_vars/all/vault.yml may be a whole-file vault"),
                                    _("move these secrets into group_vars/all/vault.yml "
                                      "(`ansible-vault edit` it)")))
    if vault_vf is not None and not vault_vf.encrypted and vault_vf.text.strip():
        from dspace_deploy.inventory.vault import plaintext_vault

        problems.append(Problem(vault_vf.location, "(file)", plaintext_vault(),
                                _("encrypt it: run `{command}` (or ansible-vault encrypt)")
                                .format(command=SECRETS_COMMAND.format(
                                    dir=display_path(tree.root)))))

    for source in inv.sources():
        problems.extend(check_source(source, catalog))

    hosts = inv.group_hosts(DSPACE_GROUP)
    if inv.hosts_file is not None and not any(p.location.startswith(hosts_location)
                                              and p.key == "(YAML syntax)" for p in problems):
        if DSPACE_GROUP not in inv.groups:
            problems.append(Problem(hosts_location, DSPACE_GROUP,
                                    _("there is no group {group}").format(group=DSPACE_GROUP),
                                    _("put the DSpace hosts under all.children.{group}.hosts")
                                    .format(group=DSPACE_GROUP)))
        elif not hosts:
            problems.append(Problem(hosts_location, DSPACE_GROUP,
                                    _("group {group} has no hosts").format(group=DSPACE_GROUP),
                                    _("add at least one host under all.children.{group}.hosts "
                                      "(child groups may hold them)").format(
                                          group=DSPACE_GROUP)))

    effective = {host: inv.effective(host) for host in hosts}
    site_name = _site_name(effective, catalog)

    # The vault: decrypt, then check it like any other file.
    secrets: list[str] = []
    password_file = vault_password_file
    vault_checked = False
    if require_vault and hosts and vault_vf is None:
        problems.append(Problem(display_path(tree.root / VAULT_REL), "(file)",
                                _("does not exist, so no instance has its secrets"),
                                _("run `{command}` to create it").format(
                                    command=SECRETS_COMMAND.format(
                                        dir=display_path(tree.root)))))
    if require_vault:
        password_file, vault_checked, secrets = _open_vault(
            inv, tree, catalog, problems, site_name, vault_password_file)
        if vault_checked:
            effective = {host: inv.effective(host) for host in hosts}

    problems.extend(rules.check_site(inv, effective, catalog, vault_checked=vault_checked,
                                     secrets_command=SECRETS_COMMAND.format(
                                         dir=display_path(tree.root))))
    hostvars = {
        host: {k: plain(e.value) for k, e in entries.items()
               if not e.vault and not isinstance(e.value, VaultValue)}
        for host, entries in effective.items()
    }
    return Checked(inv, _unique(problems), hosts, site_name, hostvars, secrets, password_file)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    result = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            result.append(p)
    return result


def _site_name(effective: dict[str, dict[str, VarEntry]], catalog: Catalog) -> str | None:
    opt = catalog.get("site_name")
    for entries in effective.values():
        entry = entries.get("site_name")
        if entry is None or opt is None:
            continue
        value, found = check_value(opt, entry.value, "site_name", entry.line)
        if not found and isinstance(value, str):
            return value
    return None


def _open_vault(inv: InventoryData, tree: Tree, catalog: Catalog, problems: list[Problem],
                site_name: str | None,
                given: Path | None) -> tuple[Path | None, bool, list[str]]:
    """Decrypt the site vault into the inventory; (password file, vault checked, secrets)."""
    from dspace_deploy.inventory import vault

    vf = inv.vault_file()
    inline = [(src, key, line, value) for src in inv.sources()
              for key, line, value in _vault_entries(src.data)]
    if vf is None and not inline:
        return given, False, []
    if given is not None:
        password_file: Path | None = given.expanduser()
    elif site_name is not None:
        password_file = resources.vault_password_file(site_name)
    else:
        return None, False, []  # site_name is broken: reported already
    assert password_file is not None
    vault.refuse_inside(password_file, tree.root)
    if not password_file.is_file():
        message = _("The vault password file {path} does not exist, so the secrets in {vault} "
                    "cannot be read.").format(path=password_file,
                                              vault=display_path(tree.root / VAULT_REL))
        hint = _("Copy the site's password file there (mode 0600), or point to it with "
                 "--vault-password-file or $DSPACE_DEPLOY_VAULT_PASSWORD_FILE.")
        if problems:
            problems.append(Problem(display_path(password_file), "(vault password file)",
                                    _("does not exist"), hint))
            return password_file, False, []
        raise EnvironmentProblem(message, hint=hint)
    password = vault.read_password(password_file)
    secrets: list[str] = []
    checked = False
    if vf is not None and vf.encrypted:
        try:
            text = vault.decrypt_text(vf.text, password)
        except vault.WrongPassword:
            problems.append(Problem(vf.location, "(file)",
                                    _("cannot be decrypted with the password in {path}").format(
                                        path=password_file),
                                    _("use the site's own vault password file "
                                      "(--vault-password-file or "
                                      "$DSPACE_DEPLOY_VAULT_PASSWORD_FILE)")))
            return password_file, False, []
        except vault.MalformedVault as malformed:
            problems.append(Problem(vf.location, "(file)", vault.malformed_file_what(malformed),
                                    vault.malformed_file_fix()))
            return password_file, False, []
        data, parse_problems = parse_vars_text(text, vf.location + " (decrypted)")
        problems.extend(parse_problems)
        if data is not None:
            vf.data = data
            problems.extend(check_source(VarsSource(vf.path, data, "group", "all", True),
                                         catalog))
            secrets.extend(_leaf_strings(data))
            checked = True
    elif vf is not None and vf.data is not None:
        secrets.extend(_leaf_strings(vf.data))
        checked = True
    encrypt = _("encrypt the value again with the site's vault password (`{command}`) and "
                "paste it here").format(
                    command=f"ansible-vault encrypt_string --vault-password-file {password_file}")
    for src, key, line, value in inline:
        location = f"{display_path(src.path)}:{line}" if line else display_path(src.path)
        try:
            secrets.append(vault.decrypt_text(value.ciphertext, password))
        except vault.WrongPassword:
            problems.append(Problem(location, key, _("is a !vault value that cannot be "
                                                     "decrypted with the password in {path}")
                                    .format(path=password_file), encrypt))
        except vault.MalformedVault as malformed:
            problems.append(Problem(location, key, _("is a malformed !vault value ({detail})")
                                    .format(detail=malformed.detail), encrypt))
    return password_file, checked, secrets


def _vault_entries(value: Any, key: str = "",
                   line: int = 0) -> list[tuple[str, int, VaultValue]]:
    """Every inline !vault value under `value`: (dotted key path, line, value)."""
    if isinstance(value, VaultValue):
        return [(key, line, value)]
    found: list[tuple[str, int, VaultValue]] = []
    if isinstance(value, dict):
        lines = value.lines if isinstance(value, YamlDict) else {}
        for sub_key, item in value.items():
            path = f"{key}.{sub_key}" if key else str(sub_key)
            found += _vault_entries(item, path, lines.get(sub_key, line))
    elif isinstance(value, list):
        item_lines = value.lines if isinstance(value, YamlList) else []
        for index, item in enumerate(value):
            found += _vault_entries(item, f"{key}[{index}]",
                                    item_lines[index] if index < len(item_lines) else line)
    return found


def _leaf_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        return [s for item in value.values() for s in _leaf_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _leaf_strings(item)]
    return []


def effective_settings(hostvars: dict[str, Any], catalog: Catalog | None = None) -> dict[str, Any]:
    """A host's variables as the toolkit understands them: converted (line 9 -> "9") and with
    every default applied, including those of each dspace_instances item."""
    catalog = catalog or load_catalog()
    result = dict(catalog.defaults())
    for name, value in hostvars.items():
        opt = catalog.get(name)
        if opt is None:
            result[name] = value
            continue
        converted, _findings_ignored = check_value(opt, value, name, 0)
        result[name] = plain(apply_defaults(opt, converted))
    return result


def site_summary(site: Site, catalog: Catalog | None = None) -> dict[str, Any]:
    """The site's hosts and instances (with defaults applied), for display and JSON."""
    catalog = catalog or load_catalog()
    hosts = []
    for host in site.hosts:
        settings = effective_settings(site.hostvars.get(host, {}), catalog)
        instances = []
        for item in settings.get("dspace_instances") or []:
            if isinstance(item, dict):
                line = str(item.get("line"))
                newest = rules.LINES[line].newest if line in rules.LINES else None
                instances.append({
                    "name": item.get("name"), "hostname": item.get("hostname"), "line": line,
                    "version": item.get("version") or newest, "flavor": item.get("flavor"),
                    "tls_mode": item.get("tls_mode"),
                })
        hosts.append({"name": host, "instances": instances})
    return {"site": site.name, "hosts": hosts}
