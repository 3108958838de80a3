"""The solr role's upgrade program (roles/solr/files/dspace-solr-upgrade), its pure parts and
its file handling: which cores are carried, emptied or created; how counts are judged; when
a kept copy belongs to the upgrade under way; the Solr major jump's home swap on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.unit.programs import load_program

prog = load_program("roles/solr/files/dspace-solr-upgrade", "dspace_solr_upgrade_under_test")

CORES_9 = ["authority", "oai", "qaevent", "search", "statistics", "suggestion"]
CORES_10 = ["audit", *CORES_9]


def test_a_patch_upgrade_carries_every_core() -> None:
    plan = prog.plan_cores(CORES_9, CORES_9, {c: False for c in CORES_9})
    assert plan == {"carried": CORES_9, "emptied": [], "created": [], "dropped": []}


def test_the_jump_to_10_creates_audit_and_empties_a_search_whose_schema_changed() -> None:
    plan = prog.plan_cores(CORES_9, CORES_10, {"search": True, "statistics": True})
    assert plan["created"] == ["audit"]
    assert plan["emptied"] == ["search"]
    # statistics cannot be rebuilt: its data stays even when its schema changes
    assert "statistics" in plan["carried"] and "search" not in plan["carried"]


def test_counts_must_be_equal_at_the_upgrade_and_never_fewer_later() -> None:
    before = {"statistics": 10, "authority": 3, "qaevent": None}
    assert prog.compare_counts(before, {"statistics": 10, "authority": 3}, ["statistics",
                                                                           "authority"]) == []
    problems = prog.compare_counts(before, {"statistics": 9, "authority": None},
                                   ["statistics", "authority", "qaevent"])
    assert problems == ["statistics: 10 documents before, 9 now",
                        "authority: 3 documents before, cannot be counted now"]
    assert prog.compare_counts(before, {"statistics": 11}, ["statistics"]) != []
    assert prog.compare_counts(before, {"statistics": 11}, ["statistics"], exact=False) == []
    assert prog.compare_counts(before, {"statistics": 9}, ["statistics"], exact=False) != []


@pytest.mark.parametrize(("state", "reusable"), [
    (None, False),
    ({"from": "9.2", "to": "9.3", "status": "kept"}, True),
    ({"from": "9.2", "to": "9.3", "status": "upgraded"}, True),
    # a failed verification is retried over the same keep, never a new copy of changed cores
    ({"from": "9.2", "to": "9.3", "status": "failed"}, True),
    ({"from": "9.2", "to": "9.3", "status": "rolled_back"}, False),
    ({"from": "9.3", "to": "10.0", "status": "upgraded"}, False),
])
def test_a_keep_is_reused_only_by_the_same_upgrade(state: dict[str, str] | None,
                                                    reusable: bool) -> None:
    assert prog.keep_reusable(state, "9.2", "9.3") is reusable


def test_schema_change_is_judged_on_the_schema_file(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for conf in (old, new):
        conf.mkdir()
        (conf / "schema.xml").write_text("<schema/>")
        (conf / "solrconfig.xml").write_text("<config/>")
    (new / "solrconfig.xml").write_text("<config><lib/></config>")
    assert not prog.schema_changed(old, new)
    (new / "schema.xml").write_text("<schema><field/></schema>")
    assert prog.schema_changed(old, new)
    (new / "schema.xml").unlink()
    assert prog.schema_changed(old, new)  # no schema to compare: not trusted


def _home(tmp_path: Path) -> tuple[Path, Path]:
    home, keep = tmp_path / "data", tmp_path / "upgrade" / "server"
    for core in ("a-statistics", "b-statistics"):
        (home / core / "data" / "index").mkdir(parents=True)
        (home / core / "core.properties").write_text(f"name={core}\n")
        (home / core / "data" / "index" / "docs").write_text(core)
    (home / "solr.xml").write_text("<solr/>")
    return home, keep


def test_the_server_switch_keeps_the_old_home_whole_and_can_go_back(tmp_path: Path) -> None:
    home, keep = _home(tmp_path)
    prog.write_state(keep / "state.json", {"from_version": "8.11.4", "to_version": "9.8.1",
                                           "status": "counted", "instances": ["a", "b"],
                                           "counts": {"a-statistics": 1, "b-statistics": 1}})
    args = {"home": str(home), "keep_dir": str(keep), "instances": ["a", "b"]}
    switched = prog.server_switch(args)
    assert switched["changed"] and switched["state"]["copied"] == ["a-statistics",
                                                                    "b-statistics"]
    # the new home: copies of every core, without the old solr.xml (the role puts the new one)
    assert (home / "b-statistics" / "data" / "index" / "docs").read_text() == "b-statistics"
    assert not (home / "solr.xml").exists()
    assert (keep / "home" / "solr.xml").exists()
    assert prog.server_switch(args)["changed"] is False
    (home / "a-statistics" / "data" / "index" / "docs").write_text("written by Solr 9")
    with pytest.raises(prog.UpgradeError, match="Roll back all of them"):
        prog.server_unswitch({**args, "instances": ["a"]})
    assert prog.server_unswitch(args)["changed"]
    assert (home / "a-statistics" / "data" / "index" / "docs").read_text() == "a-statistics"
    assert (home / "solr.xml").exists()
    aside = keep / "home-9.8.1" / "a-statistics" / "data" / "index" / "docs"
    assert aside.read_text() == "written by Solr 9"
    assert prog.server_unswitch(args)["changed"] is False


def test_an_interrupted_switch_is_undone_from_what_is_on_disk(tmp_path: Path) -> None:
    home, keep = _home(tmp_path)
    prog.write_state(keep / "state.json", {"from_version": "8.11.4", "to_version": "9.8.1",
                                           "status": "counted", "instances": ["a"]})
    os.replace(home, keep / "home")  # the rename happened, the state was not written
    home.mkdir()
    assert prog.server_unswitch({"home": str(home), "keep_dir": str(keep),
                                 "instances": ["a"]})["changed"]
    assert (home / "solr.xml").exists()
    assert json.loads((keep / "state.json").read_text())["status"] == "restored"


def test_main_prints_one_json_document_on_errors(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(
        {"home": str(tmp_path), "keep_dir": str(tmp_path / "none"), "instances": []})))
    assert prog.main(["dspace-solr-upgrade", "server-unswitch"]) == 1
    assert "nothing to roll back" in json.loads(capsys.readouterr().out)["error"]
    assert prog.main(["dspace-solr-upgrade", "nonsense"]) == 2
    assert "usage" in json.loads(capsys.readouterr().out)["error"]


def test_a_solr_major_jump_empties_the_rebuilt_cores_it_does_not_carry() -> None:
    carry = ["authority", "qaevent", "statistics", "suggestion"]
    plan = prog.plan_cores(CORES_9, CORES_9, {}, carry)
    assert plan["emptied"] == ["oai", "search"]
    assert plan["carried"] == ["authority", "qaevent", "statistics", "suggestion"]


def test_the_instance_cores_are_found_by_prefix_and_nothing_else(tmp_path: Path) -> None:
    for name in ("a-search", "a-statistics", "a-b-search", "ab-search", "a-nocore"):
        (tmp_path / name).mkdir()
        if name != "a-nocore":
            (tmp_path / name / "core.properties").write_text(f"name={name}\n")
    assert prog.instance_cores(tmp_path, "a-") == ["search", "statistics"]
    assert prog.instance_cores(tmp_path, "a-b-") == ["search"]
    assert prog.instance_cores(tmp_path / "missing", "a-") == []


def test_missing_configsets_stop_the_upgrade_before_anything_changes(tmp_path: Path) -> None:
    (tmp_path / "solr" / "search" / "conf").mkdir(parents=True)
    (tmp_path / "solr" / "search" / "conf" / "solrconfig.xml").write_text("<config/>")
    args = {"url": "http://127.0.0.1:1/solr", "home": str(tmp_path / "data"), "prefix": "a-",
            "cores_to": ["search", "audit"], "configsets_dir": str(tmp_path / "solr"),
            "keep_dir": str(tmp_path / "keep"), "instance": "a", "from": "9.3", "to": "10.0",
            "timeout": 1}
    with pytest.raises(prog.UpgradeError, match=r"audit/conf/solrconfig.xml.*nothing was changed"):
        prog.cores_upgrade(args)
    assert not (tmp_path / "keep").exists()


def test_only_the_keep_of_the_upgrade_under_rollback_goes_back() -> None:
    """A keep an earlier upgrade left (9.1 -> 9.2) must never go back over 9.2's newer data
    when the 9.2 -> 9.3 upgrade is rolled back before it took its own keep."""
    args = {"from": "9.2", "to": "9.3"}
    assert prog.keep_of_this_upgrade({"from": "9.2", "to": "9.3", "status": "kept"}, args)
    assert not prog.keep_of_this_upgrade({"from": "9.1", "to": "9.2", "status": "kept"}, args)
    assert not prog.keep_of_this_upgrade(None, args)
    # a caller that names no upgrade takes any keep (the role always names it)
    assert prog.keep_of_this_upgrade({"from": "9.1", "to": "9.2"}, {})
