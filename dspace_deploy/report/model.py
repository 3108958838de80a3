"""The network report's data: one `Member` per host and instance, each with what the probes
found and the `Finding`s that need attention, sorted worst first (docs/report.md).

Pure: no I/O. `build()` turns the status playbook's answers (dspace_deploy.status) and the
controller's own probes (dspace_deploy.report.probes) into findings; `as_dict()` is the JSON
document (`--json` and the history files) and the HTML is rendered from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from dspace_deploy import lines
from dspace_deploy.i18n import _, ngettext
from dspace_deploy.report import support

SCHEMA = 1
CRITICAL, WARNING, INFO = "critical", "warning", "info"
_RANK = {CRITICAL: 0, WARNING: 1, INFO: 2}
TLS_WARN_DAYS = 21  # a certificate renewed by ACME has 30 days left when certbot renews it
DRILL_MAX_AGE_DAYS = 90


@dataclass
class Finding:
    severity: str  # critical, warning or info (info needs no attention)
    area: str  # host, version, health, services, timers, tls, backup, handle, oai
    message: str


@dataclass
class VersionInfo:
    reported: str | None = None  # the REST root's dspaceVersion ("DSpace 9.3")
    cris: str | None = None
    planned: str = ""  # what the inventory asks for
    line: str = ""
    newest: str = ""  # newest release of the line dspace-deploy knows
    supported: bool | None = None  # None: the support table does not know the line
    support_ended: str | None = None


@dataclass
class HealthInfo:
    actuator: str | None = None  # UP, UP_WITH_ISSUES, DOWN, ... (None: no answer)
    rest: bool = False  # the REST root answered with a dspaceVersion
    ui_ssr: bool | None = None  # the UI's home page through the proxy was rendered on the server
    ui_error: str | None = None


@dataclass
class TlsInfo:
    issuer: str | None = None
    subject: str | None = None
    not_after: str | None = None  # ISO 8601, UTC
    days_left: int | None = None  # whole days, toward zero (-10 for 10 days and 3 hours ago)
    expired: bool | None = None
    trusted: bool | None = None  # verified by the controller's trust store
    trust_error: str | None = None
    hsts: str | None = None  # the Strict-Transport-Security header, None when absent
    protocols: list[str] = field(default_factory=list)  # TLSv1.2, TLSv1.3, ...
    mode: str = ""  # the inventory's tls_mode
    error: str | None = None  # no TLS handshake at all


@dataclass
class BackupInfo:
    last_good: str | None = None  # time of the last successful backup (host clock, UTC)
    age_hours: float | None = None
    max_age_hours: float | None = None
    last_run_failed: str | None = None
    answered: bool = False  # the host's backup program answered
    drill_time: str | None = None
    drill_ok: bool | None = None
    drill_error: str | None = None
    drill_age_days: float | None = None


@dataclass
class HandleInfo:
    prefix: str = ""
    ports: dict[str, str] = field(default_factory=dict)  # "tcp/2641" -> open|closed|...
    sample: str | None = None  # the handle tried
    resolved_url: str | None = None
    error: str | None = None


@dataclass
class OaiInfo:
    base_url: str = ""
    score: float | None = None
    verbs: dict[str, str] = field(default_factory=dict)
    sets_present: dict[str, bool] = field(default_factory=dict)
    records_checked: int = 0
    identifiers: list[str] = field(default_factory=list)  # of the records checked
    # identifier, rule_id, severity (the rule's: error or warning), message
    failures: list[dict[str, str]] = field(default_factory=list)
    rules: list[dict[str, str]] = field(default_factory=list)  # id, title, source, severity
    error: str | None = None


@dataclass
class Member:
    host: str
    instance: str | None  # None: the host itself (unreachable, or no instance)
    hostname: str = ""
    flavor: str = ""
    reachable: bool = True
    version: VersionInfo = field(default_factory=VersionInfo)
    health: HealthInfo = field(default_factory=HealthInfo)
    services: dict[str, str] = field(default_factory=dict)  # host's and instance's units
    failed_timers: list[str] = field(default_factory=list)
    tls: TlsInfo = field(default_factory=TlsInfo)
    backup: BackupInfo = field(default_factory=BackupInfo)
    handle: HandleInfo = field(default_factory=HandleInfo)
    oai: OaiInfo = field(default_factory=OaiInfo)
    findings: list[Finding] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.host}/{self.instance}" if self.instance else self.host

    @property
    def attention(self) -> tuple[int, int]:
        """(critical findings, warnings): the sort key, worst first."""
        return (sum(f.severity == CRITICAL for f in self.findings),
                sum(f.severity == WARNING for f in self.findings))

    @property
    def state(self) -> str:
        critical, warnings = self.attention
        return CRITICAL if critical else WARNING if warnings else "ok"

    def add(self, severity: str, area: str, message: str) -> None:
        self.findings.append(Finding(severity, area, message))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["key"] = self.key
        data["state"] = self.state
        data["findings"] = sorted(data["findings"], key=lambda f: _RANK[f["severity"]])
        return data


@dataclass
class NetworkReport:
    site: str
    generated: str  # ISO 8601 UTC
    language: str = "en"
    members: list[Member] = field(default_factory=list)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # key -> points

    def sorted_members(self) -> list[Member]:
        return sorted(self.members, key=lambda m: (-m.attention[0], -m.attention[1],
                                                   m.host, m.instance or ""))

    def totals(self) -> dict[str, int]:
        states = [m.state for m in self.members]
        return {"members": len(states), "critical": states.count(CRITICAL),
                "warning": states.count(WARNING), "ok": states.count("ok")}

    @property
    def ok(self) -> bool:
        return bool(self.members) and all(m.state == "ok" for m in self.members)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "site": self.site, "generated": self.generated,
            "language": self.language, "ok": self.ok, "totals": self.totals(),
            "support": {"as_of": support.SUPPORT_AS_OF, "source": support.SUPPORT_SOURCE},
            "members": [m.as_dict() for m in self.sorted_members()],
            "history": self.history,
        }


def history_point(member: dict[str, Any], generated: str) -> dict[str, Any]:
    """What the charts keep of a member from one run (from its as_dict())."""
    version = member.get("version") or {}
    return {
        "time": generated,
        "version": version.get("reported"),
        "backup_age_hours": (member.get("backup") or {}).get("age_hours"),
        "oai_score": (member.get("oai") or {}).get("score"),
    }


# ------------------------------------------------------------------------------------------------
# Judging: each area adds its findings to the member


def judge(member: Member) -> None:
    """Add the findings of every area (called once the probes have filled the member)."""
    if not member.reachable or member.instance is None:
        return
    _judge_version(member)
    _judge_health(member)
    _judge_tls(member)
    _judge_backup(member)
    _judge_handle(member)
    _judge_oai(member)


def _judge_version(member: Member) -> None:
    info = member.version
    if not info.reported:
        return  # the REST root did not answer: judged under health
    info.line = support.line_of(info.reported) or info.line
    facts = lines.LINES.get(info.line)
    info.newest = facts.newest if facts else ""
    known = support.support_of(info.line)
    if known is None:
        info.supported = None
        member.add(WARNING, "version", _("DSpace line {line} is not in the support table "
                                         "(as of {date})").format(line=info.line,
                                                                  date=support.SUPPORT_AS_OF))
        return
    info.supported = known.ended is None
    info.support_ended = known.ended
    if not info.supported:
        member.add(CRITICAL, "version", _("DSpace {line}.x is no longer supported (since "
                                          "{date})").format(line=info.line, date=known.ended))
    number = info.reported.split()[-1]
    if member.flavor != "cris" and info.newest and number != info.newest:
        member.add(WARNING, "version", _("{version} is not the newest release of its line "
                                         "({newest})").format(version=number,
                                                              newest=info.newest))


def _judge_health(member: Member) -> None:
    health = member.health
    if not health.rest:
        member.add(CRITICAL, "health", _("the REST API does not answer"))
    if health.actuator is None:
        member.add(CRITICAL, "health", _("the actuator health does not answer"))
    elif health.actuator not in ("UP", "UP_WITH_ISSUES"):
        member.add(CRITICAL, "health", _("health is {state}").format(state=health.actuator))
    if health.ui_ssr is False:
        member.add(CRITICAL, "health", _("the UI is not rendered on the server: {why}").format(
            why=health.ui_error or "?"))
    stopped = [f"{name} ({state})" for name, state in member.services.items()
               if state != "active"]
    if stopped:
        member.add(CRITICAL, "services", _("not running: {units}").format(
            units=", ".join(stopped)))
    if member.failed_timers:
        member.add(WARNING, "timers", _("scheduled tasks failed or stopped: {tasks}").format(
            tasks=", ".join(member.failed_timers)))


def _judge_tls(member: Member) -> None:
    tls = member.tls
    if tls.error:
        member.add(CRITICAL, "tls", _("no TLS handshake: {why}").format(why=tls.error))
        return
    if tls.expired:
        days = -(tls.days_left or 0)
        member.add(CRITICAL, "tls", ngettext("the certificate expired {days} day ago ({date})",
                                             "the certificate expired {days} days ago ({date})",
                                             days).format(days=days, date=tls.not_after))
    elif tls.days_left is not None and tls.days_left < TLS_WARN_DAYS:
        member.add(WARNING, "tls", ngettext("the certificate expires in {days} day",
                                            "the certificate expires in {days} days",
                                            tls.days_left).format(days=tls.days_left))
    elif tls.trusted is False and tls.mode == "selfsigned":
        member.add(INFO, "tls", _("self-signed certificate (tls_mode: selfsigned)"))
    elif tls.trusted is False:
        member.add(WARNING, "tls", _("the certificate is not trusted: {why}").format(
            why=tls.trust_error or "?"))
    # The proxy role sends HSTS for provided and ACME certificates only: a self-signed site
    # must stay reachable once its certificate is replaced (roles/proxy/tasks/nginx.yml).
    if not tls.hsts and tls.mode != "selfsigned":
        member.add(WARNING, "tls", _("no HSTS header"))
    old = [p for p in tls.protocols if p in ("TLSv1", "TLSv1.1")]
    if old:
        member.add(WARNING, "tls", _("obsolete protocols offered: {protocols}").format(
            protocols=", ".join(old)))


def _judge_backup(member: Member) -> None:
    backup = member.backup
    if backup.last_run_failed:
        member.add(CRITICAL, "backup", _("the last backup failed: {why}").format(
            why=backup.last_run_failed))
    if backup.answered and backup.last_good is None:
        member.add(CRITICAL, "backup", _("no good backup"))
    elif not backup.answered:
        member.add(CRITICAL, "backup", _("the backup program did not answer"))
    elif (backup.age_hours is not None and backup.max_age_hours is not None
          and backup.age_hours > backup.max_age_hours):
        member.add(CRITICAL, "backup", _("the last good backup is {hours:.0f} h old (policy: "
                                         "{limit:g} h)").format(hours=backup.age_hours,
                                                                limit=backup.max_age_hours))
    if backup.drill_ok is False:
        member.add(WARNING, "backup", _("the last restore drill failed: {why}").format(
            why=backup.drill_error or "?"))
    elif backup.drill_time is None:
        member.add(INFO, "backup", _("no restore drill recorded"))
    elif backup.drill_age_days is not None and backup.drill_age_days > DRILL_MAX_AGE_DAYS:
        days = round(backup.drill_age_days)
        member.add(INFO, "backup", ngettext("the last restore drill is {days} day old",
                                            "the last restore drill is {days} days old",
                                            days).format(days=days))


def _judge_handle(member: Member) -> None:
    handle = member.handle
    # Every public port must answer: "closed", "filtered", "no answer" (a UDP request dropped
    # by a firewall, or UDP resolution off: resolvers ask by UDP first) and "not a handle
    # server" all leave clients without the server on that port.
    closed = [port for port, state in handle.ports.items() if state != "open"]
    if closed:
        member.add(CRITICAL, "handle", _("the handle server does not answer on {ports}").format(
            ports=", ".join(closed)))
    if handle.resolved_url is None and handle.sample:
        member.add(CRITICAL if not closed else WARNING, "handle",
                   _("handle {handle} does not resolve: {why}").format(
                       handle=handle.sample, why=handle.error or "?"))


def _judge_oai(member: Member) -> None:
    oai = member.oai
    if oai.error:
        member.add(CRITICAL, "oai", _("OAI-PMH: {why}").format(why=oai.error))
        return
    broken = sorted(verb for verb, result in oai.verbs.items() if result != "ok")
    if broken:
        member.add(CRITICAL, "oai", _("OAI-PMH verbs failing: {verbs}").format(
            verbs=", ".join(broken)))
    missing = sorted(name for name, present in oai.sets_present.items() if not present)
    if missing:
        member.add(WARNING, "oai", _("OAI-PMH sets missing: {sets}").format(
            sets=", ".join(missing)))
    # Mandatory rules (severity "error", what LA Referencia's validator requires of a valid
    # record) need a look; recommended ones ("warning") are information.
    mandatory = [f for f in oai.failures if f.get("severity", "error") == "error"]
    recommended = [f for f in oai.failures if f.get("severity", "error") != "error"]
    for failures, severity, message in (
            (mandatory, WARNING, lambda n: ngettext(
                "{records} of {checked} records breaks mandatory rules: {rules}",
                "{records} of {checked} records break mandatory rules: {rules}", n)),
            (recommended, INFO, lambda n: ngettext(
                "{records} of {checked} records misses recommendations: {rules}",
                "{records} of {checked} records miss recommendations: {rules}", n))):
        if failures:
            records = len({f["identifier"] for f in failures})
            member.add(severity, "oai", message(records).format(
                records=records, checked=oai.records_checked,
                rules=", ".join(sorted({f["rule_id"] for f in failures}))))
