"""Event-to-summary conversion, on a real ansible-runner event stream.

`data/runner_events_mixed.json` was recorded from ansible-runner against a podman host
(`lead-probe`: ok, changed, no_log and failing tasks) and a missing one (`ghost`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dspace_deploy.events import SummaryBuilder, failure_message, summarize

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return json.loads((DATA / "runner_events_mixed.json").read_text())


def test_stats_come_from_ansible_recap(events: list[dict]) -> None:
    summary = summarize(events)
    probe = summary.hosts["lead-probe"]
    assert (probe.ok, probe.changed, probe.failed, probe.unreachable) == (3, 1, 1, 0)
    ghost = summary.hosts["ghost"]
    assert (ghost.ok, ghost.unreachable) == (0, 1)
    assert summary.stats_seen
    assert not summary.ok


def test_failures_name_task_host_and_message(events: list[dict]) -> None:
    failures = {f.host: f for f in summarize(events).failures}
    assert failures["ghost"].unreachable
    assert failures["ghost"].task == "Ok task"
    assert "temporary directory" in failures["ghost"].message
    assert not failures["lead-probe"].unreachable
    assert failures["lead-probe"].task == "Failing task"
    assert "rc=1" in failures["lead-probe"].message


def test_no_log_output_never_reaches_summary(events: list[dict]) -> None:
    document = json.dumps(summarize(events).as_dict())
    assert "s3cr3t" not in document


def test_timing_and_slowest_tasks(events: list[dict]) -> None:
    summary = summarize(events)
    assert summary.seconds > 0
    assert summary.slowest
    durations = [t.seconds for t in summary.slowest]
    assert durations == sorted(durations, reverse=True)


def test_without_recap_the_run_is_not_ok() -> None:
    builder = SummaryBuilder()
    builder.feed({"event": "playbook_on_start", "event_data": {}})
    assert not builder.summary.ok


def test_ignored_errors_are_not_failures() -> None:
    builder = SummaryBuilder()
    builder.feed({"event": "runner_on_failed",
                  "event_data": {"host": "h", "task": "t", "ignore_errors": True,
                                 "res": {"msg": "boom"}}})
    assert builder.summary.failures == []


def test_clean_run_is_ok() -> None:
    stats = {"ok": {"a": 5, "b": 5}, "changed": {"a": 0}, "failures": {}, "dark": {},
             "skipped": {"b": 1}, "rescued": {}, "ignored": {}, "processed": {"a": 1, "b": 1}}
    summary = summarize([{"event": "playbook_on_stats", "event_data": stats}])
    assert summary.ok
    assert summary.changed == 0
    assert summary.hosts["b"].skipped == 1


@pytest.mark.parametrize(
    ("res", "expected"),
    [
        ({"msg": "No package matching 'foo'"}, "No package matching 'foo'"),
        ({"msg": "non-zero return code", "stderr": "line1\nE: broken"}, "E: broken"),
        ({"censored": "the output has been hidden", "_ansible_no_log": True}, "no_log"),
        ({"results": [{"failed": False}, {"failed": True, "msg": "item two broke"}]},
         "item two broke"),
        ({}, "without a message"),
    ],
)
def test_failure_message(res: dict, expected: str) -> None:
    assert expected in failure_message(res)
