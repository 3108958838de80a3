"""The upgrade planning filter (playbooks/filter_plugins/dspace_upgrade.py): every jump, every
refusal, every precheck passing, failing and "could not be checked"."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "playbooks" / "filter_plugins"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", PLUGINS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


upgrade = _load("dspace_upgrade")
FILTERS = upgrade.FilterModule().filters()
PLAN = _load("dspace_plan").FilterModule().filters()["dspace_instance_plan"]
path_of = FILTERS["dspace_upgrade_path"]
prechecks = FILTERS["dspace_upgrade_prechecks"]


def plan_of(name: str = "repo", debian: int = 13, **extra: Any) -> dict[str, Any]:
    instance = {"name": name, "hostname": f"{name}.example.edu", **extra}
    result: dict[str, Any] = PLAN([instance], "dspace", debian)[0]
    return result


def host_facts(**changes: Any) -> dict[str, Any]:
    """Facts of a healthy Debian 13 host running 9.2 with room to spare."""
    facts: dict[str, Any] = {
        "installed_version": "9.2",
        "os_major": 13,
        "java_majors": [21],
        "node_major": 20,
        "solr_version": "9.8.1",
        "solr_lib_enabled": True,
        "free_bytes": {"dspace": 50 << 30, "ui": 50 << 30, "var": 50 << 30, "tmp": 4 << 30},
        "filesystems": {"dspace": "fs1", "ui": "fs1", "var": "fs1", "tmp": "fs2"},
        "db_bytes": 200 << 20,
        "solr_bytes": 100 << 20,
        "release_bytes": {"backend": 400 << 20, "ui": 150 << 20},
        "healthy": True,
        "health_detail": "",
        "last_backup": {"ok": True, "finished": "2026-12-04T02:00:00Z", "error": ""},
        "local_cfg_keys": ["dspace.dir", "db.url", "mail.server"],
        "ui_config_keys": ["ui.ssl", "ui.baseUrl", "rest.host", "ssr.enabled"],
        "cris_jars": [],
        "record": {},
        "host_instances": [{"instance": "repo", "running": "9.2", "upgrading": True}],
    }
    facts.update(changes)
    return facts


def by_name(checks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in checks}


# --- paths -----------------------------------------------------------------------------------


def test_patch_9_2_to_9_3_keeps_solr_and_runs_the_ignored_migrations() -> None:
    path = path_of(plan_of(line="9", version="9.3"), "9.2")
    assert (path["from"], path["to"], path["kind"], path["supported"]) == \
        ("9.2", "9.3", "patch", True)
    (jump,) = path["jumps"]
    assert jump["solr_major_from"] == jump["solr_major_to"] == 9
    assert jump["new_cores"] == [] and jump["carry_solr_data"] == []
    assert jump["rebuild_search"] is False and jump["search_reindex"] == "update"
    assert jump["oai_import"] is False and jump["oai_import_clean"] is False
    # 9.3 adds V7.6_2026.03.25 and V8.4_2026.03.28, both below 9.0: Ignored (facts 1.6)
    assert jump["migrate_ignored_expected"] is True
    assert jump["ui_toolchain_change"] == ""
    assert any("migrate ignored" in s for s in path["steps"])
    assert path["steps"][0].startswith("show a maintenance page")
    json.dumps(path)


def test_patch_8_3_to_8_4() -> None:
    path = path_of(plan_of(line="8", version="8.4"), "8.3")
    assert path["kind"] == "patch" and path["supported"]
    assert path["jumps"][0]["migrate_ignored_expected"] is True
    assert path["jumps"][0]["java_min"] == 17


def test_minor_9_1_to_9_3() -> None:
    path = path_of(plan_of(line="9", version="9.3"), "9.1")
    assert path["kind"] == "minor" and path["supported"]


def test_major_8_to_9_moves_solr_and_carries_the_data_that_cannot_be_rebuilt() -> None:
    path = path_of(plan_of(line="9", version="9.3"), "8.4")
    assert path["kind"] == "major" and path["supported"]
    (jump,) = path["jumps"]
    assert (jump["solr_major_from"], jump["solr_major_to"]) == (8, 9)
    assert jump["carry_solr_data"] == ["authority", "qaevent", "statistics", "suggestion"]
    assert jump["rebuild_search"] is True and jump["search_reindex"] == "rebuild"
    assert jump["oai_import"] is True and jump["oai_import_clean"] is True
    assert jump["new_cores"] == []
    # 8.4 already has the back-dated migrations; 9.3's 9.0 ones are in order
    assert jump["migrate_ignored_expected"] is False
    assert "yarn to npm" in jump["ui_toolchain_change"]
    assert any("Solr 9" in s for s in path["steps"])
    assert any("index-discovery -b" in s for s in path["steps"])
    assert any("oai import -c" in s for s in path["steps"])


def test_major_8_3_to_9_3_expects_ignored_migrations() -> None:
    assert path_of(plan_of(line="9", version="9.3"), "8.3")["jumps"][0][
        "migrate_ignored_expected"] is True


def test_major_9_to_10_java_21_audit_core_search_rebuilt() -> None:
    path = path_of(plan_of(line="10"), "9.3")
    assert path["kind"] == "major"
    (jump,) = path["jumps"]
    assert jump["java_min"] == 21 and jump["new_cores"] == ["audit"]
    assert jump["solr_major_from"] == jump["solr_major_to"] == 9
    assert jump["carry_solr_data"] == []
    assert jump["rebuild_search"] is True
    assert jump["oai_import"] is True and jump["oai_import_clean"] is False
    assert any("create the new Solr core audit" in s for s in path["steps"])


def test_cris_2024_to_2025() -> None:
    path = path_of(plan_of(line="9", flavor="cris"), "2024.02.04")
    assert (path["from"], path["to"], path["kind"]) == ("2024.02.04", "2025.02.01", "cris")
    (jump,) = path["jumps"]
    assert jump["java_min"] == 21
    assert (jump["solr_major_from"], jump["solr_major_to"]) == (8, 9)
    assert jump["carry_solr_data"] == ["audit", "authority", "dedup", "qaevent", "statistics",
                                       "suggestion"]
    assert jump["ocr_plugin"] == "solr-ocrhighlighting-0.9.2.jar"
    assert jump["migrate_ignored_expected"] is True
    assert any("dspaceVersion 9.2" in s for s in path["steps"])


@pytest.mark.parametrize(("line", "version", "installed", "why"), [
    ("10", None, "8.4", "set version 9.3, upgrade, then set 10.0"),
    ("9", "9.2", "9.3", "downgrades are refused"),
    ("8", "8.4", "9.3", "downgrades are refused"),
    ("9", "9.3", "7.6.7", "not a release of a line dspace-deploy manages"),
    ("9", "9.3", "2024.02.04", "changing between DSpace and DSpace-CRIS"),
])
def test_refused_paths_say_why_and_the_way_out(line: str, version: str | None, installed: str,
                                               why: str) -> None:
    extra = {"version": version} if version else {}
    path = path_of(plan_of(line=line, **extra), installed)
    assert path["supported"] is False and path["jumps"] == [] and path["steps"] == []
    assert why in path["reason"]


def test_downgrade_names_rollback() -> None:
    path = path_of(plan_of(line="9", version="9.2"), "9.3")
    assert "dspace-deploy rollback --instance repo" in path["reason"]


def test_cris_refusals() -> None:
    assert "downgrades" in path_of(plan_of(line="8", flavor="cris"), "2025.02.01")["reason"]
    flavor = path_of(plan_of(line="9", flavor="cris"), "9.2")
    assert not flavor["supported"] and "DSpace-CRIS" in flavor["reason"]


@pytest.mark.parametrize("installed", ["9.3", "", None])
def test_nothing_to_do(installed: str | None) -> None:
    path = path_of(plan_of(line="9", version="9.3"), installed)
    assert path["kind"] == "none" and path["supported"] and path["jumps"] == []
    assert ("up" in path["reason"]) if not installed else ("already runs" in path["reason"])
    assert [c["name"] for c in prechecks(plan_of(), path, host_facts(), [])] == ["path"]


# --- prechecks -------------------------------------------------------------------------------


def test_every_precheck_passes_on_a_good_host() -> None:
    plan = plan_of(line="9", version="9.3")
    checks = prechecks(plan, path_of(plan, "9.2"), host_facts(), [plan])
    assert [c["name"] for c in checks] == ["path", "java", "node", "solr", "disk", "healthy",
                                           "backup", "backend_config", "ui_config", "record"]
    assert all(c["ok"] and c["fix"] == "" for c in checks), checks
    json.dumps(checks)


def test_refused_path_still_reports_every_precheck() -> None:
    plan = plan_of(line="10")
    checks = by_name(prechecks(plan, path_of(plan, "8.4"), host_facts(), [plan]))
    assert not checks["path"]["ok"] and "crosses 2 majors" in checks["path"]["detail"]
    assert {"java", "node", "disk", "healthy", "backup"} <= set(checks)


@pytest.mark.parametrize("fact", ["java_majors", "os_major", "node_major", "solr_version",
                                  "free_bytes", "db_bytes", "solr_bytes", "release_bytes",
                                  "healthy", "last_backup", "local_cfg_keys", "ui_config_keys",
                                  "record", "solr_lib_enabled"])
def test_a_fact_that_could_not_be_gathered_fails_its_check(fact: str) -> None:
    plan = plan_of(line="9", version="9.3")
    checks = prechecks(plan, path_of(plan, "9.2"), host_facts(**{fact: None}), [plan])
    failed = [c for c in checks if not c["ok"]]
    assert len(failed) == (2 if fact == "os_major" else 1), checks  # java and node need it
    for check in failed:
        assert check["detail"].startswith("could not be checked") and fact in check["detail"]
        assert check["fix"]


def test_debian_12_cannot_run_line_9_from_its_own_packages() -> None:
    plan = plan_of(line="9", version="9.3", debian=12)
    facts = host_facts(os_major=12, java_majors=[17], node_major=18, solr_version="8.11.4")
    checks = by_name(prechecks(plan, path_of(plan, "8.4"), facts, [plan]))
    assert checks["java"]["ok"]  # DSpace 9 runs on OpenJDK 17
    node = checks["node"]
    assert not node["ok"]
    assert "Debian 12 cannot run DSpace 9 from its own packages" in node["detail"]
    assert "Debian 13" in node["fix"] and "NodeSource" in node["fix"]


def test_debian_12_line_10_needs_java_21() -> None:
    plan = plan_of(line="10", debian=12)
    facts = host_facts(os_major=12, java_majors=[17], node_major=20)
    java = by_name(prechecks(plan, path_of(plan, "9.3"), facts, [plan]))["java"]
    assert not java["ok"] and "Java 21+" in java["detail"] and "packages Java 17" in java["detail"]
    assert "Debian 12 cannot run DSpace 10" in java["detail"]
    assert "Temurin" in java["fix"]
    # A JDK 21 installed from another source is fine
    facts["java_majors"] = [17, 21]
    assert by_name(prechecks(plan, path_of(plan, "9.3"), facts, [plan]))["java"]["ok"]


def test_java_installed_from_debian_13() -> None:
    plan = plan_of(line="10")
    checks = by_name(prechecks(plan, path_of(plan, "9.3"), host_facts(java_majors=[17]), [plan]))
    assert checks["java"]["ok"] and "Debian 13" in checks["java"]["detail"]


def test_solr_9_8_without_lib_enabled() -> None:
    plan = plan_of(line="9", version="9.3")
    solr = by_name(prechecks(plan, path_of(plan, "9.2"), host_facts(solr_lib_enabled=False),
                             [plan]))["solr"]
    assert not solr["ok"] and "solr.config.lib.enabled" in solr["detail"]


def test_solr_jump_refused_while_another_instance_stays_on_solr_8() -> None:
    a = plan_of("alpha", line="9", version="9.3")
    b = plan_of("beta", line="8", version="8.4")
    facts = host_facts(installed_version="8.4", solr_version="8.11.4", node_major=20,
                       host_instances=[{"instance": "alpha", "running": "8.4", "upgrading": True},
                                       {"instance": "beta", "running": "8.4",
                                        "upgrading": False}])
    checks = by_name(prechecks(a, path_of(a, "8.4"), facts, [a, b]))
    assert checks["solr"]["ok"]  # the jump replaces Solr 8 by 9
    host = checks["solr_host"]
    assert not host["ok"] and "beta (8.4 on DSpace 8)" in host["detail"]
    assert "without --instance" in host["fix"] and "line 9" in host["fix"]
    # beta's inventory says line 9 too, but this run does not upgrade it (--instance alpha)
    b9 = plan_of("beta", line="9", version="9.3")
    assert not by_name(prechecks(a, path_of(a, "8.4"), facts, [a, b9]))["solr_host"]["ok"]
    # both in the same run: accepted
    facts["host_instances"][1]["upgrading"] = True
    assert by_name(prechecks(a, path_of(a, "8.4"), facts, [a, b9]))["solr_host"]["ok"]
    facts["host_instances"] = None
    assert by_name(prechecks(a, path_of(a, "8.4"), facts, [a, b9]))["solr_host"][
        "detail"].startswith("could not be checked")


def test_within_solr_9_instances_are_independent() -> None:
    a = plan_of("alpha", line="10")
    b = plan_of("beta", line="9", version="9.3")
    facts = host_facts(installed_version="9.3", host_instances=[
        {"instance": "alpha", "running": "9.3", "upgrading": True},
        {"instance": "beta", "running": "9.3", "upgrading": False}])
    assert "solr_host" not in by_name(prechecks(a, path_of(a, "9.3"), facts, [a, b]))


def test_disk_counts_shared_filesystems_once() -> None:
    plan = plan_of(line="9", version="9.3")
    path = path_of(plan, "8.4")
    facts = host_facts(db_bytes=10 << 30, solr_bytes=2 << 30, solr_version="8.11.4")
    need = FILTERS["dspace_upgrade_estimate"](path, facts)
    # var: dump + local DB copy + Solr staging + Solr copy + Solr export for the new major
    assert abs(need["disk_needed"]["var"] - 1.1 * (26 << 30)) < 2
    assert need["downtime_estimate_s"] > 180
    facts["free_bytes"] = {"dspace": 20 << 30, "ui": 20 << 30, "var": 20 << 30, "tmp": 1 << 30}
    disk = by_name(prechecks(plan, path, facts, [plan]))["disk"]
    assert not disk["ok"] and "dspace+ui+var" in disk["detail"]
    # on separate filesystems dspace and ui fit; var still does not
    facts["filesystems"] = {"dspace": "a", "ui": "b", "var": "c", "tmp": "d"}
    disk = by_name(prechecks(plan, path, facts, [plan]))["disk"]
    assert not disk["ok"] and disk["detail"].count("needs") == 1 and "var:" in disk["detail"]
    facts["free_bytes"]["var"] = 40 << 30
    assert by_name(prechecks(plan, path, facts, [plan]))["disk"]["ok"]


def test_patch_downtime_has_no_reindex_rebuild() -> None:
    plan = plan_of(line="9", version="9.3")
    patch = FILTERS["dspace_upgrade_estimate"](path_of(plan, "9.2"), host_facts(db_bytes=4 << 30))
    major = FILTERS["dspace_upgrade_estimate"](path_of(plan, "8.4"), host_facts(db_bytes=4 << 30))
    assert major["downtime_estimate_s"] > patch["downtime_estimate_s"] + 900


def test_unhealthy_instance_and_failed_or_missing_backup() -> None:
    plan = plan_of(line="9", version="9.3")
    facts = host_facts(healthy=False, health_detail="REST root answered 502",
                       last_backup={"ok": False, "finished": "2026-12-04T02:00:00Z",
                                    "error": "restic: repository locked"})
    checks = by_name(prechecks(plan, path_of(plan, "9.2"), facts, [plan]))
    assert not checks["healthy"]["ok"] and "502" in checks["healthy"]["detail"]
    assert not checks["backup"]["ok"] and "repository locked" in checks["backup"]["detail"]
    assert "dspace-deploy backup --instance repo" in checks["backup"]["fix"]
    facts["last_backup"] = {"ok": None, "finished": "", "error": ""}
    backup = by_name(prechecks(plan, path_of(plan, "9.2"), facts, [plan]))["backup"]
    assert not backup["ok"] and "no backup" in backup["detail"]


@pytest.mark.parametrize(("installed", "line", "version", "key", "hint"), [
    ("8.3", "8", "8.4", "webui.content_disposition_format", "content_disposition_inline"),
    ("9.2", "9", "9.3", "webui.content_disposition_format", "content_disposition_inline"),
    ("9.2", "9", "9.3", "authentication-ldap.enable", "plugin.sequence"),
    ("8.4", "9", "9.3", "citation-page.header1", "cover-template"),
    ("8.4", "9", "9.3", "core.authorization.community-admin.item.reinstatiate", "reinstate"),
    ("9.3", "10", "10.0", "sherpa.romeo.url", "openpolicyfinder.url"),
    ("9.3", "10", "10.0", "duplicate.comparison.solr.field", "prefix"),
])
def test_backend_keys_the_target_removes(installed: str, line: str, version: str, key: str,
                                         hint: str) -> None:
    plan = plan_of(line=line, version=version, extra_config={key: "x"})
    facts = host_facts(installed_version=installed, solr_version="8.11.4" if installed < "9"
                       else "9.8.1", node_major=20)
    check = by_name(prechecks(plan, path_of(plan, installed), facts, [plan]))["backend_config"]
    assert not check["ok"] and key in check["detail"] and hint in check["fix"]
    # the same key read from the host's local.cfg
    plan = plan_of(line=line, version=version)
    facts["local_cfg_keys"] = [key]
    assert not by_name(prechecks(plan, path_of(plan, installed), facts, [plan]))[
        "backend_config"]["ok"]


def test_backend_key_kept_by_the_target_passes() -> None:
    plan = plan_of(line="9", version="9.2", extra_config={"webui.content_disposition_format":
                                                          "text/richtext"})
    check = by_name(prechecks(plan, path_of(plan, "9.1"), host_facts(), [plan]))
    assert check["backend_config"]["ok"]


@pytest.mark.parametrize(("installed", "line", "version", "key", "hint"), [
    ("8.4", "9", "9.3", "defaultLanguage", "fallbackLanguage"),
    ("9.3", "10", "10.0", "ui.rateLimiter.max", "ui.rateLimiter.limit"),
    ("9.2", "9", "9.3", "universal.inlineCriticalCss", "ssr:"),
])
def test_ui_keys_the_target_renames(installed: str, line: str, version: str, key: str,
                                    hint: str) -> None:
    plan = plan_of(line=line, version=version)
    facts = host_facts(installed_version=installed,
                       solr_version="8.11.4" if installed < "9" else "9.8.1",
                       ui_config_keys=["ui.baseUrl", key])
    check = by_name(prechecks(plan, path_of(plan, installed), facts, [plan]))["ui_config"]
    assert not check["ok"] and hint in check["fix"]


def test_ui_base_url_required_from_9_3() -> None:
    plan = plan_of(line="9", version="9.3")
    check = by_name(prechecks(plan, path_of(plan, "9.2"),
                              host_facts(ui_config_keys=["ui.ssl"]), [plan]))["ui_config"]
    assert not check["ok"] and "ui.baseUrl" in check["detail"]
    plan = plan_of(line="9", version="9.2")
    assert by_name(prechecks(plan, path_of(plan, "9.1"),
                             host_facts(ui_config_keys=["ui.ssl"]), [plan]))["ui_config"]["ok"]


def test_cris_plugin_jar_of_the_target() -> None:
    plan = plan_of(line="9", flavor="cris")
    facts = host_facts(installed_version="2024.02.04", solr_version="8.11.4",
                       cris_jars=["solr-ocrhighlighting-0.7.2.jar"])
    check = by_name(prechecks(plan, path_of(plan, "2024.02.04"), facts, [plan]))["cris_plugins"]
    assert not check["ok"] and "solr-ocrhighlighting-0.9.2.jar" in check["detail"]
    facts["cris_jars"] = ["solr-ocrhighlighting-0.9.2.jar"]
    assert by_name(prechecks(plan, path_of(plan, "2024.02.04"), facts, [plan]))[
        "cris_plugins"]["ok"]
    facts["cris_jars"] = None
    assert "could not be checked" in by_name(
        prechecks(plan, path_of(plan, "2024.02.04"), facts, [plan]))["cris_plugins"]["detail"]
    # no bundle: the target is built on the host, nothing to look into before
    facts["cris_jars"] = "source"
    check = by_name(prechecks(plan, path_of(plan, "2024.02.04"), facts, [plan]))["cris_plugins"]
    assert check["ok"] and "built on the host" in check["detail"]


def test_unfinished_upgrade_record() -> None:
    plan = plan_of(line="9", version="9.3")
    path = path_of(plan, "9.2")
    running = {"status": "running", "from": "9.2", "to": "9.3", "phase": "migrate",
               "started": "2026-12-05T01:00:00Z"}
    same = by_name(prechecks(plan, path, host_facts(record=running), [plan]))["record"]
    assert same["ok"] and "resumes it" in same["detail"]
    other = dict(running, to="9.4")
    check = by_name(prechecks(plan, path, host_facts(record=other), [plan]))["record"]
    assert not check["ok"] and "unfinished" in check["detail"]
    assert "dspace-deploy rollback --instance repo" in check["fix"]
    failed = {"status": "rollback_failed", "from": "9.2", "to": "9.3",
              "snapshot": {"target": "local", "id": "abc123"},
              "error": {"phase": "migrate", "message": "restore failed"}}
    check = by_name(prechecks(plan, path, host_facts(record=failed), [plan]))["record"]
    assert not check["ok"] and "abc123" in check["fix"]
    done = by_name(prechecks(plan, path, host_facts(record={"status": "done"}), [plan]))
    assert done["record"]["ok"]


def test_target_version() -> None:
    target = FILTERS["dspace_upgrade_target"]
    assert target(plan_of(line="9", version="9.2")) == "9.2"
    assert target(plan_of(line="8", flavor="cris")) == "2024.02.04"
    assert upgrade.release_line("2025.02.01", "cris") == "9"
    assert upgrade.release_line("10.0") == "10" and upgrade.release_line("7.6.7") is None


def test_phases_are_the_shared_names() -> None:
    assert upgrade.PHASES == ("precheck", "pause_tasks", "snapshot", "maintenance", "stop",
                              "install", "migrate", "solr", "start", "reindex", "ui", "finish")


def test_plan_report_entry_is_what_the_cli_reads() -> None:
    from dspace_deploy import upgrades

    plan = plan_of(line="9", version="9.3")
    entry = FILTERS["dspace_upgrade_plan_report"](plan, host_facts(), [plan])
    assert (entry["instance"], entry["from"], entry["to"], entry["kind"]) == (
        "repo", "9.2", "9.3", "patch")
    assert entry["disk_needed_bytes"] > 0 and entry["downtime_estimate_s"] >= 180
    report = upgrades.parse_upgrade_events([{"event": "runner_on_ok", "event_data": {
        "host": "h1", "res": {upgrades.REPORT_KEY: {"mode": "plan", "instances": [entry]}}}}],
        "upgrade", "plan")
    (item,) = report.instances
    assert item.outcome == "planned" and len(item.prechecks) == 10 and report.exit_code == 0
    fresh = FILTERS["dspace_upgrade_plan_report"](plan, host_facts(installed_version=""), [plan])
    assert fresh["kind"] == "none" and fresh["disk_needed_bytes"] == 0


# --- dspace_pending_upgrades: what `up` leaves alone --------------------------------------------


def test_pending_upgrades_are_instances_whose_host_runs_another_release() -> None:
    pending = FILTERS["dspace_pending_upgrades"]
    plans = [plan_of("repo", version="9.3"), plan_of("lib", version="9.2"),
             plan_of("new", version="9.3")]
    assert pending(plans, {"repo": "9.2", "lib": "9.2", "new": ""}) == [
        {"instance": "repo", "running": "9.2", "inventory": "9.3", "holds_solr": False}]
    # nothing recorded (not installed yet): `up` installs it as before
    assert pending(plans, {}) == []


def test_an_instance_waiting_for_a_solr_major_holds_the_hosts_solr() -> None:
    """8.4 runs on Solr 8: `up` must not move the host to the Solr 9 that line 9 asks for
    (the upgrade carries the data across); 9.3 to 10.0 stays on Solr 9."""
    pending = FILTERS["dspace_pending_upgrades"]
    assert pending([plan_of(line="9", version="9.3")], {"repo": "8.4"})[0]["holds_solr"]
    assert not pending([plan_of(line="10")], {"repo": "9.3"})[0]["holds_solr"]
    # a release dspace-deploy does not know: its Solr is unknown, so leave Solr alone
    assert pending([plan_of(line="9")], {"repo": "7.6"})[0]["holds_solr"]


def test_a_current_cris_instance_is_not_pending() -> None:
    """DSpace-CRIS is recorded by its release (2025.02.01), not its plan's DSpace version."""
    pending = FILTERS["dspace_pending_upgrades"]
    plans = [plan_of("cris", line="9", flavor="cris")]
    assert pending(plans, {"cris": "2025.02.01"}) == []
    assert pending(plans, {"cris": "2024.02.04"}) == [
        {"instance": "cris", "running": "2024.02.04", "inventory": "2025.02.01",
         "holds_solr": True}]


def test_the_old_plan_is_the_instance_as_it_ran_the_installed_release() -> None:
    old_plan = FILTERS["dspace_upgrade_old_plan"]
    plan = plan_of(line="9", version="9.3")
    old = old_plan(plan, "8.4")
    assert (old["release"], old["version"], old["line"]) == ("8.4", "8.4", "8")
    assert old["cores"] == plan_of(line="8", version="8.4")["cores"]
    assert old["ports"] == plan["ports"] and old["dspace_dir"] == plan["dspace_dir"]
    cris = old_plan(plan_of(line="9", flavor="cris"), "2024.02.04")
    assert (cris["release"], cris["line"], cris["flavor"]) == ("2024.02.04", "8", "cris")
    assert old_plan(plan, "9.2")["line"] == "9"


def test_the_running_plans_plan_a_waiting_instance_as_installed() -> None:
    """up copies each instance's Solr cores from its installed [dspace]/solr: a 9.3 instance
    waiting for 10.0 has no audit core yet."""
    running_plans = FILTERS["dspace_running_plans"]
    plans = [plan_of("repo", line="10"), plan_of("lib", line="10")]
    (repo, lib) = running_plans(plans, {"repo": "9.3", "lib": "10.0"})
    assert repo["release"] == "9.3" and "audit" not in repo["cores"]
    assert lib == plans[1] and "audit" in lib["cores"]
    assert running_plans(plans, {}) == plans  # nothing recorded: planned as the inventory says
