"""Turn ansible-runner events into a run summary. Pure: no I/O, no Ansible imports.

Per-host counts come from the `playbook_on_stats` event (Ansible's own recap), so tests
and `--json` consumers assert on the same numbers Ansible reports. Failures carry the
task, host and message of each `runner_on_failed` / `runner_on_unreachable` event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from dspace_deploy.i18n import _

Event = dict[str, Any]

# Ansible's stats keys -> our names.
_STATS_KEYS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


@dataclass
class HostStats:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    @property
    def healthy(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


@dataclass
class Failure:
    host: str
    task: str
    message: str
    unreachable: bool = False
    play: str = ""
    action: str = ""


@dataclass
class TaskTiming:
    task: str
    host: str
    seconds: float


@dataclass
class RunSummary:
    hosts: dict[str, HostStats] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    started: datetime | None = None
    finished: datetime | None = None
    slowest: list[TaskTiming] = field(default_factory=list)
    stats_seen: bool = False  # False when Ansible stopped before its recap (e.g. syntax error)

    @property
    def ok(self) -> bool:
        return self.stats_seen and all(s.healthy for s in self.hosts.values())

    @property
    def seconds(self) -> float:
        if self.started and self.finished:
            return (self.finished - self.started).total_seconds()
        return 0.0

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.hosts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "hosts": {name: asdict(stats) for name, stats in sorted(self.hosts.items())},
            "failures": [asdict(f) for f in self.failures],
            "slowest_tasks": [asdict(t) for t in self.slowest],
        }


class SummaryBuilder:
    """Feed it every event of a run, in order; `summary` is the result so far."""

    def __init__(self, keep_slowest: int = 5) -> None:
        self.summary = RunSummary()
        self._keep = keep_slowest
        self._timings: list[TaskTiming] = []

    def feed(self, event: Event) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        stamp = _parse_time(event.get("created"))
        if stamp:
            if self.summary.started is None:
                self.summary.started = stamp
            self.summary.finished = stamp
        if kind in ("runner_on_failed", "runner_on_unreachable"):
            self._failure(kind, data)
        if kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped"):
            self._timing(data)
        if kind == "playbook_on_stats":
            self._stats(data)

    def _failure(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "runner_on_failed" and data.get("ignore_errors"):
            return
        self.summary.failures.append(
            Failure(
                host=str(data.get("host", "?")),
                task=str(data.get("task", "")),
                message=failure_message(data.get("res") or {}),
                unreachable=kind == "runner_on_unreachable",
                play=str(data.get("play", "")),
                action=str(data.get("task_action", "")),
            )
        )

    def _timing(self, data: dict[str, Any]) -> None:
        seconds = data.get("duration")
        if isinstance(seconds, int | float):
            self._timings.append(
                TaskTiming(str(data.get("task", "")), str(data.get("host", "")), float(seconds))
            )
            self._timings.sort(key=lambda t: t.seconds, reverse=True)
            del self._timings[self._keep :]
            self.summary.slowest = list(self._timings)

    def _stats(self, data: dict[str, Any]) -> None:
        self.summary.stats_seen = True
        hosts: dict[str, HostStats] = {}
        names: set[str] = set()
        for key in _STATS_KEYS:
            names.update((data.get(key) or {}).keys())
        names.update((data.get("processed") or {}).keys())
        for name in names:
            counts = {ours: int((data.get(theirs) or {}).get(name, 0)) for theirs, ours in
                      _STATS_KEYS.items()}
            hosts[name] = HostStats(**counts)
        self.summary.hosts = hosts


def event_parts(event: Event) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """(event kind, host, task result, event data) of one event."""
    data = event.get("event_data") or {}
    return (str(event.get("event", "")), str(data.get("host", "")), data.get("res") or {},
            data)


def note_problem(problems: dict[str, str], kind: str, host: str, res: dict[str, Any],
                 data: dict[str, Any]) -> None:
    """A host's first unreachable or (not ignored) failed task, for reports built from the
    events of a run (backups, upgrades): why that host gave no answer."""
    if kind == "runner_on_unreachable":
        problems.setdefault(host, _("unreachable: {error}").format(error=failure_message(res)))
    elif kind == "runner_on_failed" and not data.get("ignore_errors"):
        problems.setdefault(host, f"{data.get('task', '')}: {failure_message(res)}")


def summarize(events: list[Event]) -> RunSummary:
    builder = SummaryBuilder()
    for event in events:
        builder.feed(event)
    return builder.summary


def failure_message(res: dict[str, Any]) -> str:
    """The most useful one-line-ish explanation a task result offers."""
    if res.get("_ansible_no_log") or "censored" in res:
        return _("the output of this task is hidden because it handles secrets (no_log)")
    msg = res.get("msg")
    if isinstance(msg, str) and msg and msg != "non-zero return code":
        return msg.strip()
    stderr = res.get("stderr") or ""
    if isinstance(stderr, str) and stderr.strip():
        return _tail(stderr)
    stdout = res.get("stdout") or ""
    if isinstance(stdout, str) and stdout.strip():
        return _tail(stdout)
    results = res.get("results")
    if isinstance(results, list):
        for item in results:
            if isinstance(item, dict) and item.get("failed"):
                return failure_message(item)
    if isinstance(msg, str) and msg:
        rc = res.get("rc")
        return f"{msg} (rc={rc})" if rc is not None else msg
    return _("the task failed without a message")


def _tail(text: str, lines: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
