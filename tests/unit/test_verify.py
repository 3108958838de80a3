"""How verify maps inventory hosts to testinfra hosts, and turns pytest reports into a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dspace_deploy import verify
from dspace_deploy.site import Site


def test_podman_hosts_use_the_podman_backend_others_ansible() -> None:
    podman = {"ansible_connection": "containers.podman.podman", "ansible_host": "c1"}
    assert verify.testinfra_spec("h1", podman) == "podman://c1"
    assert verify.testinfra_spec("h2", {"ansible_host": "10.0.0.5"}) == "ansible://h2"
    assert verify.testinfra_spec("h3", {"ansible_connection": "local"}) == "local://"


def test_connection_inventory_keeps_no_password_and_shares_ssh(tmp_path: Path) -> None:
    site = Site(path=tmp_path, name="t", hosts=["a", "b"], vault_file=tmp_path / "v",
                vault_password_file=tmp_path / "p", hostvars={
                    "a": {"ansible_host": "10.0.0.5", "ansible_user": "deploy",
                          "ansible_become_password": "{{ vault_x }}", "common_timezone": "x",
                          "ansible_ssh_common_args": "-o UserKnownHostsFile=/k"},
                    "b": {"ansible_ssh_common_args": "-o ConnectTimeout=5 -o ControlMaster=no"},
                })
    hosts = verify._connection_inventory(site, ["a", "b"], tmp_path)["all"]["hosts"]
    assert "ansible_become_password" not in hosts["a"]
    assert "common_timezone" not in hosts["a"]
    args = hosts["a"]["ansible_ssh_common_args"]
    assert args.startswith("-o UserKnownHostsFile=/k")
    assert "ConnectTimeout=30" in args and f"ControlPath={tmp_path}/cm-%C" in args
    # the inventory's own choices win
    assert hosts["b"]["ansible_ssh_common_args"] == "-o ConnectTimeout=5 -o ControlMaster=no"


def test_nodeids_split_into_host_and_check() -> None:
    assert verify._split_nodeid(
        "dspace_deploy/checks/test_common.py::test_firewall[ansible://h1]"
    ) == ("ansible://h1", "common::test_firewall")


def test_a_host_without_results_fails_the_report() -> None:
    report = verify.VerifyReport(hosts=["a"], results=[
        verify.CheckResult("a", "common::x", "passed"),
    ])
    assert report.ok
    report.results.append(verify.CheckResult("a", "common::y", "error", "boom"))
    assert not report.ok
    assert report.counts("a") == {"passed": 1, "failed": 0, "skipped": 0, "error": 1}


def test_check_variables_carry_the_plans_and_derived_role_parameters(tmp_path: Path) -> None:
    instances = [{"name": "repo", "hostname": "repo.example.edu", "admin_email": "a@x.org"},
                 {"name": "cris", "hostname": "cris.example.edu", "admin_email": "a@x.org",
                  "flavor": "cris"}]
    site = Site(path=tmp_path, name="t", hosts=["a", "b"], vault_file=tmp_path / "v",
                vault_password_file=tmp_path / "p", hostvars={
                    "a": {"ansible_host": "10.0.0.5", "dspace_instances": instances},
                    "b": {"dspace_instances": []},
                })
    values = verify.effective_vars(site, "a", ["a", "b"])
    assert [p["name"] for p in values["dspace_plans"]] == ["repo", "cris"]
    assert {d["name"] for d in values["postgresql_databases"]} == {"dspace_repo", "dspace_cris"}
    assert not any("password" in d for d in values["postgresql_databases"])
    assert "cris-dedup" in {c["name"] for c in values["solr_cores"]}
    assert values["solr_version"] == "9.8.1"  # the line's Solr, as site.yml passes it
    eight = Site(path=tmp_path, name="t", hosts=["c"], vault_file=tmp_path / "v",
                 vault_password_file=tmp_path / "p", hostvars={"c": {"dspace_instances": [
                     {**instances[0], "line": "8"}]}})
    assert verify.effective_vars(eight, "c")["solr_version"] == "8.11.4"
    assert values["dspace_verify_address"] == "10.0.0.5"
    assert values["dspace_verify_peer"] == "ansible://b"
    alone = verify.effective_vars(site, "b", ["b"])
    assert alone["dspace_plans"] == [] and "dspace_verify_peer" not in alone
    assert alone["dspace_verify_address"] == "b"


def test_the_probe_names_unreachable_hosts_once_with_ansibles_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import ansible_runner

    seen: dict[str, Any] = {}

    def fake_run(**kwargs: Any) -> None:
        seen.update(kwargs)
        handler = kwargs["event_handler"]
        handler({"event": "runner_on_ok", "event_data": {"host": "a"}})
        handler({"event": "runner_on_unreachable", "event_data": {"host": "b", "res": {
            "msg": "Failed to connect to the host via ssh: ssh: connect to host 10.188.0.12 "
                   "port 22: No route to host"}}})
        handler({"event": "runner_on_failed", "event_data": {"host": "d"}})  # answered

    monkeypatch.setattr(ansible_runner, "run", fake_run)
    env = {"ANSIBLE_CONFIG": "/x/ansible.cfg", "PATH": "/bin"}
    found = verify.probe(tmp_path / "inv.json", ["a", "b", "c", "d"], tmp_path, env)
    assert list(found) == ["b", "c"]
    assert found["b"].endswith("No route to host")
    assert "no answer" in found["c"]
    assert seen["module"] == "ansible.builtin.raw" and seen["module_args"] == "true"
    assert seen["envvars"]["ANSIBLE_TIMEOUT"] == str(verify.PROBE_CONNECT_TIMEOUT)
    assert seen["timeout"] == verify.PROBE_TIMEOUT
    assert verify.probe(tmp_path / "inv.json", [], tmp_path, env) == {}


def test_an_unreachable_host_is_reported_once_and_the_others_are_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = Site(path=tmp_path, name="t", hosts=["a", "b"], vault_file=tmp_path / "v",
                vault_password_file=tmp_path / "p", hostvars={
                    "a": {"ansible_host": "10.0.0.5"}, "b": {"ansible_host": "10.0.0.6"}})
    checked: list[list[str]] = []

    def fake_pytest(site: Site, hosts: list[str], *_args: Any) -> Any:
        checked.append(hosts)
        return ([{"nodeid": "checks/test_common.py::test_user[ansible://a]",
                  "outcome": "passed", "message": ""}], {"ansible://a": "a"})

    monkeypatch.setattr(verify, "probe", lambda *_args: {"b": "No route to host"})
    monkeypatch.setattr(verify, "_run_pytest", fake_pytest)
    report = verify.run_checks(site, progress=False)
    assert checked == [["a"]]
    assert not report.ok
    document = report.as_dict()
    assert document["unreachable"] == ["b"]
    assert document["hosts"]["b"]["reachable"] is False
    assert document["hosts"]["b"]["unreachable"] == "No route to host"
    assert document["hosts"]["b"]["error"] == 0  # no check ran: none errored
    assert document["hosts"]["b"]["checks"] == []
    assert document["hosts"]["a"]["reachable"] is True
    assert document["hosts"]["a"]["passed"] == 1
    # every host unreachable: no pytest at all, still a report
    monkeypatch.setattr(verify, "probe", lambda *_args: {"a": "x", "b": "y"})
    report = verify.run_checks(site, progress=False)
    assert checked == [["a"], []] and report.unreachable == {"a": "x", "b": "y"}
    assert not report.ok


def test_the_table_shows_an_unreachable_host_once_with_its_reason() -> None:
    from rich.console import Console

    report = verify.VerifyReport(hosts=["a", "b"], unreachable={"b": "No route to host"},
                                 results=[verify.CheckResult("a", "common::x", "passed")])
    console = Console(record=True, width=120, color_system=None)
    verify.print_report(console, report)
    text = console.export_text()
    assert text.count("No route to host") == 1
    assert "unreachable b" in text and "checks failed" in text
