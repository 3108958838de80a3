"""Rolling upgrades across a fleet, controller side (docs/upgrade.md, "Fleet rollouts").

`dspace-deploy upgrade --waves/--canary/--max-fail/--pause/--resume` upgrades many hosts in
waves. The unit of work stays the single-host upgrade (playbooks/upgrade.yml and the host's
record /var/lib/dspace-deploy/upgrade/<instance>.json); this module decides which hosts go in
which wave, when to stop, and keeps the rollout's journal on the controller:

    ~/.local/state/dspace-deploy/<site>/rollouts/<id>.json

written atomically after every change (a host entering a phase, a host finishing, a wave
starting, the rollout stopping), so that `upgrade --resume` continues a rollout stopped by
max-fail, by Ctrl-C or by the controller's death. The waves are driven from here, one run of
upgrade.yml per wave with `--limit`, so that the journal, max-fail and the pause between waves
stay under the CLI's control; Ansible's own `serial` would hide them inside one run.

Everything here is pure apart from the journal's file I/O and the injected `run_wave`.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import InputError
from dspace_deploy.i18n import _
from dspace_deploy.upgrades import (
    DONE,
    FAILED,
    NONE,
    ROLLBACK_FAILED,
    ROLLED_BACK,
    InstanceUpgrade,
    UpgradeReport,
    duration,
)

JOURNAL_FORMAT = 1

# Host outcomes (journal, report, --json).
PENDING = "pending"  # placed in a wave, not launched yet
RUNNING = "running"  # its wave was launched and it has not finished
UPGRADED = "upgraded"
HOST_ROLLED_BACK = "rolled_back"
HOST_FAILED = "failed"
SKIPPED = "skipped"
UNREACHABLE = "unreachable"
NOT_STARTED = "not_started"  # the rollout stopped before its wave
INTERRUPTED = "interrupted"  # in its wave when the rollout was interrupted: --resume settles it
FINAL = (UPGRADED, HOST_ROLLED_BACK, HOST_FAILED, SKIPPED, UNREACHABLE)
# What counts against --max-fail: a launched host that did not end on the target. Hosts
# skipped by their prechecks and hosts unreachable before their wave changed nothing.
FAILURES = (HOST_ROLLED_BACK, HOST_FAILED, UNREACHABLE)

# Rollout states and why a rollout stopped.
ACTIVE = "running"
STOPPED = "stopped"
FINISHED = "finished"
STOP_CANARY = "canary_failed"
STOP_MAX_FAIL = "max_fail_exceeded"
STOP_OPERATOR = "stopped_at_pause"
STOP_INTERRUPTED = "interrupted"


# --- flags ---------------------------------------------------------------------------------


def parse_waves(text: str) -> list[str]:
    """`--waves 1,5,20%` as a list of sizes ("1", "5", "20%"): Ansible's `serial` list (the
    last size repeats for the remaining hosts; a percentage is of the hosts of the rollout,
    rounded down and at least 1). InputError for anything else."""
    sizes = [part.strip() for part in text.split(",")]
    bad = [s for s in sizes if not _size_ok(s)]
    if not text.strip() or bad:
        shown = ", ".join(repr(s) for s in bad) or repr(text)
        raise InputError(
            _("--waves {value}: {bad} is not a wave size. A wave size is a number of hosts "
              "(1 or more) or a percentage of the rollout's hosts (1% to 100%), and the sizes "
              "are separated by commas; the last one repeats for the hosts that remain.")
            .format(value=text, bad=shown),
            hint=_("Example: --waves 1,5,20% (one host, then five, then a fifth of the hosts "
                   "per wave)."))
    return sizes


def _size_ok(size: str) -> bool:
    digits = size[:-1] if size.endswith("%") else size
    if not digits.isdigit():
        return False
    value = int(digits)
    return 1 <= value <= 100 if size.endswith("%") else value >= 1


@dataclass(frozen=True)
class MaxFail:
    """`--max-fail N|PCT`: the failures a rollout tolerates; one more stops new waves."""

    count: int | None = None
    percent: int | None = None

    @property
    def text(self) -> str:
        return f"{self.percent}%" if self.percent is not None else str(self.count or 0)

    def allowed(self, total: int) -> int:
        """The failures allowed among `total` hosts (rounded down)."""
        if self.percent is not None:
            return self.percent * total // 100
        return self.count or 0

    def exceeded(self, failures: int, total: int) -> bool:
        return failures > self.allowed(total)


def parse_max_fail(text: str) -> MaxFail:
    value = text.strip()
    digits = value[:-1] if value.endswith("%") else value
    if not digits.isdigit() or (value.endswith("%") and int(digits) > 100):
        raise InputError(
            _("--max-fail {value} is not a number of hosts (0 or more) or a percentage of the "
              "rollout's hosts (0% to 100%).").format(value=text),
            hint=_("Example: --max-fail 2 goes on after two failed hosts and stops launching "
                   "waves at the third; --max-fail 10% allows a tenth of the hosts to fail."))
    if value.endswith("%"):
        return MaxFail(percent=int(digits))
    return MaxFail(count=int(digits))


def parse_pause(text: str | None) -> str:
    """`--pause SECONDS|prompt` between waves: "" (none), "prompt", or a number of seconds."""
    if text is None:
        return ""
    value = text.strip().lower()
    if value == "prompt" or (value.isdigit() and int(value) >= 0):
        return value
    raise InputError(
        _("--pause {value} is neither a number of seconds nor `prompt`.").format(value=text),
        hint=_("--pause 300 waits five minutes between waves; --pause prompt asks before each "
               "wave."))


def checked_canaries(canaries: list[str], hosts: list[str], limit: str | None) -> list[str]:
    """The --canary hosts, each one of the selected hosts."""
    unknown = [c for c in canaries if c not in hosts]
    if unknown:
        where = (_("the hosts of --limit {limit}").format(limit=limit) if limit
                 else _("the site"))
        raise InputError(
            _("--canary {unknown}: not among {where} ({hosts}).").format(
                unknown=", ".join(unknown), where=where, hosts=", ".join(hosts)),
            hint=_("Name a host of the inventory (its name in hosts.yml) that the rollout "
                   "upgrades."))
    return list(dict.fromkeys(canaries))


# --- waves ---------------------------------------------------------------------------------


def wave_sizes(sizes: list[str], total: int) -> Iterable[int]:
    """Hosts per wave for `total` hosts, as Ansible's `serial` list computes them."""
    index = 0
    while True:
        size = sizes[index]
        if size.endswith("%"):
            yield max(1, int(int(size[:-1]) / 100 * total))
        else:
            yield int(size)
        index = min(index + 1, len(sizes) - 1)


def compute_waves(hosts: list[str], sizes: list[str], canaries: list[str]) -> list[list[str]]:
    """The waves, in order: the canaries first (one wave of their own), then the other hosts
    in inventory order, cut by `sizes` (percentages of the non-canary hosts)."""
    waves = [[h for h in hosts if h in canaries]] if any(h in canaries for h in hosts) else []
    rest = [h for h in hosts if h not in canaries]
    remaining = list(rest)
    for size in wave_sizes(sizes or ["100%"], len(rest)):
        if not remaining:
            break
        waves.append(remaining[:size])
        remaining = remaining[size:]
    return waves


# --- the journal ---------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class HostEntry:
    """One host of the rollout."""

    host: str
    wave: int | None = None  # index in Journal.waves; None: not placed in a wave
    canary: bool = False
    outcome: str = PENDING
    reason: str = ""  # why skipped, unreachable, failed, not started
    phase: str = ""  # the phase it is in, or reached
    phases: list[str] = field(default_factory=list)  # phases entered, in order
    failed_phase: str = ""
    error: str = ""
    instances: list[dict[str, Any]] = field(default_factory=list)
    started: str = ""
    finished: str = ""

    @property
    def on_target(self) -> bool:
        """Ended on the inventory's release: upgraded, or had nothing to do."""
        return self.outcome == UPGRADED or (self.outcome == SKIPPED and bool(self.instances)
                                            and all(i.get("outcome") == NONE
                                                    for i in self.instances))

    @property
    def downtime_s(self) -> float | None:
        values = [i["downtime_s"] for i in self.instances
                  if isinstance(i.get("downtime_s"), int | float)]
        return float(sum(values)) if values else None

    @property
    def snapshots(self) -> list[str]:
        return [str(i["snapshot"]["id"]) for i in self.instances
                if isinstance(i.get("snapshot"), dict) and i["snapshot"].get("id")]


@dataclass
class Journal:
    """A rollout: its options, waves, hosts, the release it uses, and how it ended."""

    id: str
    site: str
    inventory: str
    options: dict[str, Any]
    waves: list[list[str]] = field(default_factory=list)
    hosts: dict[str, HostEntry] = field(default_factory=dict)
    status: str = ACTIVE
    stop_reason: str = ""
    stop_detail: str = ""
    wave: int | None = None  # the wave launched last
    release: dict[str, Any] = field(default_factory=dict)  # source, prepared, manifests
    runs: list[str] = field(default_factory=list)  # ansible-runner artifact directories
    resumed: int = 0
    created: str = field(default_factory=_now)
    updated: str = ""
    format: int = JOURNAL_FORMAT
    path: Path | None = None
    persist: bool = True  # False for `upgrade --plan`: nothing is written

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        data.pop("persist")
        for name, entry in self.hosts.items():
            data["hosts"][name].update(on_target=entry.on_target,
                                       downtime_s=entry.downtime_s)
        return data

    def save(self) -> None:
        """Write the journal atomically (a temporary file renamed over it), private."""
        if not self.persist:
            return
        if self.path is None:
            self.path = rollouts_dir(self.site) / f"{self.id}.json"
        self.updated = _now()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps(self.as_dict(), indent=1, default=str)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- questions ----------------------------------------------------------------------

    def in_outcome(self, *outcomes: str) -> list[HostEntry]:
        return [e for e in self.hosts.values() if e.outcome in outcomes]

    @property
    def totals(self) -> dict[str, int]:
        counts = {o: 0 for o in (UPGRADED, HOST_ROLLED_BACK, HOST_FAILED, SKIPPED, UNREACHABLE,
                                 NOT_STARTED, INTERRUPTED)}
        for entry in self.hosts.values():
            shown = shown_outcome(entry)
            counts[shown] = counts.get(shown, 0) + 1
        counts["instances_upgraded"] = sum(
            1 for e in self.hosts.values() for i in e.instances if i.get("outcome") == DONE)
        return counts

    @property
    def rollout_hosts(self) -> list[str]:
        """Hosts placed in a wave (the base of --max-fail's percentage)."""
        return [h for wave in self.waves for h in wave]

    @property
    def all_on_target(self) -> bool:
        return all(e.on_target for e in self.hosts.values())

    @property
    def unfinished(self) -> bool:
        return self.status != FINISHED


def rollouts_dir(site_name: str) -> Path:
    """Beside the site's runs/ (runner.runs_dir), private like it."""
    return resources.state_home() / site_name / "rollouts"


def new_journal(site: str, inventory: str, options: dict[str, Any]) -> Journal:
    ident = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    return Journal(id=ident, site=site, inventory=inventory, options=options)


def load_journal(path: Path) -> Journal:
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != JOURNAL_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}")
        hosts = {}
        for name, entry in (raw.get("hosts") or {}).items():
            known = {k: v for k, v in entry.items() if k in HostEntry.__dataclass_fields__}
            hosts[name] = HostEntry(**known)
        known = {k: v for k, v in raw.items()
                 if k in Journal.__dataclass_fields__ and k not in ("hosts", "path", "persist")}
        return Journal(**known, hosts=hosts, path=path)
    except (OSError, ValueError, TypeError, AttributeError) as problem:
        raise InputError(
            _("The rollout journal {path} cannot be read ({problem}).").format(
                path=path, problem=problem),
            hint=_("Move it aside to start a new rollout; the hosts' own upgrade records "
                   "still let a new `upgrade` resume or roll back what was interrupted."),
        ) from problem


def last_unfinished(site_name: str) -> Journal | None:
    """The newest journal of the site whose rollout did not finish."""
    directory = rollouts_dir(site_name)
    for path in sorted(directory.glob("*.json"), reverse=True) if directory.is_dir() else []:
        journal = load_journal(path)
        if journal.unfinished:
            return journal
    return None


# --- a host's result ------------------------------------------------------------------------


def instance_summary(item: InstanceUpgrade) -> dict[str, Any]:
    """What the journal keeps of an instance."""
    return {"instance": item.instance, "from": item.from_version, "to": item.to_version,
            "outcome": item.outcome, "phase": item.phase, "failed_phase": item.failed_phase,
            "error": item.error, "snapshot": item.snapshot, "downtime_s": item.downtime_s,
            "downtime": item.downtime, "started": item.started, "finished": item.finished}


def planned_outcome(items: list[InstanceUpgrade], problem: str | None) -> tuple[str, str]:
    """A host's place after the plan run: (PENDING|SKIPPED|UNREACHABLE, reason)."""
    if problem is not None and not items:
        if problem.startswith("unreachable"):
            return UNREACHABLE, problem
        return SKIPPED, _("the plan failed: {problem}").format(problem=problem)
    refused = [i for i in items if i.refused]
    if refused:
        reasons = []
        for item in refused:
            why = "; ".join(f"{c.name}: {c.detail}" for c in item.failed_prechecks)
            reasons.append(f"{item.instance}: {why or item.reason or item.error}")
        return SKIPPED, _("prechecks failed ({reasons})").format(reasons="; ".join(reasons))
    if not items or all(i.nothing_to_do for i in items):
        return SKIPPED, _("already runs the inventory's release")
    return PENDING, ""


def run_outcome(items: list[InstanceUpgrade], problem: str | None) -> tuple[str, str, str]:
    """A host's outcome after its wave: (outcome, failed phase, message)."""
    failed = [i for i in items if i.outcome in (FAILED, ROLLBACK_FAILED, ROLLED_BACK)]
    if failed:
        worst = next((i for i in failed if i.outcome != ROLLED_BACK), failed[0])
        outcome = HOST_ROLLED_BACK if worst.outcome == ROLLED_BACK else HOST_FAILED
        return outcome, worst.failed_phase or worst.phase, f"{worst.instance}: {worst.error}"
    if problem is not None:
        return ((UNREACHABLE, "", problem) if problem.startswith("unreachable")
                else (HOST_FAILED, "", problem))
    refused = [i for i in items if i.refused]
    if refused:
        _outcome, reason = planned_outcome(items, None)
        return SKIPPED, "precheck", reason
    if items and all(i.outcome in (DONE, NONE) for i in items):
        return UPGRADED, "", ""
    if not items:
        return HOST_FAILED, "", _("the host reported no instance")
    odd = next(i for i in items if i.outcome not in (DONE, NONE))
    return HOST_FAILED, odd.phase, f"{odd.instance}: {odd.outcome}"


# --- the rollout ----------------------------------------------------------------------------

RunWave = Callable[[list[str], Callable[[str, str], None], Callable[[str, list[InstanceUpgrade]],
                                                                      None]], UpgradeReport]
"""run_wave(hosts, on_phase(host, phase), on_report(host, instances)) -> the wave's report."""


@dataclass
class Rollout:
    """Launches the waves of a journal, one after the other, and decides when to stop."""

    journal: Journal
    run_wave: RunWave
    max_fail: MaxFail
    pause: Callable[[int], bool]  # before wave N (0-based); False: the operator stops
    on_host_done: Callable[[HostEntry], None] = lambda entry: None
    failures: int = 0  # since this rollout was started or resumed

    def run(self) -> Journal:
        journal = self.journal
        journal.status, journal.stop_reason, journal.stop_detail = ACTIVE, "", ""
        journal.save()
        first = True
        for number, wave in enumerate(journal.waves):
            todo = [h for h in wave if journal.hosts[h].outcome in (PENDING, RUNNING)]
            if not todo:
                continue
            if not first and not self.pause(number):
                return self._stop(STOP_OPERATOR, _("the operator stopped before wave "
                                                   "{n}").format(n=number + 1))
            first = False
            self._launch(number, todo)
            canaries = [journal.hosts[h] for h in todo if journal.hosts[h].canary]
            bad = [e for e in canaries if not e.on_target]
            if bad:
                return self._stop(STOP_CANARY, "; ".join(_why(e) for e in bad))
            total = len(journal.rollout_hosts)
            if self.max_fail.exceeded(self.failures, total) and self._more_after(number):
                return self._stop(STOP_MAX_FAIL, _(
                    "{failures} failed hosts, more than --max-fail {text} allows "
                    "({allowed} of {total})").format(
                    failures=self.failures, text=self.max_fail.text,
                    allowed=self.max_fail.allowed(total), total=total))
        journal.status = FINISHED
        journal.save()
        return journal

    def _more_after(self, number: int) -> bool:
        return any(self.journal.hosts[h].outcome in (PENDING, RUNNING)
                   for wave in self.journal.waves[number + 1:] for h in wave)

    def _launch(self, number: int, hosts: list[str]) -> None:
        journal = self.journal
        journal.wave = number
        started = _now()
        for host in hosts:
            entry = journal.hosts[host]
            entry.outcome, entry.started = RUNNING, entry.started or started
        journal.save()

        def on_phase(host: str, phase: str) -> None:
            entry = journal.hosts.get(host)
            if entry is None or entry.outcome != RUNNING:
                return
            entry.phase = phase
            if phase not in entry.phases:
                entry.phases.append(phase)
            journal.save()

        def on_report(host: str, items: list[InstanceUpgrade]) -> None:
            self._settle(host, items, None)

        try:
            report = self.run_wave(hosts, on_phase, on_report)
        except KeyboardInterrupt:
            self._stop(STOP_INTERRUPTED, _("interrupted (Ctrl-C) during wave {n}").format(
                n=number + 1))
            raise
        by_host: dict[str, list[InstanceUpgrade]] = {}
        for item in report.instances:
            by_host.setdefault(item.host, []).append(item)
        for host in hosts:
            if journal.hosts[host].outcome == RUNNING:
                self._settle(host, by_host.get(host, []), report.problems.get(host)
                             if host not in by_host else None)

    def _settle(self, host: str, items: list[InstanceUpgrade], problem: str | None) -> None:
        entry = self.journal.hosts[host]
        if entry.outcome != RUNNING:
            return
        outcome, phase, message = run_outcome(items, problem)
        if items:
            entry.instances = _merged(entry.instances, items)
        entry.outcome, entry.failed_phase, entry.finished = outcome, phase, _now()
        if outcome == SKIPPED:
            entry.reason = message
        else:
            entry.error = message
        if outcome in FAILURES:
            self.failures += 1
        self.journal.save()
        self.on_host_done(entry)

    def _stop(self, reason: str, detail: str) -> Journal:
        journal = self.journal
        journal.status, journal.stop_reason, journal.stop_detail = STOPPED, reason, detail
        journal.save()
        return journal


def _why(entry: HostEntry) -> str:
    detail = entry.error or entry.reason
    return f"{entry.host}: {shown_outcome(entry)}" + (f" ({detail})" if detail else "")


def _merged(known: list[dict[str, Any]], items: list[InstanceUpgrade]) -> list[dict[str, Any]]:
    """The run's instances over the plan's (an instance the run did not report keeps its
    planned entry)."""
    merged = {i["instance"]: i for i in known}
    for item in items:
        merged[item.instance] = instance_summary(item)
    return list(merged.values())


def mark_not_started(journal: Journal) -> None:
    """For the final report: hosts whose wave never came, or that were in their wave when
    the rollout was interrupted, say so (the journal keeps them pending or running, which
    is what --resume continues)."""
    for entry in journal.hosts.values():
        if entry.outcome == PENDING:
            entry.reason = entry.reason or _("the rollout stopped before its wave")
        elif entry.outcome == RUNNING:
            entry.reason = entry.reason or _(
                "interrupted in phase {phase}: --resume resumes or rolls it back").format(
                    phase=entry.phase or "?")


def shown_outcome(entry: HostEntry) -> str:
    return {PENDING: NOT_STARTED, RUNNING: INTERRUPTED}.get(entry.outcome, entry.outcome)


# --- resume ---------------------------------------------------------------------------------


def resume_plan(journal: Journal, planned: dict[str, tuple[list[InstanceUpgrade],
                                                          str | None]]) -> None:
    """Settle, before relaunching, the hosts the journal left unfinished (`pending`, or
    `running` when the controller died), from a fresh plan of them (`planned`: host ->
    (instances, problem)):
      - an instance whose host record says it is mid-upgrade (decision resume or recover)
        goes again: upgrade.yml resumes it or rolls it back from the record;
      - an instance whose record shows an upgrade that began during this rollout (record
        `started` not before the host's start in the journal) and ended rolled back or
        failed while the controller was away is not upgraded a second time: the host
        keeps that outcome;
      - a host the plan finds on the target is upgraded if its wave had begun (it finished
        while the controller was away), else skipped as already there;
      - everything else goes again as planned."""
    for host, entry in journal.hosts.items():
        if entry.outcome not in (PENDING, RUNNING) or host not in planned:
            continue
        items, problem = planned[host]
        outcome, reason = planned_outcome(items, problem)
        ended = [i for i in items if _ended_in_rollout(i, entry)]
        if ended and not any(i.decision in ("resume", "recover") for i in items):
            worst = next((i for i in ended if i.previous.get("status") != ROLLED_BACK),
                         ended[0])
            entry.outcome = (HOST_ROLLED_BACK if worst.previous.get("status") == ROLLED_BACK
                             else HOST_FAILED)
            entry.finished = _now()
            entry.error = _("{instance}: its upgrade ended {status} while the controller was "
                            "away (see the host's upgrade record); not upgraded a second "
                            "time").format(instance=worst.instance,
                                           status=worst.previous.get("status"))
            left = [i.instance for i in items if not i.nothing_to_do and i not in ended]
            if left:
                entry.error += _("; not upgraded either: {names}").format(names=", ".join(left))
        elif outcome == SKIPPED and not any(i.refused for i in items) \
                and entry.outcome == RUNNING:
            entry.outcome, entry.finished = UPGRADED, _now()
            entry.instances = [{**i, "outcome": DONE} for i in entry.instances] or \
                [instance_summary(i) for i in items]
        elif outcome in (SKIPPED, UNREACHABLE):
            entry.outcome, entry.reason, entry.finished = outcome, reason, _now()
        else:
            entry.outcome = PENDING
    journal.status, journal.stop_reason, journal.stop_detail = ACTIVE, "", ""
    journal.resumed += 1


def _ended_in_rollout(item: InstanceUpgrade, entry: HostEntry) -> bool:
    """The instance's record shows an attempt of this rollout that ended without the
    target (rolled back or failed), which the plan would start again."""
    previous = item.previous or {}
    started = str(previous.get("started") or "")
    return (item.decision == "upgrade" and bool(entry.started) and started >= entry.started
            and previous.get("status") in (ROLLED_BACK, FAILED, ROLLBACK_FAILED))


def resume_command(journal: Journal) -> str:
    parts = ["dspace-deploy", "upgrade", "--inventory", journal.inventory, "--resume"]
    vault = journal.options.get("vault_password_file")
    if vault:
        parts += ["--vault-password-file", str(vault)]
    return " ".join(shlex.quote(p) for p in parts)


# --- rendering ------------------------------------------------------------------------------


def host_line(entry: HostEntry, waves: int) -> str:
    """One line per host as it finishes (and in the final report)."""
    wave = (_("canary") if entry.canary else
            _("wave {n}/{total}").format(n=(entry.wave or 0) + 1, total=waves)
            if entry.wave is not None else _("no wave"))
    versions = ", ".join(f"{i.get('instance')} {i.get('from') or '?'}->{i.get('to') or '?'}"
                         + (f" ({i.get('outcome')})" if i.get("outcome") not in
                            (DONE, NONE, "planned", None) else "")
                         for i in entry.instances) or "-"
    text = f"{entry.host} [{wave}] {shown_outcome(entry).upper()}: {versions}"
    if entry.failed_phase or entry.error:
        text += " — " + _("phase {phase}: {error}").format(phase=entry.failed_phase or "?",
                                                          error=entry.error or "?")
    elif entry.reason:
        text += f" — {entry.reason}"
    if entry.downtime_s is not None:
        text += " · " + _("downtime {d}").format(d=duration(entry.downtime_s))
    if entry.snapshots:
        text += " · " + _("snapshot {ids}").format(ids=", ".join(s[:12] for s in entry.snapshots))
    return text


def stop_sentence(journal: Journal) -> str:
    reasons = {
        STOP_CANARY: _("Stopped: the canary did not end on the target ({detail})."),
        STOP_MAX_FAIL: _("Stopped: {detail}; no new wave was launched."),
        STOP_OPERATOR: _("Stopped: {detail}."),
        STOP_INTERRUPTED: _("Stopped: {detail}."),
    }
    if journal.status == FINISHED:
        return _("Finished: every wave ran.")
    return reasons.get(journal.stop_reason, _("Stopped: {detail}.")).format(
        detail=journal.stop_detail or journal.stop_reason)


def final_lines(journal: Journal) -> list[str]:
    waves = len(journal.waves)
    lines = [_("Rollout {id} of site {site}: {n} hosts, {w} waves").format(
        id=journal.id, site=journal.site, n=len(journal.hosts), w=waves)]
    order = {h: n for n, h in enumerate(journal.rollout_hosts)}
    for entry in sorted(journal.hosts.values(), key=lambda e: (order.get(e.host, 1 << 30),
                                                                 e.host)):
        lines.append("  " + host_line(entry, waves))
    totals = journal.totals
    lines.append(_("Totals: {up} upgraded, {rb} rolled back, {failed} failed, {skipped} "
                   "skipped, {unreachable} unreachable, {ns} not started, {intr} interrupted "
                   "({inst} instances upgraded)").format(
        up=totals[UPGRADED], rb=totals[HOST_ROLLED_BACK], failed=totals[HOST_FAILED],
        skipped=totals[SKIPPED], unreachable=totals[UNREACHABLE], ns=totals[NOT_STARTED],
        intr=totals[INTERRUPTED], inst=totals["instances_upgraded"]))
    prepared = journal.release.get("prepared") or {}
    if prepared:
        lines.append(_("Release bundles prepared once on the controller and copied to every "
                       "host: {keys}").format(keys=", ".join(
                           f"{k} (x{v})" for k, v in sorted(prepared.items()))))
    lines.append(stop_sentence(journal))
    if journal.unfinished:
        lines.append(_("Resume with: {command}").format(command=resume_command(journal)))
    return lines


def document(journal: Journal) -> dict[str, Any]:
    """The --json document of a rollout."""
    data = journal.as_dict()
    for name, entry in journal.hosts.items():
        data["hosts"][name]["outcome"] = shown_outcome(entry)
    data.update(ok=journal.all_on_target, totals=journal.totals, journal=str(journal.path),
                stop_sentence=stop_sentence(journal),
                resume_command=resume_command(journal) if journal.unfinished else None)
    return data
