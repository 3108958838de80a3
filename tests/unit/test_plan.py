"""The instance plan filter (playbooks/filter_plugins/dspace_plan.py) and the rules that keep
the instances of one host apart (port slots, one JDK, one Node.js, one Solr)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dspace_deploy import lines, resources
from dspace_deploy.errors import ValidationFailed
from dspace_deploy.inventory import specs
from dspace_deploy.inventory.validate import load_site
from tests.unit.fixtures.helpers import FIXTURE_ROLES, ansible_debug, build, instance, site

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "playbooks" / "filter_plugins" / "dspace_plan.py"
SITE = "group_vars/all/site.yml"


def _load_plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dspace_plan_under_test", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plugin = _load_plugin()
FILTERS = plugin.FilterModule().filters()
plan = FILTERS["dspace_instance_plan"]


def inst(name: str = "repo", **extra: Any) -> dict[str, Any]:
    return {"name": name, "hostname": f"{name}.example.edu", "admin_email": "a@example.edu",
            **extra}


# --- one and two instances -----------------------------------------------------------------------


def test_one_instance_plan_matches_the_design() -> None:
    (p,) = plan([inst()])
    assert p == {
        "name": "repo",
        "hostname": "repo.example.edu",
        "line": "9",
        "version": "9.3",
        "release": "9.3",
        "flavor": "dspace",
        "title": "repo.example.edu",
        "dspace_dir": "/srv/dspace/repo",
        "ui_dir": "/srv/dspace-ui/repo",
        "handle_dir": "/srv/dspace/repo/handle-server",
        "assetstore_dir": "/srv/dspace/repo/assetstore",
        "task_lock_dir": "/srv/dspace/repo/var/tasks",
        "user": "dspace",
        "db": {"name": "dspace_repo", "user": "dspace_repo", "host": "127.0.0.1", "port": 5432,
               "extensions": []},
        "port_slot": 0,
        "ports": {"backend": 8080, "ui": 4000, "handle": 2641, "handle_http": 8000},
        "solr": {"url": "http://127.0.0.1:8983/solr", "prefix": "repo-"},
        "cores": ["authority", "oai", "qaevent", "search", "statistics", "suggestion"],
        "urls": {"ui": "https://repo.example.edu", "server": "https://repo.example.edu/server",
                 "ssr": "http://127.0.0.1:8080/server"},
        "java_major": 17,
        "node_major": 24,
        "solr_version": "9.8.1",
        "tls_mode": "selfsigned",
        "tls_certificate_file": None,
        "tls_key_file": None,
        "acme_email": "a@example.edu",
        "acme_directory_url": "https://acme-v02.api.letsencrypt.org/directory",
        "handle_prefix": "123456789",
        "handle_registered": False,
        "admin_email": "a@example.edu",
        "extra_config": {},
        "content": "none",
    }
    json.dumps(p)  # plain data: Ansible can template, register and show it


def test_two_instances_get_distinct_ports_prefixes_dirs_and_databases() -> None:
    a, b = plan([inst("alpha"), inst("beta", title="Beta", extra_config={"mail.server": "x"})],
                "repouser")
    assert a["ports"] == {"backend": 8080, "ui": 4000, "handle": 2641, "handle_http": 8000}
    assert b["ports"] == {"backend": 8090, "ui": 4010, "handle": 2642, "handle_http": 8001}
    assert not set(a["ports"].values()) & set(b["ports"].values())
    assert (a["solr"]["prefix"], b["solr"]["prefix"]) == ("alpha-", "beta-")
    assert a["dspace_dir"] != b["dspace_dir"] and a["ui_dir"] != b["ui_dir"]
    assert a["db"]["name"] != b["db"]["name"]
    assert b["urls"]["ssr"] == "http://127.0.0.1:8090/server"
    assert a["user"] == b["user"] == "repouser"
    assert b["title"] == "Beta" and b["extra_config"] == {"mail.server": "x"}
    cores = FILTERS["dspace_solr_cores"]([a, b])
    names = [c["name"] for c in cores]
    assert len(names) == len(set(names)) == 12
    assert {"name": "beta-search", "conf_source": "/srv/dspace/beta/solr/search"} in cores


def test_explicit_port_slot() -> None:
    a, b = plan([inst("alpha", port_slot=3), inst("beta", port_slot="0")])
    assert a["port_slot"] == 3 and a["ports"]["backend"] == 8110 and a["ports"]["handle"] == 2644
    assert b["port_slot"] == 0 and b["ports"]["ui"] == 4000
    assert a["ports"] == lines.instance_ports(3)


def test_line_as_int_is_normalised() -> None:
    (p,) = plan([inst(line=10)])
    assert p["line"] == "10" and p["version"] == "10.0" and p["java_major"] == 21
    assert "audit" in p["cores"]
    (p,) = plan([inst(line=8, version="8.2")])
    assert p["line"] == "8" and p["version"] == "8.2" and p["solr_version"] == "8.11.4"


def test_the_release_names_a_cris_instance_by_its_4science_release() -> None:
    """The upgrade record and the gates name a DSpace-CRIS release 2025.02.01, never 9.2 or
    the line's DSpace version; a DSpace instance by its version."""
    (p,) = plan([inst(line="9", flavor="cris")])
    assert p["release"] == lines.CRIS["9"].release == "2025.02.01"
    (p,) = plan([inst(line=8, version="8.3")])
    assert p["release"] == p["version"] == "8.3"


def test_cris_cores() -> None:
    """DSpace's cores plus audit and dedup (which DSpace-CRIS configures and health-checks);
    not ocr, used only by IIIF search (off by default). docs/cris.md, "Solr cores"."""
    (p,) = plan([inst(line="9", flavor="cris")])
    assert p["cores"] == sorted({*lines.LINES["9"].cores, "audit", "dedup"})
    assert lines.CRIS["9"].extra_cores == lines.CRIS["8"].extra_cores == ("audit", "dedup")
    assert "ocr" in lines.CRIS["9"].configsets and "ocr" not in p["cores"]
    (p,) = plan([inst(line="8", flavor="cris")])
    assert set(p["cores"]) - set(lines.LINES["8"].cores) == {"audit", "dedup"}
    with pytest.raises(plugin.PlanError, match="no DSpace-CRIS on line 10"):
        plan([inst(line="10", flavor="cris")])


def test_pgcrypto_only_for_line_8() -> None:
    # lines 8 and 9 cannot share a host (Solr 8 vs 9), so each host's plans separately
    eight = plan([inst("eight", line="8")])
    nine_ten = plan([inst("nine", line="9"), inst("ten", line="10")])
    secrets = {name: {"db_password": f"pw-{name}-123"} for name in ("eight", "nine", "ten")}
    dbs = FILTERS["dspace_postgresql_databases"]
    assert dbs(eight, secrets) == [
        {"name": "dspace_eight", "owner": "dspace_eight", "password": "pw-eight-123",
         "extensions": ["pgcrypto"]}]
    assert [d["extensions"] for d in dbs(nine_ten, secrets)] == [[], []]
    assert [d["owner"] for d in dbs(nine_ten, secrets)] == ["dspace_nine", "dspace_ten"]
    with pytest.raises(plugin.PlanError, match="no db_password for instance ten"):
        dbs(nine_ten, {"nine": secrets["nine"]})


# --- the host's shared runtimes ------------------------------------------------------------------


def test_one_jdk_per_host_is_the_highest_needed() -> None:
    plans = plan([inst("nine", line="9"), inst("ten", line="10")])
    assert [p["java_major"] for p in plans] == [21, 21]
    assert FILTERS["dspace_host_java_major"](plans) == 21
    assert FILTERS["dspace_host_java_major"](plan([inst()])) == 17
    assert FILTERS["dspace_host_java_major"]([]) == 0
    with pytest.raises(plugin.PlanError, match="asks for Java 17"):
        plan([inst("nine", java_version=17), inst("ten", line="10")])


def test_one_node_and_one_solr_per_host() -> None:
    plans = plan([inst("nine", line="9"), inst("ten", line="10", node_version=22)])
    assert {p["node_major"] for p in plans} == {22}
    assert FILTERS["dspace_host_node_major"](plans) == 22
    assert plan([inst("eight", line="8")])[0]["node_major"] == 20  # the newest it supports
    with pytest.raises(plugin.PlanError, match=r"one Node\.js"):
        plan([inst("nine", node_version=22), inst("ten", line="10", node_version=24)])
    # Solr 8 (line 8) and Solr 9 (line 9) cannot be one server
    with pytest.raises(plugin.PlanError, match="one Solr server"):
        plan([inst("eight", line="8"), inst("nine", line="9")])
    with pytest.raises(plugin.PlanError, match="one Solr server"):
        plan([inst("nine"), inst("ten", line="10", solr_version="9.9.0")])
    plans = plan([inst("nine"), inst("ten", line="10")])
    assert FILTERS["dspace_host_solr_version"](plans) == "9.8.1"


def test_the_hosts_debian_packages_are_preferred_where_they_fit() -> None:
    def runtimes(debian: Any, **extra: Any) -> tuple[int, int]:
        (p,) = plan([inst(**extra)], "dspace", debian)
        return p["java_major"], p["node_major"]

    assert runtimes(None) == (17, 24)  # unknown OS: lowest sufficient Java, newest Node
    assert runtimes("13") == (21, 20)  # Debian 13: OpenJDK 21, Node.js 20
    assert runtimes(12, line="8") == (17, 18)  # Debian 12: OpenJDK 17, Node.js 18
    assert runtimes(12) == (17, 24)  # Debian 12's Node.js 18 is too old for the 9 UI
    assert runtimes(13, java_version=17, node_version=22) == (17, 22)  # pins win
    assert runtimes(13, line="10") == (21, 20)
    assert runtimes("bookworm") == (17, 24)  # not a number: ignored
    assert lines.DEBIAN_RUNTIMES[13] == {"java": 21, "node": 20}


def test_bad_input_is_named() -> None:
    with pytest.raises(plugin.PlanError,
                       match=r"instance repo \(dspace_instances\[0\]\): line is '7'"):
        plan([inst(line="7")])
    with pytest.raises(plugin.PlanError, match=r"dspace_instances\[1\]: hostname is required"):
        plan([inst(), {"name": "x"}])
    with pytest.raises(plugin.PlanError, match=r"port 8080 .* is also used by instance a "):
        plan([inst("a"), inst("b", port_slot=0)])
    with pytest.raises(plugin.PlanError, match=r"port 8090 .* is also used by instance b "):
        plan([inst("a"), inst("b"), inst("c", port_slot=90)])
    with pytest.raises(plugin.PlanError, match=r"outside 0\.\.99"):
        plan([inst(port_slot=100)])
    with pytest.raises(plugin.PlanError, match="name is also used by instance a "):
        plan([inst("a"), inst("a", hostname="other.example.edu")])
    with pytest.raises(plugin.PlanError, match="port_slot must be a whole number"):
        plan([inst(port_slot="two")])
    assert plan(None) == []


def test_defaults_match_the_site_spec() -> None:
    options = specs.load_spec_file(specs.SITE_SPEC, "site").options["dspace_instances"].options
    spec_defaults = {name: opt.default for name, opt in options.items() if opt.has_default}
    assert spec_defaults == plugin.INSTANCE_DEFAULTS
    assert "port_slot" in options and options["port_slot"].type == "int"


# --- works without the package, and inside Ansible -----------------------------------------------


def test_plugin_needs_neither_the_package_nor_ansible(tmp_path: Path) -> None:
    """Plain ansible-playbook on a machine without dspace-deploy installed: the plugin finds
    dspace_deploy/lines.py next to the playbooks (no site-packages at all here)."""
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(PLUGIN)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "assert 'dspace_deploy' not in sys.modules, 'package imported'\n"
        "plans = m.FilterModule().filters()['dspace_instance_plan']("
        "[{'name': 'a', 'hostname': 'a.example.edu', 'line': 10}])\n"
        "print(json.dumps(plans[0]['java_major']))\n"
    )
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "21"


def test_ansible_loads_the_filters_from_playbooks_filter_plugins(tmp_path: Path) -> None:
    """A real `ansible` run on localhost (connection local, nothing changed, no facts): the
    playbook directory's filter_plugins/ is where Ansible finds the filters."""
    instances = [inst("alpha", line=10), inst("beta", line="9", port_slot=5)]
    msg = ("{{ {'plans': dspace_instances | dspace_instance_plan('svc'),"
           " 'java': dspace_instances | dspace_instance_plan | dspace_host_java_major,"
           " 'cores': dspace_instances | dspace_instance_plan | dspace_solr_cores | length,"
           " 'node': dspace_instances | dspace_instance_plan('svc', '13')"
           " | dspace_host_node_major} }}")
    msg_out = ansible_debug(tmp_path, {"dspace_instances": instances}, msg)
    alpha, beta = msg_out["plans"]
    assert alpha["line"] == "10" and "audit" in alpha["cores"]
    assert alpha["user"] == "svc" and beta["ports"]["backend"] == 8130
    assert msg_out["java"] == 21 and msg_out["cores"] == 13 and msg_out["node"] == 20


# --- validation: port slots and shared runtimes --------------------------------------------------


@pytest.fixture
def _fixture_roles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "roles_dir", lambda: FIXTURE_ROLES)
    monkeypatch.delenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def _problems(tmp_path: Path, instances: list[dict[str, Any]]) -> list[str]:
    root, password = build(tmp_path / "site", {SITE: site(dspace_instances=instances)})
    try:
        load_site(root, password)
    except ValidationFailed as exc:
        return [str(p) for p in exc.problems]
    return []


def _two(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    return [instance(name="alpha", hostname="alpha.example.edu", **a),
            instance(name="beta", hostname="beta.example.edu", **b)]


@pytest.mark.usefixtures("_fixture_roles")
def test_same_effective_port_slot_on_one_host_is_a_problem(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, _two({}, {"port_slot": 0}))
    assert "dspace_instances[1].port_slot" in problem
    assert "port slot 0 is also the slot of instance alpha" in problem
    assert _problems(tmp_path, _two({"port_slot": 1}, {"port_slot": 0})) == []


@pytest.mark.usefixtures("_fixture_roles")
def test_overlapping_ports_and_out_of_range_slots(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, _two({}, {"port_slot": 80}))
    assert "port 8080 of port slot 80 is also used by instance alpha" in problem
    (problem,) = _problems(tmp_path, [instance(port_slot=100)])
    assert "100 is outside 0..99" in problem


@pytest.mark.usefixtures("_fixture_roles")
def test_shared_runtime_conflicts_are_problems(tmp_path: Path) -> None:
    found = _problems(tmp_path, _two({"java_version": 17}, {"line": "10"}))
    assert len(found) == 1 and "needs Java 21" in found[0] and "[0].java_version" in found[0]
    found = _problems(tmp_path, _two({"line": "8"}, {}))
    assert len(found) == 1 and "one Solr server" in found[0] and "[1].line" in found[0]
    assert _problems(tmp_path, _two({}, {"node_version": 22, "line": "10"})) == []
    found = _problems(tmp_path, _two({"node_version": 20}, {"node_version": 22}))
    assert any("one Node.js" in p for p in found)


# --- filters feeding the bundle paths and the proxy ----------------------------------------------


def test_each_plan_finds_the_bundle_of_its_line_and_flavor() -> None:
    plans = plan([inst("a", line="9"), inst("b", line="9", flavor="cris", port_slot=1)])
    bundles = {"9-dspace": {"installer": "/b/9-dspace/backend/x.tgz"},
               "9-cris": {"installer": "/b/9-cris/backend/x.tgz"}}
    pick = FILTERS["dspace_plan_bundle"]
    assert pick(plans[0], bundles)["installer"].startswith("/b/9-dspace/")
    assert pick(plans[1], bundles)["installer"].startswith("/b/9-cris/")
    assert pick(plans[0], {}) == {}  # no bundle: the roles fetch the official release
    with pytest.raises(plugin.PlanError):
        pick(plans, bundles)


def test_the_bundle_is_found_by_line_flavor_and_release() -> None:
    (p93,) = plan([inst("a", line="9", version="9.3")])
    (cris,) = plan([inst("c", line="9", flavor="cris")])

    def entry(line: str, flavor: str, version: str) -> dict[str, str]:
        return {"line": line, "flavor": flavor, "version": version,
                "installer": f"/b/{line}-{flavor}-{version}/backend/x.tgz"}

    bundles = {f"{e['line']}-{e['flavor']}-{e['version']}": e for e in (
        entry("9", "dspace", "9.3"), entry("9", "dspace", "9.2"), entry("8", "dspace", "8.4"),
        entry("9", "cris", "2025.02.01"), entry("8", "cris", "2024.02.04"))}
    pick = FILTERS["dspace_plan_bundle"]
    assert pick(p93, bundles)["version"] == "9.3"
    assert pick(p93, bundles, "9.2")["version"] == "9.2"  # what a rollback returns to
    assert pick(p93, bundles, "8.4")["line"] == "8"  # the release's line, not the plan's
    assert pick(p93, bundles, "9.1") == {}
    assert pick(cris, bundles)["version"] == "2025.02.01"
    assert pick(cris, bundles, "2024.02.04")["line"] == "8"
    # the older shape, keyed <line>-<flavor>: serves the release it holds
    legacy = {"9-dspace": {"dspace_version": "9.3", "installer": "/b/9-dspace/x.tgz"}}
    assert pick(p93, legacy)["installer"] == "/b/9-dspace/x.tgz"
    assert pick(p93, legacy, "9.2") == {}


def test_proxy_sites_route_each_hostname_to_its_own_ports() -> None:
    plans = plan([inst("a"), inst("b", tls_mode="provided", tls_certificate_file="/c.pem",
                                  tls_key_file="/k.pem")])
    sites = FILTERS["dspace_proxy_sites"](plans)
    assert [(s["hostname"], s["backend_port"], s["ui_port"]) for s in sites] == [
        ("a.example.edu", 8080, 4000), ("b.example.edu", 8090, 4010)]
    assert sites[0]["tls_mode"] == "selfsigned" and sites[0]["tls_key_file"] == ""
    assert (sites[1]["tls_certificate_file"], sites[1]["tls_key_file"]) == ("/c.pem", "/k.pem")
    assert sites[0]["acme_email"] == "a@example.edu"  # defaults to the admin's e-mail


def test_handle_registration_defaults_to_unregistered() -> None:
    (unregistered,) = plan([inst("a")])
    (registered,) = plan([inst("a", handle_prefix="20.500.1", handle_registered=True)])
    assert unregistered["handle_registered"] is False
    assert (registered["handle_prefix"], registered["handle_registered"]) == ("20.500.1", True)


def test_cris_2025_runs_on_java_21() -> None:
    """DSpace-CRIS 2025.02.01 is compiled for Java 21 (4Science/DSpace pom.xml:19,181), DSpace
    9.3 for 17: a host with both gets Java 21, also on Debian 13 (its own OpenJDK)."""
    (p,) = plan([inst(line="9", flavor="cris")])
    assert p["java_major"] == 21
    a, b = plan([inst("repo", line="9"), inst("cris", line="9", flavor="cris")], debian="13")
    assert a["java_major"] == b["java_major"] == 21
    (p,) = plan([inst(line="8", flavor="cris")], debian="12")
    assert p["java_major"] == 17
    with pytest.raises(plugin.PlanError, match="Java 17"):
        plan([inst("repo", line="9", java_version=17), inst("cris", line="9", flavor="cris")])


def test_handle_dir_follows_handle_dir_of_extra_config() -> None:
    (p,) = plan([inst(extra_config={"handle.dir": "${dspace.dir}/hs"})])
    assert p["handle_dir"] == "/srv/dspace/repo/hs"
    (p,) = plan([inst(extra_config={"handle.dir": "/var/lib/handle/repo"})])
    assert p["handle_dir"] == "/var/lib/handle/repo"


def test_assetstore_dir_follows_assetstore_dir_of_extra_config() -> None:
    (p,) = plan([inst(extra_config={"assetstore.dir": "${dspace.dir}/files"})])
    assert p["assetstore_dir"] == "/srv/dspace/repo/files"
    (p,) = plan([inst(extra_config={"assetstore.dir": "/data/assetstore"})])
    assert p["assetstore_dir"] == "/data/assetstore"
