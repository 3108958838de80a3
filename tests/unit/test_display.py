"""The human output: progress lines in logs (no terminal) and the per-host summary."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from dspace_deploy.display import LiveProgress, print_summary
from dspace_deploy.events import summarize

EVENTS = json.loads((Path(__file__).parent / "data" / "runner_events_mixed.json").read_text())


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=200, color_system=None), buffer


def test_progress_in_a_log_names_plays_tasks_and_failures() -> None:
    console, buffer = _console()
    with LiveProgress(console, "up · t") as live:
        for event in EVENTS:
            live(event)
    out = buffer.getvalue()
    assert "PLAY Probe play" in out
    assert "task: Changed task" in out
    assert "changed: lead-probe" in out
    assert "failed: lead-probe" in out
    assert "unreachable: ghost" in out
    assert "s3cr3t" not in out
    assert live.hosts["lead-probe"].changed == 1
    assert live.hosts["lead-probe"].failed == 1


def test_summary_table_and_failures() -> None:
    console, buffer = _console()
    print_summary(console, summarize(EVENTS), "/runs/x")
    out = buffer.getvalue()
    assert "lead-probe" in out and "ghost" in out
    assert "unreachable ghost · Ok task" in out
    assert "failed lead-probe · Failing task" in out
    assert "failed in" in out and "/runs/x" in out
