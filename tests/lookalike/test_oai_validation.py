"""dspace_deploy.oai against the look-alike's OAI-PMH endpoint (XOAI as DSpace 9.3 configures it):
the harvester meets the answers a real DSpace gives (pages of 100, its tokens, its errors, its
contexts), and records planted with named problems (tests/lookalike/seed.py PLANTED) fail
exactly those rules and nothing else."""

from __future__ import annotations

import urllib.parse

import pytest

from dspace_deploy.oai.harvest import Harvester, OaiError, http_fetch
from dspace_deploy.oai.validate import check_feed, feed_failures
from tests.lookalike.seed import PLANTED, Item, planted_content
from tests.lookalike.test_lookalike import MISSING
from tests.lookalike.test_oai import PREFIX, running_site

pytestmark = pytest.mark.lookalike

FILLER = 120  # conforming records beyond the planted ones: more than one page of 100


def handle(identifier: str) -> str:
    """oai:<host>:<handle> -> <handle>"""
    return identifier.split(":", 2)[2]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    if MISSING:
        pytest.skip(f"missing: {', '.join(MISSING)}")
    communities, collections, items, expected = planted_content(PREFIX)
    control = items[0]
    for n in range(FILLER):
        h = f"{PREFIX}/{9100 + n}"
        metadata = [
            (k, f"http://localhost:4000/handle/{h}" if k == "dc.identifier.uri" else v)
            for k, v in control.metadata
        ]
        items.append(Item(h, control.collection, metadata))
        expected[h] = ()
    with running_site(tmp_path_factory.mktemp("oaival"), communities, collections, items) as site:
        yield site, expected


def test_the_harvester_speaks_every_verb_with_dspace(planted):
    site, expected = planted
    h = Harvester(site.url("request"))
    ident = h.identify()
    assert ident.base_url == site.base_url("request")
    assert ident.protocol_version == "2.0" and ident.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert "oai_dc" in {f.prefix for f in h.list_metadata_formats()}
    specs = {s.spec for s in h.list_sets()}
    assert {f"com_{PREFIX}_9000", f"col_{PREFIX}_9001"} <= specs
    # more than one page: the resumptionToken is followed to the end, every record once
    records = h.list_records("oai_dc")
    assert sorted(handle(r.header.identifier) for r in records) == sorted(expected)
    headers = h.list_identifiers("oai_dc", set=f"col_{PREFIX}_9001")
    assert len(headers) == len(expected)
    assert len(h.list_records("oai_dc", limit=7)) == 7
    one = h.get_record(records[0].header.identifier, "oai_dc")
    assert one.fields == records[0].fields and one.fields["title"]
    with pytest.raises(OaiError) as e:
        h.get_record(f"oai:localhost:{PREFIX}/1", "oai_dc")
    assert e.value.code == "idDoesNotExist"
    with pytest.raises(OaiError) as e:
        h.list_records("marc21")
    assert e.value.code == "cannotDisseminateFormat"
    assert h.list_records("oai_dc", set=f"col_{PREFIX}_9999") == []  # noRecordsMatch
    # DSpace's driver context serves the static set "driver"
    assert "driver" in {s.spec for s in Harvester(site.url("driver")).list_sets()}


def test_connect_to_reaches_a_host_whose_name_does_not_resolve(planted):
    site, _ = planted
    port = urllib.parse.urlsplit(site.base).port
    h = Harvester(
        f"http://repo.lab.invalid:{port}/server/oai/request",
        fetch=http_fetch(connect_to="127.0.0.1", timeout=60),
    )
    assert h.identify().repository_name == Harvester(site.url("request")).identify().repository_name


def test_check_feed_reports_each_planted_problem_and_nothing_else(planted):
    site, expected = planted
    report = check_feed(Harvester(site.url("request")), sample=len(expected))
    assert set(report.verbs.values()) == {"ok"}, report.verbs
    assert report.sets_present == {"driver": True, "openaire": True}  # sibling contexts
    assert feed_failures(report) == []
    found = {handle(r.identifier): tuple(f.rule_id for f in r.failures) for r in report.records}
    assert found == expected
    errors = {r.id for r in report.rules if r.severity == "error"}
    invalid = [h for h, rules in expected.items() if set(rules) & errors]
    assert invalid  # bad-date, no-type, local-type, no-access-rights, no-author, embargo
    assert report.score == round(100 * (len(expected) - len(invalid)) / len(expected), 1)


def test_the_driver_context_hides_records_its_filter_refuses(planted):
    """Why the report harvests `request`: DSpace's driver context lists only records with a
    DRIVER type and open access (xoai.xml driverFilter), so those planted problems never show
    there; what it transforms (dc.date.issued cut to 10 characters) still does."""
    site, expected = planted
    report = check_feed(Harvester(site.url("driver")), sample=len(expected))
    found = {handle(r.identifier): {f.rule_id for f in r.failures} for r in report.records}
    by_name = dict(zip(PLANTED, expected, strict=False))  # planted first, fillers after
    assert by_name["no-access-rights"] not in found and by_name["no-type"] not in found
    assert "openaire.publication-date" in found[by_name["bad-date"]]
    assert found[by_name["control"]] == set()
