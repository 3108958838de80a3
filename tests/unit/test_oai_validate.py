"""The network's OAI rules on real oai_dc records, and check_feed over a whole (small) feed."""

from __future__ import annotations

import json
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from dspace_deploy.oai.harvest import Harvester, HarvestError, Header, Record
from dspace_deploy.oai.rules import Quantifier, feed_rules, record_rules
from dspace_deploy.oai.validate import check_feed, check_record, feed_failures, rule_catalogue

GOOD = [
    ("title", "Efecto del fenómeno El Niño en la pesca artesanal"),
    ("creator", "Quispe, Rosa"),
    ("type", "info:eu-repo/semantics/article"),
    ("type", "info:eu-repo/semantics/publishedVersion"),
    ("rights", "info:eu-repo/semantics/openAccess"),
    ("rights", "https://creativecommons.org/licenses/by/4.0/"),
    ("date", "2020-05-17"),
    ("date", "2021-01-04T10:00:00Z"),
    ("identifier", "https://repositorio.unx.edu.pe/handle/20.500.12345/77"),
    ("language", "spa"),
    ("relation", "info:eu-repo/grantAgreement/EC/H2020/101000001/EU//ACRONYM"),
]


def oai_dc(pairs: list[tuple[str, str]]) -> str:
    inner = "".join(f"<dc:{k}>{escape(v)}</dc:{k}>" for k, v in pairs)
    return (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/">{inner}</oai_dc:dc>'
    )


def rec(pairs: list[tuple[str, str]], ident: str = "oai:unx:20.500.12345/77") -> Record:
    return Record(Header(ident, "2021-01-04T10:00:00Z"), ET.fromstring(oai_dc(pairs)))


def failing(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {f.rule_id: f.message for f in check_record(rec(pairs)).failures}


def without(name: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in GOOD if k != name]


def replaced(name: str, *values: str) -> list[tuple[str, str]]:
    return without(name) + [(name, v) for v in values]


def test_a_good_record_passes_every_rule() -> None:
    assert failing(GOOD) == {}


@pytest.mark.parametrize(
    ("pairs", "rules"),
    [
        (without("title"), {"lareferencia.title"}),
        (replaced("title", ""), {"lareferencia.title"}),
        (replaced("title", "Line one\nline two"), {"lareferencia.title"}),  # Java's .+
        (without("creator"), {"lareferencia.creator"}),
        (without("identifier"), {"lareferencia.identifier", "openaire.identifier-url"}),
        (replaced("identifier", "20.500.12345/77"), {"openaire.identifier-url"}),
        (without("type"), {"openaire.publication-type"}),
        (replaced("type", "article"), {"openaire.publication-type"}),
        (
            replaced("type", "info:eu-repo/semantics/Article"),
            {"openaire.publication-type", "openaire.type-terms"},
        ),
        (
            replaced("type", "info:eu-repo/semantics/article", "info:eu-repo/semantics/final"),
            {"openaire.type-terms"},
        ),
        (without("rights"), {"openaire.access-rights"}),
        (replaced("rights", "openAccess"), {"openaire.access-rights"}),
        (
            replaced(
                "rights", "info:eu-repo/semantics/openAccess", "info:eu-repo/semantics/closedAccess"
            ),
            {"openaire.access-rights"},
        ),
        (
            replaced("rights", "info:eu-repo/semantics/embargoedAccess"),
            {"openaire.embargo-end"},
        ),
        (
            without("date"),
            {
                "lareferencia.date-year-range",
                "openaire.publication-date",
            },
        ),
        (
            replaced("date", "17/05/2020"),
            {
                "lareferencia.date-year-range",
                "openaire.publication-date",
                "openaire.date-iso8601",
            },
        ),
        (replaced("date", "2020-05-17", "May 2020"), {"openaire.date-iso8601"}),
        (replaced("date", "1850"), {"lareferencia.date-year-range"}),
        (replaced("date", f"{date.today().year + 3}-01-01"), {"lareferencia.date-year-range"}),
        (replaced("language", "en_US"), {"openaire.language", "lareferencia.language"}),
        (replaced("language", "Spanish"), {"openaire.language", "lareferencia.language"}),
        # membership of the ISO 639 lists, not the form: two or three letters that are no code
        (replaced("language", "xx"), {"openaire.language", "lareferencia.language"}),
        (replaced("language", "qqq"), {"openaire.language", "lareferencia.language"}),
        (replaced("language", "qaa"), {"openaire.language", "lareferencia.language"}),  # local
        # ISO 639-1 and 639-2/B codes satisfy OpenAIRE, not LA Referencia's ISO 639-3 list
        (replaced("language", "es"), {"lareferencia.language"}),
        (replaced("language", "fre"), {"lareferencia.language"}),
        (replaced("language", "nld/dut"), {"lareferencia.language"}),  # the guidelines' pair
        (replaced("language", "nld/ger"), {"openaire.language", "lareferencia.language"}),
        # OpenAIRE: every value a code; LA Referencia: at least one ISO 639-3 code
        (replaced("language", "spa", "en_US"), {"openaire.language"}),
        (replaced("language", "es", "quz"), set()),  # Cusco Quechua is ISO 639-3
        (
            replaced("relation", "info:eu-repo/grantAgreement/EC/FP7"),
            {"openaire.project-id"},
        ),
    ],
)
def test_each_rule_fails_for_what_it_names(pairs, rules) -> None:
    assert set(failing(pairs)) == rules


def test_rules_that_hold_when_they_do_not_apply() -> None:
    embargoed = [
        *replaced("rights", "info:eu-repo/semantics/embargoedAccess"),
        ("date", "info:eu-repo/date/embargoEnd/2027-01-31"),
    ]
    assert failing(embargoed) == {}
    assert failing([*replaced("relation", "https://doi.org/10.1/x")]) == {}
    # no dc:language: OpenAIRE's rule holds (it judges the values there are), LA Referencia's
    # asks for one
    assert set(failing(without("language"))) == {"lareferencia.language"}


def test_the_iso_639_table_is_complete_and_dated() -> None:
    from dspace_deploy.oai.rules import ISO639_TABLE, iso639

    table = iso639()
    # ISO 639-1: 184 codes; 639-2: 486 (qaa-qtz left out), 20 of them with a B code; 639-3: the
    # SIL code set of Debian iso-codes 4.15.0
    assert (len(table.part1), len(table.part2), len(table.bibliographic)) == (184, 486, 20)
    assert len(table.part3) > 7800
    assert {"es", "pt", "en", "qu", "gn", "ay"} <= table.part1
    assert {"spa", "por", "eng", "que", "grn", "aym"} <= table.part2
    assert {"spa", "por", "quz", "qvi", "gug", "ayr", "mis", "mul", "und", "zxx"} <= table.part3
    assert table.bibliographic["fre"] == "fra" and table.bibliographic["ger"] == "deu"
    header = ISO639_TABLE.read_text(encoding="utf-8").splitlines()[:3]
    assert "iso-codes 4.15.0" in header[1] and "2023-04-27" in header[1]


def test_messages_name_the_field_and_what_was_found() -> None:
    message = failing(replaced("date", "17/05/2020"))["openaire.publication-date"]
    assert "dc:date" in message and "'17/05/2020'" in message
    assert "none" in failing(without("rights"))["openaire.access-rights"]


def test_quantifiers_as_lareferencia_judges_them() -> None:
    # (occurrences, valid occurrences) -> holds; no occurrence at all: ALL and ZERO_OR_MORE hold
    q = Quantifier
    assert [q.ONE_OR_MORE.holds(o, v) for o, v in ((0, 0), (2, 1))] == [False, True]
    assert [q.ONE_ONLY.holds(o, v) for o, v in ((1, 1), (2, 2))] == [True, False]
    assert [q.ZERO_OR_MORE.holds(o, v) for o, v in ((0, 0), (2, 0), (2, 1))] == [True, False, True]
    assert [q.ZERO_ONLY.holds(o, v) for o, v in ((3, 0), (3, 1))] == [True, False]
    assert [q.ALL.holds(o, v) for o, v in ((0, 0), (2, 1), (2, 2))] == [True, False, True]


def test_every_rule_has_an_id_title_source_and_severity() -> None:
    rules = feed_rules() + record_rules()
    assert len({r.id for r in rules}) == len(rules)
    for r in rules:
        assert r.title and r.severity in ("error", "warning")
        assert r.source.startswith(
            ("https://github.com/", "http://www.openarchives.org/", "DSpace/")
        )


# ------------------------------------------------------------------------------------ check_feed

ROOT = "https://repo.unx.edu.pe/server/oai"
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
    "<responseDate>2026-12-05T08:00:00Z</responseDate><request>{base}</request>{body}</OAI-PMH>"
)


def record_xml(ident: str, pairs: list[tuple[str, str]] | None) -> str:
    if pairs is None:
        return (
            f'<record><header status="deleted"><identifier>{ident}</identifier>'
            "<datestamp>2021-01-01T00:00:00Z</datestamp></header></record>"
        )
    return (
        f"<record><header><identifier>{ident}</identifier>"
        f"<datestamp>2021-01-01T00:00:00Z</datestamp></header>"
        f"<metadata>{oai_dc(pairs)}</metadata></record>"
    )


class DSpaceLike:
    """request, driver and openaire contexts as DSpace lays them out; a page of 2 records."""

    def __init__(self, records: dict[str, list[tuple[str, str]] | None], sets: bool = True):
        self.records = records
        self.sets = sets

    def __call__(self, url: str) -> bytes:
        base, query = url.split("?", 1)
        context = base.rsplit("/", 1)[1]
        args = dict(urllib.parse.parse_qsl(query))
        return ENVELOPE.format(base=base, body=self.body(context, args)).encode()

    def body(self, context: str, args: dict[str, str]) -> str:
        verb = args["verb"]
        if verb == "Identify":
            return (
                "<Identify><repositoryName>UNX</repositoryName><baseURL>x</baseURL>"
                "<protocolVersion>2.0</protocolVersion><adminEmail>a@unx.edu.pe</adminEmail>"
                "<earliestDatestamp>2015-01-01T00:00:00Z</earliestDatestamp>"
                "<deletedRecord>transient</deletedRecord>"
                "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify>"
            )
        if verb == "ListMetadataFormats":
            return (
                "<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
                "<schema>s</schema><metadataNamespace>n</metadataNamespace></metadataFormat>"
                "</ListMetadataFormats>"
            )
        if verb == "ListSets":
            static = f"<set><setSpec>{context}</setSpec><setName>x</setName></set>"
            has = self.sets and context != "request"
            community = "<set><setSpec>com_1_1</setSpec><setName>Faculty</setName></set>"
            return f"<ListSets>{static if has else ''}{community}</ListSets>"
        if verb == "GetRecord":
            ident = args["identifier"]
            return f"<GetRecord>{record_xml(ident, self.records[ident])}</GetRecord>"
        if not self.records:
            return '<error code="noRecordsMatch">No matches for the query</error>'
        offset = int(args.get("resumptionToken", "0"))
        page = list(self.records.items())[offset : offset + 2]
        more = offset + 2 < len(self.records)
        token = f"<resumptionToken>{offset + 2 if more else ''}</resumptionToken>"
        if verb == "ListIdentifiers":
            items = "".join(
                f"<header><identifier>{i}</identifier><datestamp>2021-01-01T00:00:00Z"
                "</datestamp></header>"
                for i, _ in page
            )
        else:
            items = "".join(record_xml(i, p) for i, p in page)
        return f"<{verb}>{items}{token}</{verb}>"


def test_check_feed_samples_records_and_scores_the_valid_share() -> None:
    feed = DSpaceLike(
        {
            "oai:unx:1/1": GOOD,
            "oai:unx:1/2": without("rights"),  # an error: not valid
            "oai:unx:1/3": replaced("language", "en_US"),  # a warning only: still valid
            "oai:unx:1/4": None,  # deleted: not sampled
            "oai:unx:1/5": without("title"),  # beyond the sample
        }
    )
    report = check_feed(Harvester(f"{ROOT}/request", fetch=feed), sample=4)
    assert report.verbs == dict.fromkeys(
        ("Identify", "ListMetadataFormats", "ListSets", "ListIdentifiers", "ListRecords",
         "GetRecord"), "ok")  # fmt: skip
    # the driver and openaire sets live in DSpace's sibling contexts
    assert report.sets_present == {"driver": True, "openaire": True}
    assert [(r.identifier, [f.rule_id for f in r.failures]) for r in report.records] == [
        ("oai:unx:1/1", []),
        ("oai:unx:1/2", ["openaire.access-rights"]),
        ("oai:unx:1/3", ["openaire.language", "lareferencia.language"]),
    ]
    assert report.score == pytest.approx(66.7)
    assert report.rules == rule_catalogue()
    assert {r.id for r in report.rules} >= {"openaire.set", "lareferencia.title"}
    assert feed_failures(report) == []
    document = json.loads(json.dumps(report.as_dict()))
    assert document["records"][1]["failures"][0]["rule_id"] == "openaire.access-rights"
    assert document["rules"][0] == {
        "id": "oai.oai_dc",
        "title": "The feed offers oai_dc and answers all six verbs",
        "source": report.rules[0].source,
        "severity": "error",
    }


def test_an_empty_feed_without_sets_scores_zero_and_says_why() -> None:
    report = check_feed(Harvester(f"{ROOT}/request", fetch=DSpaceLike({}, sets=False)))
    assert report.records == [] and report.score == 0.0
    assert report.sets_present == {"driver": False, "openaire": False}
    assert report.verbs["ListRecords"] == "ok"
    assert report.verbs["GetRecord"].startswith("not tried")
    assert {f.rule_id for f in feed_failures(report)} == {
        "oai.oai_dc",
        "driver.set",
        "openaire.set",
    }


def test_an_unreachable_feed_reports_every_verb() -> None:
    def down(url: str) -> bytes:
        raise HarvestError(f"{url}: cannot connect: Connection refused")

    report = check_feed(Harvester(f"{ROOT}/request", fetch=down))
    assert all("Connection refused" in report.verbs[v] for v in ("Identify", "ListRecords"))
    assert report.score == 0.0 and not any(report.sets_present.values())


def test_every_rule_is_documented_with_its_severity_and_source() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "oai-validation.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in doc.splitlines()
        if line.startswith("| `")
    }
    for rule in feed_rules() + record_rules():
        assert rule.id in rows, rule.id
        row = rows[rule.id]
        assert f"| {rule.severity} |" in row, rule.id
        # the row cites the rule's (first) source: its file name, or the protocol's anchor
        source = rule.source.split(";")[0]
        file_name = source.split("#")[0].rsplit("/", 1)[-1].split(":")[0]
        anchor = source.partition("#")[2]
        assert file_name in row or (anchor and f"#{anchor}" in row), (rule.id, source)
