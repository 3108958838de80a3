"""The one writer of JSON documents on stdout.

With --json, stdout carries exactly one JSON document on every exit: a verb's result, or the
error document `main()` prints when the verb did not get that far (bad input, a usage error,
an interruption, a bug). Verbs print through `emit()`, which remembers that a document went
out, so that `main()` never adds a second one.
"""

from __future__ import annotations

import json
import sys
from typing import Any

_emitted = False


def emit(document: dict[str, Any]) -> None:
    """Print the verb's JSON document (once per run)."""
    global _emitted
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()
    _emitted = True


def emitted() -> bool:
    return _emitted


def reset() -> None:
    global _emitted
    _emitted = False


def json_requested(argv: list[str]) -> bool:
    """--json among the arguments (before a `--` that ends the options)."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False
