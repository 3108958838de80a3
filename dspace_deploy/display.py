"""What the user sees while a run goes and after it ends.

`LiveProgress` is an event observer: on a terminal it redraws a live panel (current play and
task, per-host counts); elsewhere (CI logs, pipes) it prints one line per task and one per
changed or failed host. `print_summary` renders the per-host recap and every failure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dspace_deploy.events import Event, HostStats, RunSummary, failure_message
from dspace_deploy.i18n import _, pgettext

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

_STATUS_OF = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


@dataclass
class _HostLine(HostStats):
    """Counts so far (the recap's fields) and the host's latest result."""

    last: str = ""


class LiveProgress:
    def __init__(self, console: Console, title: str, verbosity: int = 0) -> None:
        self.console = console
        self.title = title
        self.verbosity = verbosity
        self.play = ""
        self.task = ""
        self.hosts: dict[str, _HostLine] = {}
        self.started = time.monotonic()
        self._live: Live | None = None

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(self._render(), console=self.console, refresh_per_second=4,
                              transient=True)
            self._live.__enter__()
        else:
            self.console.print(f"[bold]{self.title}[/bold]")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def __call__(self, event: Event) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self.play = str(data.get("name", ""))
            self._say(_("PLAY {play}").format(play=self.play))
        elif kind == "playbook_on_task_start":
            self.task = str(data.get("task", ""))
            if self.verbosity or not self.console.is_terminal:
                self._say("  " + _("task: {task}").format(task=self.task))
        elif kind in _STATUS_OF:
            self._host_result(kind, data)
        if self._live is not None:
            self._live.update(self._render())

    def _host_result(self, kind: str, data: dict[str, Any]) -> None:
        host = str(data.get("host", "?"))
        line = self.hosts.setdefault(host, _HostLine())
        res = data.get("res") or {}
        status = _STATUS_OF[kind]
        if status == "ok" and res.get("changed"):
            status = "changed"
        setattr(line, status, getattr(line, status) + 1)
        line.last = f"{_status_word(status)}: {data.get('task', '')}"
        if status in ("failed", "unreachable") and not data.get("ignore_errors"):
            self._say(f"    {_status_word(status)}: {host}: {failure_message(res)}", style="red")
        elif status == "changed" and (self.verbosity or not self.console.is_terminal):
            self._say(f"    {_status_word(status)}: {host}", style="yellow")

    def _say(self, text: str, style: str | None = None) -> None:
        if self._live is not None:
            if style:  # failures stay visible above the live panel
                self._live.console.print(text, style=style, markup=False, highlight=False)
            return
        self.console.print(text, style=style, markup=False, highlight=False)

    def _render(self) -> RenderableType:
        from rich.table import Table

        elapsed = time.monotonic() - self.started
        table = Table(title=f"{self.title} · {elapsed:.0f}s", title_justify="left",
                      caption=f"{self.play} > {self.task}", caption_justify="left")
        for column in ("host", "ok", "changed", "failed", "unreachable"):
            table.add_column(_column(column))
        table.add_column(_("last"))
        for host, line in sorted(self.hosts.items()):
            table.add_row(host, str(line.ok), str(line.changed), str(line.failed),
                          str(line.unreachable), (line.last or _("waiting"))[:60])
        return table


def print_summary(console: Console, summary: RunSummary, artifact_dir: str) -> None:
    from rich.table import Table

    table = Table(title=_("Summary"), title_justify="left")
    for column in ("host", "ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(_column(column), justify="left" if column == "host" else "right")
    for host, stats in sorted(summary.hosts.items()):
        style = None if stats.healthy else "red"
        table.add_row(host, str(stats.ok), str(stats.changed), str(stats.failed),
                      str(stats.unreachable), str(stats.skipped), style=style)
    console.print(table)
    for failure in summary.failures:
        kind = _status_word("unreachable" if failure.unreachable else "failed")
        console.print(f"[red]{kind}[/red] {failure.host} · {failure.task}", highlight=False)
        console.print(f"    {failure.message}", markup=False, highlight=False)
    verdict = ("[green]" + _status_word("ok") + "[/green]" if summary.ok
               else "[red]" + _status_word("failed") + "[/red]")
    console.print(_("{verdict} in {seconds}s · artifacts: {artifacts}").format(
        verdict=verdict, seconds=f"{summary.seconds:.1f}", artifacts=artifact_dir),
        highlight=False)


def _status_word(status: str) -> str:
    """The result of one task on one host (or the verdict of a run)."""
    words = {
        "ok": _("ok"),
        "changed": _("changed"),
        "failed": _("failed"),
        "unreachable": _("unreachable"),
        "skipped": _("skipped"),
    }
    return words.get(status, status)


def _column(status: str) -> str:
    """A column of the recap: how many tasks of a host ended so (Ansible's counts)."""
    words = {
        "host": _("host"),
        "ok": pgettext("recap", "ok"),
        "changed": pgettext("recap", "changed"),
        "failed": pgettext("recap", "failed"),
        "unreachable": pgettext("recap", "unreachable"),
        "skipped": pgettext("recap", "skipped"),
    }
    return words[status]


class PhaseProgress(LiveProgress):
    """LiveProgress for upgrade.yml / rollback.yml: also one line per phase as it starts
    (tasks named "Upgrade phase <name>: ..."), kept above the live panel on a terminal."""

    def __init__(self, console: Console, title: str, verbosity: int = 0) -> None:
        super().__init__(console, title, verbosity)
        self.phase: tuple[str, str] | None = None

    def __call__(self, event: Event) -> None:
        from dspace_deploy.upgrades import phase_line, phase_of

        started = phase_of(event)
        if started is not None and started != self.phase:
            self.phase = started
            self._say(phase_line(*started), style="bold")
        super().__call__(event)
