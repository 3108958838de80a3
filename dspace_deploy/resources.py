"""Where the toolkit's Ansible content and the user's state live.

Content (roles, playbooks, the dspace.deploy collection, site templates, ansible.cfg) sits at
the repository root in a checkout or editable install, and under `dspace_deploy/_content/` in
a wheel.
State follows the XDG base directories so that nothing is written next to the code.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def content_root() -> Path:
    """Directory holding roles/, playbooks/, collections/, templates/ and ansible.cfg."""
    bundled = _PACKAGE_DIR / "_content"
    if (bundled / "roles").is_dir():
        return bundled
    return _PACKAGE_DIR.parent


def roles_dir() -> Path:
    return content_root() / "roles"


def collections_dir() -> Path:
    """Directory holding ansible_collections/dspace/deploy (the converged-state stamps)."""
    return content_root() / "collections"


def playbooks_dir() -> Path:
    return content_root() / "playbooks"


def site_templates_dir() -> Path:
    return content_root() / "templates"


def ansible_cfg() -> Path:
    return content_root() / "ansible.cfg"


def checks_dir() -> Path:
    """testinfra check modules shipped inside the package (used by `verify`)."""
    return _PACKAGE_DIR / "checks"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def config_home() -> Path:
    """Per-user configuration, e.g. vault password files (never inside an inventory)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "dspace-deploy"


def state_home() -> Path:
    """Per-user state: run directories with artifacts, fact cache."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "dspace-deploy"


def data_home() -> Path:
    """Per-user data: lab definitions (inventories, SSH keys)."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "dspace-deploy"


def cache_home() -> Path:
    """Rebuildable things: lab base images' build trees, SSH control sockets."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "dspace-deploy"


def vault_password_file(site_name: str) -> Path:
    """Default location of a site's vault password file (mode 0600)."""
    override = os.environ.get("DSPACE_DEPLOY_VAULT_PASSWORD_FILE")
    if override:
        return Path(override)
    return config_home() / "vault-passwords" / f"{site_name}.txt"
