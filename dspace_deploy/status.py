"""`dspace-deploy status`: what runs on each host, from the events of playbooks/status.yml.

The playbook is read-only. On each host it lists the stack's systemd units (one
`systemctl list-units` call), asks each backend for its REST root and its actuator health on
127.0.0.1, and reports all of it, raw, in one task result (`dspace_status`, task "Report the
status"). Everything here is pure: it reads those events (plus the unreachable and failed
ones) and turns them into a `StatusReport`, which renders as a table or one JSON document.

Healthy means: the host answered; postgresql, solr and nginx are active; for every instance
the backend, UI and handle units are active, no task unit has failed, no task timer is
inactive, the REST root answers with a `dspaceVersion`, and the actuator `status` is UP or
UP_WITH_ISSUES (contract 7.2: the HTTP code is 200 even when DOWN, so the JSON decides).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from dspace_deploy.events import Event, failure_message
from dspace_deploy.i18n import _

if TYPE_CHECKING:
    from rich.console import Console

REPORT_KEY = "dspace_status"
HEALTHY_STATES = ("UP", "UP_WITH_ISSUES")
# Host-level services and the units that carry them (docs/stack.md, "Conventions").
HOST_SERVICES = ("postgresql", "solr", "nginx")
INSTANCE_SERVICES = ("backend", "ui", "handle")


@dataclass
class InstanceStatus:
    name: str
    line: str = ""
    flavor: str = ""
    planned_version: str = ""  # what the inventory asks for
    version: str | None = None  # the REST root's dspaceVersion, e.g. "DSpace 9.3"
    cris_version: str | None = None
    health: str | None = None  # actuator JSON status, e.g. UP_WITH_ISSUES
    services: dict[str, str] = field(default_factory=dict)  # backend/ui/handle -> state
    failed_timers: list[str] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    last_backup: str | None = None  # time of the last successful backup (host clock, UTC)
    backup_age_hours: float | None = None
    backup_failure: str | None = None  # why the newest backup run failed (incomplete: a part)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class HostStatus:
    name: str
    reachable: bool = True
    error: str | None = None  # unreachable, or a failed collection task
    services: dict[str, str] = field(default_factory=dict)  # postgresql/solr/nginx -> state
    instances: list[InstanceStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # host-level ones

    @property
    def ok(self) -> bool:
        return (self.reachable and self.error is None and not self.problems
                and all(i.ok for i in self.instances))


@dataclass
class StatusReport:
    hosts: dict[str, HostStatus] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.hosts) and all(h.ok for h in self.hosts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "hosts": {
                name: {
                    "ok": host.ok,
                    "reachable": host.reachable,
                    "error": host.error,
                    "services": host.services,
                    "problems": host.problems,
                    "instances": [{**asdict(i), "ok": i.ok} for i in host.instances],
                }
                for name, host in sorted(self.hosts.items())
            },
        }


# ------------------------------------------------------------------------------------------------
# Events -> report


class StatusCollector:
    """An event observer for runner.run(): keeps what status needs from the event stream."""

    def __init__(self) -> None:
        self.reports: dict[str, dict[str, Any]] = {}
        self.unreachable: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.hosts_seen: set[str] = set()

    def __call__(self, event: Event) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = data.get("host")
        if not host:
            if kind == "playbook_on_stats":
                for key in ("ok", "failures", "dark", "skipped", "processed"):
                    self.hosts_seen.update((data.get(key) or {}).keys())
            return
        host = str(host)
        self.hosts_seen.add(host)
        res = data.get("res") or {}
        if kind == "runner_on_ok" and isinstance(res.get(REPORT_KEY), dict):
            self.reports[host] = res[REPORT_KEY]
        elif kind == "runner_on_unreachable":
            self.unreachable.setdefault(host, failure_message(res))
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            self.failed.setdefault(host, f"{data.get('task', '')}: {failure_message(res)}")

    def report(self) -> StatusReport:
        result = StatusReport()
        for host in sorted(self.hosts_seen | set(self.reports)):
            if host in self.unreachable:
                result.hosts[host] = HostStatus(host, reachable=False,
                                                error=self.unreachable[host])
            elif host in self.reports:
                result.hosts[host] = host_status(host, self.reports[host])
            else:
                error = self.failed.get(host, _("the host reported no status"))
                result.hosts[host] = HostStatus(host, error=error)
        return result


def collect(events: list[Event]) -> StatusReport:
    collector = StatusCollector()
    for event in events:
        collector(event)
    return collector.report()


def parse_units(lines: list[str]) -> dict[str, str]:
    """`systemctl list-units --all --plain --no-legend` lines -> {unit: state}.

    The state is the ACTIVE column ("active", "inactive", "failed", ...), with the SUB column
    when it adds something ("active (exited)" for PostgreSQL's umbrella unit is still active).
    """
    units = {}
    for raw in lines:
        fields = raw.split()
        if len(fields) >= 4 and fields[0] in ("●", "*"):
            fields = fields[1:]
        if len(fields) < 4:
            continue
        unit, load, active = fields[0], fields[1], fields[2]
        units[unit] = "not-found" if load == "not-found" else active
    return units


def host_status(host: str, raw: dict[str, Any]) -> HostStatus:
    units = parse_units([str(x) for x in raw.get("units") or []])
    status = HostStatus(host)
    pg_clusters = {u: s for u, s in units.items() if u.startswith("postgresql@")}
    status.services = {
        # The clusters carry the databases; postgresql.service is an umbrella oneshot.
        "postgresql": _worst(list(pg_clusters.values())) if pg_clusters
        else units.get("postgresql.service", "absent"),
        "solr": units.get("solr.service", "absent"),
        "nginx": units.get("nginx.service", "absent"),
    }
    for service, state in status.services.items():
        if state != "active":
            status.problems.append(_("{service} is {state}").format(service=service,
                                                                    state=state))
    plans = [p for p in raw.get("plans") or [] if isinstance(p, dict)]
    names = [str(p.get("name", "")) for p in plans]
    root = list(raw.get("root") or [])
    health = list(raw.get("health") or [])
    backup = list(raw.get("backup") or [])
    for index, plan in enumerate(plans):
        inst = instance_status(
            plan, _unit_subset(units, str(plan.get("name", "")), names),
            root[index] if index < len(root) else {},
            health[index] if index < len(health) else {})
        backup_status(inst, backup[index] if index < len(backup) else None)
        status.instances.append(inst)
    return status


def backup_status(inst: InstanceStatus, answer: Any) -> None:
    """The last successful backup from `dspace-backup status --json`; a backup older than
    the instance's policy (dspace_backup_max_age_hours) is a problem, and so is a newest run
    that failed (an incomplete backup among them: its snapshots are not good ones). No answer
    (a host converged before backups existed) adds nothing: `verify` judges that."""
    document = backup_document(answer)
    if document is None:
        return
    run = document.get("last_run")
    if isinstance(run, dict) and run.get("ok") is False:
        inst.backup_failure = str(run.get("what") or run.get("error")
                                  or _("see `dspace-backup status`"))
        inst.problems.append(_("last backup failed: {what}").format(what=inst.backup_failure))
    last = document.get("last_success")
    if not isinstance(last, dict):
        return
    inst.last_backup = str(last.get("time") or "") or None
    age = last.get("age_hours")
    inst.backup_age_hours = float(age) if isinstance(age, int | float) else None
    limit = document.get("max_age_hours")
    if inst.backup_age_hours is not None and isinstance(limit, int | float) \
            and inst.backup_age_hours > limit:
        inst.problems.append(_("last backup {age} h ago (policy: {limit} h)").format(
            age=f"{inst.backup_age_hours:.0f}", limit=f"{limit:g}"))


def backup_document(answer: Any) -> dict[str, Any] | None:
    """The JSON object of a `dspace-backup status --json` command result, None without one."""
    if not isinstance(answer, dict) or answer.get("rc") != 0:
        return None
    try:
        document = json.loads(str(answer.get("stdout") or ""))
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def instance_status(plan: dict[str, Any], units: dict[str, str], root: Any,
                    health: Any) -> InstanceStatus:
    name = str(plan.get("name", "?"))
    urls = plan.get("urls") or {}
    server = str(urls.get("server", ""))
    inst = InstanceStatus(
        name=name,
        line=str(plan.get("line", "")),
        flavor=str(plan.get("flavor", "")),
        planned_version=str(plan.get("version", "")),
        urls={"ui": str(urls.get("ui", "")), "server": server,
              "oai": f"{server}/oai/request?verb=Identify" if server else ""},
    )
    prefix = f"dspace-{name}-"
    for service in INSTANCE_SERVICES:
        state = units.get(f"{prefix}{service}.service", "absent")
        inst.services[service] = state
        if state != "active":
            inst.problems.append(_("{service} is {state}").format(service=service,
                                                                  state=state))
    for unit, state in sorted(units.items()):
        task = unit[len(prefix):].rsplit(".", 1)[0]
        if task in INSTANCE_SERVICES:
            continue
        failed = unit.endswith(".service") and state == "failed"
        stopped = unit.endswith(".timer") and state != "active"
        if (failed or stopped) and task not in inst.failed_timers:
            inst.failed_timers.append(task)
    if inst.failed_timers:
        listed = ", ".join(inst.failed_timers)
        inst.problems.append(_("scheduled tasks failed or stopped: {tasks}").format(
            tasks=listed))
    document, error = _answer(root)
    if document is not None:
        version = document.get("dspaceVersion")
        inst.version = str(version) if version else None
        cris = document.get("crisVersion")
        inst.cris_version = str(cris) if cris else None
    if inst.version is None:
        inst.problems.append(_("REST root: {error}").format(
            error=error or _("no dspaceVersion in the answer")))
    document, error = _answer(health)
    if document is not None and document.get("status"):
        inst.health = str(document["status"])
        if inst.health not in HEALTHY_STATES:
            inst.problems.append(_("health is {state}").format(state=inst.health))
    else:
        inst.problems.append(_("health: {error}").format(
            error=error or _("no status in the answer")))
    return inst


def _unit_subset(units: dict[str, str], name: str, names: list[str]) -> dict[str, str]:
    """The units of instance `name`: `dspace-<name>-*`, unless a longer instance name on the
    same host claims the unit (instances `repo` and `repo-test`)."""
    prefix = f"dspace-{name}-"
    longer = [f"dspace-{n}-" for n in names if n != name and f"dspace-{n}-".startswith(prefix)]
    return {u: s for u, s in units.items()
            if u.startswith(prefix) and not any(u.startswith(p) for p in longer)}


def _answer(result: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A uri result {status, content, msg} -> (JSON object, None) or (None, why not)."""
    if not isinstance(result, dict):
        return None, _("no answer")
    code = result.get("status")
    content = result.get("content")
    if not isinstance(code, int) or code <= 0:
        msg = str(result.get("msg") or "").strip()
        inner = re.search(r"<urlopen error (.*)>", msg)  # "Status code was -1 ...: <urlopen..>"
        msg = inner.group(1) if inner else msg
        return None, (_("no answer ({reason})").format(reason=msg.splitlines()[0]) if msg
                      else _("no answer"))
    try:
        document = json.loads(content) if isinstance(content, str) else None
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        return None, _("HTTP {code}, not a JSON object").format(code=code)
    return document, None


_ORDER = ("failed", "not-found", "absent", "inactive", "deactivating", "activating",
          "reloading", "active")


def _worst(states: list[str]) -> str:
    return min(states, key=lambda s: _ORDER.index(s) if s in _ORDER else 0)


# ------------------------------------------------------------------------------------------------
# Rendering


def print_report(console: Console, report: StatusReport) -> None:
    from rich.table import Table

    table = Table(title=_("Status"), title_justify="left")
    for column in (_("host"), _("instance"), _("version"), _("health"), _("services"),
                   _("backup"), _("problems")):
        table.add_column(column)
    for name, host in sorted(report.hosts.items()):
        if not host.reachable or host.error is not None:
            what = _("unreachable") if not host.reachable else _("error")
            table.add_row(name, "", "", what, "", "", host.error or "", style="red")
            continue
        host_services = " ".join(f"{s}:{_short(v)}" for s, v in host.services.items())
        table.add_row(name, _("(host)"), "", "", host_services, "", "; ".join(host.problems),
                      style=None if not host.problems else "red")
        for inst in host.instances:
            version = inst.version or "?"
            if inst.cris_version:
                version += f" ({inst.cris_version})"
            services = " ".join(f"{s}:{_short(v)}" for s, v in inst.services.items())
            backup = (_("never") if inst.backup_age_hours is None
                      else _("{hours} h ago").format(hours=f"{inst.backup_age_hours:.1f}"))
            if inst.backup_failure:
                backup += ", " + _("last run FAILED")
            table.add_row("", inst.name, version, inst.health or "?", services, backup,
                          "; ".join(inst.problems), style=None if inst.ok else "red")
        if not host.instances:
            table.add_row("", _("(no instance)"), "", "", "", "", "")
    console.print(table)
    for name, host in sorted(report.hosts.items()):
        for inst in host.instances:
            console.print(f"{name} · {inst.name}: {inst.urls.get('ui', '')}  "
                          f"{inst.urls.get('server', '')}  {inst.urls.get('oai', '')}",
                          markup=False, highlight=False)
    if not report.hosts:
        console.print(_("No host reported (does --limit match a host of the dspace group?)."))
    verdict = ("[green]" + _("all healthy") + "[/green]" if report.ok
               else "[red]" + _("something is down") + "[/red]")
    console.print(verdict, highlight=False)


def _short(state: str) -> str:
    return "up" if state == "active" else state
