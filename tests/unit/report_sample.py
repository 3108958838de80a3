"""A small network for the report's tests and the screenshot in docs/report.md: members
built the way collect.py builds them, each with the probes' results filled in by hand."""

from __future__ import annotations

from dspace_deploy.report.model import (
    BackupInfo,
    HandleInfo,
    HealthInfo,
    Member,
    NetworkReport,
    OaiInfo,
    TlsInfo,
    VersionInfo,
    judge,
)

SERVICES = {"postgresql": "active", "solr": "active", "nginx": "active", "backend": "active",
            "ui": "active", "handle": "active"}
RULES = [{"id": "lr-type-vocabulary", "title": "dc:type from info:eu-repo/semantics",
          "source": "lareferencia-core-lib", "severity": "mandatory"}]


def healthy(host: str, instance: str = "repo", version: str = "DSpace 9.3") -> Member:
    """A member with nothing to report (self-signed by choice, a recent drill)."""
    return Member(
        host=host, instance=instance, hostname=f"{instance}.{host}.example.edu",
        flavor="dspace",
        version=VersionInfo(reported=version, planned=version.split()[-1], line="9"),
        health=HealthInfo(actuator="UP", rest=True, ui_ssr=True),
        services=dict(SERVICES),
        tls=TlsInfo(issuer="CN=Lab CA", subject=f"CN={instance}.{host}.example.edu",
                    not_after="2027-12-01T00:00:00+00:00", days_left=360, expired=False,
                    trusted=True,
                    hsts="max-age=31536000", protocols=["TLSv1.2", "TLSv1.3"],
                    mode="provided"),
        backup=BackupInfo(last_good="2026-12-05T03:00:00Z", age_hours=5.0,
                          max_age_hours=26, answered=True, drill_time="2026-12-01T10:00:00Z",
                          drill_ok=True, drill_age_days=4.0),
        handle=HandleInfo(prefix="123456789",
                          ports={"tcp/2641": "open", "udp/2641": "open", "http/8000": "open"},
                          sample="123456789/2",
                          resolved_url=f"https://{instance}.{host}.example.edu/handle/123456789/2"),
        oai=OaiInfo(base_url=f"https://{instance}.{host}.example.edu/server/oai/request",
                    score=100.0, verbs={v: "ok" for v in ("Identify", "ListRecords")},
                    sets_present={"driver": True, "openaire": True}, records_checked=3,
                    identifiers=["oai:x:123456789/2"], rules=list(RULES)),
    )


def network() -> NetworkReport:
    """Three hosts: one fine, one with an expired certificate and no backup, one whose
    handle server is down and whose records break a rule; and one unreachable."""
    fine = healthy("web1")
    expired = healthy("web2")
    expired.tls.days_left, expired.tls.not_after = -3, "2026-12-02T00:00:00+00:00"
    expired.tls.expired = True
    expired.backup = BackupInfo(answered=True, max_age_hours=26)
    handle = healthy("web3", version="DSpace 8.4")
    handle.version.line = "8"
    handle.services["handle"] = "inactive"
    handle.handle.ports = {"tcp/2641": "closed", "udp/2641": "closed", "http/8000": "closed"}
    handle.handle.resolved_url, handle.handle.error = None, "http/8000 closed"
    handle.oai.score = 66.7
    handle.oai.failures = [{"identifier": "oai:web3:123456789/7", "rule_id":
                            "lr-type-vocabulary", "message": "dc:type <b>Tesis</b> unknown"}]
    members = [fine, expired, handle]
    for member in members:
        judge(member)
    gone = Member(host="web4", instance=None, reachable=False)
    gone.add("critical", "host", "Failed to connect to the host via ssh")
    report = NetworkReport(site="red-nacional", generated="2026-12-05T08:00:00+00:00",
                           members=[fine, gone, handle, expired])
    return report
