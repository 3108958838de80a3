"""`dspace-deploy verify`: run the roles' testinfra checks against a site's hosts.

Checks live in `dspace_deploy/checks/test_<role>.py`. They run in a pytest subprocess (so
a failing check can never take the CLI down) with one testinfra host per inventory host:
hosts reached through the podman connection use testinfra's podman backend; every other
host goes through testinfra's ansible backend, which reads the inventory's connection
settings (address, user, key, SSH arguments, become). The ansible backend gets a generated
inventory holding only connection variables, so no vault password and no secret is needed.

Before any check, one ad-hoc Ansible run sends a no-op (`raw: true`) to every host over that
same connection inventory, with a short connect timeout: a host that does not answer is
reported unreachable once, and the checks run on the others only (otherwise each of its
hundred checks would wait for its own SSH timeout, minutes in all). The probe's SSH master
connections are the ones the checks then reuse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import EnvironmentProblem
from dspace_deploy.i18n import _, ngettext, pgettext
from dspace_deploy.selection import select_hosts
from dspace_deploy.site import Site

_PODMAN_CONNECTIONS = {"containers.podman.podman", "podman"}
# Seconds a host has to accept the probe's connection (Ansible's `timeout`), and for the
# whole probe (every host in parallel).
PROBE_CONNECT_TIMEOUT = 10
PROBE_TIMEOUT = 60
# Connection settings the checks need; password-like keys are left out on purpose.
_SAFE_CONNECTION_KEYS = {
    "ansible_host", "ansible_port", "ansible_user", "ansible_connection", "ansible_become",
    "ansible_become_user", "ansible_become_method", "ansible_ssh_private_key_file",
    "ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_python_interpreter",
}


@dataclass
class CheckResult:
    host: str
    check: str
    outcome: str  # passed, failed, skipped, error
    message: str = ""


@dataclass
class VerifyReport:
    hosts: list[str]
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    unreachable: dict[str, str] = field(default_factory=dict)  # host -> why (no check ran)

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.unreachable and not any(
            r.outcome in ("failed", "error") for r in self.results
        )

    def counts(self, host: str) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
        for result in self.results:
            if result.host == host:
                out[result.outcome] = out.get(result.outcome, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "unreachable": sorted(self.unreachable),
            "hosts": {
                host: {
                    "reachable": host not in self.unreachable,
                    "unreachable": self.unreachable.get(host),  # why, when it is
                    **self.counts(host),
                    "checks": [
                        {"check": r.check, "outcome": r.outcome, "message": r.message}
                        for r in self.results if r.host == host
                    ],
                }
                for host in self.hosts
            },
        }


def testinfra_spec(host: str, hostvars: dict[str, Any]) -> str:
    """The testinfra host spec for an inventory host."""
    connection = str(hostvars.get("ansible_connection", "ssh"))
    if connection in _PODMAN_CONNECTIONS:
        return f"podman://{hostvars.get('ansible_host', host)}"
    if connection == "local":
        return "local://"
    return f"ansible://{host}"


def run_checks(site: Site, limit: str | None = None, progress: bool = True) -> VerifyReport:
    import time

    hosts = select_hosts(site, limit)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dspace-deploy-verify-") as tmp:
        work = Path(tmp)
        connection_inventory = work / "connections.json"
        connection_inventory.write_text(json.dumps(_connection_inventory(site, hosts, work)))
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(resources.ansible_cfg()),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        unreachable = probe(connection_inventory, hosts, work, env)
        reachable = [host for host in hosts if host not in unreachable]
        if progress:
            for host, why in unreachable.items():
                sys.stderr.write(_("verify: {host} is unreachable: {error}").format(
                    host=host, error=why) + "\n")
            if reachable:
                sys.stderr.write(ngettext("verify: running checks on {count} host...",
                                          "verify: running checks on {count} hosts...",
                                          len(reachable)).format(count=len(reachable)) + "\n")
        raw, specs = _run_pytest(site, reachable, work, connection_inventory, env)
    report = VerifyReport(hosts=hosts, seconds=time.monotonic() - started,
                          unreachable=unreachable)
    for item in raw:
        spec, check = _split_nodeid(item["nodeid"])
        report.results.append(
            CheckResult(specs.get(spec, spec), check, item["outcome"], item["message"])
        )
    for host in reachable:  # a host no check reached is a failure, not a silent pass
        if not any(r.host == host for r in report.results):
            report.results.append(CheckResult(host, "connect", "error", _("no check ran")))
    return report


def _run_pytest(
    site: Site, hosts: list[str], work: Path, connection_inventory: Path, env: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The checks' pytest reports for `hosts` (none for no host), and spec -> host."""
    specs = {testinfra_spec(h, site.hostvars.get(h, {})): h for h in hosts}
    if not hosts:
        return [], specs
    check_vars = work / "hostvars.json"
    check_vars.write_text(json.dumps(
        {spec: effective_vars(site, host, hosts) for spec, host in specs.items()}, default=str))
    report_file = work / "report.json"
    command = _pytest_command(list(specs), connection_inventory, work, len(hosts))
    completed = subprocess.run(
        command, env={**env, "DSPACE_DEPLOY_CHECK_VARS": str(check_vars),
                      "DSPACE_DEPLOY_VERIFY_REPORT": str(report_file)},
        capture_output=True, text=True, check=False)
    if not report_file.exists():
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
        raise EnvironmentProblem(
            _("The checks could not run (pytest exit {code}):").format(
                code=completed.returncode) + f"\n{tail}"
        )
    raw: list[dict[str, Any]] = json.loads(report_file.read_text())
    return raw, specs


def probe(inventory: Path, hosts: list[str], work: Path, env: dict[str, str]) -> dict[str, str]:
    """Hosts that do not answer a no-op over their connection settings -> why.

    One ad-hoc Ansible run (`raw: true`, so no Python is needed on the host) reaches every
    host in parallel with a connect timeout of PROBE_CONNECT_TIMEOUT seconds. Only an
    unreachable host counts: one that answers but fails the no-op (sudo asks for a password,
    say) is left to the checks, which report what is wrong with it.
    """
    import ansible_runner

    if not hosts:
        return {}
    private = work / "probe"
    private.mkdir()
    unreachable: dict[str, str] = {}
    answered: set[str] = set()

    def on_event(event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        host = str(data.get("host") or "")
        if event.get("event") == "runner_on_unreachable" and host:
            unreachable[host] = _unreachable_message(data.get("res") or {})
        elif str(event.get("event", "")).startswith("runner_on_") and host:
            answered.add(host)
        return False  # keep no event files: nothing here is needed afterwards

    ansible_runner.run(
        private_data_dir=str(private), inventory=str(inventory), host_pattern="all",
        module="ansible.builtin.raw", module_args="true", quiet=True,
        envvars={"ANSIBLE_CONFIG": env["ANSIBLE_CONFIG"], "PATH": env["PATH"],
                 "ANSIBLE_TIMEOUT": str(PROBE_CONNECT_TIMEOUT)},
        event_handler=on_event, timeout=PROBE_TIMEOUT, suppress_env_files=True,
    )
    for host in hosts:  # no answer at all within the probe's time: unreachable too
        if host not in answered and host not in unreachable:
            unreachable[host] = _("no answer within {seconds} s").format(seconds=PROBE_TIMEOUT)
    return {host: unreachable[host] for host in hosts if host in unreachable}


def _unreachable_message(result: dict[str, Any]) -> str:
    text = str(result.get("msg") or _("unreachable")).strip()
    return text.splitlines()[-1][:300] if text else _("unreachable")


def effective_vars(site: Site, host: str, hosts: list[str] | None = None) -> dict[str, Any]:
    """Every role and site default, overridden by the inventory's values for the host, plus
    what site.yml derives from them: the instance plans and the role parameters built from
    them (without secrets), and, when the run covers another host, that peer for the checks
    that probe this host from outside."""
    from dspace_deploy.inventory.specs import all_defaults
    from dspace_deploy.plans import plan_module, site_plans

    values: dict[str, Any] = {**all_defaults(), **site.hostvars.get(host, {}),
                              "inventory_hostname": host}
    plans = site_plans(site).get(host, [])
    values["dspace_plans"] = plans
    plan = plan_module()
    if plans:
        # What site.yml passes to the host-level roles (the inventory's own value wins).
        if not values.get("solr_cores"):
            values["solr_cores"] = plan.solr_cores(plans)
        if not site.hostvars.get(host, {}).get("solr_version"):
            values["solr_version"] = plan.host_solr_version(plans)
        if not values.get("postgresql_databases"):
            values["postgresql_databases"] = [
                {"name": p["db"]["name"], "owner": p["db"]["user"],
                 "extensions": list(p["db"]["extensions"])} for p in plans]
    values["dspace_verify_address"] = str(values.get("ansible_host") or host)
    peers = [h for h in (hosts or []) if h != host]
    if peers:
        values["dspace_verify_peer"] = testinfra_spec(peers[0], site.hostvars.get(peers[0], {}))
    return values


def _connection_inventory(site: Site, hosts: list[str], work: Path) -> dict[str, Any]:
    return {"all": {"hosts": {host: _connection_vars(site.hostvars.get(host, {}), work)
                              for host in hosts}}}


def _connection_vars(hostvars: dict[str, Any], work: Path) -> dict[str, Any]:
    """A host's connection settings for testinfra. testinfra's SSH backend opens a new
    connection per command with a 10 s connect timeout, which a busy host can miss; share
    one connection per host and allow 30 s, unless the inventory chose otherwise."""
    out = {k: v for k, v in hostvars.items() if k in _SAFE_CONNECTION_KEYS}
    args = str(out.get("ansible_ssh_common_args", ""))
    lowered = args.lower()
    if "connecttimeout" not in lowered:
        args += " -o ConnectTimeout=30"
    if "controlmaster" not in lowered:
        args += f" -o ControlMaster=auto -o ControlPersist=60s -o ControlPath={work}/cm-%C"
    out["ansible_ssh_common_args"] = args.strip()
    return out


def _pytest_command(specs: list[str], inventory: Path, work: Path, hosts: int) -> list[str]:
    ini = work / "pytest.ini"
    ini.write_text("[pytest]\n")  # keep the caller's pytest configuration out
    command = [
        sys.executable, "-m", "pytest", str(resources.checks_dir()),
        "-c", str(ini), "--rootdir", str(work), "-p", "no:cacheprovider",
        "-p", "dspace_deploy.verify_plugin", "-q", "--tb=line", "--color=no",
        f"--hosts={','.join(specs)}", f"--ansible-inventory={inventory}",
    ]
    if hosts > 1:
        command += ["-n", str(min(hosts, 8))]
    return command


def _split_nodeid(nodeid: str) -> tuple[str, str]:
    """`.../test_common.py::test_user[podman://x]` -> (`podman://x`, `common::test_user`)."""
    path, _, rest = nodeid.partition("::")
    name, _, param = rest.partition("[")
    module = Path(path).stem.removeprefix("test_")
    return param.rstrip("]"), f"{module}::{name}"


def print_report(console: Any, report: VerifyReport) -> None:
    from rich.table import Table

    table = Table(title=_("Checks"), title_justify="left")
    for column in (_("host"), pgettext("recap", "passed"), pgettext("recap", "failed"),
                   pgettext("recap", "skipped")):
        table.add_column(column, justify="left" if column == _("host") else "right")
    for host in report.hosts:
        counts = report.counts(host)
        bad = counts["failed"] + counts["error"]
        if host in report.unreachable:
            table.add_row(host, "-", _("unreachable"), "-", style="red")
            continue
        table.add_row(host, str(counts["passed"]), str(bad), str(counts["skipped"]),
                      style="red" if bad else None)
    console.print(table)
    for host, why in report.unreachable.items():
        console.print("[red]" + _("unreachable") + f"[/red] {host}")
        console.print(f"    {why}", markup=False)
    for result in report.results:
        if result.outcome in ("failed", "error"):
            outcome = _("failed") if result.outcome == "failed" else _("error")
            console.print(f"[red]{outcome}[/red] {result.host} · {result.check}")
            console.print(f"    {result.message}", markup=False)
    verdict = ("[green]" + _("all checks passed") + "[/green]" if report.ok
               else "[red]" + _("checks failed") + "[/red]")
    console.print(_("{verdict} in {seconds}s").format(verdict=verdict,
                                                     seconds=f"{report.seconds:.1f}"))
