"""Host programs of the roles (Python files without the .py suffix) loaded as modules, so that
their pure parts can be unit-tested."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_program(relative: str, name: str) -> ModuleType:
    """The program at REPO/`relative` as the module `name`."""
    loader = importlib.machinery.SourceFileLoader(name, str(REPO / relative))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
