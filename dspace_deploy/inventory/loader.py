"""Read a site inventory the way Ansible does, remembering where every variable comes from.

Supports the YAML inventory format (hosts.yml or hosts.yaml: all / children / hosts / vars,
host ranges such as web[01:10]) with group_vars/ and host_vars/ next to it, including
directories of files. Inline `!vault` values are kept as opaque `VaultValue`s; whole-file
vaults are recognised (decryption is `vault.py`'s business). Nothing here imports Ansible.

Effective variables follow Ansible's precedence (ansible-core 2.19 defaults):
  1. inventory-file vars of group `all`
  2. inventory-file vars of the host's other groups, by (depth, ansible_group_priority, name)
  3. group_vars/all
  4. group_vars/<group> of the host's other groups, same order
  5. inventory-file vars of the host
  6. host_vars/<host>
Later layers replace earlier ones key by key (hash_behaviour=replace).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from dspace_deploy.errors import Problem
from dspace_deploy.i18n import _

HOSTS_FILES = ("hosts.yml", "hosts.yaml")
VARS_EXTENSIONS = (".yml", ".yaml", ".json")
VAULT_REL = "group_vars/all/vault.yml"
VAULT_HEADER = "$ANSIBLE_VAULT;"
_GROUP_SECTIONS = ("hosts", "vars", "children")


# --------------------------------------------------------------------------------------
# YAML with positions


class VaultValue:
    """An inline `!vault` value: an encrypted string, never decrypted by the loader."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: str) -> None:
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        return "VaultValue(<encrypted>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VaultValue) and other.ciphertext == self.ciphertext

    def __hash__(self) -> int:
        return hash(self.ciphertext)


class YamlDict(dict[Any, Any]):
    """A mapping that remembers the line of each key (1-based)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}
        self.line = 0


class YamlList(list[Any]):
    """A sequence that remembers the line of each item (1-based)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int] = []
        self.line = 0


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int, int]] = []  # key, first line, second line


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YamlDict:
    loader.flatten_mapping(node)
    result = YamlDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, "found a key that is a list or a mapping", key_node.start_mark
            ) from exc
        line = key_node.start_mark.line + 1
        if key in result:
            loader.duplicates.append((key, result.lines[key], line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList()
    result.line = node.start_mark.line + 1
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.lines.append(item.start_mark.line + 1)
    return result


def _construct_vault(loader: _Loader, node: yaml.Node) -> VaultValue:
    text = loader.construct_scalar(node)
    return VaultValue(str(text))


def _construct_unsafe(loader: _Loader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return str(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return _construct_sequence(loader, node)
    return _construct_mapping(loader, node)  # type: ignore[arg-type]


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("!vault", _construct_vault)
_Loader.add_constructor("!unsafe", _construct_unsafe)


@dataclass
class ParseResult:
    data: Any = None
    problems: list[Problem] = field(default_factory=list)


def parse_yaml(text: str, location: str) -> ParseResult:
    """Parse one YAML document; syntax errors become problems with file:line:column."""
    result = ParseResult()
    loader = _Loader(text)
    try:
        result.data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{location}:{mark.line + 1}:{mark.column + 1}" if mark else location
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        result.problems.append(Problem(where, "(YAML syntax)",
                                       _("invalid YAML: {error}").format(error=what),
                                       _syntax_fix(text, mark)))
    except yaml.YAMLError as exc:
        result.problems.append(Problem(location, "(YAML syntax)",
                                       _("invalid YAML: {error}").format(error=exc),
                                       _("fix the file's YAML syntax")))
    finally:
        loader.dispose()
    for key, first, second in loader.duplicates:
        result.problems.append(Problem(
            f"{location}:{second}", str(key),
            _("appears twice in the same mapping (lines {first} and {second}); Ansible would "
              "silently use the last one").format(first=first, second=second),
            _("keep only one of them"),
        ))
    return result


def _syntax_fix(text: str, mark: Any) -> str:
    if mark is not None:
        lines = text.splitlines()
        if 0 <= mark.line < len(lines) and "\t" in lines[mark.line]:
            return _("indent with spaces, not tabs")
    return _("check the indentation (spaces only, children indented under their parent) and "
             "quote values that contain ': ', ' #' or start with {, [, *, &, !, @, % or a "
             "backquote")


# --------------------------------------------------------------------------------------
# Where files come from: the disk, or an in-memory tree (init validates before writing)


class Tree(Protocol):
    root: Path

    def is_file(self, rel: str) -> bool: ...
    def is_dir(self, rel: str) -> bool: ...
    def listdir(self, rel: str) -> list[str]: ...
    def read(self, rel: str) -> str: ...


class DiskTree:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _p(self, rel: str) -> Path:
        return self.root / rel if rel else self.root

    def is_file(self, rel: str) -> bool:
        return self._p(rel).is_file()

    def is_dir(self, rel: str) -> bool:
        return self._p(rel).is_dir()

    def listdir(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self._p(rel)))
        except OSError:
            return []

    def read(self, rel: str) -> str:
        return self._p(rel).read_text(encoding="utf-8")


class MemoryTree:
    """Files given as {relative posix path: text}; directories are implied."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        self.files = dict(files)
        self.dirs = {""}
        for rel in self.files:
            parts = rel.split("/")
            for i in range(1, len(parts)):
                self.dirs.add("/".join(parts[:i]))

    def is_file(self, rel: str) -> bool:
        return rel in self.files

    def is_dir(self, rel: str) -> bool:
        return rel in self.dirs

    def listdir(self, rel: str) -> list[str]:
        prefix = f"{rel}/" if rel else ""
        names = {p[len(prefix):].split("/")[0] for p in [*self.files, *self.dirs]
                 if p.startswith(prefix) and p != rel and p[len(prefix):]}
        return sorted(names)

    def read(self, rel: str) -> str:
        return self.files[rel]


def display_path(path: Path) -> str:
    """A path as problems show it: relative to the current directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------
# The model


@dataclass
class VarsFile:
    """One file of variables (group_vars/..., host_vars/...)."""

    rel: str
    path: Path
    text: str = ""
    data: YamlDict | None = None
    encrypted: bool = False

    @property
    def location(self) -> str:
        return display_path(self.path)


@dataclass
class GroupDef:
    name: str
    vars: YamlDict = field(default_factory=YamlDict)
    children: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    priority: int = 1
    line: int = 0
    depth: int = 0


@dataclass
class HostDef:
    name: str
    vars: YamlDict = field(default_factory=YamlDict)
    groups: list[str] = field(default_factory=list)  # direct groups, in order of appearance
    line: int = 0


@dataclass
class VarEntry:
    """A variable's value and where it was set."""

    value: Any
    path: Path
    line: int = 0
    vault: bool = False  # from the whole-file vault

    @property
    def location(self) -> str:
        base = display_path(self.path)
        return f"{base}:{self.line}" if self.line else base


@dataclass
class VarsSource:
    """A mapping of variables as written in one place, for per-file validation."""

    path: Path
    data: YamlDict
    scope: str  # "group" or "host"
    target: str  # group or host name
    vault: bool = False  # the whole-file vault


@dataclass
class InventoryData:
    root: Path
    hosts_file: Path | None = None
    groups: dict[str, GroupDef] = field(default_factory=dict)
    hosts: dict[str, HostDef] = field(default_factory=dict)
    group_files: dict[str, list[VarsFile]] = field(default_factory=dict)
    host_files: dict[str, list[VarsFile]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def vault_path(self) -> Path:
        return self.root / VAULT_REL

    def vault_file(self) -> VarsFile | None:
        for vf in self.group_files.get("all", []):
            if vf.rel == VAULT_REL:
                return vf
        return None

    def all_files(self) -> Iterator[VarsFile]:
        for files in (*self.group_files.values(), *self.host_files.values()):
            yield from files

    def sources(self) -> Iterator[VarsSource]:
        """Every mapping of variables, where it was written (vault included when decrypted)."""
        for group in self.groups.values():
            if group.vars and self.hosts_file:
                yield VarsSource(self.hosts_file, group.vars, "group", group.name)
        for host in self.hosts.values():
            if host.vars and self.hosts_file:
                yield VarsSource(self.hosts_file, host.vars, "host", host.name)
        for name, files in self.group_files.items():
            for vf in files:
                if vf.data is not None:
                    yield VarsSource(vf.path, vf.data, "group", name, vf.rel == VAULT_REL)
        for name, files in self.host_files.items():
            for vf in files:
                if vf.data is not None:
                    yield VarsSource(vf.path, vf.data, "host", name)

    def host_groups(self, host: str) -> list[GroupDef]:
        """Every group of the host except `all` (ancestors included), in Ansible's order."""
        seen: set[str] = set()
        stack = [g for g in self.hosts[host].groups if g != "all"] or ["ungrouped"]
        parents = self._parents()
        while stack:
            name = stack.pop()
            if name in seen or name == "all":
                continue
            seen.add(name)
            stack.extend(parents.get(name, []))
        groups = [self.groups.get(name) or GroupDef(name, depth=1) for name in seen]
        return sorted(groups, key=lambda g: (g.depth, g.priority, g.name))

    def group_hosts(self, group: str) -> list[str]:
        """Hosts of a group and of its descendants, in order of appearance."""
        result: list[str] = []
        seen: set[str] = set()

        def walk(name: str) -> None:
            if name in seen or name not in self.groups:
                return
            seen.add(name)
            for h in self.groups[name].hosts:
                if h not in result:
                    result.append(h)
            for child in self.groups[name].children:
                walk(child)

        walk(group)
        return result

    def _parents(self) -> dict[str, list[str]]:
        parents: dict[str, list[str]] = {}
        for group in self.groups.values():
            for child in group.children:
                parents.setdefault(child, []).append(group.name)
        return parents

    def effective(self, host: str) -> dict[str, VarEntry]:
        """The host's variables after Ansible's precedence, each with its origin."""
        result: dict[str, VarEntry] = {}
        hosts_file = self.hosts_file or self.root
        groups = self.host_groups(host)

        def layer_vars(data: YamlDict, path: Path, vault: bool = False) -> None:
            for key, value in data.items():
                result[key] = VarEntry(value, path, data.lines.get(key, 0), vault)

        if "all" in self.groups:
            layer_vars(self.groups["all"].vars, hosts_file)
        for group in groups:
            layer_vars(group.vars, hosts_file)
        for name in ["all", *(g.name for g in groups)]:
            for vf in self.group_files.get(name, []):
                if vf.data is not None:
                    layer_vars(vf.data, vf.path, vf.rel == VAULT_REL)
        layer_vars(self.hosts[host].vars, hosts_file)
        for vf in self.host_files.get(host, []):
            if vf.data is not None:
                layer_vars(vf.data, vf.path)
        return result


# --------------------------------------------------------------------------------------
# Reading


def find_hosts_file(tree: Tree) -> str | None:
    for name in HOSTS_FILES:
        if tree.is_file(name):
            return name
    return None


def load_inventory(tree: Tree) -> InventoryData:
    """Parse hosts.yml and every group_vars/host_vars file; collect problems, never raise."""
    inv = InventoryData(tree.root)
    hosts_rel = find_hosts_file(tree)
    if hosts_rel is None:
        return inv
    inv.hosts_file = tree.root / hosts_rel
    _check_root_entries(tree, inv, hosts_rel)
    location = display_path(inv.hosts_file)
    try:
        text = tree.read(hosts_rel)
    except (OSError, UnicodeDecodeError) as exc:
        inv.problems.append(Problem(location, "(file)",
                                    _("cannot be read: {error}").format(error=exc),
                                    _("fix its permissions or encoding (UTF-8)")))
        return inv
    parsed = parse_yaml(text, location)
    inv.problems.extend(parsed.problems)
    if parsed.problems and parsed.data is None:
        return inv
    _parse_hosts_document(parsed.data, inv, location)
    _compute_depths(inv, location)
    _load_vars_dirs(tree, inv)
    return inv


_IGNORED_EXTS = (".md", ".txt", ".rst", ".cfg", ".orig", ".retry", ".pyc", ".pyo", ".swp",
                 ".bak", ".rpm")


def _check_root_entries(tree: Tree, inv: InventoryData, hosts_rel: str, rel: str = "") -> None:
    """Ansible reads every other file of an inventory directory (subdirectories included)
    as a further inventory source: report those, they would break or change the inventory."""
    for name in tree.listdir(rel):
        path = f"{rel}/{name}" if rel else name
        if name.startswith(".") or name.endswith("~") or os.path.splitext(name)[1] in _IGNORED_EXTS:
            continue
        if not rel and name in (hosts_rel, "group_vars", "host_vars", "vars_plugins"):
            continue
        if tree.is_dir(path):
            _check_root_entries(tree, inv, hosts_rel, path)
            continue
        if not rel and name in HOSTS_FILES:
            what = _("both {hosts} and {other} exist; Ansible reads both").format(
                hosts=hosts_rel, other=name)
            fix = _("merge them into {hosts}").format(hosts=hosts_rel)
        else:
            what = _("Ansible would read this file as a further inventory source")
            fix = _("move it out of the inventory directory (or give it a name ending in .md "
                    "or .txt); hosts belong in hosts.yml")
        inv.problems.append(Problem(display_path(tree.root / path), "(file)", what, fix))


def _parse_hosts_document(data: Any, inv: InventoryData, location: str) -> None:
    if data is None:
        inv.problems.append(Problem(location, "(file)", _("the file is empty"),
                                    _("describe the hosts, e.g. {example}; `dspace-deploy init "
                                      "DIR` writes a complete inventory").format(
                                          example="all: {children: {dspace: {hosts: {repo: "
                                          "{ansible_host: repo.example.edu}}}}}")))
        return
    if not isinstance(data, YamlDict):
        inv.problems.append(Problem(location, "(file)",
                                    _("the top level is {found}, not a mapping of groups")
                                    .format(found=_type_name(data)),
                                    _("start the file with `all:` and put groups under "
                                      "all.children")))
        return
    if "plugin" in data:
        inv.problems.append(Problem(f"{location}:{data.lines['plugin']}", "plugin",
                                    _("dynamic inventory plugins are not supported"),
                                    _("list the hosts in hosts.yml (YAML inventory format)")))
        return
    inv.groups.setdefault("all", GroupDef("all"))
    for name, body in data.items():
        _parse_group(inv, location, str(name), body, data.lines.get(name, 0), str(name))


def _parse_group(inv: InventoryData, location: str, name: str, body: Any, line: int,
                 path: str) -> None:
    group = inv.groups.setdefault(name, GroupDef(name, line=line))
    if not group.line:
        group.line = line
    if body is None:
        return
    if not isinstance(body, YamlDict):
        inv.problems.append(Problem(
            f"{location}:{line}", path,
            _("a group must be a mapping with hosts, children or vars; found {found}").format(
                found=_type_name(body)),
            _("write e.g. `{example}`").format(example="dspace: {hosts: {repo: {}}}")))
        return
    for key, value in body.items():
        key_line = body.lines.get(key, line)
        where = f"{location}:{key_line}"
        if key not in _GROUP_SECTIONS:
            import difflib

            close = difflib.get_close_matches(str(key), _GROUP_SECTIONS, n=1, cutoff=0.5)
            hint = _("did you mean {name}?").format(name=close[0]) if close else (
                _("a group holds only hosts, children and vars; variables go under vars"))
            inv.problems.append(Problem(where, f"{path}.{key}",
                                        _("unknown key {key} in group {group}").format(
                                            key=repr(key), group=name), hint))
            continue
        if isinstance(value, str) and key in ("hosts", "children"):
            value = YamlDict({value: None})
        if value is None:
            continue
        if not isinstance(value, YamlDict):
            inv.problems.append(Problem(
                where, f"{path}.{key}",
                _("{key} must be a mapping; found {found}").format(key=key,
                                                                   found=_type_name(value)),
                _section_fix(str(key))))
            continue
        if key == "vars":
            for var, val in value.items():
                if var == "ansible_group_priority":
                    try:
                        group.priority = int(val)
                    except (TypeError, ValueError):
                        inv.problems.append(Problem(
                            f"{location}:{value.lines.get(var, key_line)}",
                            "ansible_group_priority",
                            _("must be an integer, not {value}").format(value=repr(val)),
                            _("write a number, e.g. 10")))
                    continue
                group.vars[var] = val
                group.vars.lines[var] = value.lines.get(var, key_line)
        elif key == "children":
            for child, child_body in value.items():
                child_name = str(child)
                if child_name == "all":
                    inv.problems.append(Problem(where, f"{path}.children.all",
                                                _("group all cannot be a child"),
                                                _("remove it: every group is inside all")))
                    continue
                if child_name not in group.children:
                    group.children.append(child_name)
                _parse_group(inv, location, child_name, child_body,
                             value.lines.get(child, key_line), f"{path}.children.{child_name}")
        else:
            for pattern, host_vars in value.items():
                host_line = value.lines.get(pattern, key_line)
                if not isinstance(pattern, str):
                    inv.problems.append(Problem(
                        f"{location}:{host_line}", f"{path}.hosts.{pattern}",
                        _("host name {name} is not a string").format(name=repr(pattern)),
                        _("quote it, e.g. \"10\", or use a real host name")))
                    continue
                if host_vars is not None and not isinstance(host_vars, YamlDict):
                    inv.problems.append(Problem(
                        f"{location}:{host_line}", f"{path}.hosts.{pattern}",
                        _("the variables of a host must be a mapping; found {found}").format(
                            found=_type_name(host_vars)),
                        _("write `{example}` (or nothing after the colon)").format(
                            example=f"{pattern}: {{ansible_host: 192.0.2.10}}")))
                    host_vars = None
                names, port = expand_host_pattern(pattern)
                for host_name in names:
                    host = inv.hosts.get(host_name)
                    if host is None:
                        host = inv.hosts[host_name] = HostDef(host_name, line=host_line)
                        if port is not None:
                            host.vars["ansible_port"] = port
                            host.vars.lines["ansible_port"] = host_line
                    if name not in host.groups:
                        host.groups.append(name)
                    if host_name not in group.hosts:
                        group.hosts.append(host_name)
                    if host_vars:
                        for var, val in host_vars.items():
                            host.vars[var] = val
                            host.vars.lines[var] = host_vars.lines.get(var, host_line)


def _section_fix(key: str) -> str:
    return {
        "hosts": _("list hosts as a mapping: `{example}` (a YAML list with dashes is not "
                   "accepted)").format(example="hosts: {repo1: {}, repo2: {}}"),
        "children": _("list child groups as a mapping: `{example}`").format(
            example="children: {north: {}, south: {}}"),
        "vars": _("write variables as a mapping: `{example}`").format(
            example="vars: {name: value}"),
    }[key]


def _compute_depths(inv: InventoryData, location: str) -> None:
    """Depth = longest path from `all` (Ansible's group depth); report cycles."""
    parents = inv._parents()
    memo: dict[str, int] = {"all": 0}
    visiting: set[str] = set()
    reported: set[str] = set()

    def depth(name: str) -> int:
        if name in memo:
            return memo[name]
        if name in visiting:
            if name not in reported:
                reported.add(name)
                inv.problems.append(Problem(
                    f"{location}:{inv.groups[name].line}", name,
                    _("group {group} is its own ancestor (children form a cycle)").format(
                        group=name),
                    _("remove one of the children links")))
            return 1
        visiting.add(name)
        ps = [p for p in parents.get(name, []) if p != "all"]
        value = max((depth(p) + 1 for p in ps), default=1)
        visiting.discard(name)
        memo[name] = value
        return value

    for name, group in inv.groups.items():
        group.depth = depth(name)


_PORT = re.compile(r"((?:[^:\[]|\[[^\]]*\])+):(\d+)")
_RANGE = re.compile(r"^(.*?)\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\](.*)$")


def expand_host_pattern(pattern: str) -> tuple[list[str], int | None]:
    """Ansible host patterns: `name`, `name:port`, ranges `web[01:10]`, `db-[a:c]`."""
    port = None
    match = _PORT.fullmatch(pattern)
    if match:
        pattern, port = match.group(1), int(match.group(2))
    return _expand_ranges(pattern), port


def _expand_ranges(pattern: str) -> list[str]:
    match = _RANGE.match(pattern)
    if not match:
        return [pattern]
    head, start, end, step, tail = match.groups()
    stride = int(step) if step else 1
    items: list[str]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") and len(start) > 1 else 0
        items = [str(i).zfill(width) for i in range(int(start), int(end) + 1, stride)]
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        items = [chr(c) for c in range(ord(start), ord(end) + 1, stride)]
    else:
        return [pattern]
    result = []
    for item in items:
        result.extend(_expand_ranges(f"{head}{item}{tail}"))
    return result


def _vars_entries(tree: Tree, rel_dir: str, known: set[str]) -> list[tuple[str, str]]:
    """(entity name, entry) for every entry Ansible's host_group_vars would consider."""
    result = []
    for entry in tree.listdir(rel_dir):
        if entry.startswith(".") or entry.endswith("~"):
            continue
        rel = f"{rel_dir}/{entry}"
        stem, ext = os.path.splitext(entry)
        if tree.is_dir(rel) or entry in known:  # e.g. host_vars/web.example.org
            result.append((entry, entry))
        elif ext in VARS_EXTENSIONS:
            result.append((stem, entry))
        elif not ext:
            result.append((entry, entry))
    return result


def _dir_files(tree: Tree, rel: str) -> list[str]:
    """Files of a vars directory in Ansible's order (sorted, recursive, valid extensions)."""
    found: list[str] = []
    for entry in tree.listdir(rel):
        if entry.startswith(".") or entry.endswith("~"):
            continue
        sub = f"{rel}/{entry}"
        ext = os.path.splitext(entry)[1]
        if tree.is_dir(sub) and not ext:
            found.extend(_dir_files(tree, sub))
        elif tree.is_file(sub) and (not ext or ext in VARS_EXTENSIONS):
            found.append(sub)
    return found


def _load_vars_dirs(tree: Tree, inv: InventoryData) -> None:
    import difflib

    for subdir, known, store, kind in (
        ("group_vars", set(inv.groups) | {"all", "ungrouped"}, inv.group_files, "group"),
        ("host_vars", set(inv.hosts), inv.host_files, "host"),
    ):
        if not tree.is_dir(subdir):
            if tree.is_file(subdir):
                inv.problems.append(Problem(display_path(tree.root / subdir), "(file)",
                                            _("{path} must be a directory").format(path=subdir),
                                            _("create {path}/ and move the variables into a "
                                              "file there").format(path=subdir)))
            continue
        chosen: dict[str, str] = {}
        for name, entry in _vars_entries(tree, subdir, known):
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
                if close:
                    fix = _("did you mean {name}?").format(name=close[0])
                elif kind == "group":
                    fix = _("add group {name} to hosts.yml, or remove the file").format(name=name)
                else:
                    fix = _("add host {name} to hosts.yml, or remove the file").format(name=name)
                what = (_("no group named {name} in the inventory, so Ansible ignores this")
                        if kind == "group" else
                        _("no host named {name} in the inventory, so Ansible ignores this"))
                inv.problems.append(Problem(
                    display_path(tree.root / subdir / entry), "(file)", what.format(name=name),
                    fix))
                continue
            if name in chosen:
                # Ansible takes the first of NAME, NAME.yml, NAME.yaml, NAME.json and ignores
                # the others.
                first = _first_candidate(tree, subdir, name)
                ignored = entry if first != entry else chosen[name]
                inv.problems.append(Problem(
                    display_path(tree.root / subdir / ignored), "(file)",
                    _("Ansible ignores this file because {path} exists").format(
                        path=f"{subdir}/{first}"),
                    _("move its variables into {path}").format(path=f"{subdir}/{first}")))
                chosen[name] = first
                continue
            chosen[name] = entry
        for name in sorted(chosen):
            entry = _first_candidate(tree, subdir, name)
            rel = f"{subdir}/{entry}"
            files = _dir_files(tree, rel) if tree.is_dir(rel) else [rel]
            store[name] = [_read_vars_file(tree, inv, f) for f in files]


def _first_candidate(tree: Tree, subdir: str, name: str) -> str:
    for ext in ("", *VARS_EXTENSIONS):
        if tree.is_file(f"{subdir}/{name}{ext}") or tree.is_dir(f"{subdir}/{name}{ext}"):
            return f"{name}{ext}"
    return name


def _read_vars_file(tree: Tree, inv: InventoryData, rel: str) -> VarsFile:
    path = tree.root / rel
    vf = VarsFile(rel, path)
    try:
        vf.text = tree.read(rel)
    except (OSError, UnicodeDecodeError) as exc:
        inv.problems.append(Problem(vf.location, "(file)",
                                    _("cannot be read: {error}").format(error=exc),
                                    _("fix its permissions or encoding (UTF-8)")))
        return vf
    if vf.text.lstrip().startswith(VAULT_HEADER):
        vf.encrypted = True
        return vf
    vf.data, problems = parse_vars_text(vf.text, vf.location)
    inv.problems.extend(problems)
    return vf


def parse_vars_text(text: str, location: str) -> tuple[YamlDict | None, list[Problem]]:
    """A vars file's mapping (None when empty or broken) and its problems."""
    parsed = parse_yaml(text, location)
    if parsed.problems and parsed.data is None:
        return None, parsed.problems
    if parsed.data is None:
        return YamlDict(), parsed.problems
    if not isinstance(parsed.data, YamlDict):
        parsed.problems.append(Problem(
            location, "(file)",
            _("a variables file must be a mapping of names to values; found {found}").format(
                found=_type_name(parsed.data)),
            _("write one `name: value` per line at the top level")))
        return None, parsed.problems
    return parsed.data, parsed.problems


def _type_name(value: Any) -> str:
    """The YAML type of a value with its article: "a string", "an integer"."""
    if isinstance(value, bool):
        return _("a boolean")
    if isinstance(value, int):
        return _("an integer")
    if isinstance(value, float):
        return _("a number")
    if isinstance(value, str):
        return _("a string")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a mapping")
    if value is None:
        return _("an empty value")
    if isinstance(value, VaultValue):
        return _("a vault-encrypted string")
    return _("a {type}").format(type=type(value).__name__)


type_name = _type_name


def plain(value: Any) -> Any:
    """A deep copy with plain dicts and lists (JSON-ready), without VaultValues."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not isinstance(v, VaultValue)}
    if isinstance(value, list):
        return [plain(v) for v in value if not isinstance(v, VaultValue)]
    return value
