"""`init`: scaffold a new site inventory. (Filled in by the inventory work.)"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
