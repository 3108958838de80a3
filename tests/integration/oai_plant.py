"""Plant OAI records that break named validation rules into a lab host's look-alike instance
(tests/lookalike/seed.py PLANTED; docs/oai-validation.md, "Planting records"), for the network
report's lab test: the rows go into the instance's database the way every look-alike seed writes
them, then DSpace's own `oai import` indexes them (through `dspace-backup reindex`, which runs it
as the role configured it and checks the cores' counts against the database)."""

from __future__ import annotations

import json
import subprocess

from tests.lookalike.seed import content_sql, planted_content


def plant_oai_problems(
    container: str,
    instance: str,
    prefix: str,
    ui_url: str,
    first: int = 9000,
    names: tuple[str, ...] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Plant the records (every PLANTED one, or those of `names`) into `instance` on the lab
    host `container` and index them; returns {handle: rule ids the record breaks} (an empty
    tuple for the conforming control record)."""
    communities, collections, items, expected = planted_content(prefix, ui_url, first, names)
    psql = ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-q",
            "-d", f"dspace_{instance}"]  # fmt: skip
    done = subprocess.run(
        ["podman", "exec", "-i", container, *psql],
        input=content_sql(communities, collections, items),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"planting the OAI records failed: {done.stderr}")
    done = subprocess.run(
        ["podman", "exec", container, "/usr/local/sbin/dspace-backup", "reindex", instance,
         "--search", "update", "--oai", "import", "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        result = json.loads(done.stdout)  # one (indented) JSON document
    except ValueError:
        result = {}
    if done.returncode != 0 or not result.get("ok"):
        raise AssertionError(f"indexing the planted records failed: {done.stdout}{done.stderr}")
    return expected
