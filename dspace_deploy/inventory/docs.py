"""Generate docs/variables.md from the specs (site_spec.yml and every role's spec).

    python -m dspace_deploy.inventory.docs            # rewrite docs/variables.md
    python -m dspace_deploy.inventory.docs --check    # exit 1 when it is stale

A unit test fails when the file is stale, so the docs always match the specs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.inventory.specs import Catalog, Option, SpecGroup, load_catalog

DEFAULT_OUTPUT = resources.content_root() / "docs" / "variables.md"
REGENERATE = "python -m dspace_deploy.inventory.docs"


_MARKUP = re.compile(r"\b([CVOIB])\(([^()]*)\)")


def _cell(text: str) -> str:
    """Ansible doc markup (C(x), V(x), O(x), I(x), B(x)) as Markdown, in one table cell."""
    text = _MARKUP.sub(lambda m: f"*{m[2]}*" if m[1] in "IB" else f"`{m[2]}`", text)
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _value(value: Any) -> str:
    if isinstance(value, str):
        return f'`"{value}"`' if value else '`""`'
    return f"`{json.dumps(value)}`"


def _type(opt: Option) -> str:
    if opt.type == "list" and opt.elements:
        return f"list of {opt.elements}"
    if opt.type == "dict" and opt.values is not None:
        return f"dict of {opt.values.type}"
    return opt.type


def _default(opt: Option) -> str:
    if opt.required:
        return "**required**"
    if opt.has_default:
        return _value(opt.default)
    return ""


def _checks(opt: Option) -> list[str]:
    """The extension keys of an option (pattern, format, range) as sentences."""
    notes = []
    if opt.pattern_hint:
        notes.append(f"Format: {opt.pattern_hint}.")
    elif opt.pattern:
        notes.append(f"Must match `{opt.pattern}`.")
    if opt.format == "email":
        notes.append("An e-mail address.")
    if opt.format == "hostname":
        notes.append("A DNS name (or IP address), no scheme or port.")
    if opt.format == "calendar":
        notes.append("A systemd calendar expression (OnCalendar=, `man systemd.time`), or "
                     "\"\" for none.")
    each = "Each: " if opt.type == "list" else ""
    if opt.minimum is not None and opt.maximum is not None:
        notes.append(f"{each}Range: {opt.minimum} to {opt.maximum}.")
    elif opt.minimum is not None:
        notes.append(f"{each}At least {opt.minimum}.")
    elif opt.maximum is not None:
        notes.append(f"{each}At most {opt.maximum}.")
    return notes


def _rows(opt: Option, name: str) -> list[str]:
    choices = ", ".join(_value(c) for c in opt.choices) if opt.choices else ""
    notes = _checks(opt)
    if opt.values is not None and not opt.values.options:
        notes += [f"Each value: {note[:1].lower()}{note[1:]}" for note in _checks(opt.values)]
    if opt.no_log:
        notes.append("Secret: only in the vault.")
    description = " ".join([opt.description, *notes]).strip()
    rows = [f"| `{name}` | {_type(opt)} | {_default(opt)} | {choices} | {_cell(description)} |"]
    nested = opt.options or (opt.values.options if opt.values is not None else {})
    if opt.type == "list":
        prefix = f"{name}[]."
    elif opt.values is not None:
        prefix = f"{name}.NAME."
    else:
        prefix = f"{name}."
    for sub_name, sub in nested.items():
        rows.extend(_rows(sub, prefix + sub_name))
    return rows


def _group(group: SpecGroup, root: Path) -> list[str]:
    try:
        origin = group.origin.relative_to(root).as_posix()
    except ValueError:
        origin = group.origin.name
    title = "Site variables" if group.owner == "site" else f"Role `{group.owner}`"
    lines = [f"## {title}", "", f"Declared in `{origin}`."]
    if group.short_description:
        lines += ["", group.short_description]
    if group.description:
        lines += ["", group.description]
    lines += ["", "| name | type | default | choices | description |", "|---|---|---|---|---|"]
    for name, opt in group.options.items():
        lines.extend(_rows(opt, name))
    return [*lines, ""]


def render(catalog: Catalog | None = None, root: Path | None = None) -> str:
    catalog = catalog or load_catalog()
    root = root or resources.content_root()
    lines = [
        "# Variables",
        "",
        f"<!-- Generated from the variable specs by `{REGENERATE}`; do not edit. -->",
        "",
        "Every variable an inventory may set, from the site spec "
        "(`dspace_deploy/inventory/site_spec.yml`) and each role's `meta/argument_specs.yml`. "
        "`dspace-deploy validate` (and every verb) checks an inventory against them before "
        "anything runs. Besides these, an inventory may set `ansible_*` (connection settings) "
        "and `local_*` (the site's own variables, not checked); secrets are `vault_*` "
        "variables in the encrypted `group_vars/all/vault.yml`. See docs/inventory.md.",
        "",
        "Nested options are written `parent[].option` (an item of a list) or "
        "`parent.NAME.option` (a value of a mapping keyed by name).",
        "",
    ]
    for group in catalog.groups:
        lines.extend(_group(group, root))
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    text = render()
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is stale: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
