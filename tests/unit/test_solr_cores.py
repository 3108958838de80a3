"""The module dspace.deploy.solr_cores (one call for the cores of a Solr home): its functions
on a temporary Solr home with configuration sources laid out as the DSpace backend installs
them (real rsync), and one run through a real `ansible-playbook` (the FQCN found through the
repository's ansible.cfg)."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.fixtures.helpers import REPO, load_file_module

MODULE = (REPO / "collections" / "ansible_collections" / "dspace" / "deploy" / "plugins"
          / "modules" / "solr_cores.py")

sc = load_file_module(MODULE, "solr_cores")

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
NAMES = ["repo-search", "repo-oai", "repo-statistics"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    return directory


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """[dspace]/solr/<core>/conf as the backend installs it (its own modes: 0644/0755)."""
    base = tmp_path / "dspace" / "solr"
    for core in ("search", "oai", "statistics"):
        conf = base / core / "conf"
        (conf / "lang").mkdir(parents=True)
        (conf / "solrconfig.xml").write_text(f"<config>{core}</config>\n")
        (conf / "schema.xml").write_text(f"<schema name='{core}'/>\n")
        (conf / "lang" / "stopwords_en.txt").write_text("a\nthe\n")
    return base


def cores(sources: Path) -> list[dict[str, str]]:
    return [{"name": f"repo-{c}", "conf_source": str(sources / c)}
            for c in ("search", "oai", "statistics")]


def converge(home: Path, sources: Path, **options: Any) -> dict[str, Any]:
    options = {"owner": OWNER, "group": GROUP, "exclude": ["reindex.flag"], **options}
    wanted = options.pop("cores", None) or cores(sources)
    result: dict[str, Any] = sc.converge(str(home), wanted, **options)
    return result


def tree(path: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every entry under `path`: mode, mtime_ns and content (files)."""
    found = {}
    for entry in sorted(path.rglob("*")):
        info = entry.lstat()
        found[str(entry.relative_to(path))] = (
            stat.S_IMODE(info.st_mode), info.st_mtime_ns,
            entry.read_bytes() if entry.is_file() else None)
    return found


def test_fresh_call_installs_every_core(home: Path, sources: Path) -> None:
    result = converge(home, sources)
    assert result["changed"] is True
    assert result["created"] == result["properties"] == result["conf"] == NAMES
    assert result["reload"] == [] and result["fixed"] == []
    for name in NAMES:
        core = home / name
        assert stat.S_IMODE(core.stat().st_mode) == 0o750
        assert (core / "core.properties").read_text() == f"name={name}\n"
        assert stat.S_IMODE((core / "core.properties").stat().st_mode) == 0o640
        assert (core / "conf" / "solrconfig.xml").read_text() == (
            f"<config>{name.removeprefix('repo-')}</config>\n")
        assert stat.S_IMODE((core / "conf").stat().st_mode) == 0o750
        assert stat.S_IMODE((core / "conf" / "lang").stat().st_mode) == 0o750
        assert stat.S_IMODE((core / "conf" / "lang" / "stopwords_en.txt").stat().st_mode) == 0o640
        assert sorted(p.name for p in core.iterdir()) == ["conf", "core.properties"], (
            "no temporary left, no data/ made")


def test_second_call_changes_nothing(home: Path, sources: Path) -> None:
    converge(home, sources)
    before = tree(home)
    again = converge(home, sources)
    assert again["changed"] is False
    assert all(again[key] == [] for key in ("created", "fixed", "properties", "conf", "reload"))
    assert tree(home) == before


def test_changed_conf_is_to_reload_only_for_that_core_and_data_is_never_touched(
        home: Path, sources: Path) -> None:
    converge(home, sources)
    data = home / "repo-search" / "data" / "index"
    data.mkdir(parents=True)
    (data / "segments_1").write_bytes(b"index")
    (home / "repo-search" / "conf" / "reindex.flag").write_text("")  # DSpace's own marker
    (sources / "oai" / "conf" / "reindex.flag").write_text("from the source")
    data_before = tree(home / "repo-search" / "data")
    with (sources / "search" / "conf" / "lang" / "stopwords_en.txt").open("a") as handle:
        handle.write("of\n")
    (sources / "search" / "conf" / "elevate.xml").write_text("<elevate/>\n")
    result = converge(home, sources)
    assert result["changed"] is True
    assert result["conf"] == result["reload"] == ["repo-search"]
    assert result["properties"] == result["created"] == []
    conf = home / "repo-search" / "conf"
    assert (conf / "lang" / "stopwords_en.txt").read_text() == "a\nthe\nof\n"
    assert (conf / "elevate.xml").exists() and (conf / "reindex.flag").exists()
    assert not (home / "repo-oai" / "conf" / "reindex.flag").exists()
    assert tree(home / "repo-search" / "data") == data_before
    (sources / "search" / "conf" / "elevate.xml").unlink()
    assert converge(home, sources)["reload"] == ["repo-search"], "a removed file is a change"
    assert not (conf / "elevate.xml").exists()
    assert converge(home, sources)["changed"] is False


def test_a_new_or_rewritten_core_properties_is_not_to_reload(home: Path,
                                                            sources: Path) -> None:
    converge(home, sources)
    (home / "repo-oai" / "core.properties").unlink()
    (home / "repo-statistics" / "core.properties").write_text("")
    (sources / "oai" / "conf" / "schema.xml").write_text("<schema name='oai2'/>\n")
    result = converge(home, sources)
    assert result["properties"] == ["repo-oai", "repo-statistics"]
    assert result["conf"] == ["repo-oai"] and result["reload"] == []
    assert (home / "repo-statistics" / "core.properties").read_text() == "name=repo-statistics\n"


def test_mode_drift_is_corrected(home: Path, sources: Path) -> None:
    converge(home, sources)
    (home / "repo-oai").chmod(0o755)
    (home / "repo-search" / "core.properties").chmod(0o600)
    (home / "repo-statistics" / "conf" / "schema.xml").chmod(0o600)
    result = converge(home, sources)
    assert result["fixed"] == ["repo-oai"] and result["created"] == []
    assert result["properties"] == ["repo-search"]
    assert result["conf"] == ["repo-statistics"]
    assert stat.S_IMODE((home / "repo-oai").stat().st_mode) == 0o750
    assert stat.S_IMODE((home / "repo-search" / "core.properties").stat().st_mode) == 0o640
    assert converge(home, sources)["changed"] is False


def test_missing_sources_fail_naming_each_before_anything_changes(home: Path,
                                                                  sources: Path) -> None:
    shutil.rmtree(sources / "oai")
    (sources / "statistics" / "conf" / "solrconfig.xml").unlink()
    with pytest.raises(sc.CoresError) as failure:
        converge(home, sources)
    message = str(failure.value)
    assert f"Core repo-oai: {sources}/oai/conf/solrconfig.xml does not exist." in message
    assert f"Core repo-statistics: {sources}/statistics/conf/solrconfig.xml" in message
    assert "repo-search" not in message
    assert "conf_source must be a directory on the host that holds conf/" in message
    assert list(home.iterdir()) == []


def test_check_mode_reports_what_it_would_do_and_changes_nothing(home: Path,
                                                                  sources: Path) -> None:
    would = converge(home, sources, check_mode=True)
    assert list(home.iterdir()) == []
    done = converge(home, sources)
    assert would == done, "check mode foretold the real run"
    (sources / "oai" / "conf" / "schema.xml").write_text("<schema name='oai2'/>\n")
    (home / "repo-search" / "core.properties").unlink()
    before = tree(home)
    would = converge(home, sources, check_mode=True)
    assert would["properties"] == ["repo-search"] and would["reload"] == ["repo-oai"]
    assert tree(home) == before
    missing_home = converge(home / "absent", sources, check_mode=True, owner="no-such-user-here")
    assert missing_home["created"] == missing_home["conf"] == NAMES


@pytest.mark.parametrize(("wanted", "options", "message"), [
    ([{"name": "../x", "conf_source": "/srv"}], {}, "is not a core name"),
    ([{"name": "", "conf_source": "/srv"}], {}, "is not a core name"),
    ([{"name": "x"}], {}, "has no conf_source"),
    ("doubled", {}, "lists repo-search more than once"),
    (None, {"owner": "no-such-user-here"}, "no such user"),
])
def test_bad_input_is_refused_before_anything_changes(
        home: Path, sources: Path, wanted: Any, options: dict[str, Any], message: str) -> None:
    if wanted == "doubled":
        wanted = [*cores(sources), cores(sources)[0]]
    with pytest.raises(sc.CoresError, match=message):
        converge(home, sources, cores=wanted, **options)
    assert list(home.iterdir()) == []


def test_a_missing_home_or_a_file_in_the_way_fails(home: Path, sources: Path) -> None:
    with pytest.raises(sc.CoresError, match="does not exist"):
        converge(home / "absent", sources)
    (home / "repo-oai").write_text("")
    with pytest.raises(sc.CoresError, match="repo-oai exists and is not a directory"):
        converge(home, sources)


def test_through_ansible_playbook_with_the_fqcn(tmp_path: Path, home: Path,
                                                sources: Path) -> None:
    """Plain ansible-playbook finds dspace.deploy.solr_cores through the repository's
    ansible.cfg; check mode changes nothing, the run installs, the rerun is unchanged, a
    missing source fails with its message."""
    playbook = tmp_path / "play.yml"

    def write(wanted: list[dict[str, str]]) -> None:
        playbook.write_text(yaml.safe_dump([{
            "name": "Cores", "hosts": "localhost", "gather_facts": False,
            "tasks": [{"name": "Converge the cores", "dspace.deploy.solr_cores": {
                "home": str(home), "cores": wanted, "owner": OWNER, "group": GROUP,
                "exclude": ["reindex.flag"]}}]}]))

    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_HOME": str(tmp_path / "home"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_CACHE_PLUGIN": "memory"}
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)

    def play(*extra: str, ok: bool = True) -> dict[str, Any]:
        done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                               "localhost,", "-c", "local", str(playbook), *extra], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert (done.returncode == 0) is ok, done.stdout[-3000:] + done.stderr[-2000:]
        result: dict[str, Any] = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][
            "localhost"]
        return result

    write(cores(sources))
    checked = play("--check")
    assert checked["changed"] is True and checked["properties"] == NAMES
    assert list(home.iterdir()) == []
    first = play()
    assert first["changed"] is True and first["conf"] == NAMES
    assert (home / "repo-oai" / "core.properties").read_text() == "name=repo-oai\n"
    assert play()["changed"] is False
    write([*cores(sources), {"name": "repo-x", "conf_source": str(tmp_path / "none")}])
    failed = play(ok=False)
    assert failed["failed"] is True
    assert f"Core repo-x: {tmp_path}/none/conf/solrconfig.xml does not exist." in failed["msg"]
