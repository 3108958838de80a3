"""The look-alike's OAI-PMH endpoint answers a real harvester as DSpace's XOAI does.

One installed line-9 look-alike (PostgreSQL cluster, Solr look-alike, backend jar) with 176 items in
3 communities and 100 collections, imported by `oai import`; harvested with Sickle (a real OAI-PMH
client from PyPI) and read raw. Every raw answer is checked against the OAI-PMH 2.0 schema
(OAI-PMH.xsd as pyoai's source release ships it; its metadata wildcards are lax) when PyPI can be
reached, and structurally always.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from sickle import Sickle, oaiexceptions

from tests.lookalike import build_release, cache_root
from tests.lookalike.seed import Collection, Community, Item, content_sql
from tests.lookalike.test_lookalike import (
    MISSING,
    Postgres,
    Procs,
    _install,
    free_port,
    run,
    solr_home,
    solr_start,
    wait_port,
)

pytestmark = pytest.mark.lookalike

NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.lyncode.com/xoai",
    "id": "http://www.openarchives.org/OAI/2.0/oai-identifier",
}
PREFIX = "123456789"
HOST = "localhost"  # oai.identifier.prefix: the host of dspace.ui.url (http://localhost:4000)
PYOAI = ("pyoai", "2.5.0", "029521e1f6a819511feb4299a6181b5c312e8a71f7cddc4547e27001e7552be0")
UTC_SECOND = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def get_url(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def oai_id(suffix: int) -> str:
    return f"oai:{HOST}:{PREFIX}/{suffix}"


# -------------------------------------------------------------------------------------- content

ARTICLES, THESES, DATASETS = f"{PREFIX}/10", f"{PREFIX}/11", f"{PREFIX}/12"
N_ARTICLES, N_THESES, N_GRANT_ONLY = 130, 40, 5


def article_modified(n: int) -> datetime:
    return datetime(2021, 1, 1, 12, tzinfo=UTC) + timedelta(days=n)


def content() -> tuple[list[Community], list[Collection], list[Item], dict[str, int]]:
    """Articles (open access: in the driver and openaire contexts), theses (not open access;
    five of them restricted but with an EC grant: openaire shows them), and one item of each
    special kind."""
    communities = [
        Community(f"{PREFIX}/1", "Faculty of Sciences"),
        Community(f"{PREFIX}/2", "Department of Physics", parent=f"{PREFIX}/1"),
        Community(f"{PREFIX}/3", "Library"),
    ]
    collections = [
        Collection(ARTICLES, "Articles", [f"{PREFIX}/2"]),
        Collection(THESES, "Theses", [f"{PREFIX}/3"]),
        Collection(DATASETS, "Datasets", [f"{PREFIX}/3"]),
    ] + [Collection(f"{PREFIX}/{2000 + i}", f"Series {i:03d}", [f"{PREFIX}/3"]) for i in range(97)]
    items: list[Item] = []
    for n in range(N_ARTICLES):
        title = "Ampersand & 'quotes' <b>" if n == 0 else f"Article {n:03d}"
        available = "2015-03-04T05:06:07Z" if n == 0 else f"2021-01-{1 + n % 28:02d}T00:00:00Z"
        items.append(
            Item(
                f"{PREFIX}/{1000 + n}",
                ARTICLES,
                [
                    ("dc.title", title),
                    ("dc.title.alternative", f"Alternative {n}"),
                    ("dc.contributor.author", f"Author, {n}"),
                    ("dc.contributor.advisor", f"Advisor, {n}"),
                    ("dc.type", "article"),
                    ("dc.rights", "openAccess"),
                    ("dc.rights.uri", "http://creativecommons.org/licenses/by/4.0/"),
                    ("dc.date.issued", "2020-05-17T09:10:11Z"),
                    ("dc.date.available", available),
                    ("dc.date.accessioned", available),
                    ("dc.description.provenance", "Made available in DSpace"),
                    ("dc.description.abstract", f"Abstract {n}"),
                    ("dc.identifier.uri", f"http://localhost:4000/handle/{PREFIX}/{1000 + n}"),
                    ("dc.subject", "physics"),
                ],
                last_modified=article_modified(n),
                mapped=[THESES] if n % 10 == 0 else [],
            )
        )
    for n in range(N_THESES):
        grant = n < N_GRANT_ONLY
        meta = [
            ("dc.title", f"Thesis {n:03d}"),
            ("dc.contributor.author", f"Student, {n}"),
            ("dc.type", "doctoralThesis"),
        ]
        if grant:
            meta.append(("dc.relation", f"info:eu-repo/grantAgreement/EC/FP7/{100 + n}"))
        items.append(
            Item(
                f"{PREFIX}/{1200 + n}",
                THESES,
                meta,
                last_modified=datetime(2022, 6, 1, 8, 30, tzinfo=UTC) + timedelta(hours=n),
                public=not grant,
            )
        )
    special = {
        "restricted": 1300,
        "embargoed": 1301,
        "withdrawn": 1302,
        "hidden": 1303,
        "person": 1304,
        "publication": 1305,
    }
    base = [("dc.title", "Special"), ("dc.contributor.author", "Someone")]
    when = datetime(2023, 1, 1, tzinfo=UTC)
    items += [
        Item(f"{PREFIX}/1300", DATASETS, base, last_modified=when, public=False),
        Item(
            f"{PREFIX}/1301",
            DATASETS,
            base,
            last_modified=when,
            embargo_until=date.today() + timedelta(days=30),
        ),
        Item(f"{PREFIX}/1302", DATASETS, base, last_modified=when, withdrawn=True),
        Item(f"{PREFIX}/1303", DATASETS, base, last_modified=when, discoverable=False),
        Item(
            f"{PREFIX}/1304",
            DATASETS,
            [*base, ("dspace.entity.type", "Person")],
            last_modified=when,
        ),
        Item(
            f"{PREFIX}/1305",
            DATASETS,
            [*base, ("dspace.entity.type", "Publication")],
            last_modified=when,
        ),
    ]
    return communities, collections, items, special


# ------------------------------------------------------------------------------------- the site


@dataclass
class Site:
    base: str  # http://127.0.0.1:<port>/server/oai
    dspace: Path
    solr: str  # http://127.0.0.1:<port>/solr
    psql: list[str]
    schema: etree.XMLSchema | None
    before_import: str  # ListIdentifiers answered before `oai import` ran

    def url(self, context: str = "request") -> str:
        return f"{self.base}/{context}"

    @staticmethod
    def base_url(context: str = "request") -> str:
        """What the answers call their base URL: ${oai.url}/<context> (dspace.server.url based)."""
        return f"http://localhost:8080/server/oai/{context}"

    def sickle(self, context: str = "request", method: str = "GET") -> Sickle:
        return Sickle(self.url(context), http_method=method, max_retries=0, timeout=60)

    def raw(self, context: str = "request", params=(), method: str = "GET") -> str:
        query = urllib.parse.urlencode(list(params.items()) if isinstance(params, dict) else params)
        if method == "POST":
            req = urllib.request.Request(
                self.url(context),
                data=query.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            req = urllib.request.Request(f"{self.url(context)}?{query}")
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/xml")
            return r.read().decode()

    def get(self, context: str = "request", params=(), method: str = "GET") -> etree._Element:
        """A checked OAI-PMH answer (schema, envelope)."""
        root = etree.fromstring(self.raw(context, params, method).encode())
        if self.schema is not None:
            self.schema.assertValid(root)
        assert root.tag == f"{{{NS['o']}}}OAI-PMH"
        assert UTC_SECOND.fullmatch(root.findtext("o:responseDate", namespaces=NS))
        assert root.findtext("o:request", namespaces=NS) == self.base_url(context)
        return root

    def error(self, context: str = "request", params=()) -> tuple[str, str, dict]:
        root = self.get(context, params)
        errors = root.findall("o:error", NS)
        assert len(errors) == 1, etree.tostring(root)
        return errors[0].get("code"), errors[0].text, dict(root.find("o:request", NS).attrib)

    def dspace_cmd(self, *args: str) -> subprocess.CompletedProcess:
        return run([str(self.dspace / "bin" / "dspace"), *args])

    def sql(self, script: str) -> None:
        subprocess.run(self.psql, input=script, text=True, check=True, capture_output=True)

    def documents(self) -> dict[str, dict]:
        """handle -> document of the oai core."""
        with urllib.request.urlopen(
            f"{self.solr}/oai/select?q=*:*&rows=1000&wt=json", timeout=30
        ) as r:
            return {d["item.handle"]: d for d in json.load(r)["response"]["docs"]}

    def item_ids(self) -> dict[str, str]:
        """handle -> item.id of the oai core's documents."""
        return {h: d["item.id"] for h, d in self.documents().items()}

    def update_core(self, body: object) -> None:
        """Change the oai core behind DSpace's back, then empty the response cache."""
        req = urllib.request.Request(
            f"{self.solr}/oai/update?commit=true",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=30).read()
        self.dspace_cmd("oai", "clean-cache")

    def oai_import(self, *args: str) -> subprocess.CompletedProcess:
        p = self.dspace_cmd("oai", "import", *args)
        assert p.returncode == 0, p.stdout + p.stderr  # DSpace's exit code, failure or not
        return p


def oai_pmh_schema() -> etree.XMLSchema | None:
    """OAI-PMH.xsd from pyoai's source release on PyPI (pinned by hash), cached; None offline."""
    name, version, sha = PYOAI
    cache = cache_root().parent / "oai-pmh" / f"OAI-PMH-{name}-{version}.xsd"
    if not cache.exists():
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "-d",
                    tmp,
                    f"{name}=={version}",
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            archives = list(Path(tmp).glob(f"{name}-{version}.tar.gz"))
            if p.returncode != 0 or not archives:
                return None
            assert hashlib.sha256(archives[0].read_bytes()).hexdigest() == sha
            with tarfile.open(archives[0]) as tf:
                member = tf.extractfile(f"{name}-{version}/src/oaipmh/tests/OAI-PMH.xsd")
                assert member is not None
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_bytes(member.read())
    return etree.XMLSchema(etree.parse(str(cache)))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if MISSING:
        pytest.skip(f"missing: {', '.join(MISSING)}")
    communities, collections, items, _ = content()
    with running_site(tmp_path_factory.mktemp("oai"), communities, collections, items) as s:
        yield s


@contextlib.contextmanager
def running_site(
    root: Path, communities: list[Community], collections: list[Collection], items: list[Item]
) -> Iterator[Site]:
    """An installed line-9 look-alike with this content in its database, its backend serving
    OAI-PMH on a free port, after one `oai import` (what was listed before it: `before_import`)."""
    procs = Procs()
    pg_base = Path(tempfile.mkdtemp(prefix="lookalike-oai-pg-"))
    pg_base.chmod(0o755)  # the cluster runs as user postgres when the tests run as root
    pg = Postgres(pg_base / "cluster")
    try:
        rel = build_release("9", root / "release")
        solr_port, boot_port = free_port(), free_port()
        solr_url = f"http://127.0.0.1:{solr_port}/solr"
        inst, dspace = _install(rel, root, pg.createdb("oai"), solr_url, "OAI Look-alike")
        run(["ant", "fresh_install"], cwd=inst)
        sroot = root / "solr"
        sroot.mkdir()
        home = solr_home(sroot, rel.unpack_solr(sroot), dspace / "solr")
        solr_start(procs, rel, sroot, home, solr_port, "-Dsolr.config.lib.enabled=true")
        run([str(dspace / "bin" / "dspace"), "database", "migrate"])
        sql = content_sql(communities, collections, items)
        psql = [
            str(pg.bin / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.port),
            "-U",
            "postgres",
            "-d",
            "oai",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
        ]
        subprocess.run(psql, input=sql, text=True, check=True, capture_output=True)
        procs.start(
            [
                "java",
                f"-Ddspace.dir={dspace}",
                f"-Dlogging.config={dspace}/config/log4j2.xml",
                f"-Dserver.port={boot_port}",
                "-Dserver.address=127.0.0.1",
                "-jar",
                str(dspace / "webapps" / "server-boot.jar"),
            ],
            log=root / "boot.out",
        )
        wait_port(boot_port)
        base = f"http://127.0.0.1:{boot_port}/server/oai"
        before = get_url(f"{base}/request?verb=ListIdentifiers&metadataPrefix=oai_dc")[1]
        p = run([str(dspace / "bin" / "dspace"), "oai", "import"])
        assert "OAI 2.0 manager action ended" in p.stdout
        yield Site(base, dspace, solr_url, psql, oai_pmh_schema(), before)
    finally:
        procs.close()
        pg.close()
        shutil.rmtree(pg_base, ignore_errors=True)


# ------------------------------------------------------------------------------------------ tests


def visible_request_handles() -> set[str]:
    """What the request context lists: public or deleted items (withdrawn, not discoverable), no
    entity but Publication."""
    _, _, items, special = content()
    hidden = {special[k] for k in ("restricted", "embargoed", "person")}
    return {it.handle for it in items if int(it.handle.split("/")[1]) not in hidden and it.public}


def test_nothing_is_harvestable_before_oai_import(site):
    root = etree.fromstring(site.before_import.encode())
    assert root.find("o:error", NS).get("code") == "noRecordsMatch"


def test_identify(site):
    ident = site.sickle().Identify()
    assert ident.repositoryName == "OAI Look-alike"
    assert ident.baseURL == site.base_url()
    assert ident.protocolVersion == "2.0"
    assert ident.adminEmail == "dspace-help@myu.edu"
    assert ident.earliestDatestamp == "2015-03-04T05:06:07Z"  # the smallest dc.date.available
    assert ident.deletedRecord == "transient"
    assert ident.granularity == "YYYY-MM-DDThh:mm:ssZ"
    root = site.get(params={"verb": "Identify"})
    assert root.find("o:request", NS).attrib == {"verb": "Identify"}
    assert root.find(".//o:compression", NS) is None  # DSpace offers no compression
    desc = root.find("o:Identify/o:description/id:oai-identifier", NS)
    assert desc.findtext("id:repositoryIdentifier", namespaces=NS) == HOST
    assert desc.findtext("id:sampleIdentifier", namespaces=NS) == f"oai:{HOST}:{PREFIX}/1234"
    for context in ("driver", "openaire"):
        assert site.sickle(context).Identify().baseURL == site.base_url(context)


def test_list_metadata_formats(site):
    prefixes = [f.metadataPrefix for f in site.sickle().ListMetadataFormats()]
    assert sorted(prefixes) == sorted(
        [
            "oai_dc",
            "mets",
            "xoai",
            "didl",
            "dim",
            "ore",
            "rdf",
            "etdms",
            "mods",
            "qdc",
            "marc",
            "uketd_dc",
            "rioxx",
        ]
    )
    dc = next(f for f in site.sickle().ListMetadataFormats() if f.metadataPrefix == "oai_dc")
    assert dc.metadataNamespace == NS["oai_dc"]
    assert dc.schema == "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
    assert sorted(f.metadataPrefix for f in site.sickle("driver").ListMetadataFormats()) == [
        "didl",
        "mets",
        "oai_dc",
    ]
    assert sorted(f.metadataPrefix for f in site.sickle("openaire").ListMetadataFormats()) == [
        "mets",
        "oai_dc",
    ]
    # for one item: the formats whose filter it passes (uketd_dc wants a thesis)
    article = {f.metadataPrefix for f in site.sickle().ListMetadataFormats(identifier=oai_id(1001))}
    assert "oai_dc" in article and "uketd_dc" not in article
    thesis = {f.metadataPrefix for f in site.sickle().ListMetadataFormats(identifier=oai_id(1210))}
    assert "uketd_dc" in thesis
    site.get(params={"verb": "ListMetadataFormats", "identifier": oai_id(1001)})
    # an item the context does not show has no formats; an unknown one does not exist
    assert site.error(params={"verb": "ListMetadataFormats", "identifier": oai_id(1300)})[0] == (
        "noMetadataFormats"
    )
    assert site.error(params={"verb": "ListMetadataFormats", "identifier": oai_id(9999)})[0] == (
        "idDoesNotExist"
    )


def test_list_sets_pages_communities_then_collections(site):
    sets = [(s.setSpec, s.setName) for s in site.sickle().ListSets()]
    assert len(sets) == 103
    assert sets[:3] == [
        (f"com_{PREFIX}_2", "Department of Physics"),
        (f"com_{PREFIX}_1", "Faculty of Sciences"),
        (f"com_{PREFIX}_3", "Library"),
    ]
    assert sets[3:6] == [
        (f"col_{PREFIX}_10", "Articles"),
        (f"col_{PREFIX}_12", "Datasets"),
        (f"col_{PREFIX}_2000", "Series 000"),
    ]
    first = site.get(params={"verb": "ListSets"})
    assert len(first.findall("o:ListSets/o:set", NS)) == 100
    token = first.find("o:ListSets/o:resumptionToken", NS)
    assert token.text == "////100" and token.attrib == {"completeListSize": "103", "cursor": "0"}
    last = site.get(params={"verb": "ListSets", "resumptionToken": token.text})
    assert len(last.findall("o:ListSets/o:set", NS)) == 3
    token = last.find("o:ListSets/o:resumptionToken", NS)
    assert token.text is None and token.attrib == {"completeListSize": "103", "cursor": "1"}
    # the driver context lists its static set first
    driver = [s.setSpec for s in site.sickle("driver").ListSets()]
    assert driver[0] == "driver" and len(driver) == 104


def test_harvest_every_record_in_pages_of_100(site):
    records = list(site.sickle().ListRecords(metadataPrefix="oai_dc", ignore_deleted=False))
    assert {r.header.identifier.rsplit(":", 1)[1] for r in records} == visible_request_handles()
    # in item.id order (DSpaceSolrSearch sorts every query by item.id)
    ids = site.item_ids()
    handles = [r.header.identifier.rsplit(":", 1)[1] for r in records]
    assert handles == sorted(handles, key=lambda h: ids[h])
    first = site.get(params={"verb": "ListRecords", "metadataPrefix": "oai_dc"})
    assert len(first.findall("o:ListRecords/o:record", NS)) == 100
    token = first.find("o:ListRecords/o:resumptionToken", NS)
    total = len(visible_request_handles())
    assert token.text == "oai_dc////100"
    assert token.attrib == {"completeListSize": str(total), "cursor": "0"}
    last = site.get(params={"verb": "ListRecords", "resumptionToken": token.text})
    assert len(last.findall("o:ListRecords/o:record", NS)) == total - 100
    token = last.find("o:ListRecords/o:resumptionToken", NS)
    assert token.text is None and token.get("cursor") == "1"
    assert last.find("o:request", NS).attrib == {
        "verb": "ListRecords",
        "resumptionToken": "oai_dc////100",
    }
    idents = list(site.sickle().ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False))
    assert [h.identifier for h in idents] == [r.header.identifier for r in records]
    # POST is served like GET
    posted = list(
        site.sickle(method="POST").ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=True)
    )
    assert len(posted) == total - 2  # without the deleted (withdrawn, not discoverable) items


def test_record_headers_sets_and_deleted_items(site):
    rec = site.sickle().GetRecord(identifier=oai_id(1010), metadataPrefix="oai_dc")
    assert rec.header.datestamp == "2021-01-11T12:00:00Z"
    # communities (the direct one, then its parent), then collections (owning and mapped)
    assert rec.header.setSpecs == [
        f"com_{PREFIX}_2",
        f"com_{PREFIX}_1",
        f"com_{PREFIX}_3",
        f"col_{PREFIX}_10",
        f"col_{PREFIX}_11",
    ]
    # not discoverable: a deleted record (transient policy), header only
    root = site.get(
        params={"verb": "GetRecord", "identifier": oai_id(1303), "metadataPrefix": "oai_dc"}
    )
    header = root.find("o:GetRecord/o:record/o:header", NS)
    assert header.get("status") == "deleted"
    assert root.find("o:GetRecord/o:record/o:metadata", NS) is None


def test_withdrawn_item_is_a_deleted_record(site):
    """XOAI indexes withdrawn items too, flagged item.deleted (XOAI.java:262-269, 439-440)."""
    root = site.get(
        params={"verb": "GetRecord", "identifier": oai_id(1302), "metadataPrefix": "oai_dc"}
    )
    assert root.find("o:GetRecord/o:record/o:header", NS).get("status") == "deleted"


def test_oai_import_stores_the_whole_document_under_the_handle(site):
    """What XOAI.index(Item) stores for an item (XOAI.java:399-516 at dspace-9.3), one document
    per handle, the oai core's uniqueKey (dspace/solr/oai/conf/schema.xml:162)."""
    status, body = get_url(f"{site.solr}/oai/schema/uniquekey?wt=json")
    assert status == 200 and json.loads(body)["uniqueKey"] == "item.handle"
    docs = site.documents()
    _, _, items, special = content()
    assert set(docs) == {it.handle for it in items}  # withdrawn and restricted ones too
    article = docs[f"{PREFIX}/1010"]
    assert {k: v for k, v in article.items() if not k.startswith("metadata.")} == {
        "item.id": article["item.id"],
        "item.handle": f"{PREFIX}/1010",
        "item.public": True,
        "item.willChangeStatus": False,
        "item.deleted": False,
        "item.lastmodified": "2021-01-11T12:00:00.000Z",
        # Item.getCollections() and flatParentCommunities: by name, then the ancestors
        "item.collections": [f"col_{PREFIX}_10", f"col_{PREFIX}_11"],
        "item.communities": [f"com_{PREFIX}_2", f"com_{PREFIX}_1", f"com_{PREFIX}_3"],
        "item.hasbitstream": False,
        "item.compile": article["item.compile"],
        "_version_": article["_version_"],
    }
    assert article["metadata.dc.title"] == ["Article 010"]
    assert article["metadata.dc.rights.uri"] == ["http://creativecommons.org/licenses/by/4.0/"]
    assert article["item.compile"].startswith(f'<metadata xmlns="{NS["x"]}"')

    def flags(kind):
        d = docs[f"{PREFIX}/{special[kind]}"]
        return d["item.public"], d["item.deleted"], d["item.willChangeStatus"]

    # (public, deleted, willChangeStatus) at a first import
    assert flags("restricted") == (False, False, False)
    assert flags("embargoed") == (False, False, True)  # hidden until its READ policy starts
    assert flags("withdrawn") == (False, True, False)  # no READ policy, a deleted record
    assert flags("hidden") == (True, True, False)  # not discoverable: a deleted record


def test_an_incremental_import_follows_embargoes(site):
    """Without -c, `oai import` also re-indexes the indexed items whose visibility an embargo may
    change (item.willChangeStatus) though the item was not modified; an item once visible that is
    embargoed again becomes a deleted record instead of vanishing (XOAI.java:185-257, 407-440)."""
    item = f"(SELECT resource_id FROM handle WHERE handle = '{PREFIX}/1301')"
    other = f"(SELECT resource_id FROM handle WHERE handle = '{PREFIX}/1304')"
    today = datetime.now(UTC).date()
    params = {"verb": "GetRecord", "identifier": oai_id(1301), "metadataPrefix": "oai_dc"}
    try:
        # the index's newest date becomes recent: the embargoed item was modified before it.
        # Whole seconds: the index keeps milliseconds, so an item modified within one is newer
        # than its own item.lastmodified and every incremental import takes it again.
        site.sql(
            f"UPDATE item SET last_modified = date_trunc('second', now()) WHERE uuid = {other};"
        )
        assert "Incremental import" in site.oai_import().stdout
        assert site.error(params=params)[0] == "idDoesNotExist"
        # the embargo ends: only the policy's start date passes, the item is not modified
        site.sql(
            f"UPDATE resourcepolicy SET start_date = '{today - timedelta(days=1)}' "
            f"WHERE dspace_object = {item};"
        )
        p = site.oai_import()
        # discoverable, not discoverable, then the indexed items whose status may change
        totals = [line for line in p.stdout.splitlines() if line.startswith("Total: ")]
        assert totals == ["Total: 0 items", "Total: 0 items", "Total: 1 items"], p.stdout
        doc = site.documents()[f"{PREFIX}/1301"]
        assert (doc["item.public"], doc["item.deleted"], doc["item.willChangeStatus"]) == (
            True,
            False,
            False,
        )
        # the datestamp is the start of the READ policy, so that incremental harvests see it
        start = f"{today - timedelta(days=1)}T00:00:00"
        assert doc["item.lastmodified"] == f"{start}.000Z"
        rec = site.sickle().GetRecord(**{k: v for k, v in params.items() if k != "verb"})
        assert rec.header.datestamp == f"{start}Z" and not rec.deleted
        assert rec.metadata["title"] == ["Special"]
        # embargoed again (and modified): it was visible, so it is now a deleted record
        site.sql(
            f"UPDATE resourcepolicy SET start_date = '{today + timedelta(days=30)}' "
            f"WHERE dspace_object = {item}; UPDATE item SET last_modified = now() "
            f"WHERE uuid = {item};"
        )
        site.oai_import()
        doc = site.documents()[f"{PREFIX}/1301"]
        assert (doc["item.public"], doc["item.deleted"], doc["item.willChangeStatus"]) == (
            True,
            True,
            True,
        )
        root = site.get(params=params)
        assert root.find("o:GetRecord/o:record/o:header", NS).get("status") == "deleted"
        assert root.find("o:GetRecord/o:record/o:metadata", NS) is None
    finally:
        site.sql(
            f"UPDATE resourcepolicy SET start_date = '{today + timedelta(days=30)}' "
            f"WHERE dspace_object = {item}; UPDATE item SET last_modified = "
            f"'2023-01-01T00:00:00Z' WHERE uuid IN ({item}, {other});"
        )
        site.oai_import("-c")  # a first import again: hidden while embargoed
    assert site.error(params=params)[0] == "idDoesNotExist"


def test_a_document_lacking_fields_is_served_as_dspace_serves_it(site):
    """The provider reads the core only: a document without item.lastmodified, item.deleted and
    item.public (what an older look-alike import stored) is not completed from the database. No
    list query selects it; GetRecord fails in DSpaceSolrItem's constructor (HTTP 500); an import
    that re-indexes its item dies reading its item.public (checkIfVisibleInOAI), exiting 0."""
    handle = f"{PREFIX}/1305"
    params = {"verb": "GetRecord", "identifier": oai_id(1305), "metadataPrefix": "oai_dc"}
    site.update_core([{"item.id": site.item_ids()[handle], "item.handle": handle}])
    try:
        status, body = get_url(f"{site.url()}?{urllib.parse.urlencode(params)}")
        assert status == 500, body
        listed = site.sickle().ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False)
        assert oai_id(1305) not in {h.identifier for h in listed}
        site.sql(
            f"UPDATE item SET last_modified = now() WHERE uuid = "
            f"(SELECT resource_id FROM handle WHERE handle = '{handle}');"
        )
        p = site.oai_import()
        assert "java.lang.NullPointerException" in p.stderr, p.stderr
        assert "OAI 2.0 manager action ended" not in p.stdout
    finally:
        assert "OAI 2.0 manager action ended" in site.oai_import("-c").stdout
    assert site.sickle().GetRecord(identifier=oai_id(1305), metadataPrefix="oai_dc").metadata


def test_oai_dc_metadata(site):
    root = site.get(
        params={"verb": "GetRecord", "identifier": oai_id(1000), "metadataPrefix": "oai_dc"}
    )
    dc = root.find("o:GetRecord/o:record/o:metadata/oai_dc:dc", NS)

    def values(tag):
        return [e.text for e in dc.findall(f"dc:{tag}", NS)]

    # 9.2+ escape values before writing them (DSpace/DSpace#12409): harvesters get them escaped
    # twice
    assert values("title") == ["Ampersand &amp; &apos;quotes&apos; &lt;b&gt;", "Alternative 0"]
    assert values("creator") == ["Author, 0"]
    assert values("contributor") == ["Advisor, 0"]
    # dc.date.* in metadata field order (accessioned, available, issued)
    assert values("date") == [
        "2015-03-04T05:06:07Z",
        "2015-03-04T05:06:07Z",
        "2020-05-17T09:10:11Z",
    ]
    assert values("description") == ["Abstract 0"]  # never the provenance
    assert values("type") == ["article"]
    assert values("rights") == ["openAccess", "http://creativecommons.org/licenses/by/4.0/"]
    assert [e.tag.split("}")[1] for e in dc][:4] == ["title", "title", "creator", "contributor"]
    rec = site.sickle().GetRecord(identifier=oai_id(1001), metadataPrefix="oai_dc")
    assert rec.metadata["title"] == ["Article 001", "Alternative 1"]
    assert rec.metadata["subject"] == ["physics"]
    # xoai: the compiled metadata itself
    root = site.get(
        params={"verb": "GetRecord", "identifier": oai_id(1001), "metadataPrefix": "xoai"}
    )
    x = root.find("o:GetRecord/o:record/o:metadata/x:metadata", NS)
    title = x.find(
        "x:element[@name='dc']/x:element[@name='title']/x:element[@name='none']/"
        "x:field[@name='value']",
        NS,
    )
    assert title.text == "Article 001"
    others = {f.get("name"): f.text for f in x.findall("x:element[@name='others']/x:field", NS)}
    assert others["handle"] == f"{PREFIX}/1001" and others["identifier"] == oai_id(1001)


def test_sets_and_dates_select_records(site):
    def handles(context="request", **args):
        return {
            h.identifier.rsplit("/", 1)[1]
            for h in site.sickle(context).ListIdentifiers(metadataPrefix="oai_dc", **args)
        }

    assert len(handles(set=f"col_{PREFIX}_10")) == N_ARTICLES
    assert len(handles(set=f"com_{PREFIX}_1")) == N_ARTICLES  # through its sub-community
    assert handles(set=f"col_{PREFIX}_11") == (
        {str(1000 + n) for n in range(0, N_ARTICLES, 10)}  # mapped articles
        | {str(1200 + n) for n in range(N_GRANT_ONLY, N_THESES)}
    )
    # from/until: inclusive; a day-granularity until covers the whole day
    assert handles(**{"from": "2021-01-05", "until": "2021-01-10"}) == {
        str(1000 + n) for n in range(4, 10)
    }
    assert handles(**{"from": "2021-01-05T12:00:00Z", "until": "2021-01-10T11:00:00Z"}) == {
        str(1000 + n) for n in range(4, 9)
    }
    # XOAI reads an until of exactly midnight as the end of that day
    assert handles(**{"from": "2021-01-05T00:00:00Z", "until": "2021-01-10T00:00:00Z"}) == {
        str(1000 + n) for n in range(4, 10)
    }
    root = site.get(
        params={
            "verb": "ListIdentifiers",
            "metadataPrefix": "oai_dc",
            "from": "2021-01-05",
            "set": f"col_{PREFIX}_10",
        }
    )
    assert root.find("o:request", NS).attrib == {
        "verb": "ListIdentifiers",
        "metadataPrefix": "oai_dc",
        "from": "2021-01-05T00:00:00Z",
        "set": f"col_{PREFIX}_10",
    }
    token = root.find("o:ListIdentifiers/o:resumptionToken", NS)
    assert token.text == f"oai_dc/2021-01-05T00:00:00Z//col_{PREFIX}_10/100"
    rest = site.get(params={"verb": "ListIdentifiers", "resumptionToken": token.text})
    assert len(rest.findall("o:ListIdentifiers/o:header", NS)) == N_ARTICLES - 4 - 100
    for args in ({"from": "2030-01-01"}, {"set": f"col_{PREFIX}_2005"}, {"set": "col_1_99999"}):
        with pytest.raises(oaiexceptions.NoRecordsMatch):
            handles(**args)


def test_driver_and_openaire_contexts(site):
    driver = list(site.sickle("driver").ListRecords(metadataPrefix="oai_dc"))
    assert {r.header.identifier for r in driver} == {oai_id(1000 + n) for n in range(N_ARTICLES)}
    rec = next(r for r in driver if r.header.identifier == oai_id(1001))
    assert rec.header.setSpecs[-1] == "driver"
    assert rec.metadata["type"] == ["info:eu-repo/semantics/article"]
    assert rec.metadata["rights"] == ["info:eu-repo/semantics/openAccess"]  # rights.uri dropped
    assert rec.metadata["date"] == ["2020-05-17"]  # only dc.date.issued, YYYY-MM-DD
    assert (
        len(list(site.sickle("driver").ListIdentifiers(metadataPrefix="oai_dc", set="driver")))
        == N_ARTICLES
    )
    # openaire: open access ones, and (with a grant) restricted ones with their metadata
    openaire = {
        r.header.identifier: r for r in site.sickle("openaire").ListRecords(metadataPrefix="oai_dc")
    }
    assert set(openaire) == {oai_id(1000 + n) for n in range(N_ARTICLES)} | {
        oai_id(1200 + n) for n in range(N_GRANT_ONLY)
    }
    grant = openaire[oai_id(1200)]
    assert grant.metadata["type"] == ["info:eu-repo/semantics/doctoralThesis"]
    assert grant.metadata["relation"] == ["info:eu-repo/grantAgreement/EC/FP7/100"]
    assert (
        site.sickle("openaire")
        .GetRecord(identifier=oai_id(1200), metadataPrefix="oai_dc")
        .header.setSpecs[-1]
        == "openaire"
    )
    # a thesis without open access is not in the driver context
    assert (
        site.error(
            "driver", {"verb": "GetRecord", "identifier": oai_id(1210), "metadataPrefix": "oai_dc"}
        )[0]
        == "idDoesNotExist"
    )


def test_error_codes(site):
    cases = [
        ({}, "badVerb", "Illegal verb"),
        ({"verb": "Dance"}, "badVerb", "Illegal verb"),
        ([("verb", "Identify"), ("verb", "Identify")], "badVerb", "Illegal verb"),
        ({"verb": "Identify", "color": "red"}, "badArgument", "Unknown parameter 'color'"),
        (
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "oai_dc")],
            "badArgument",
            "Duplicate definition of parameter 'metadataPrefix'",
        ),
        (
            {"verb": "ListRecords"},
            "badArgument",
            "ListRecords verb must receive the metadataPrefix parameter",
        ),
        (
            {"verb": "Identify", "set": "x"},
            "badArgument",
            "Identify verb does not accept any extra parameter",
        ),
        (
            {"verb": "GetRecord", "identifier": oai_id(1001)},
            "badArgument",
            "GetRecord verb requires the use of the parameters - identifier and metadataPrefix",
        ),
        (
            {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "yesterday"},
            "badArgument",
            "The from parameter given is not valid",
        ),
        (
            {
                "verb": "ListIdentifiers",
                "metadataPrefix": "oai_dc",
                "from": "2021-01-01",
                "until": "2021-02-01T00:00:00Z",
            },
            "badArgument",
            "Distinct granularities provided for until and from parameters",
        ),
        (
            {
                "verb": "ListIdentifiers",
                "metadataPrefix": "oai_dc",
                "from": "2022-01-01",
                "until": "2021-01-01",
            },
            "badArgument",
            "The 'from' date must be less then the 'until' one",
        ),
        (
            {
                "verb": "ListIdentifiers",
                "metadataPrefix": "oai_dc",
                "resumptionToken": "oai_dc////100",
            },
            "badArgument",
            "ResumptionToken cannot be sent together with from, until, metadataPrefix "
            "or set parameters",
        ),
        (
            {"verb": "ListRecords", "resumptionToken": "garbage"},
            "badResumptionToken",
            "The resumption token is invalid",
        ),
        (
            {"verb": "ListSets", "resumptionToken": "////lots"},
            "badResumptionToken",
            "The resumption token is invalid",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "marc21"},
            "cannotDisseminateFormat",
            "Unknown metadata format",
        ),
        (
            {"verb": "GetRecord", "identifier": oai_id(9999), "metadataPrefix": "oai_dc"},
            "idDoesNotExist",
            "The given id does not exist",
        ),
        (
            {"verb": "GetRecord", "identifier": "not-an-oai-id", "metadataPrefix": "oai_dc"},
            "idDoesNotExist",
            "The given id does not exist",
        ),
        (
            {"verb": "GetRecord", "identifier": oai_id(1300), "metadataPrefix": "oai_dc"},
            "idDoesNotExist",
            "The given id does not exist",
        ),  # restricted
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2030-01-01"},
            "noRecordsMatch",
            "No matches for the query",
        ),
        (
            {"verb": "ListRecords", "resumptionToken": "oai_dc////5000"},
            "noRecordsMatch",
            "No matches for the query",
        ),
        (
            {"verb": "ListMetadataFormats", "identifier": oai_id(1300)},
            "noMetadataFormats",
            "The item does not have any metadata format available for dissemination",
        ),
        (
            {"verb": "GetRecord", "identifier": oai_id(1001), "metadataPrefix": "uketd_dc"},
            "cannotDisseminateFormat",
            "Cannot disseminate item with the given format",
        ),
    ]
    for params, code, message in cases:
        got = site.error(params=params)
        assert got[:2] == (code, message), (params, got)
        # argument errors echo no arguments; the others echo the request's arguments
        if code in ("badVerb", "badArgument", "badResumptionToken"):
            assert got[2] == {}, (params, got)
        else:
            assert got[2].get("verb"), (params, got)
    # a format DSpace offers that the look-alike does not produce
    code, message, _ = site.error(
        params={"verb": "GetRecord", "identifier": oai_id(1001), "metadataPrefix": "mets"}
    )
    assert code == "cannotDisseminateFormat" and "look-alike" in message
    # DSpace always supports sets, so noSetHierarchy never comes; XOAI parses dates leniently
    # (SimpleDateFormat: trailing text ignored, days roll over) where the protocol wants
    # badArgument
    for given, read in (
        ("2021-01-05junk", "2021-01-05T00:00:00Z"),
        ("2021-02-30", "2021-03-02T00:00:00Z"),
    ):
        root = site.get(
            params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": given}
        )
        assert root.find("o:request", NS).get("from") == read
        assert root.find("o:ListIdentifiers", NS) is not None
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        next(iter(site.sickle("driver").ListRecords(metadataPrefix="oai_dc", set="col_1_1")))


def test_contexts_and_paths(site):
    parts = urllib.parse.urlsplit(site.base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", parts.path)
    answer = conn.getresponse()
    assert answer.status == 302 and answer.getheader("Location") == parts.path + "/"
    conn.close()
    status, body = get_url(site.base + "/")
    assert status == 400 and "driver" in body and "openaire" in body  # the index page
    assert get_url(site.base + "/no-such-context?verb=Identify")[0] == 400
    assert get_url(site.base + "/request/extra?verb=Identify")[0] == 404
    # oai.enabled = false: no OAI endpoint at all
    port = free_port()
    boot = subprocess.Popen(
        [
            "java",
            f"-Ddspace.dir={site.dspace}",
            f"-Dlogging.config={site.dspace}/config/log4j2.xml",
            f"-Dserver.port={port}",
            "-Doai.enabled=false",
            "-Dserver.address=127.0.0.1",
            "-jar",
            str(site.dspace / "webapps" / "server-boot.jar"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_port(port)
        assert get_url(f"http://127.0.0.1:{port}/server/oai/request?verb=Identify")[0] == 404
        assert get_url(f"http://127.0.0.1:{port}/server/api")[0] == 200
    finally:
        boot.terminate()
        boot.wait(30)


def test_answers_are_cached_until_oai_import(site):
    """XOAI keeps each answer in [dspace]/var/oai/requests; `oai import` empties it."""
    params = {"verb": "GetRecord", "identifier": oai_id(1305), "metadataPrefix": "oai_dc"}
    first = site.raw(params=params)
    assert "<dc:title>Special</dc:title>" in first
    assert any((site.dspace / "var" / "oai" / "requests").iterdir())
    site.sql(
        f"UPDATE metadatavalue SET text_value = 'Renamed' WHERE text_value = 'Special' AND "
        f"dspace_object_id = (SELECT resource_id FROM handle WHERE handle = '{PREFIX}/1305');"
        f"UPDATE item SET last_modified = now() WHERE uuid = "
        f"(SELECT resource_id FROM handle WHERE handle = '{PREFIX}/1305');"
    )
    again = site.raw(params=params)
    assert re.sub(r"<responseDate>[^<]*", "", again) == re.sub(r"<responseDate>[^<]*", "", first)
    assert site.dspace_cmd("oai", "import").returncode == 0
    assert "<dc:title>Renamed</dc:title>" in site.raw(params=params)


def test_every_answer_matches_the_schema(site):
    if site.schema is None:
        pytest.skip("OAI-PMH.xsd not obtainable (pyoai's source release from PyPI)")
    for context in ("request", "driver", "openaire"):
        for params in (
            {"verb": "Identify"},
            {"verb": "ListSets"},
            {"verb": "ListMetadataFormats"},
            {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
            {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
            {"verb": "GetRecord", "identifier": oai_id(1001), "metadataPrefix": "oai_dc"},
            {"verb": "Nope"},
        ):
            site.get(context, params)


def test_records_come_from_the_oai_core(site):
    """A complete document in the core is listed as it is, even for an item the database lacks
    (DSpaceSolrItem reads the core only); GetRecord also asks the database for READ rights
    (DSpaceAuthorizationFilter.isShown), so there it does not exist. Out of the core, it is gone."""
    doc = {
        "item.id": "ffffffff-0000-4000-8000-000000000001",
        "item.handle": f"{PREFIX}/7777",
        "item.lastmodified": "2024-02-03T04:05:06.789Z",
        "item.deleted": False,
        "item.public": True,
        "item.collections": [f"col_{PREFIX}_12"],
        "item.communities": [f"com_{PREFIX}_3"],
        "metadata.dc.title": ["From the core"],
        "item.compile": f'<metadata xmlns="{NS["x"]}"><element name="dc"><element name="title">'
        '<element name="none"><field name="value">From the core</field></element></element>'
        "</element></metadata>",
    }

    second = "2024-02-03T04:05:06Z"  # until ends at .999 of its second
    args = {"metadataPrefix": "oai_dc", "set": f"col_{PREFIX}_12", "from": second, "until": second}
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        list(site.sickle().ListRecords(**args))
    site.update_core([doc])
    try:
        [rec] = list(site.sickle().ListRecords(**args))
        assert rec.header.identifier == oai_id(7777)
        assert rec.metadata["title"] == ["From the core"]
        assert rec.header.datestamp == "2024-02-03T04:05:06Z"
        assert rec.header.setSpecs == [f"com_{PREFIX}_3", f"col_{PREFIX}_12"]
        params = {"verb": "GetRecord", "identifier": oai_id(7777), "metadataPrefix": "oai_dc"}
        assert site.error(params=params)[0] == "idDoesNotExist"
    finally:
        site.update_core({"delete": {"query": "item.id:ffffffff-0000-4000-8000-000000000001"}})
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        list(site.sickle().ListRecords(**args))
