"""The look-alike's Solr tools fail as the real ones do, and its Solr backs up and restores cores.

DSpace's `solr-export-statistics`, `solr-import-statistics`, `oai import` and `index-discovery`
print their failures and exit 0 (docs/lookalike.md, "Solr tools"); only an HTTP error answer
from Solr escapes the export tool (exit 1). The Solr look-alike answers the queries the export
makes (stats, monthly range facets, date math, CSV in batches), enforces the schemas' required
fields, and backs up and restores a core through the replication handler inside the paths Solr
allows. Runs a throwaway PostgreSQL, the Solr look-alike and `bin/dspace` of line 9.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.lookalike import build_release
from tests.lookalike.test_lookalike import (
    MISSING,
    Postgres,
    Procs,
    _install,
    free_port,
    http,
    run,
    solr_home,
    solr_start,
)

pytestmark = pytest.mark.lookalike

if MISSING:
    pytest.skip(f"missing: {', '.join(MISSING)}", allow_module_level=True)


def _post(url: str, data: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(data).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _get(url: str) -> dict[str, Any]:
    status, body = http(url, timeout=30)
    assert status == 200, body
    result: dict[str, Any] = json.loads(body)
    return result


def _count(core_url: str, query: str = "*:*") -> int:
    return int(_get(f"{core_url}/select?wt=json&rows=0&q={urllib.parse.quote(query)}")
               ["response"]["numFound"])


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class Instance:
    """An installed DSpace 9 with its database and the Solr look-alike."""

    def __init__(self, root: Path) -> None:
        self.procs = Procs()
        self.pg_dir = Path(tempfile.mkdtemp(prefix="lookalike-pg-"))
        os.chmod(self.pg_dir, 0o755)  # the cluster runs as postgres when the tests run as root
        self.pg = Postgres(self.pg_dir / "cluster")
        rel = build_release("9", root / "bundle")
        self.solr_port = free_port()
        self.solr = f"http://127.0.0.1:{self.solr_port}/solr"
        inst, self.dspace = _install(rel, root, self.pg.createdb("solrtools"), self.solr,
                                     "Solr tools")
        run(["ant", "fresh_install"], cwd=inst)
        run([str(self.dspace / "bin" / "dspace"), "database", "migrate"])
        sroot = root / "solr"
        sroot.mkdir()
        self.home = solr_home(sroot, rel.unpack_solr(sroot), self.dspace / "solr")
        solr_start(self.procs, rel, sroot, self.home, self.solr_port,
                   "-Dsolr.config.lib.enabled=true")
        self.closed = f"http://127.0.0.1:{free_port()}/solr"  # nothing listens there

    def dspace_cmd(self, *args: str, **env: str) -> Any:
        return run([str(self.dspace / "bin" / "dspace"), *args], check=False,
                   env=dict(os.environ, **env))

    def close(self) -> None:
        self.procs.close()
        self.pg.close()
        shutil.rmtree(self.pg_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Any:
    made = Instance(tmp_path_factory.mktemp("solrtools"))
    yield made
    made.close()


def _clear(core_url: str) -> None:
    code, answer = _post(f"{core_url}/update?commit=true", {"delete": {"query": "*:*"}})
    assert code == 200, answer


@pytest.fixture
def stats(instance: Instance) -> Any:
    """The statistics core, empty before and after the test: each test that fills it starts from
    nothing, whatever ran before it on this worker."""
    url = f"{instance.solr}/statistics"
    _clear(url)
    yield url
    _clear(url)


@pytest.fixture(scope="module")
def items(instance: Instance) -> Instance:
    """The four items (three with handles) in the database that `oai import` and
    `index-discovery` read, made once per module by whichever of their tests runs first on a
    worker."""
    sql = ("INSERT INTO dspaceobject VALUES ('00000000-0000-0000-0000-0000000000a1'), "
           "('00000000-0000-0000-0000-0000000000a2'), ('00000000-0000-0000-0000-0000000000a3'), "
           "('00000000-0000-0000-0000-0000000000a4');"
           "INSERT INTO item (uuid, item_id, in_archive, withdrawn, last_modified) VALUES "
           "('00000000-0000-0000-0000-0000000000a1', 1, true, false, now()), "
           "('00000000-0000-0000-0000-0000000000a2', 2, false, true, now()), "
           "('00000000-0000-0000-0000-0000000000a3', 3, true, false, now()), "
           "('00000000-0000-0000-0000-0000000000a4', 4, false, false, now());"
           "INSERT INTO handle (handle, resource_type_id, resource_id) VALUES "
           "('123456789/1', 2, '00000000-0000-0000-0000-0000000000a1'), "
           "('123456789/2', 2, '00000000-0000-0000-0000-0000000000a2'), "
           "('123456789/4', 2, '00000000-0000-0000-0000-0000000000a4');")
    instance.pg.sql("solrtools", sql)
    return instance


def _stats(month: str, n: int, prefix: str) -> list[dict[str, Any]]:
    return [{"uid": f"{prefix}-{i}", "type": 2, "time": f"{month}-{1 + i % 28:02d}T10:00:00Z",
             "ip": "10.0.0.1"} for i in range(n)]


# --- the Solr look-alike -------------------------------------------------------------------------

def test_required_fields_are_enforced_as_in_the_real_schemas(instance: Instance,
                                                             stats: str) -> None:
    authority = f"{instance.solr}/authority"
    code, answer = _post(f"{stats}/update?commit=true", [{"uid": "r1", "type": 2}])
    assert code == 400 and answer["error"]["msg"] == "[doc=r1] missing required field: time"
    code, answer = _post(f"{authority}/update?commit=true", [{"value": "x"}])
    assert code == 400
    assert answer["error"]["msg"] == "Document is missing mandatory uniqueKey field: id"
    # statistics fills in its uniqueKey (uuid update chain) and the default statistics_type
    code, _ = _post(f"{stats}/update?commit=true", [{"type": 2, "time": "2023-01-05T00:00:00Z"}])
    assert code == 200
    month = urllib.parse.quote("time:[2023-01-01T00:00:00Z TO 2023-01-01T00:00:00Z+1MONTH]")
    (doc,) = _get(f"{stats}/select?wt=json&q={month}")["response"]["docs"]
    assert len(doc["uid"]) == 36 and doc["statistics_type"] == "view"


def test_stats_and_monthly_range_facets_use_date_math(stats: str) -> None:
    _post(f"{stats}/update?commit=true", _stats("2024-05", 3, "m5") + _stats("2024-07", 2, "m7"))
    answer = _get(f"{stats}/select?wt=json&q=*:*&rows=0&stats=true&stats.field=time")
    assert answer["stats"]["stats_fields"]["time"]["min"] == "2024-05-01T10:00:00Z"
    start = urllib.parse.quote("2024-05-01T10:00:00Z/MONTH")
    answer = _get(f"{stats}/select?wt=json&q=*:*&rows=0&facet=true&facet.mincount=1"
                  f"&facet.range=time&facet.range.start={start}"
                  "&facet.range.end=NOW/MONTH%2B1MONTH&facet.range.gap=%2B1MONTH")
    assert answer["facet_counts"]["facet_ranges"]["time"]["counts"] == [
        "2024-05-01T00:00:00Z", 3, "2024-07-01T00:00:00Z", 2]
    assert _count(stats, "-time:{2024-05-03T10:00:00Z TO *]") == 3  # 05-01..05-03


def test_answers_the_queries_of_la_referencias_collector(stats: str) -> None:
    """dspace-stats-collector 0.7.8 (solrinput.py) asks, through pysolr, GET <core>/select/?...
    with a required time range whose bounds are quoted and carry date math, a grouped OR and
    `sort=time asc` (it continues from the last document's time). Real Solr answers it; so
    must the look-alike (docs/lookalike.md, "Solr")."""
    # as DSpace records hits (SolrLoggerServiceImpl: id, type, owningItem, isBot, time in ms)
    docs = [
        {"id": "i-2", "type": 2, "isBot": False, "ip": "192.0.2.7", "owningItem": "o",
         "time": "2024-05-02T10:00:00.250Z", "userAgent": "Mozilla/5.0", "referrer": "r"},
        {"id": "b-1", "type": 0, "isBot": False, "ip": "192.0.2.8",
         "time": "2024-05-02T09:00:00.125Z"},
        {"id": "bot", "type": 2, "isBot": True, "time": "2024-05-02T09:30:00.500Z"},
        {"id": "coll", "type": 3, "isBot": False, "time": "2024-05-02T09:40:00.500Z"},
        {"id": "search", "type": 2, "isBot": False, "statistics_type": "search",
         "time": "2024-05-02T09:45:00.500Z"},
        {"id": "next-week", "type": 2, "isBot": False, "time": "2024-05-09T09:00:00.500Z"},
    ]
    code, answer = _post(f"{stats}/update?commit=true", docs)
    assert code == 200, answer

    def collector_select(start: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({
            "q": f'* +time:{{"{start}" TO "{start}+1DAYS"]', "sort": "time asc", "start": 0,
            "wt": "json", "fq": '+statistics_type:"view" +type:(0 OR 2) +isBot:false',
            "fl": "id,ip,owningItem,referrer,time,type,userAgent", "rows": 500})
        return list(_get(f"{stats}/select/?{query}")["response"]["docs"])

    status, body = http(f"{stats}/admin/ping?wt=json", timeout=30)
    assert status == 200 and json.loads(body)["status"] == "OK"
    found = collector_select("2024-05-02T00:00:00.000000Z")
    assert [d["id"] for d in found] == ["b-1", "i-2"]  # views of items and bitstreams, by time
    assert set(found[1]) == {"id", "ip", "owningItem", "referrer", "time", "type",
                             "userAgent"}  # fl
    assert collector_select(found[-1]["time"]) == []  # the lower bound is exclusive
    assert [d["id"] for d in collector_select("2024-05-08T12:00:00.000000Z")] == ["next-week"]


# --- solr-export-statistics / solr-import-statistics ---------------------------------------------

def test_export_writes_monthly_batches_and_import_restores_them(instance: Instance, stats: str,
                                                                tmp_path: Path) -> None:
    docs = _stats("2024-05", 3, "a") + _stats("2024-06", 2, "b") + _stats("2024-07", 10_001, "c")
    _post(f"{stats}/update?commit=true", docs)
    out = tmp_path / "export"
    # DSpace creates a missing export directory and then skips the index (exit 0, nothing)
    p = instance.dspace_cmd("solr-export-statistics", "-i", "statistics", "-d", str(out))
    assert p.returncode == 0 and out.is_dir() and not list(out.iterdir()), p.stdout + p.stderr
    p = instance.dspace_cmd("solr-export-statistics", "-i", "statistics", "-d", str(out))
    assert p.returncode == 0, p.stderr
    names = sorted(f.name for f in out.iterdir())
    assert names == ["statistics_export_2024-05.csv", "statistics_export_2024-06.csv",
                     "statistics_export_2024-07_0.csv", "statistics_export_2024-07_1.csv"]
    rows = {n: len(_csv_rows(out / n)) for n in names}
    assert rows == dict(zip(names, [3, 2, 10_000, 1], strict=True))
    # a second export without -f stops at the first existing file: exit 0, nothing new
    p = instance.dspace_cmd("solr-export-statistics", "-i", "statistics", "-d", str(out))
    assert p.returncode == 0
    assert "Problem encountered while trying to export index statistics." in p.stderr
    assert "already exists" in p.stderr
    _post(f"{stats}/update?commit=true", {"delete": {"query": "*:*"}})
    p = instance.dspace_cmd("solr-import-statistics", "-i", "statistics", "-d", str(out), "-c")
    assert p.returncode == 0, p.stderr
    assert _count(stats) == len(docs)


def test_export_and_import_against_an_unreachable_solr_exit_0_with_nothing_done(
        instance: Instance, stats: str, tmp_path: Path) -> None:
    _post(f"{stats}/update?commit=true", _stats("2024-05", 4, "u"))
    out = tmp_path / "export"
    out.mkdir()
    closed = {"solr__D__statistics__P__server": f"{instance.closed}/statistics"}
    p = instance.dspace_cmd("solr-export-statistics", "-i", "statistics", "-d", str(out), **closed)
    assert p.returncode == 0
    assert "Problem encountered while trying to export index statistics." in p.stderr
    assert "IOException occurred when talking to server at" in p.stderr
    assert not list(out.iterdir())
    p = instance.dspace_cmd("solr-export-statistics", "-i", "statistics", "-d", str(out))
    assert p.returncode == 0 and len(list(out.iterdir())) == 1
    p = instance.dspace_cmd("solr-import-statistics", "-i", "statistics", "-d", str(out), "-c",
                            **closed)
    assert p.returncode == 0
    assert "Problem encountered while trying to import index statistics." in p.stderr


def test_an_error_answer_from_solr_escapes_the_tool_with_exit_1(instance: Instance, stats: str,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "export"
    out.mkdir()
    missing = {"solr__D__statistics__P__server": f"{instance.solr}/no-such-core"}
    p = instance.dspace_cmd("solr-export-statistics", "-i", "statistics", "-d", str(out), **missing)
    assert p.returncode == 1 and "Exception: Error from server at" in p.stderr, p.stderr
    # an import whose rows the schema refuses: the core is cleared, then the import stops
    (out / "statistics_export_2024-05.csv").write_text("uid,type\nx1,2\n")
    _post(f"{stats}/update?commit=true", _stats("2024-05", 2, "keep"))
    p = instance.dspace_cmd("solr-import-statistics", "-i", "statistics", "-d", str(out), "-c")
    assert p.returncode == 1 and "missing required field: time" in p.stderr, p.stderr
    assert _count(stats) == 0


def test_other_indexes_go_to_a_fixed_localhost_url(instance: Instance, tmp_path: Path) -> None:
    """makeSolrUrl: neither statistics nor authority -> http://localhost:8080/solr/<index>;
    with nothing on that port the export of qaevent exports nothing and exits 0 (or, when
    something answers there, fails), never reaching the instance's core."""
    out = tmp_path / "export"
    out.mkdir()
    _post(f"{instance.solr}/qaevent/update?commit=true", [{"event_id": "e1"}])
    p = instance.dspace_cmd("solr-export-statistics", "-i", "qaevent", "-d", str(out))
    assert "http://localhost:8080/solr/qaevent" in p.stderr or p.returncode == 1, p.stderr
    assert not [f for f in out.iterdir() if f.stat().st_size > 0]


# --- oai import, index-discovery ---------------------------------------------------------------

def test_oai_import_indexes_archived_and_withdrawn_items_and_exits_0_when_solr_is_down(
        instance: Instance, items: Instance) -> None:
    oai = f"{instance.solr}/oai"
    p = instance.dspace_cmd("oai", "import", "-c", oai__P__solr__P__url=f"{instance.closed}/oai")
    assert p.returncode == 0
    assert f"Solr server ({instance.closed}/oai) is down, turn it on." in p.stderr
    assert "OAI 2.0 manager action ended" not in p.stdout and _count(oai) == 0
    p = instance.dspace_cmd("oai", "import", "-c")
    assert p.returncode == 0, p.stdout + p.stderr
    # the discoverable items, then the others; a total counts the items skipped for lack of a
    # handle: a1 (archived) and a2 (withdrawn) have handles, a3 has none, a4 is neither
    totals = [line for line in p.stdout.splitlines() if line.startswith("Total: ")]
    assert totals == ["Total: 3 items", "Total: 0 items"], p.stdout
    assert _count(oai) == 2
    assert _count(oai, "item.deleted:true") == 1  # a2, withdrawn: a deleted record
    p = instance.dspace_cmd("oai", "import")
    assert "Incremental import. Searching for documents modified after:" in p.stdout


def test_index_discovery_logs_solr_failures_and_completes(instance: Instance,
                                                          items: Instance) -> None:
    search = f"{instance.solr}/search"
    closed = {"discovery__P__search__P__server": f"{instance.closed}/search"}
    p = instance.dspace_cmd("index-discovery", "-b", **closed)
    assert p.returncode == 0 and "Done with indexing" in p.stdout, p.stdout + p.stderr
    assert "The script has completed" in p.stdout
    log = (instance.dspace / "log" / "dspace-cli.log").read_text()
    assert "Error indexing" in log or "Error cleaning discovery index" in log
    p = instance.dspace_cmd("index-discovery", "-b")
    assert p.returncode == 0
    assert _count(search, "search.resourcetype:Item") == 3  # archived or withdrawn items


# --- replication handler: backup and restore -----------------------------------------------------

def _wait(predicate: Any, timeout: float = 30) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_core_is_backed_up_and_restored_through_the_replication_handler(
        instance: Instance, tmp_path: Path) -> None:
    qaevent = f"{instance.solr}/qaevent"
    _clear(qaevent)
    _post(f"{qaevent}/update?commit=true", [{"event_id": f"q{i}"} for i in range(5)])
    data_dir = Path(_get(f"{instance.solr}/admin/cores?action=STATUS&core=qaevent&wt=json")
                    ["status"]["qaevent"]["dataDir"])
    answer = _get(f"{qaevent}/replication?command=backup&name=nightly&wt=json")
    assert answer["status"] == "OK"

    def done() -> Any:
        backup = _get(f"{qaevent}/replication?command=details&wt=json")["details"].get("backup")
        return backup if backup and backup.get("status") == "success" else None

    backup = _wait(done)
    assert backup["snapshotName"] == "nightly" and backup["directoryName"] == "snapshot.nightly"
    assert (data_dir / "snapshot.nightly").is_dir()
    # a second backup of the same name, and one outside the allowed paths, are refused
    status, body = http(f"{qaevent}/replication?command=backup&name=nightly&wt=json")
    assert status == 400 and "Snapshot directory already exists" in body
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    status, body = http(f"{qaevent}/replication?command=backup&name=x&location={elsewhere}"
                        "&wt=json")
    assert status == 400 and (f"Path {elsewhere} must be relative to SOLR_HOME, SOLR_DATA_HOME "
                              "coreRootDirectory. Set system property 'solr.allowPaths'") in body
    # restore after the documents changed
    _post(f"{qaevent}/update?commit=true", {"delete": {"query": "*:*"}})
    assert _count(qaevent) == 0
    assert _get(f"{qaevent}/replication?command=restore&name=nightly&wt=json")["status"] == "OK"

    def restored() -> Any:
        answer = _get(f"{qaevent}/replication?command=restorestatus&wt=json")["restorestatus"]
        return answer if answer["status"] != "In Progress" else None

    assert _wait(restored)["status"] == "success"
    assert _count(qaevent) == 5
    # a snapshot that is not there: the restore fails, reported by restorestatus
    _get(f"{qaevent}/replication?command=restore&name=missing&wt=json")
    assert _wait(restored)["status"] == "failed"
    answer = _get(f"{qaevent}/replication?command=restorestatus&wt=json")
    assert answer["status"] == "ERROR" and "snapshot.missing" in answer["exception"]
    assert _count(qaevent) == 5


def test_solr_8_reports_the_backup_as_a_flat_list(tmp_path: Path) -> None:
    """Solr 8.11 writes the replication handler's `backup` details as a NamedList, flat in JSON;
    the allowed paths (8.6+) apply there too."""
    rel = build_release("8", tmp_path / "bundle")
    procs = Procs()
    try:
        root = tmp_path / "solr8"
        root.mkdir()
        cores = rel.unpack_installer(tmp_path / "installer") / "solr"
        home = solr_home(root, rel.unpack_solr(root), cores, cores=("qaevent",))
        port = free_port()
        solr_start(procs, rel, root, home, port)
        qaevent = f"http://127.0.0.1:{port}/solr/qaevent"
        _post(f"{qaevent}/update?commit=true", [{"event_id": "q1"}])
        assert _get(f"{qaevent}/replication?command=backup&name=n8&wt=json")["status"] == "OK"

        def flat() -> Any:
            backup = _get(f"{qaevent}/replication?command=details&wt=json")["details"].get("backup")
            return backup if backup and "success" in backup else None

        backup = _wait(flat)
        assert isinstance(backup, list) and backup[backup.index("snapshotName") + 1] == "n8"
        assert "isMaster" in _get(f"{qaevent}/replication?command=details&wt=json")["details"]
        status, body = http(f"{qaevent}/replication?command=backup&name=x&location=/tmp&wt=json")
        assert status == 400 and "must be relative to SOLR_HOME" in body
    finally:
        procs.close()
