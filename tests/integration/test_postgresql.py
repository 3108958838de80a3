"""The `postgresql` role on real lab hosts (Debian 12: PostgreSQL 15, Debian 13: 17).

Until playbooks/site.yml applies the role, the test playbook playbooks/postgresql.yml (here)
applies `common` then `postgresql`, run through the same core as the CLI
(`dspace_deploy.runner.run` with a `Job`). The lab inventory gets two databases: the
instance's (pgcrypto, password from the vault's `vault_instance_secrets`) and a second one
whose password is a site secret of its own (`vault_local_pgtest_password`, added to the
vault). No password is ever written in plain text: the inventory holds templates.

Order: first run, second run (changed=0 from the runner's stats), the testinfra checks
through `verify.run_checks`, the port from the controller, logging in with the vault's
passwords, a password change, a broken host the checks catch, secrets in artifacts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import assert_no_secret_in_files, vault_secrets, without_instances

pytestmark = pytest.mark.lab

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "postgresql.yml"
PRECHECK = Path(__file__).resolve().parent / "playbooks" / "postgresql-precheck.yml"
EXTRA_SECRET = "vault_local_pgtest_password"
DATABASES = [
    {"name": "dspace_repo", "owner": "dspace_repo",
     "password": "{{ vault_instance_secrets['repo'].db_password }}", "extensions": ["pgcrypto"]},
    {"name": "pgtest_other", "owner": "pgtest_other",
     "password": "{{ " + EXTRA_SECRET + " }}", "extensions": []},
]
MAJORS = {"debian12": "15", "debian13": "17"}


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    # the role alone: no DSpace instance, so verify expects none of the instance roles
    lab = without_instances(lab_factory("pg", hosts=2, oses=("debian12", "debian13")))
    write_databases(lab.inventory)
    set_extra_secret(lab, "first-" + os.urandom(12).hex())
    return lab


def write_databases(inventory: Path) -> None:
    """The two test databases, for every host (group_vars/all/postgresql.yml)."""
    path = inventory / "group_vars" / "all" / "postgresql.yml"
    path.write_text("---\n# Written by tests/integration/test_postgresql.py.\n"
                    + yaml.safe_dump({"postgresql_databases": DATABASES}, sort_keys=False))


def vault(lab: Any) -> dict[str, Any]:
    from dspace_deploy.inventory.vault import read_vault

    return read_vault(lab.inventory / "group_vars" / "all" / "vault.yml",
                      lab.vault_password_file)


def set_extra_secret(lab: Any, value: str) -> None:
    from dspace_deploy.inventory.vault import read_password, write_vault

    data = vault(lab)
    data[EXTRA_SECRET] = value
    site_name = yaml.safe_load(
        (lab.inventory / "group_vars" / "all" / "site.yml").read_text())["site_name"]
    write_vault(lab.inventory / "group_vars" / "all" / "vault.yml", data,
                read_password(lab.vault_password_file), site_name)


def play(lab: Any, playbook: Path = PLAYBOOK, limit: str | None = None) -> tuple[Any, float]:
    """One run of a test playbook through the runner core; (RunResult, wall seconds)."""
    from dspace_deploy.inventory.validate import load_site
    from dspace_deploy.runner import Job, run

    site = load_site(lab.inventory, lab.vault_password_file)
    started = time.monotonic()
    # An absolute path: runner.run joins it to playbooks/, which keeps it as it is.
    result = run(Job(verb="pg-test", playbook=str(playbook), site=site, limit=limit))
    return result, time.monotonic() - started


def stats(result: Any) -> dict[str, dict[str, int]]:
    return {name: {"ok": s.ok, "changed": s.changed, "failed": s.failed,
                   "unreachable": s.unreachable}
            for name, s in result.summary.hosts.items()}


def failures(result: Any) -> str:
    return "\n".join(f"{f.host}: {f.task}: {f.message}" for f in result.summary.failures)


@pytest.fixture(scope="module")
def converged(lab: Any) -> list[tuple[Any, float]]:
    runs = []
    for _ in range(2):
        result, seconds = play(lab)
        assert result.summary.ok, failures(result) or str(result.artifact_dir)
        runs.append((result, seconds))
    print(f"\npostgresql runs: {[round(s, 1) for _, s in runs]} s; "
          f"changed {[stats(r) for r, _ in runs]}")
    return runs


def psql_as(lab_host: Any, user: str, password: str, database: str,
            address: str = "127.0.0.1") -> subprocess.CompletedProcess[str]:
    """Log in over TCP on the host itself, as a database owner (password via environment)."""
    return subprocess.run(
        ["podman", "exec", "-e", f"PGPASSWORD={password}", lab_host.container,
         "psql", "-XAtq", "-h", address, "-U", user, "-d", database,
         "-c", "SELECT current_user, extensions.digest('x', 'sha256') IS NOT NULL"
         if database == "dspace_repo" else "SELECT current_user"],
        capture_output=True, text=True, check=False)


def test_first_run_converges_every_host(converged: list[tuple[Any, float]], lab: Any) -> None:
    first = stats(converged[0][0])
    assert set(first) == {h.name for h in lab.hosts}
    for counts in first.values():
        assert counts["failed"] == 0 and counts["unreachable"] == 0
        assert counts["changed"] > 0


def test_second_run_changes_nothing(converged: list[tuple[Any, float]]) -> None:
    for host, counts in stats(converged[1][0]).items():
        assert counts["changed"] == 0, f"{host} changed on the second run: {counts}"
        assert counts["ok"] > 0


def test_debian_release_gets_its_own_major(converged: Any, lab: Any) -> None:
    for host in lab.hosts:
        listing = subprocess.run(["podman", "exec", host.container, "pg_lsclusters", "-h"],
                                 capture_output=True, text=True, check=True).stdout.split()
        assert listing[:3] == [MAJORS[host.os], "main", "5432"], listing


def test_checks_pass(converged: Any, lab: Any) -> None:
    from dspace_deploy.inventory.validate import load_site
    from dspace_deploy.verify import run_checks

    report = run_checks(load_site(lab.inventory, lab.vault_password_file), progress=False)
    bad = [r for r in report.results if r.outcome in ("failed", "error")]
    assert not bad, bad
    for host in lab.hosts:
        ours = [r for r in report.results
                if r.host == host.name and r.check.startswith("postgresql::")]
        assert len(ours) == 5 and all(r.outcome == "passed" for r in ours), ours


def test_port_unreachable_from_controller(converged: Any, lab: Any) -> None:
    for host in lab.hosts:
        assert host.address
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            code = probe.connect_ex((host.address, 5432))
        assert code != 0, f"{host.address}:5432 accepts connections from the controller"
        # The same probe on SSH proves the address itself is reachable.
        with socket.create_connection((host.address, 22), timeout=2):
            pass


def test_owners_log_in_with_their_vault_passwords(converged: Any, lab: Any) -> None:
    secrets = vault(lab)
    passwords = {"dspace_repo": secrets["vault_instance_secrets"]["repo"]["db_password"],
                 "pgtest_other": secrets[EXTRA_SECRET]}
    for host in lab.hosts:
        listening = subprocess.run(["podman", "exec", host.container, "ss", "-Hltn"],
                                   capture_output=True, text=True, check=True).stdout
        # ::1 only where /etc/hosts maps localhost to it (podman's /etc/hosts does not).
        addresses = ["127.0.0.1"] + (["::1"] if "[::1]:5432" in listening else [])
        for name, password in passwords.items():
            for address in addresses:
                done = psql_as(host, name, password, name, address)
                assert done.returncode == 0, f"{host.name} {name}@{address}: {done.stderr}"
                assert done.stdout.split("|")[0].strip() == name
            wrong = psql_as(host, name, password + "x", name)
            assert wrong.returncode != 0, "a wrong password was accepted"
        # Each owner reaches its own database only.
        cross = psql_as(host, "pgtest_other", passwords["pgtest_other"], "dspace_repo")
        assert cross.returncode != 0 and "pg_hba.conf" in cross.stderr, cross.stderr


def test_password_change_is_applied(converged: Any, lab: Any) -> None:
    old = vault(lab)[EXTRA_SECRET]
    new = "second-" + os.urandom(12).hex()
    set_extra_secret(lab, new)
    result, _ = play(lab)
    assert result.summary.ok, failures(result)
    assert all(c["changed"] > 0 for c in stats(result).values()), stats(result)
    for host in lab.hosts:
        assert psql_as(host, "pgtest_other", new, "pgtest_other").returncode == 0
        assert psql_as(host, "pgtest_other", old, "pgtest_other").returncode != 0
    again, _ = play(lab)
    assert again.summary.ok, failures(again)
    assert all(c["changed"] == 0 for c in stats(again).values()), stats(again)


def test_checks_catch_a_loose_pg_hba(converged: Any, lab: Any) -> None:
    """A check that cannot fail is worthless: open pg_hba.conf to the world on one host."""
    from dspace_deploy.inventory.validate import load_site
    from dspace_deploy.verify import run_checks

    victim = lab.hosts[-1]
    hba = f"/etc/postgresql/{MAJORS[victim.os]}/main/pg_hba.conf"
    subprocess.run(["podman", "exec", victim.container, "sh", "-c",
                    f"sed -i '1i host all all 0.0.0.0/0 trust' {hba}"], check=True)
    try:
        report = run_checks(load_site(lab.inventory, lab.vault_password_file),
                            limit=victim.name, progress=False)
        failed = {r.check for r in report.results if r.outcome == "failed"}
        assert "postgresql::test_postgresql_hba_is_strict" in failed, report.results
        assert "postgresql::test_postgresql_owners_can_log_in" in failed, report.results
    finally:
        result, _ = play(lab)
    assert result.summary.ok and stats(result)[victim.name]["changed"] > 0


def test_precheck_passes_on_converged_hosts(converged: Any, lab: Any) -> None:
    result, _ = play(lab, PRECHECK)
    assert result.summary.ok, failures(result)
    assert all(c["changed"] == 0 for c in stats(result).values()), stats(result)


def test_precheck_names_a_cluster_of_another_major(converged: Any, lab: Any) -> None:
    victim = lab.hosts[0]
    major = MAJORS[victim.os]
    # A leftover cluster 13/main, as after a Debian upgrade (its binaries are gone).
    subprocess.run(["podman", "exec", victim.container, "sh", "-c",
                    f"cp -a /etc/postgresql/{major} /etc/postgresql/13"], check=True)
    try:
        result, _ = play(lab, PRECHECK, limit=victim.name)
        assert not result.summary.ok
        message = failures(result)
        assert "cluster 13/main" in message and "pg_upgradecluster 13 main" in message, message
        assert stats(result)[victim.name]["changed"] == 0
    finally:
        subprocess.run(["podman", "exec", victim.container, "rm", "-rf", "/etc/postgresql/13"],
                       check=True)


def test_no_secret_in_any_artifact(converged: Any, lab: Any, state_home: Path) -> None:
    assert_no_secret_in_files(state_home, vault_secrets(lab))
