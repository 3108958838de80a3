"""Where a run's time went, from its runner events: one line per task start (the wall time
until the next task started, the hosts it reached, ok/changed/skipped), the plays, and
the totals a converged re-run is judged by: task starts, and module executions on the
hosts (round trips). Prints, never asserts.

Usage: .venv/bin/python benchmarks/profile_run.py ARTIFACT_DIR [--top 15] [--role ROLE]
ARTIFACT_DIR is a run's artifact directory (the one holding job_events/), e.g.
$XDG_STATE_HOME/dspace-deploy/<site>/runs/artifacts/<run>; benchmarks/labbench.py counts the
same round trips for each timed run. --role ROLE counts the tasks of that role only (e.g.
dspace_tasks: its task starts, its calls to the hosts, the seconds of its tasks).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# Actions that Ansible runs on the controller: no module is sent to the host.
_CONTROLLER = ("set_fact", "debug", "include_tasks", "import_tasks", "include_role",
               "import_role", "meta", "validate_argument_spec", "assert", "fail", "add_host",
               "group_by", "include_vars", "set_stats", "pause")
CONTROLLER_ACTIONS = frozenset(_CONTROLLER) | {f"ansible.builtin.{name}" for name in _CONTROLLER}
RESULTS = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_item_on_ok",
           "runner_item_on_failed")


def is_host_call(event: dict[str, Any]) -> bool:
    """A module run on a host: a result event of an action that is not the controller's.
    A loop counts once per item (each item is one call)."""
    data = event.get("event_data", {})
    if event.get("event") not in RESULTS:
        return False
    action = str(data.get("resolved_action") or data.get("task_action") or "")
    if action in CONTROLLER_ACTIONS:
        return False
    result = data.get("res") or {}
    # not a skipped call, nor the summary of a loop (its items are counted already)
    return not (isinstance(result, dict) and (result.get("skipped") or "results" in result))


@dataclass
class Task:
    name: str
    action: str
    play: str
    started: datetime
    role: str = ""
    seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    host_calls: int = 0


def load_events(directory: Path) -> list[dict[str, Any]]:
    files = sorted((directory / "job_events").glob("*.json"),
                   key=lambda p: int(p.name.split("-", 1)[0]))
    return [json.loads(p.read_text()) for p in files]


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["created"]))


def tasks_of(events: Iterable[dict[str, Any]]) -> tuple[list[Task], float]:
    """The task starts in order, each with the wall time until the next one (or the end of
    the run), and the whole run's wall time from the first event to the last."""
    tasks: list[Task] = []
    play = ""
    first = last = None
    for event in events:
        moment = _time(event)
        first = first or moment
        last = moment
        kind = event.get("event")
        data = event.get("event_data", {})
        if kind == "playbook_on_play_start":
            play = str(data.get("play", ""))
        elif kind == "playbook_on_task_start":
            tasks.append(Task(str(data.get("task", "")),
                              str(data.get("resolved_action") or data.get("task_action") or ""),
                              play, moment, str(data.get("role") or "")))
        elif tasks and str(kind).startswith("runner_on_") and kind != "runner_on_start":
            outcome = str(kind).removeprefix("runner_on_")
            current = tasks[-1]
            current.outcomes[outcome] = current.outcomes.get(outcome, 0) + 1
        if tasks and is_host_call(event):
            tasks[-1].host_calls += 1
    for task, following in zip(tasks, [*tasks[1:], None], strict=True):
        end = following.started if following else last
        task.seconds = (end - task.started).total_seconds() if end else 0.0
    total = (last - first).total_seconds() if first and last else 0.0
    return tasks, total


def report(tasks: list[Task], total: float, top: int) -> str:
    lines = [f"{len(tasks)} task starts, {sum(t.host_calls for t in tasks)} module runs on "
             f"hosts, {len({t.play for t in tasks})} plays, {total:.1f} s from the first "
             f"event to the last"]
    plays: dict[str, float] = {}
    for task in tasks:
        plays[task.play] = plays.get(task.play, 0.0) + task.seconds
    lines.append("per play:")
    lines += [f"  {seconds:6.2f} s  {play}" for play, seconds in plays.items()]
    lines.append("every task start (s, host calls, outcomes, action, name):")
    for task in tasks:
        outcomes = ",".join(f"{k}={v}" for k, v in sorted(task.outcomes.items()))
        lines.append(f"  {task.seconds:6.2f} {task.host_calls:3d}  {outcomes:<22} "
                     f"{task.action.removeprefix('ansible.builtin.'):<24} {task.name}")
    slowest = sorted(tasks, key=lambda t: t.seconds, reverse=True)[:top]
    lines.append(f"slowest {len(slowest)}:")
    lines += [f"  {t.seconds:6.2f} s  {t.name}" for t in slowest]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--role", help="only the tasks of this role (e.g. dspace_tasks)")
    args = parser.parse_args()
    tasks, total = tasks_of(load_events(args.artifacts))
    if args.role:
        tasks = [t for t in tasks if t.role == args.role]
        total = sum(t.seconds for t in tasks)
    print(report(tasks, total, args.top))


if __name__ == "__main__":
    main()
