"""`lab up | list | down`: podman lab hosts. (Filled in by the lab work.)"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
