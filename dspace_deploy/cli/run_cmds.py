"""`check`, `up`, `verify`: verbs that run against the hosts of a site."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
