"""Upgrades and rollbacks, controller side: what `upgrade`, `upgrade --plan` and `rollback`
read from their runs (docs/operations.md, "Upgrades").

The work on the hosts is done by playbooks/upgrade.yml and rollback.yml. Each ends with the
task "Report the upgrade" (`debug: var=dspace_upgrade_report`), one per host:

    {mode: plan|run|rollback, instances: [{instance, from, to, kind, supported, reason,
     steps: [str], prechecks: [{name, ok, detail, fix}], disk_needed_bytes,
     downtime_estimate_s, status, phase, failed_phase, error, snapshot: {target, id},
     started, finished, downtime_s, downtime: {start, end}, lost_since}]}

`up` reports the instances it left alone because the inventory asks for another release than
the host runs, in the task "Report instances waiting for an upgrade" (`debug:
var=dspace_upgrade_pending`: [{instance, running, inventory, holds_solr}]).

Everything here is pure: events in, a report and printable lines out. Unreachable hosts and
failed tasks of hosts that gave no report become `problems`, as in backups.py.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from dspace_deploy.errors import EXIT_REFUSED
from dspace_deploy.events import Event, event_parts, note_problem

REPORT_KEY = "dspace_upgrade_report"
PENDING_KEY = "dspace_upgrade_pending"

# The phases of an upgrade, in order (the host record, the report and the task names use
# them; rollback runs the inverse of what was done).
PHASES = ("precheck", "pause_tasks", "snapshot", "maintenance", "stop", "install", "migrate",
          "solr", "start", "reindex", "ui", "finish")
# Task names of upgrade.yml / rollback.yml phases: "Upgrade phase migrate: Migrate the
# database" and "Rollback phase migrate: ..."; the live display shows each phase once.
_PHASE_TASK = re.compile(r"^(Upgrade|Rollback) phase (\w+)\s*:")

# Statuses of an instance after a run (the host record's, plus none and refused).
DONE, FAILED, ROLLED_BACK, ROLLBACK_FAILED = "done", "failed", "rolled_back", "rollback_failed"
NONE, REFUSED, PLANNED = "none", "refused", "planned"


@dataclass
class Precheck:
    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


@dataclass
class InstanceUpgrade:
    """One instance's plan or result, as one host reported it."""

    host: str
    instance: str
    from_version: str = ""
    to_version: str = ""
    kind: str = "none"
    supported: bool = True
    reason: str = ""
    steps: list[str] = field(default_factory=list)
    prechecks: list[Precheck] = field(default_factory=list)
    disk_needed_bytes: int | None = None
    downtime_estimate_s: int | None = None
    status: str = ""
    phase: str = ""
    failed_phase: str = ""
    error: str = ""
    snapshot: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    downtime_s: float | None = None
    downtime: dict[str, Any] = field(default_factory=dict)
    lost_since: Any = None
    notes: list[str] = field(default_factory=list)
    # upgrade (a new one), current, resume or recover (the host's record says an upgrade
    # was interrupted: the run resumes or rolls it back), as the host decided
    decision: str = ""
    # the host's record of this instance before the run: {status, started} (both null
    # without one); a resumed rollout tells its own ended attempt from an older one
    previous: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_prechecks(self) -> list[Precheck]:
        return [c for c in self.prechecks if not c.ok]

    @property
    def nothing_to_do(self) -> bool:
        """Same release on both sides, or nothing installed yet (`up` installs it)."""
        same = not self.from_version or self.from_version == self.to_version
        return self.supported and same and self.status in ("", NONE)

    @property
    def refused(self) -> bool:
        """Refused before anything changed: the path, a precheck, or the run's precheck
        phase."""
        if self.status == REFUSED or (self.status == FAILED and self.failed_phase == "precheck"):
            return True
        return self.status in ("", PLANNED) and (not self.supported
                                                 or bool(self.failed_prechecks))

    @property
    def outcome(self) -> str:
        """none, refused, planned (plan mode, every check passed), done, failed,
        rolled_back, rollback_failed."""
        if self.refused:
            return REFUSED
        if self.nothing_to_do:
            return NONE
        return self.status or PLANNED

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("from_version")
        data["to"] = data.pop("to_version")
        data["outcome"] = self.outcome
        return data


@dataclass
class UpgradeReport:
    """A run's report: every instance of every host that answered, and why others did not."""

    verb: str  # upgrade | rollback
    mode: str  # plan | run
    instances: list[InstanceUpgrade] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # host -> why it gave no report

    @property
    def to_change(self) -> list[InstanceUpgrade]:
        """Instances a run would change (neither nothing to do nor refused)."""
        return [i for i in self.instances if i.outcome not in (NONE, REFUSED)]

    @property
    def refused(self) -> list[InstanceUpgrade]:
        return [i for i in self.instances if i.outcome == REFUSED]

    @property
    def exit_code(self) -> int:
        """0: done, nothing to do, or a plan that can go ahead; 1: a host did not answer, an
        upgrade failed (rolled back or not), a rollback failed; 5: refused, nothing changed."""
        outcomes = {i.outcome for i in self.instances}
        failed = {FAILED, ROLLBACK_FAILED}
        if self.verb == "upgrade":
            failed.add(ROLLED_BACK)  # an upgrade that rolled itself back failed
        if self.problems or outcomes & failed:
            return 1
        if REFUSED in outcomes:
            return EXIT_REFUSED
        return 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "mode": self.mode,
                "instances": [i.as_dict() for i in self.instances],
                "problems": self.problems}


# --- events -> report --------------------------------------------------------------------------


def parse_upgrade_events(events: list[Event], verb: str, mode: str) -> UpgradeReport:
    """The report of an upgrade.yml (verb upgrade) or rollback.yml (verb rollback) run in
    upgrade_mode `mode` (plan or run)."""
    report = UpgradeReport(verb, mode)
    reported: set[str] = set()
    for event in events:
        kind, host, res, data = event_parts(event)
        raw = res.get(REPORT_KEY) if kind == "runner_on_ok" else None
        if isinstance(raw, dict):
            reported.add(host)
            for item in raw.get("instances") or []:
                if isinstance(item, dict):
                    report.instances.append(_instance(host, item))
        else:
            note_problem(report.problems, kind, host, res, data)
    report.problems = {h: p for h, p in report.problems.items() if h not in reported}
    return report


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _instance(host: str, raw: dict[str, Any]) -> InstanceUpgrade:
    error = raw.get("error")
    failed_phase = _text(raw.get("failed_phase"))
    if isinstance(error, dict):  # the record's shape: {phase, message}
        failed_phase = failed_phase or _text(error.get("phase"))
        error = error.get("message")
    seconds = raw.get("downtime_s")
    return InstanceUpgrade(
        host=host,
        instance=_text(raw.get("instance")),
        from_version=_text(raw.get("from")),
        to_version=_text(raw.get("to")),
        kind=_text(raw.get("kind")) or NONE,
        supported=raw.get("supported", True) is not False,
        reason=_text(raw.get("reason")),
        steps=[_text(s) for s in raw.get("steps") or []],
        prechecks=[Precheck(_text(c.get("name")), c.get("ok") is True, _text(c.get("detail")),
                            _text(c.get("fix")))
                   for c in raw.get("prechecks") or [] if isinstance(c, dict)],
        disk_needed_bytes=_number(raw.get("disk_needed_bytes")),
        downtime_estimate_s=_number(raw.get("downtime_estimate_s")),
        status=_text(raw.get("status")),
        phase=_text(raw.get("phase")),
        failed_phase=failed_phase,
        error=_text(error),
        snapshot=dict(raw.get("snapshot") or {}),
        started=_text(raw.get("started")),
        finished=_text(raw.get("finished")),
        downtime_s=float(seconds) if isinstance(seconds, int | float)
        and not isinstance(seconds, bool) else None,
        downtime=dict(raw.get("downtime") or {}),
        lost_since=raw.get("lost_since"),
        notes=[_text(n) for n in raw.get("notes") or []],
        decision=_text(raw.get("decision")),
        previous=dict(raw.get("previous") or {}),
    )


@dataclass
class Pending:
    """An instance `up` left alone: the host runs one release, the inventory asks another."""

    host: str
    instance: str
    running: str
    inventory: str
    holds_solr: bool = False  # the jump changes the Solr major: the host's Solr stays too

    def line(self) -> str:
        held = (" (the host's Solr too: the upgrade moves it to another Solr major)"
                if self.holds_solr else "")
        return (f"{self.instance} on {self.host} runs {self.running}, the inventory says "
                f"{self.inventory}: left unchanged{held}; run `dspace-deploy upgrade "
                f"--instance {self.instance}`")


def pending_upgrades(events: list[Event]) -> list[Pending]:
    """What `up`'s hosts reported in "Report instances waiting for an upgrade"."""
    found: list[Pending] = []
    for event in events:
        kind, host, res, _ = event_parts(event)
        items = res.get(PENDING_KEY) if kind == "runner_on_ok" else None
        if isinstance(items, list):
            found += [Pending(host, _text(i.get("instance")), _text(i.get("running")),
                              _text(i.get("inventory")), i.get("holds_solr") is True)
                      for i in items if isinstance(i, dict)]
    return found


def phase_of(event: Event) -> tuple[str, str] | None:
    """(Upgrade|Rollback, phase) when the event starts a phase's task."""
    if event.get("event") != "playbook_on_task_start":
        return None
    match = _PHASE_TASK.match(str((event.get("event_data") or {}).get("task", "")))
    return (match.group(1), match.group(2)) if match else None


def phase_line(what: str, phase: str) -> str:
    """"upgrade phase 7/12: migrate" for the live display."""
    position = f" {PHASES.index(phase) + 1}/{len(PHASES)}" if phase in PHASES else ""
    return f"{what.lower()} phase{position}: {phase}"


# --- rendering -----------------------------------------------------------------------------


def duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "?"
    total = round(float(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _bytes(value: int | None) -> str:
    from dspace_deploy.backups import human_bytes

    return "?" if value is None else human_bytes(value)


def _snapshot(snap: dict[str, Any]) -> str:
    if not snap.get("id"):
        return ""
    target = f"{snap.get('target')}:" if snap.get("target") else ""
    return f"{target}{str(snap.get('id'))[:8]}"


def describe_plan(item: InstanceUpgrade) -> list[str]:
    """An instance's plan: from -> to, steps, what is rebuilt, disk, downtime, prechecks."""
    head = f"{item.instance} on {item.host}"
    if item.nothing_to_do:
        return [f"{head}: nothing to upgrade ({item.reason or f'runs {item.to_version}'})"]
    kind = f" ({item.kind} upgrade)" if item.kind and item.kind != NONE else ""
    lines = [f"{head}: {item.from_version or '?'} -> {item.to_version or '?'}{kind}"]
    if not item.supported:
        lines.append(f"  REFUSED: {item.reason}")
    if item.steps:
        lines.append("  steps:")
        lines += [f"    {n}. {step}" for n, step in enumerate(item.steps, 1)]
    rebuilt = [s for s in item.steps if any(w in s for w in ("rebuild", "index", "oai import",
                                                              "create the new Solr"))]
    if rebuilt:
        lines.append("  rebuilt or reindexed: " + "; ".join(rebuilt))
    if item.disk_needed_bytes is not None or item.downtime_estimate_s is not None:
        lines.append(f"  disk needed: {_bytes(item.disk_needed_bytes)}; expected downtime: "
                     f"~{duration(item.downtime_estimate_s)}")
    if item.prechecks:
        lines.append("  prechecks:")
        for check in item.prechecks:
            mark = "✓" if check.ok else "✗"
            lines.append(f"    {mark} {check.name}: {check.detail}")
            if not check.ok and check.fix:
                lines.append(f"        fix: {check.fix}")
    return lines


def describe_result(item: InstanceUpgrade, verb: str = "upgrade") -> list[str]:
    """An instance's result after a run. An upgrade goes from -> to and, rolled back, is back
    on from; a rollback (`verb` rollback) goes from the upgraded release to the one before."""
    head = f"{item.instance} on {item.host}"
    outcome = item.outcome
    snap = _snapshot(item.snapshot)
    window = _window(item)
    if outcome == NONE:
        return [f"{head}: nothing to do ({item.reason or f'runs {item.to_version}'})"]
    if outcome == REFUSED:
        lines = [f"{head}: REFUSED, nothing was changed"]
        if not item.supported:
            lines.append(f"  {item.reason}")
        for check in item.failed_prechecks:
            lines.append(f"  ✗ {check.name}: {check.detail}")
            if check.fix:
                lines.append(f"      fix: {check.fix}")
        if item.error and not item.failed_prechecks:
            lines.append(f"  {item.error}")
        return lines
    if outcome == DONE:
        lines = [f"{head}: upgraded {item.from_version} -> {item.to_version}"
                 f"{f' ({item.kind})' if item.kind and item.kind != NONE else ''}"]
        if window:
            lines.append(f"  downtime: {window}")
        if snap:
            lines.append(f"  pre-upgrade snapshot: {snap}")
        return lines
    if outcome == ROLLED_BACK and verb == "rollback":  # by hand
        lines = [f"{head}: rolled back {item.from_version} -> {item.to_version}: the instance "
                 f"is back on {item.to_version}"]
        if not item.notes:
            lines.append(f"  set version: \"{item.to_version}\" on the instance in the "
                         "inventory, or `up` keeps reporting it as waiting for an upgrade")
    elif outcome == ROLLED_BACK:
        lines = [f"{head}: FAILED in phase {item.failed_phase or item.phase or '?'}: "
                 f"{item.error or 'no detail'}",
                 f"  rolled back: the instance is back on {item.from_version}"]
    elif outcome == ROLLBACK_FAILED and verb == "rollback":
        lines = [f"{head}: the ROLLBACK FAILED in phase {item.failed_phase or item.phase or '?'}"
                 f": {item.error or 'no detail'}",
                 "  restore the pre-upgrade snapshot: `dspace-deploy restore --instance "
                 f"{item.instance} --snapshot {item.snapshot.get('id') or 'ID'}` after setting "
                 f"version \"{item.to_version}\" back in the inventory and running `up`"]
    elif outcome == ROLLBACK_FAILED:
        lines = [f"{head}: FAILED in phase {item.failed_phase or item.phase or '?'}, and the "
                 f"ROLLBACK FAILED too: {item.error or 'no detail'}",
                 f"  the instance is in an unknown state (reached phase {item.phase or '?'}); "
                 "restore the pre-upgrade snapshot: `dspace-deploy restore --instance "
                 f"{item.instance} --snapshot {item.snapshot.get('id') or 'ID'}` after setting "
                 f"version \"{item.from_version}\" back in the inventory and running `up`"]
    elif outcome == FAILED:
        lines = [f"{head}: FAILED in phase {item.failed_phase or item.phase or '?'}: "
                 f"{item.error or 'no detail'}"]
    else:  # planned, or a status this version does not know
        lines = [f"{head}: {outcome} (phase {item.phase or '?'})"]
    if window:
        lines.append(f"  downtime: {window}")
    if snap:
        lines.append(f"  pre-upgrade snapshot: {snap}")
    lines += [f"  {note}" for note in item.notes]
    return lines


def _window(item: InstanceUpgrade) -> str:
    start, end = item.downtime.get("start"), item.downtime.get("end")
    seconds = item.downtime_s
    if not (start or seconds is not None):
        return ""
    text = duration(seconds) if seconds is not None else "?"
    if start:
        text += f" ({start} to {end or '?'})"
    return text


def describe_loss(item: InstanceUpgrade) -> list[str]:
    """What a rollback loses: what was written since the upgrade finished. The hosts report
    `lost_since` as {available, since, <table>: rows more than the pre-upgrade copy holds}
    (or {counts: {...}, detail: [...]}, a list of lines, or a sentence)."""
    lost = item.lost_since
    since = item.finished or "the upgrade"
    parts: list[str] = []
    detail: list[str] = []
    if isinstance(lost, dict):
        since = str(lost.get("since") or since)
        if lost.get("available") is False:
            return [f"  what was written to {item.instance} since {since} could NOT be "
                    "counted: everything written since then is lost by the rollback"]
        counts = lost.get("counts")
        if not isinstance(counts, dict):
            counts = {k: v for k, v in lost.items()
                      if k not in ("since", "detail", "available")}
        parts = [f"{v} {k}" for k, v in counts.items() if v not in (0, "0", None)]
        detail = [str(d) for d in lost.get("detail") or []]
    elif isinstance(lost, list):
        detail = [str(d) for d in lost]
    elif lost:
        detail = [str(lost)]
    if not parts and not detail:
        return [f"  nothing was written to {item.instance} since {since}: nothing is lost"]
    lines = [f"  LOST by the rollback, written to {item.instance} since {since}: "
             + (", ".join(parts) if parts else "see below")]
    lines += [f"    {d}" for d in detail]
    return lines
