"""`report`: status answers -> members, findings, attention order, history, JSON and the
self-contained HTML (escaping, nothing loaded from outside, rendered by headless Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dspace_deploy.cli import app
from dspace_deploy.report import history, html, support
from dspace_deploy.report.collect import add_drills, members_from_status
from dspace_deploy.report.model import Member, judge
from dspace_deploy.report.probes import resolution_request, sample_handle
from dspace_deploy.status import StatusCollector
from tests.unit.report_sample import healthy, network
from tests.unit.test_cli import _cli
from tests.unit.test_status import REFUSED, _report_event, _stats

# --- status answers -> members ----------------------------------------------------------------


def _collector(*events: dict[str, Any]) -> StatusCollector:
    collector = StatusCollector()
    for event in events:
        collector(event)
    return collector


def _backup_answer(document: dict[str, Any]) -> dict[str, Any]:
    return {"rc": 0, "stdout": json.dumps(document)}


def test_members_come_from_the_status_answers() -> None:
    backup = _backup_answer({"max_age_hours": 26, "last_run": {"ok": True},
                             "last_success": {"time": "2026-12-05T03:00:00Z",
                                              "age_hours": 5.0}})
    plan = {"name": "repo", "line": "9", "flavor": "dspace", "version": "9.3",
            "hostname": "repo.example.edu", "tls_mode": "provided",
            "handle_prefix": "10568", "ports": {"backend": 8080}}
    collector = _collector(_report_event("web1", plans=[plan], backup=[backup]),
                           {"event": "runner_on_unreachable",
                            "event_data": {"host": "web2", "res": {"msg": "ssh: timed out"}}},
                           _stats("web1", "web2", dark=("web2",)))
    (member, got_plan), (gone, _) = members_from_status(collector)
    assert got_plan is plan
    assert (member.key, member.hostname, member.version.reported) == (
        "web1/repo", "repo.example.edu", "DSpace 9.3")
    assert (member.backup.age_hours, member.backup.max_age_hours, member.backup.answered) == (
        5.0, 26.0, True)
    assert (member.tls.mode, member.handle.prefix) == ("provided", "10568")
    assert member.services["handle"] == "active" and member.services["solr"] == "active"
    assert (gone.key, gone.reachable, gone.state) == ("web2", False, "critical")
    assert "ssh: timed out" in gone.findings[0].message


def test_a_backend_that_does_not_answer_is_critical() -> None:
    collector = _collector(_report_event("web1", root=[REFUSED], health=[REFUSED]))
    ((member, _plan),) = members_from_status(collector)
    judge(member)
    areas = {(f.severity, f.area) for f in member.findings}
    assert ("critical", "health") in areas
    assert member.state == "critical"


def test_drill_records_reach_the_member() -> None:
    from datetime import UTC, datetime

    member = healthy("web1")
    member.backup.drill_time = None
    add_drills(member, {"repo": {"time": "2026-08-01T00:00:00+00:00", "ok": False,
                                 "error": "restore: manifest mismatch"}},
               datetime(2026, 12, 5, tzinfo=UTC))
    assert (member.backup.drill_ok, member.backup.drill_age_days) == (False, 126.0)
    judge(member)
    assert [f.message for f in member.findings] == [
        "the last restore drill failed: restore: manifest mismatch"]


# --- findings ---------------------------------------------------------------------------------


def test_a_healthy_member_has_no_finding() -> None:
    member = healthy("web1")
    judge(member)
    assert member.findings == [] and member.state == "ok"


def test_self_signed_by_choice_is_information_only() -> None:
    member = healthy("web1")
    # Self-signed sites get no HSTS from the proxy role, by design (found on a lab host).
    member.tls.trusted, member.tls.mode, member.tls.hsts = False, "selfsigned", None
    judge(member)
    assert [(f.severity, f.area) for f in member.findings] == [("info", "tls")]
    assert member.state == "ok"


@pytest.mark.parametrize(("change", "expected"), [
    (lambda m: (setattr(m.tls, "days_left", -3), setattr(m.tls, "expired", True)),
     ("critical", "tls")),
    (lambda m: (setattr(m.tls, "days_left", 0), setattr(m.tls, "expired", True)),
     ("critical", "tls")),
    (lambda m: setattr(m.tls, "days_left", 5), ("warning", "tls")),
    (lambda m: setattr(m.tls, "hsts", None), ("warning", "tls")),
    (lambda m: setattr(m.tls, "protocols", ["TLSv1", "TLSv1.2"]), ("warning", "tls")),
    (lambda m: setattr(m.tls, "trusted", False), ("warning", "tls")),
    (lambda m: setattr(m.backup, "age_hours", 100.0), ("critical", "backup")),
    (lambda m: setattr(m.backup, "last_good", None), ("critical", "backup")),
    (lambda m: setattr(m.backup, "answered", False), ("critical", "backup")),
    (lambda m: setattr(m.version, "reported", "DSpace 7.6.2"), ("critical", "version")),
    (lambda m: setattr(m.version, "reported", "DSpace 9.2"), ("warning", "version")),
    (lambda m: setattr(m.health, "actuator", "DOWN"), ("critical", "health")),
    (lambda m: setattr(m.health, "ui_ssr", False), ("critical", "health")),
    (lambda m: m.failed_timers.append("oai-import"), ("warning", "timers")),
    (lambda m: m.handle.ports.update({"tcp/2641": "closed"}), ("critical", "handle")),
    # a handle server that does not answer UDP (a firewall, UDP resolution off): clients and the
    # global resolver ask by UDP first
    (lambda m: m.handle.ports.update({"udp/2641": "no answer"}), ("critical", "handle")),
    (lambda m: m.handle.ports.update({"tcp/2641": "filtered"}), ("critical", "handle")),
    (lambda m: m.handle.ports.update({"udp/2641": "not a handle server"}), ("critical", "handle")),
    (lambda m: setattr(m.oai, "error", "HTTP 500"), ("critical", "oai")),
    (lambda m: m.oai.sets_present.update({"openaire": False}), ("warning", "oai")),
])
def test_each_problem_is_one_finding(change: Any, expected: tuple[str, str]) -> None:
    member = healthy("web1")
    change(member)
    judge(member)
    assert [(f.severity, f.area) for f in member.findings] == [expected]


def test_unsupported_line_names_its_end_date() -> None:
    member = healthy("web1", version="DSpace 7.6.2")
    judge(member)
    assert member.version.supported is False
    assert member.findings[0].message == "DSpace 7.x is no longer supported (since 2026-05-28)"


def test_support_table_covers_every_line_the_toolkit_deploys() -> None:
    from dspace_deploy.lines import LINES

    for line in LINES:
        facts = support.support_of(line)
        assert facts is not None and facts.ended is None, line
    assert support.line_of("DSpace 10.0") == "10" and support.line_of("8.2") == "8"


def test_oai_failures_name_records_and_rules() -> None:
    member = healthy("web1")
    member.oai.records_checked = 4
    member.oai.failures = [
        {"identifier": "oai:x:1/2", "rule_id": "openaire-date", "severity": "error",
         "message": "m"},
        {"identifier": "oai:x:1/2", "rule_id": "lr-type-vocabulary", "severity": "error",
         "message": "m"},
        {"identifier": "oai:x:1/3", "rule_id": "openaire-date", "severity": "error",
         "message": "m"},
        {"identifier": "oai:x:1/4", "rule_id": "openaire-language", "severity": "warning",
         "message": "m"},
    ]
    judge(member)
    assert [(f.severity, f.message) for f in member.findings] == [
        ("warning", "2 of 4 records break mandatory rules: lr-type-vocabulary, openaire-date"),
        ("info", "1 of 4 records misses recommendations: openaire-language")]


# --- attention order, JSON, history -----------------------------------------------------------


def test_members_are_sorted_by_what_needs_attention_first() -> None:
    report = network()
    order = [m.key for m in report.sorted_members()]
    assert order == ["web3/repo", "web2/repo", "web4", "web1/repo"]
    document = report.as_dict()
    assert [m["key"] for m in document["members"]] == order
    assert document["totals"] == {"members": 4, "critical": 3, "warning": 0, "ok": 1}
    assert document["ok"] is False
    json.dumps(document)  # plain data


def test_history_keeps_one_file_per_run_and_charts_each_member(tmp_path: Path) -> None:
    first = network().as_dict()
    first["generated"] = "2026-11-28T08:00:00+00:00"
    second = network().as_dict()
    second["members"][0]["oai"]["score"] = 80.0
    state, out = tmp_path / "state", tmp_path / "out"
    written = history.save(first, [state, out])
    assert [p.name for p in written] == ["report-20261128T080000Z.json"] * 2
    history.save(second, [state])
    foreign = {**first, "site": "other", "generated": "2026-11-01T00:00:00+00:00"}
    history.save(foreign, [out])
    earlier = history.load([state, out], "red-nacional")
    assert [d["generated"] for d in earlier] == ["2026-11-28T08:00:00+00:00",
                                                 "2026-12-05T08:00:00+00:00"]
    points = history.series(earlier[:1], second)["web3/repo"]
    assert [(p["version"], p["oai_score"]) for p in points] == [("DSpace 8.4", 66.7),
                                                                ("DSpace 8.4", 80.0)]


def test_chart_breaks_the_line_where_a_run_has_no_value() -> None:
    points = [{"backup_age_hours": 2.0}, {"backup_age_hours": None},
              {"backup_age_hours": 30.0}, {"backup_age_hours": 10.0}]
    drawn = html.chart(points, "backup_age_hours")
    assert len(drawn["segments"]) == 2 and len(drawn["dots"]) == 3
    assert (drawn["low"], drawn["high"], drawn["last"]) == (2.0, 30.0, 10.0)
    assert html.version_number("DSpace 10.0") > html.version_number("DSpace 9.3") > 9


# --- probes' wire format ----------------------------------------------------------------------


def test_handle_resolution_request_follows_rfc_3652() -> None:
    message = resolution_request("123456789/2", request_id=7)
    major, minor, flags, session, request, sequence, length = struct.unpack(
        ">BBHIIII", message[:20])
    assert (major, minor, flags, session, request, sequence) == (2, 1, 0, 0, 7, 0)
    assert length == len(message) - 20
    opcode, code, opflags, serial, recursion, _r, _exp, body_length = struct.unpack(
        ">IIIHBBII", message[20:44])
    assert (opcode, code, opflags, serial, recursion, body_length) == (1, 0, 0, 0, 0, 4 + 11 + 8)
    assert message[44:48] == struct.pack(">I", 11) and message[48:59] == b"123456789/2"
    assert message[-4:] == b"\0\0\0\0"  # no credential


def _answer(request_id: int, code: int, body: bytes, opflags: int = 0x80000000) -> bytes:
    """A Handle protocol answer as RFC 3652 lays it out (envelope, header, body, credential)."""
    message = struct.pack(">IIIHBBII", 1, code, opflags, 1, 0, 0, 0, len(body)) + body
    message += b"\0\0\0\0"
    return struct.pack(">BBBBIIII", 2, 1, 2, 11, 0, request_id, 0, len(message)) + message


def _value(index: int, type_name: bytes, data: bytes) -> bytes:
    return (struct.pack(">IIBIB", index, 100, 0, 100, 0x0A) + struct.pack(">I", len(type_name))
            + type_name + struct.pack(">I", len(data)) + data + struct.pack(">I", 0))


def test_handle_resolution_answer_is_read_as_rfc_3652_lays_it_out() -> None:
    from dspace_deploy.report.probes import resolution_answer

    url = b"https://repo.example.edu/handle/123456789/2"
    body = (struct.pack(">I", 11) + b"123456789/2" + struct.pack(">I", 2)
            + _value(1, b"HS_ADMIN", b"\0" * 10) + _value(100, b"URL", url))
    assert resolution_answer(_answer(7, 1, body), 7) == (1, [url.decode()])
    # with a request digest (RD): hash type 2 (SHA-1) and 20 bytes before the handle
    digested = _answer(7, 1, b"\x02" + b"d" * 20 + body, opflags=0x80800000)
    assert resolution_answer(digested, 7) == (1, [url.decode()])
    not_found = struct.pack(">I", 0)  # an error answer: an empty message
    assert resolution_answer(_answer(7, 100, not_found), 7) == (100, [])
    with pytest.raises(ValueError):
        resolution_answer(_answer(8, 1, body), 7)  # the answer to another request
    with pytest.raises(ValueError):
        resolution_answer(b"HTTP/1.1 400 Bad Request\r\n\r\n", 7)
    with pytest.raises(ValueError):
        resolution_answer(_answer(7, 1, body)[:-30], 7)  # truncated


def test_sample_handle_is_an_item_of_the_feed() -> None:
    member = healthy("web1")
    member.oai.identifiers = ["oai:repo.example.edu:99999/1", "oai:repo.example.edu:123456789/5"]
    assert sample_handle(member.oai, "123456789") == "123456789/5"
    member.oai.identifiers = []
    assert sample_handle(member.oai, "123456789") is None


# --- HTML -------------------------------------------------------------------------------------


class _Resources(HTMLParser):
    """Every tag, and every attribute that would load or link something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("href", "src", "srcset", "action", "xlink:href", "data", "poster"):
                self.links.append((name, value or ""))


def _page(document: dict[str, Any] | None = None) -> str:
    document = document or network().as_dict()
    earlier = {**document, "generated": "2026-11-28T08:00:00+00:00"}
    document["history"] = history.series([earlier], document)
    return html.render(document)


def test_html_is_self_contained() -> None:
    page = _page()
    parser = _Resources()
    parser.feed(page)
    assert not parser.tags & {"script", "link", "img", "iframe", "object", "embed", "base"}
    assert parser.links and all(v.startswith("#") for _n, v in parser.links), parser.links
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    # The only http(s) text is data (instance URLs), never inside a tag's attribute.
    for tag in re.findall(r"<[^>]+>", page):
        assert "http://" not in tag and "https://" not in tag, tag


def test_html_escapes_what_hosts_say() -> None:
    report = network()
    report.members[0].hostname = "<script>alert(1)</script>"
    page = _page(report.as_dict())
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "dc:type &lt;b&gt;Tesis&lt;/b&gt; unknown" in page


def test_html_lists_members_worst_first_with_their_charts() -> None:
    page = _page()
    rows = re.findall(r'<tr class="(\w+)" data-member="([^"]+)"', page)
    assert rows == [("critical", "web3/repo"), ("critical", "web2/repo"),
                    ("critical", "web4"), ("ok", "web1/repo")]
    assert page.count('<figure class="chart"') == 3 * 3  # 3 instances x 3 charts
    assert page.count("<polyline") >= 6


def test_html_in_another_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from dspace_deploy import i18n

    try:
        assert i18n.use("es") == "es"
        page = _page()
        assert '<html lang="es">' in page
    finally:
        i18n.use("en")


def _row(page: str, css_class: str, label: str) -> str:
    """The value cell of the `label` row in the first table of class `css_class`."""
    table = page[page.index(f'<table class="{css_class}">'):]
    table = table[:table.index("</table>")]
    match = re.search(re.escape(label) + r"</td><td[^>]*>([^<]*)</td>", table)
    assert match, (label, table)
    return match.group(1)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["3 members need action", "0 members need a look", "1 member is fine", "4 members",
            "expired 3 days ago", "2 runs"]),
    ("es", ["3 miembros requieren acción", "0 miembros requieren revisión",
            "1 miembro está bien", "4 miembros", "venció hace 3 días", "2 ejecuciones"]),
    # Portuguese counts 0 and 1 in the singular (GNU gettext's rule: n > 1)
    ("pt", ["3 membros requerem ação", "0 membro requer atenção", "1 membro está ok",
            "4 membros", "expirou há 3 dias", "2 execuções"]),
])
def test_html_counts_agree_with_their_numbers(language: str, expected: list[str]) -> None:
    from dspace_deploy import i18n

    document = network().as_dict()
    document["members"][-1]["tls"]["days_left"] = 1  # the healthy one: "1 day"
    try:
        i18n.use(language)
        page = _page(document)
    finally:
        i18n.use("en")
    for text in expected:
        assert text in page, text
    assert {"en": "1 day left<", "es": "queda 1 día<", "pt": "resta 1 dia<"}[language] in page


def test_html_none_agrees_with_its_noun_in_each_language() -> None:
    """One English "none", a word per noun elsewhere: a backup (respaldo) is masculine in
    Spanish, an HSTS header (cabecera) feminine."""
    from dspace_deploy import i18n

    document = network().as_dict()
    (expired,) = [m for m in document["members"] if m["key"] == "web2/repo"]
    expired["tls"]["hsts"] = None
    expired["failed_timers"] = []
    words = {}
    try:
        for language in ("en", "es", "pt"):
            i18n.use(language)
            page = _page(document)
            page = page[page.index('data-member="web2/repo"', page.index("<section")):]
            label = {"en": "Last good backup", "es": "Último respaldo correcto",
                     "pt": "Último backup bem-sucedido"}[language]
            words[language] = (_row(page, "backup", label), _row(page, "tls", "HSTS"))
    finally:
        i18n.use("en")
    assert words == {"en": ("none", "none"), "es": ("ninguno", "ninguna"),
                     "pt": ("nenhum", "nenhum")}


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="chromium not installed (scripts/bootstrap --test installs it)")
def test_chromium_renders_the_page(tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(_page(), encoding="utf-8")
    done = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
         page_file.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert 'id="total-critical">3 members need action' in dom
    sections = re.findall(r'<section class="member (\w+)" id="m-\d+" data-member="([^"]+)"',
                          dom)
    assert sections[0] == ("critical", "web3/repo") and sections[-1] == ("ok", "web1/repo")
    assert "the certificate expired 3 days ago" in dom
    assert "<script" not in dom


# --- CLI ----------------------------------------------------------------------------------------


def test_unknown_language_is_bad_input_before_any_host() -> None:
    result = _cli("report", "--lang", "fr", "-i", "/nonexistent")
    assert result.returncode == 2, result.stderr
    assert "--lang fr is not a language of the report" in result.stderr
    assert "Traceback" not in result.stderr
    result = _cli("report", "--json", "--lang", "fr", "-i", "/nonexistent")
    document = json.loads(result.stdout)
    assert (result.returncode, document["exit_code"]) == (2, 2)


def test_report_json_is_one_document(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from dspace_deploy.cli import report_cmd

    def fake_run(site: Any, job: Any, collector: Any, out: Any, oai_sample: int,
                 language: str, say: Any) -> tuple[dict[str, Any], list[Path]]:
        assert job.playbook == "status.yml" and oai_sample == 5 and language == "pt"
        return network().as_dict(), []

    monkeypatch.setattr(report_cmd, "_run", fake_run)
    monkeypatch.setattr("dspace_deploy.cli.run_cmds.load", lambda i, v: _site(tmp_path))
    result = CliRunner().invoke(app, ["report", "--json", "--lang", "pt", "--oai-sample", "5"])
    document = json.loads(result.stdout)
    assert result.exit_code == 1  # members need attention
    assert document["verb"] == "report" and document["members"][0]["key"] == "web3/repo"


def _site(tmp_path: Path) -> Any:
    from dspace_deploy.site import Site

    return Site(path=tmp_path, name="red-nacional", hosts=["web1"], hostvars={"web1": {}},
                vault_file=tmp_path / "vault.yml", vault_password_file=tmp_path / "pw")


def test_drill_records_are_kept_and_the_newest_wins(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    from dspace_deploy import drill

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    plan = drill.DrillPlan("repo", "web1", {"name": "offsite"}, "latest", "debian13")
    first = drill.DrillResult(plan, ok=False, error="converge failed")
    second = drill.DrillResult(plan, ok=True, stage="done")
    path = drill.record_drill("red", first)
    drill.record_drill("red", second)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    record = drill.last_drills("red")["repo"]
    assert record["ok"] is True and record["time"]


def test_member_key_without_instance() -> None:
    assert Member(host="web9", instance=None).key == "web9"


def test_terminal_summary_names_each_problem(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    from dspace_deploy.cli import report_cmd

    written = [tmp_path / "report.html"]
    monkeypatch.setattr(report_cmd, "_run", lambda *args: (network().as_dict(), written))
    monkeypatch.setattr("dspace_deploy.cli.run_cmds.load", lambda i, v: _site(tmp_path))
    result = CliRunner().invoke(app, ["report", "--lang", "en"], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert "web3/repo" in result.output and "needs action" in result.output
    assert "the certificate expired 3 days ago" in result.output
    assert "3 members need action, 0 members need a look, 1 member is fine" in result.output
    assert str(written[0]) in result.output
