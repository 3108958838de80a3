"""The roles, playbooks and plugins as one Ansible collection (dspace.deploy) for AWX.

The sources stay where the CLI reads them (roles/, playbooks/, docs/ and the local collection
collections/ansible_collections/dspace/deploy/ with its plugins and the `action` role); a build
assembles a staging tree from them and runs `ansible-galaxy collection build` on it, so there
is no second copy in git. docs/collection.md explains the layout and how AWX uses the result.

Inside the built collection the playbooks resolve their unqualified role names in dspace.deploy
(ansible-core makes the playbook's collection the default one: executor/playbook_executor.py,
playbook/playbook_include.py), load playbooks/filter_plugins/ as adjacent plugins (it is added
for every loaded playbook's directory: playbook/__init__.py, Playbook._load_playbook_data) and
read vars/, tasks/ and files/ relative to the playbook as from the repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dspace_deploy import __version__, resources
from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.i18n import _

NAMESPACE = "dspace"
NAME = "deploy"

# Never shipped, wherever they sit in the sources: caches, editor and VCS files, and files
# that could hold secrets (vault password files, keys, a vault). galaxy.yml's build_ignore
# names the caches and the secret-bearing ones too, so that a build of a staging tree by hand
# leaves them out as well.
_IGNORED = ("__pycache__", "*.pyc", "*.pyo", ".*", "*~", "*.swp", "*.orig", "*.rej",
            "*.retry", "*.key", "*.pem", "vault*.yml", "*vault-pass*")


# A playbook's summary in the README: its first sentence, cut at about this length.
_SUMMARY_CHARS = 200


@dataclass(frozen=True)
class Built:
    tarball: Path
    version: str
    roles: tuple[str, ...]
    playbooks: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"tarball": str(self.tarball), "version": self.version,
                "collection": f"{NAMESPACE}.{NAME}", "roles": list(self.roles),
                "playbooks": list(self.playbooks)}


def local_collection_dir() -> Path:
    """The local dspace.deploy collection the CLI uses (plugins, the `action` role)."""
    return resources.collections_dir() / "ansible_collections" / NAMESPACE / NAME


def docs_dir() -> Path:
    return resources.content_root() / "docs"


def role_names() -> list[str]:
    """Every role of the collection: the toolkit's roles and the local collection's."""
    own = [p.name for p in sorted(resources.roles_dir().iterdir()) if (p / "tasks").is_dir()]
    gate = [p.name for p in sorted((local_collection_dir() / "roles").iterdir())
            if (p / "tasks").is_dir()]
    return sorted({*own, *gate})


def playbook_names() -> list[str]:
    return sorted(p.stem for p in resources.playbooks_dir().glob("*.yml"))


def galaxy_metadata() -> dict[str, Any]:
    """galaxy.yml of the local collection, with the toolkit's version."""
    data: dict[str, Any] = yaml.safe_load((local_collection_dir() / "galaxy.yml").read_text())
    data["version"] = __version__
    return data


def stage(root: Path) -> Path:
    """Assemble the collection's tree under `root` (which must not exist); return its path."""
    source = local_collection_dir()
    if not source.is_dir():
        raise EnvironmentProblem(
            _("The local collection {path} is missing.").format(path=source),
            hint=_("Reinstall dspace-deploy (`pip install -e .` in a checkout)."))
    ignore = shutil.ignore_patterns(*_IGNORED)
    shutil.copytree(source, root, ignore=ignore)
    for role in sorted(resources.roles_dir().iterdir()):
        if not (role / "tasks").is_dir():
            continue
        if (root / "roles" / role.name).exists():
            raise InputError(
                _("The role {role} exists both in roles/ and in the local collection "
                  "({path}).").format(role=role.name, path=source / "roles"),
                hint=_("Rename one of them: a collection holds one role per name."))
        shutil.copytree(role, root / "roles" / role.name, ignore=ignore)
    shutil.copytree(resources.playbooks_dir(), root / "playbooks", ignore=ignore)
    if docs_dir().is_dir():
        shutil.copytree(docs_dir(), root / "docs", ignore=ignore)
    (root / "galaxy.yml").write_text(
        "---\n" + yaml.safe_dump(galaxy_metadata(), sort_keys=False))
    (root / "README.md").write_text(readme(root))
    return root


def readme(root: Path) -> str:
    """The built collection's README: the local collection's, then its roles, playbooks and
    where the variables are documented (docs/variables.md, generated from the specs)."""
    text = (local_collection_dir() / "README.md").read_text().rstrip() + "\n"
    lines = ["", "## Roles", "",
             "Every role validates its variables with `meta/argument_specs.yml`; all of them are "
             "in [docs/variables.md](docs/variables.md).", "",
             "| role | what it does |", "|---|---|"]
    for name in role_names():
        described = _role_description(root / "roles" / name)
        lines.append(f"| `{NAMESPACE}.{NAME}.{name}` | {described} |")
    lines += ["", "## Playbooks", "",
              "Run as `ansible-playbook dspace.deploy.NAME` (or a job template in AWX, "
              "[docs/collection.md](docs/collection.md)).", "",
              "| playbook | what it does |", "|---|---|"]
    for name in playbook_names():
        summary = _playbook_summary(root / "playbooks" / f"{name}.yml")
        lines.append(f"| `{NAMESPACE}.{NAME}.{name}` | {summary} |")
    lines += ["", "## Documentation", "",
              "- [docs/collection.md](docs/collection.md): build, offline install, AWX",
              "- [docs/variables.md](docs/variables.md): every role variable",
              "- [docs/inventory.md](docs/inventory.md): the inventory the playbooks read",
              "- [docs/stack.md](docs/stack.md): what `site` converges and in which order", ""]
    return text + "\n".join(lines)


def _role_description(role: Path) -> str:
    meta = yaml.safe_load((role / "meta" / "main.yml").read_text()) or {}
    described = str((meta.get("galaxy_info") or {}).get("description") or "")
    return " ".join(described.split()).replace("|", "\\|")


def _playbook_summary(playbook: Path) -> str:
    """The first sentence of the playbook's leading comment."""
    comment = []
    for line in playbook.read_text().splitlines():
        if line.strip() == "---":
            continue
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    text = " ".join(part for part in comment if part)
    first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
    if len(first) > _SUMMARY_CHARS:
        first = first[:_SUMMARY_CHARS].rsplit(" ", 1)[0] + " ..."
    return first.replace("|", "\\|")


def build(out_dir: Path, *, galaxy: str | None = None) -> Built:
    """Stage the collection and build its tarball into `out_dir` (replacing one of the same
    version)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = galaxy or str(Path(sys.executable).parent / "ansible-galaxy")
    if not Path(command).exists() and shutil.which(command) is None:
        raise EnvironmentProblem(
            _("ansible-galaxy is not installed next to dspace-deploy."),
            hint=_("Reinstall dspace-deploy (it depends on ansible-core)."))
    with tempfile.TemporaryDirectory(prefix="dspace-deploy-collection-") as work:
        root = stage(Path(work) / "ansible_collections" / NAMESPACE / NAME)
        done = subprocess.run(
            [command, "collection", "build", "--force", "--output-path", str(out_dir.resolve()),
             str(root)],
            capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split())
        raise EnvironmentProblem(
            _("ansible-galaxy could not build the collection: {detail}").format(detail=detail),
            hint=_("Run `ansible-galaxy collection build` on a staging tree by hand to see "
                   "the whole output (docs/collection.md)."))
    tarball = out_dir / f"{NAMESPACE}-{NAME}-{__version__}.tar.gz"
    return Built(tarball, __version__, tuple(role_names()), tuple(playbook_names()))

