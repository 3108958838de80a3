"""Backups and restores, controller side: what `backup`, `backup list|verify`, `restore` and
`drill` read from their runs (docs/backup.md).

The work on the hosts is done by the dspace_backup role's program `dspace-backup`, which the
playbooks `backup.yml` and `restore.yml` run; each reports the program's JSON answers in one
task result (`dspace_backup_report`, `dspace_restore_report`). Everything here is pure: it
turns those events (and the unreachable and failed ones) into reports, and reports into lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from dspace_deploy.errors import InputError
from dspace_deploy.events import Event
from dspace_deploy.events import event_parts as _parts
from dspace_deploy.events import note_problem as _note_problem
from dspace_deploy.i18n import _

if TYPE_CHECKING:
    from dspace_deploy.site import Site

BACKUP_KEY = "dspace_backup_report"
RESTORE_KEY = "dspace_restore_report"
REFUSED_RC = 3  # dspace-backup: the snapshot does not fit the instance; nothing was changed


@dataclass
class InstanceAnswer:
    """One instance's answer to `dspace-backup ACTION NAME --json`."""

    host: str
    instance: str
    ok: bool
    data: Any = None  # the program's JSON document
    error: str = ""  # its one-line error (stderr), when not ok
    refused: bool = False


@dataclass
class BackupReport:
    action: str
    answers: list[InstanceAnswer] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # host -> why it gave no answer

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.answers) and all(a.ok for a in self.answers)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "action": self.action,
                "instances": [asdict(a) for a in self.answers], "problems": self.problems}


def _answer(host: str, instance: str, raw: dict[str, Any]) -> InstanceAnswer:
    rc = int(raw.get("rc", 1) if raw.get("rc") is not None else 1)
    stdout = str(raw.get("stdout") or "")
    data: Any = None
    if stdout.strip():
        try:
            data = json.loads(stdout)
        except ValueError:
            data = None
    error = str(raw.get("stderr") or "").strip()
    if rc != 0 and not error:
        error = _("dspace-backup exited with status {code}").format(code=rc)
    if rc == 0 and data is None:
        return InstanceAnswer(host, instance, False, None,
                              _("dspace-backup printed no JSON document (is the program of "
                                "another dspace-deploy version? run `up`)"))
    return InstanceAnswer(host, instance, rc == 0, data, "" if rc == 0 else _last_line(error),
                          refused=rc == REFUSED_RC)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else text


def parse_backup_events(events: list[Event], action: str) -> BackupReport:
    """The report of a backup.yml run (any action)."""
    report = BackupReport(action)
    reported: set[str] = set()
    for event in events:
        kind, host, res, data = _parts(event)
        if kind == "runner_on_ok" and isinstance(res.get(BACKUP_KEY), dict):
            raw = res[BACKUP_KEY]
            if not raw.get("installed", True) and raw.get("instances"):
                report.problems[host] = _("the backup program is not installed: run "
                                          "`dspace-deploy up` first (it installs the "
                                          "dspace_backup role)")
                continue
            reported.add(host)
            names = list(raw.get("instances") or [])
            for name, result in zip(names, raw.get("results") or [], strict=False):
                report.answers.append(_answer(host, str(name), result or {}))
        else:
            _note_problem(report.problems, kind, host, res, data)
    report.problems = {h: p for h, p in report.problems.items() if h not in reported}
    return report


def parse_restore_events(events: list[Event]) -> BackupReport:
    """The report of a restore.yml run (one host, one instance)."""
    report = BackupReport("restore")
    reported: set[str] = set()
    for event in events:
        kind, host, res, data = _parts(event)
        if kind == "runner_on_ok" and isinstance(res.get(RESTORE_KEY), dict):
            raw = res[RESTORE_KEY]
            reported.add(host)
            report.answers.append(_answer(host, str(raw.get("instance", "")), raw))
        else:
            _note_problem(report.problems, kind, host, res, data)
    report.problems = {h: p for h, p in report.problems.items() if h not in reported}
    return report


# --- reading the site ----------------------------------------------------------------------


def instance_hosts(site: Site, instance: str) -> list[str]:
    """The hosts whose dspace_instances include `instance`."""
    hosts = []
    for host, vars_ in site.hostvars.items():
        items = vars_.get("dspace_instances")
        if isinstance(items, list) and any(
                isinstance(i, dict) and i.get("name") == instance for i in items):
            hosts.append(host)
    return hosts


def site_instances(site: Site) -> list[str]:
    names: list[str] = []
    for vars_ in site.hostvars.values():
        for item in vars_.get("dspace_instances") or []:
            if isinstance(item, dict) and item.get("name") not in names:
                names.append(str(item.get("name")))
    return names


def choose_instance(site: Site, instance: str | None, purpose: str) -> str:
    """The instance named, or the site's only one; an InputError before anything runs."""
    from dspace_deploy.errors import InputError

    names = site_instances(site)
    listed = ", ".join(names) or _("none")
    if instance is None:
        if len(names) != 1:
            questions = {
                "be restored": _("Which instance should be restored? The site has {count} "
                                 "({names})."),
                "the drill restore": _("Which instance should the drill restore? The site has "
                                       "{count} ({names})."),
            }
            question = questions.get(purpose) or _("Which instance? The site has {count} "
                                                   "({names}).")
            raise InputError(question.format(count=len(names), names=listed),
                             hint=_("Name it with --instance."))
        return names[0]
    if instance not in names:
        raise InputError(_("The site has no instance {instance} (its instances: {known}).")
                         .format(instance=repr(instance), known=listed),
                         hint=_("Name one with --instance."))
    return instance


def host_targets(site: Site, host: str) -> list[dict[str, Any]]:
    """The host's backup targets (dspace_backup_targets, or the role's default)."""
    from dspace_deploy.inventory.vault import default_backup_targets

    targets = site.hostvars.get(host, {}).get("dspace_backup_targets")
    if not isinstance(targets, list):
        targets = default_backup_targets()
    return [t for t in targets if isinstance(t, dict)]


# --- rendering -----------------------------------------------------------------------------


def human_bytes(value: Any) -> str:
    try:
        size = float(value)
    except (TypeError, ValueError):
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def describe(answer: InstanceAnswer, action: str) -> list[str]:
    """Printable lines for one instance's answer."""
    head = f"{answer.host} · {answer.instance}"
    data = answer.data if isinstance(answer.data, dict) else {}
    describers = {"run": _describe_run, "list": _describe_list, "check": _describe_check,
                  "restore": _describe_restore}
    if not answer.ok:
        verdict = _("REFUSED") if answer.refused else _("FAILED")
        failed = [f"{head}: {verdict}: {answer.error}"]
        # A run or restore that got far enough to report says what it did (targets, proof).
        if data and action in ("run", "restore"):
            failed += describers[action](data)
        return failed
    if action not in describers:  # pragma: no cover - the CLI knows these four
        return [f"{head}: {json.dumps(data)}"]
    return [f"{head}:", *describers[action](data)]


def _describe_run(data: dict[str, Any]) -> list[str]:
    manifest = data.get("manifest") or {}
    counts = manifest.get("counts") or {}
    lines = ["  " + _("DSpace {version}, schema {schema}: {items} items, {bitstreams} "
                      "bitstreams, assetstore {size}").format(
        version=manifest.get("dspace_version", "?"), schema=manifest.get("schema_version", "?"),
        items=counts.get("items", "?"), bitstreams=counts.get("bitstreams", "?"),
        size=human_bytes(manifest.get("assetstore_bytes")))]
    for result in data.get("targets") or []:
        if result.get("ok"):
            lines.append("  " + _("{target}: snapshot {snapshot} (added {size}, {files} new "
                                  "files)").format(
                target=result.get("target"), snapshot=str(result.get("snapshot") or "?")[:8],
                size=human_bytes(result.get("added_bytes")),
                files=result.get("files_new", "?")))
        else:
            lines.append(f"  {result.get('target')}: " + _("FAILED") +
                         f": {result.get('error', '')}")
    lines += ["  " + _("INCOMPLETE") + f": {problem}" for problem in manifest.get("problems")
              or []]
    return lines


def _describe_list(data: dict[str, Any]) -> list[str]:
    snapshots = data.get("snapshots") or []
    lines = [f"  {error.get('target')}: " + _("FAILED") + f": {error.get('error')}"
             for error in data.get("errors") or []]
    if not snapshots:
        return [*lines, "  " + _("no snapshots")]
    for snap in snapshots:
        counts = snap.get("counts") or {}
        # A snapshot a part of which failed (a Solr core): kept, never a good backup.
        flag = ("" if snap.get("complete", True) else "  " + _("INCOMPLETE") + " ("
                + ", ".join(snap.get("incomplete") or [_("a part failed")]) + ")")
        lines.append(f"  {snap.get('target', '?'):<10} {snap.get('short_id', '?')}  "
                     f"{str(snap.get('time', '?'))[:19]}  DSpace {snap.get('dspace_version', '?')}"
                     "  " + _("schema {schema}  {items} items, {bitstreams} bitstreams").format(
                         schema=snap.get("schema", "?"), items=counts.get("items", "?"),
                         bitstreams=counts.get("bitstreams", "?")) + flag)
    return lines


def _describe_check(data: dict[str, Any]) -> list[str]:
    return [f"  {result.get('target', '?')}: "
            + (_("ok") if result.get("ok") else _("DAMAGED")) + f" ({result.get('detail', '')})"
            for result in data.get("targets") or []]


def _describe_restore(data: dict[str, Any]) -> list[str]:
    proof = data.get("proof") or {}
    restored = (_("snapshot {snapshot} from {target} restored and migrated, {verdict} against "
                  "its manifest") if data.get("migrated") else
                _("snapshot {snapshot} from {target} restored, {verdict} against its manifest"))
    lines = ["  " + restored.format(
        snapshot=str(data.get("snapshot", "?"))[:8], target=data.get("target", "?"),
        verdict=_("proved complete") if proof.get("ok") else _("NOT proved"))]
    for name, check in proof_checks(proof):
        mark = "ok " if check.get("ok") else "BAD"
        source = _("items in the database") if name.startswith("reindex") else _("manifest")
        detail = (f"{check.get('actual')} ({source}: {check.get('expected')})"
                  if "expected" in check else check.get("detail", ""))
        lines.append(f"    {mark} {name}: {detail}")
    if data.get("config_differs"):
        lines.append("  " + _("configuration that differs from the live one (kept in {path}): "
                              "{files}").format(path=data.get("restored_config"),
                                                files=", ".join(data["config_differs"])))
    return lines


def proof_checks(proof: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The proof's checks as (name, {ok, expected, actual | detail}), flattened."""
    checks = proof.get("checks") or {}
    flat: list[tuple[str, dict[str, Any]]] = []
    for group, value in checks.items():
        if not isinstance(value, dict):
            continue
        if "ok" in value:
            flat.append((group, value))
        else:
            flat += [(f"{group} {key}", item) for key, item in value.items()
                     if isinstance(item, dict)]
    return flat


# --- what `restore` and `drill` are asked for, checked on the controller -----------------------

_SNAPSHOT_ID = re.compile(r"latest|[0-9a-f]{8,64}")


def check_snapshot_id(value: str) -> str:
    """A snapshot id as restic prints it (`short_id`: 8 hex digits, `id`: 64, or a prefix
    in between) or `latest`; InputError otherwise. The id travels to the host's
    dspace-backup command line, which would take an empty one for any snapshot."""
    if not _SNAPSHOT_ID.fullmatch(value):
        raise InputError(
            _("--snapshot {value} is not a snapshot id.").format(value=repr(value)),
            hint=_("Give `latest`, or an id that `dspace-deploy backup list` shows (8 to 64 "
                   "lowercase hexadecimal digits)."))
    return value


def check_source_hostname(value: str) -> str:
    """`restore --from`: the public host name of another instance; InputError otherwise."""
    from dspace_deploy.inventory.validate import hostname_problem

    problem = hostname_problem(value) if value.strip() else (
        _("{value} is empty").format(value=repr(value)), _("give a host name"))
    if problem is not None:
        what, fix = problem
        raise InputError(f"--from {what}.",
                         hint=_("{fix}: the public hostname of the instance whose backups to "
                                "restore, e.g. repositorio.example.edu.").format(
                                    fix=f"{fix[:1].upper()}{fix[1:]}"))
    return value
