"""From the status playbook's answers and the controller's probes to a `NetworkReport`.

The host side is `dspace-deploy status`'s playbook (playbooks/status.yml, read-only): units,
REST root, actuator health and the backup program's status, per instance, read by
dspace_deploy.status. The controller then probes each instance from outside
(dspace_deploy.report.probes): TLS, the UI through the proxy, OAI-PMH, the handle server.
The last restore drill comes from the controller's drill records (dspace_deploy.drill).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from dspace_deploy.i18n import _
from dspace_deploy.report import probes
from dspace_deploy.report.model import Member, NetworkReport, judge
from dspace_deploy.status import HostStatus, InstanceStatus, StatusCollector, backup_document

Progress = Callable[[str], None]
PARALLEL_PROBES = 8  # instances probed at once (each probe mostly waits on the network)


def members_from_status(collector: StatusCollector) -> list[tuple[Member, dict[str, Any]]]:
    """One member per instance of each host that answered (with its plan), one per host that
    did not."""
    found: list[tuple[Member, dict[str, Any]]] = []
    for host, status in collector.report().hosts.items():
        if not status.reachable or status.error is not None:
            member = Member(host=host, instance=None, reachable=status.reachable)
            member.add("critical", "host", status.error or _("unreachable"))
            found.append((member, {}))
            continue
        raw = collector.reports.get(host, {})
        plans = [p for p in raw.get("plans") or [] if isinstance(p, dict)]
        backups = list(raw.get("backup") or [])
        for index, inst in enumerate(status.instances):
            plan = plans[index] if index < len(plans) else {}
            member = _member(host, status, inst, plan)
            _backup_policy(member, backups[index] if index < len(backups) else None)
            found.append((member, plan))
        if not status.instances:
            member = Member(host=host, instance=None, services=dict(status.services))
            member.add("warning", "host", _("no DSpace instance on this host"))
            found.append((member, {}))
    return found


def _member(host: str, status: HostStatus, inst: InstanceStatus,
            plan: dict[str, Any]) -> Member:
    member = Member(host=host, instance=inst.name, hostname=str(plan.get("hostname", "")),
                    flavor=inst.flavor)
    member.version.reported = inst.version
    member.version.cris = inst.cris_version
    member.version.planned = inst.planned_version
    member.version.line = inst.line
    member.health.actuator = inst.health
    member.health.rest = inst.version is not None
    member.services = {**status.services, **inst.services}
    member.failed_timers = list(inst.failed_timers)
    member.backup.last_good = inst.last_backup
    member.backup.age_hours = inst.backup_age_hours
    member.backup.last_run_failed = inst.backup_failure
    member.tls.mode = str(plan.get("tls_mode", ""))
    member.handle.prefix = str(plan.get("handle_prefix", ""))
    return member


def _backup_policy(member: Member, answer: Any) -> None:
    """Whether the backup program answered, and its age limit (status keeps neither)."""
    document = backup_document(answer)
    if document is not None:
        member.backup.answered = True
        limit = document.get("max_age_hours")
        member.backup.max_age_hours = float(limit) if isinstance(limit, int | float) else None


def add_drills(member: Member, drills: dict[str, dict[str, Any]], now: datetime) -> None:
    record = drills.get(member.instance or "")
    if not record:
        return
    member.backup.drill_time = str(record.get("time") or "") or None
    member.backup.drill_ok = bool(record.get("ok"))
    member.backup.drill_error = str(record.get("error") or "") or None
    try:
        when = datetime.fromisoformat(str(record.get("time")))
        member.backup.drill_age_days = round((now - when).total_seconds() / 86400, 1)
    except (TypeError, ValueError):
        pass


def probe_member(member: Member, plan: dict[str, Any], ansible_host: str | None,
                 oai_sample: int) -> None:
    """Every controller probe of one instance (runs in a worker thread)."""
    hostname = member.hostname
    if not hostname:
        return
    address = probes.address_of(hostname, ansible_host)
    member.tls = probes.probe_tls(address, hostname, member.tls.mode)
    if member.tls.error is None:
        member.health.ui_ssr, member.health.ui_error = probes.probe_ui(address, hostname)
    server = str((plan.get("urls") or {}).get("server", f"https://{hostname}/server"))
    member.oai = probes.probe_oai(address, f"{server}/oai/request", oai_sample)
    ports = plan.get("ports") or {}
    member.handle = probes.probe_handle(
        address, member.handle.prefix, int(ports.get("handle", 2641)),
        int(ports.get("handle_http", 8000)),
        probes.sample_handle(member.oai, member.handle.prefix))


def build_report(site_name: str, collector: StatusCollector,
                 ansible_hosts: dict[str, str | None], drills: dict[str, dict[str, Any]],
                 oai_sample: int = 20, language: str = "en",
                 say: Progress | None = None) -> NetworkReport:
    now = datetime.now(UTC)
    report = NetworkReport(site=site_name, generated=now.isoformat(timespec="seconds"),
                           language=language)
    found = members_from_status(collector)
    with ThreadPoolExecutor(max_workers=PARALLEL_PROBES) as pool:
        futures = []
        for member, plan in found:
            if member.instance is not None:
                futures.append(pool.submit(probe_member, member, plan,
                                           ansible_hosts.get(member.host), oai_sample))
        for done, future in enumerate(futures, 1):
            future.result()
            if say:
                say(f"{done}/{len(futures)} instances probed")
    for member, _plan in found:
        add_drills(member, drills, now)
        judge(member)
        report.members.append(member)
    return report
