"""What integration tests share: running the real `dspace-deploy` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXE = str(Path(sys.executable).parent / "dspace-deploy")


def cli(*args: str) -> tuple[int, dict[str, Any], str]:
    """Run `dspace-deploy ARGS --json`; return exit code, its JSON document and stderr.
    Fails the test when stdout is not exactly one JSON document or stderr has a traceback."""
    done = subprocess.run([EXE, *args, "--json"], capture_output=True, text=True,
                          check=False, env=os.environ.copy())
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"stdout is not one JSON document:\n{done.stdout}\n{done.stderr}")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, document, done.stderr
