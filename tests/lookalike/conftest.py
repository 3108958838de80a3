"""Fixtures of the look-alike's tests: a throwaway PostgreSQL cluster per module and the
processes a test starts (killed at teardown). Helpers live in test_lookalike.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.lookalike.test_lookalike import MISSING, Postgres, Procs


@pytest.fixture(scope="module")
def pg():
    if MISSING:
        pytest.skip(f"missing: {', '.join(MISSING)}")
    base = Path(tempfile.mkdtemp(prefix="lookalike-pg-"))
    os.chmod(base, 0o755)
    cluster = Postgres(base / "cluster")
    yield cluster
    cluster.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.close()
