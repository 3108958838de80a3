"""`drill`: the restore drill. Restore a snapshot into a throw-away lab host, prove it
against its manifest, report pass or fail, remove the lab host (docs/backup.md, "Drills").

The drill site is a copy of the real one reduced to one instance on one lab host:
  hosts.yml                 the lab host (its connection variables) with the instance,
                            TLS self-signed (a lab host has no public name)
  group_vars/all/site.yml   site_name `drill-<site>`, the source host's own toolkit
                            variables (backup targets, tuning, ...)
  group_vars/all/vault.yml  new instance secrets (the restored database keeps its users);
                            the targets' backup secrets, copied from the real site's vault
It lives in a private temporary directory with its own vault password file, both removed
at the end. The lab host must reach the backup target, so local-disk targets (on the
source host) cannot be drilled.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dspace_deploy import resources
from dspace_deploy.backups import BackupReport, choose_instance, host_targets, instance_hosts
from dspace_deploy.errors import InputError
from dspace_deploy.i18n import _
from dspace_deploy.site import Site

Progress = Callable[[str], None]

# Variables of the source host that do not belong in the drill site.
_NOT_COPIED_PREFIXES = ("ansible_", "vault_")
_NOT_COPIED = {"site_name", "dspace_instances", "common_extra_ca_certificates"}


@dataclass
class DrillPlan:
    instance: str
    source_host: str
    target: dict[str, Any]
    snapshot: str
    os: str


@dataclass
class DrillResult:
    plan: DrillPlan
    ok: bool = False
    stage: str = "planned"  # lab, converge, restore, done
    report: BackupReport | None = None
    error: str = ""
    lab: str = ""
    kept: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "stage": self.stage, "error": self.error, "lab": self.lab,
            "kept": self.kept, "instance": self.plan.instance,
            "source_host": self.plan.source_host, "target": self.plan.target.get("name"),
            "snapshot": self.plan.snapshot, "os": self.plan.os, "seconds": self.seconds,
            "restore": self.report.as_dict() if self.report is not None else None,
        }


def plan_drill(site: Site, instance: str | None, target: str | None, snapshot: str,
               os_name: str) -> DrillPlan:
    """What the drill restores, from where; InputError before anything is created."""
    from dspace_deploy.lab.labs import LINE_FOR_OS

    instance = choose_instance(site, instance, "the drill restore")
    if os_name not in LINE_FOR_OS:
        raise InputError(_("Lab hosts run {systems}, not {os}.").format(
                             systems=", ".join(LINE_FOR_OS), os=repr(os_name)),
                         hint=_("Choose one with --os."))
    source = instance_hosts(site, instance)[0]
    targets = host_targets(site, source)
    remote = [t for t in targets if t.get("type", "local") != "local"]
    if target is None:
        if not remote:
            raise InputError(
                _("The drill restores into a throw-away lab host, which cannot read the disk of "
                  "{host}, and every backup target of {instance} is local ({targets}).").format(
                      host=source, instance=instance,
                      targets=", ".join(str(t.get("name")) for t in targets) or _("none")),
                hint=_("Add an S3 or SFTP target to dspace_backup_targets (docs/backup.md), run "
                       "`dspace-deploy up` and `dspace-deploy backup`, then drill again."))
        chosen = remote[0]
    else:
        matches = [t for t in targets if t.get("name") == target]
        if not matches:
            raise InputError(_("{host} has no backup target {target}.").format(
                                 host=source, target=repr(target)),
                             hint=_("Use a name from dspace_backup_targets with --target."))
        chosen = matches[0]
        if chosen.get("type", "local") == "local":
            raise InputError(
                _("Target {target} is a directory on {host}, which the drill's lab host cannot "
                  "read.").format(target=target, host=source),
                hint=_("Drill from an S3 or SFTP target."))
    return DrillPlan(instance, source, dict(chosen), snapshot, os_name)


def instance_entry(site: Site, host: str, instance: str) -> dict[str, Any]:
    """The instance's dspace_instances entry on `host`, made fit for a lab host."""
    for item in site.hostvars[host].get("dspace_instances") or []:
        if isinstance(item, dict) and item.get("name") == instance:
            entry = {k: v for k, v in item.items() if v is not None}
            # A lab host has no public name: no ACME, no site-provided certificate.
            for key in ("tls_certificate_file", "tls_key_file", "acme_email",
                        "acme_directory_url"):
                entry.pop(key, None)
            entry["tls_mode"] = "selfsigned"
            entry.pop("port_slot", None)
            return entry
    raise InputError(f"{host} has no instance {instance}.")  # pragma: no cover


def drill_site_files(site: Site, plan: DrillPlan, lab_host: str,
                     connection: dict[str, Any], lab_group_vars: dict[str, Any]
                     ) -> dict[str, str]:
    """The drill inventory's plain files (relative path -> text); the vault is separate."""
    source_vars = site.hostvars[plan.source_host]
    copied = {k: v for k, v in source_vars.items()
              if not k.startswith(_NOT_COPIED_PREFIXES) and k not in _NOT_COPIED}
    group_vars = {"site_name": drill_site_name(site.name), **copied, **lab_group_vars}
    hosts = {"all": {"children": {"dspace": {"hosts": {lab_host: {
        **connection, "dspace_instances": [instance_entry(site, plan.source_host,
                                                          plan.instance)]}}}}}}
    header = (f"# Written by `dspace-deploy drill` for site {site.name}; removed after the "
              "drill.\n")
    return {
        "hosts.yml": "---\n" + header + yaml.safe_dump(hosts, sort_keys=False),
        "group_vars/all/site.yml": "---\n" + header + yaml.safe_dump(group_vars,
                                                                      sort_keys=False),
    }


def drill_site_name(site_name: str) -> str:
    return f"drill-{site_name}"[:31]


def drill_vault_data(site: Site) -> dict[str, Any]:
    """The real vault's backup secrets (the drill reads the same repositories)."""
    from dspace_deploy.inventory.vault import read_vault

    data = read_vault(site.vault_file, site.vault_password_file)
    secrets = data.get("vault_backup_secrets")
    return {"vault_backup_secrets": secrets} if isinstance(secrets, dict) else {}


def write_drill_site(site: Site, plan: DrillPlan, lab_host: str, connection: dict[str, Any],
                     lab_group_vars: dict[str, Any], directory: Path) -> Path:
    """Write the drill inventory into `directory`; returns its vault password file."""
    from dspace_deploy.inventory import vault

    for rel, text in drill_site_files(site, plan, lab_host, connection,
                                      lab_group_vars).items():
        path = directory / "inventory" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    password_file = vault.write_password_file(directory / "vault-password.txt")
    data = drill_vault_data(site)
    vault.fill_secrets(data, [plan.instance])
    vault.write_vault(directory / "inventory" / "group_vars/all/vault.yml", data,
                      vault.read_password(password_file), drill_site_name(site.name))
    return password_file


def run_drill(site: Site, plan: DrillPlan, artifacts: str | None, keep: bool,
              say: Progress) -> DrillResult:
    """Create the lab host, converge it, restore, prove; remove the lab (unless keep)."""
    import time

    from dspace_deploy.lab import inventory as lab_inventory
    from dspace_deploy.lab.labs import create_lab, destroy_lab, host_vars, stack_preload

    result = DrillResult(plan)
    lab_name = f"drill{int(time.time()) % 100000}"
    result.lab = lab_name
    work = Path(tempfile.mkdtemp(prefix="drill-", dir=_drill_root()))
    started = time.perf_counter()
    try:
        result.stage = "lab"
        say(_("creating lab host ({os})").format(os=plan.os))
        # From the preloaded lab image (the roles' packages installed, built once and cached,
        # as `lab up --preload`): a drill proves the restore, and monthly drills need not
        # download the same packages each time.
        lab = create_lab(lab_name, hosts=1, oses=[plan.os], connection="ssh", progress=say,
                         preload=stack_preload([plan.os]))
        result.seconds["lab"] = round(time.perf_counter() - started, 1)
        host = lab.hosts[0]
        password_file = write_drill_site(site, plan, host.name, host_vars(lab, host),
                                         lab_inventory.group_vars(lab), work)
        result.report = _converge_and_restore(work / "inventory", password_file, plan,
                                              artifacts, result, say)
        proved = _proved(result.report)
        result.ok = result.report.ok and proved
        if result.ok:
            result.stage = "done"
        elif not result.error:
            result.error = _first_error(result.report) or "the restore was not proved"
    except InputError:
        raise
    except Exception as problem:  # the drill reports, then cleans up
        result.error = f"{type(problem).__name__}: {problem}"
    finally:
        result.seconds["total"] = round(time.perf_counter() - started, 1)
        result.kept = keep
        if not keep:
            say(_("removing the lab host"))
            destroy_lab(lab_name)
        shutil.rmtree(work, ignore_errors=True)
    record_drill(site.name, result)
    return result


def drills_dir(site_name: str) -> Path:
    return resources.state_home() / site_name / "drills"


def record_drill(site_name: str, result: DrillResult) -> Path:
    """Keep the drill's outcome on the controller (one JSON file per drill, private), where
    `dspace-deploy report` finds each instance's last drill."""
    import json
    from datetime import UTC, datetime

    from dspace_deploy.runner import make_private_state

    make_private_state(site_name)
    directory = drills_dir(site_name)
    directory.mkdir(mode=0o700, exist_ok=True)
    now = datetime.now(UTC)
    path = directory / f"{now:%Y%m%dT%H%M%S%fZ}-{result.plan.instance}.json"
    document = {"time": now.isoformat(timespec="seconds"), **result.as_dict()}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    path.chmod(0o600)
    return path


def last_drills(site_name: str) -> dict[str, dict[str, Any]]:
    """The newest recorded drill of each instance (instance -> its record)."""
    import json

    newest: dict[str, dict[str, Any]] = {}
    directory = drills_dir(site_name)
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("instance"):
            newest[str(record["instance"])] = record  # sorted by time: the last one wins
    return newest


def _converge_and_restore(inventory: Path, password_file: Path, plan: DrillPlan,
                          artifacts: str | None, result: DrillResult,
                          say: Progress) -> BackupReport:
    import time

    from dspace_deploy import runner
    from dspace_deploy.backups import parse_restore_events
    from dspace_deploy.bundles import bundle_vars, resolve_bundles
    from dspace_deploy.events import Event
    from dspace_deploy.inventory.validate import load_site

    drill_site = load_site(inventory, password_file)
    bundles = resolve_bundles(drill_site, artifacts)
    result.stage = "converge"
    say(_("converging the lab host with `up`"))
    start = time.perf_counter()
    up = runner.run(runner.Job("drill-up", "site.yml", drill_site,
                               extravars=bundle_vars(bundles)))
    result.seconds["converge"] = round(time.perf_counter() - start, 1)
    if not (up.summary.ok and up.rc == 0):
        report = BackupReport("restore")
        report.problems[drill_site.hosts[0]] = (
            _("`up` failed on the lab host; see the run's artifacts ({path})").format(
                path=up.artifact_dir))
        return report
    result.stage = "restore"
    say(_("restoring {instance} from {target} ({snapshot})").format(
        instance=plan.instance, target=plan.target.get("name"), snapshot=plan.snapshot))
    events: list[Event] = []
    start = time.perf_counter()
    runner.run(runner.Job("drill-restore", "restore.yml", drill_site,
                          limit=drill_site.hosts[0], extravars={
                              "restore_instance": plan.instance,
                              "restore_target": str(plan.target.get("name")),
                              "restore_snapshot": plan.snapshot}),
               observer=events.append)
    result.seconds["restore"] = round(time.perf_counter() - start, 1)
    return parse_restore_events(events)


def _proved(report: BackupReport) -> bool:
    return bool(report.answers) and all(
        isinstance(a.data, dict) and bool((a.data.get("proof") or {}).get("ok"))
        for a in report.answers)


def _first_error(report: BackupReport) -> str:
    for answer in report.answers:
        if answer.error:
            return answer.error
    return next(iter(report.problems.values()), "")


def _drill_root() -> Path:
    root = resources.state_home() / "drills"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root
