#!/usr/bin/python3
"""The host facts an upgrade's prechecks judge (playbooks/upgrade.yml, phase `precheck`).

Run by `ansible.builtin.script` as root with one argument, a JSON object describing the
instance (name, dspace_dir, ui_dir, db, solr_url, solr_prefix, cores, backend_port, flavor,
version_file, record_file). Prints one JSON object with the keys of the schema that
`dspace_upgrade_prechecks` (playbooks/filter_plugins/dspace_upgrade.py) documents:
installed_version, os_major, java_majors, node_major, solr_version, solr_lib_enabled,
free_bytes {dspace, ui, var, tmp}, db_bytes, solr_bytes, release_bytes, healthy,
health_detail, last_backup {ok, finished, error}, local_cfg_keys, ui_config_keys,
record. A fact that cannot be gathered is null (its precheck then says so instead of passing).
Read-only; Python 3 standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any


def _run(argv: list[str], timeout: float = 60) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _free(path: str) -> int | None:
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def _device(path: str) -> str | None:
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return str(probe.stat().st_dev)
    except OSError:
        return None


def _tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # gone since the walk listed it
                total += (Path(root) / name).lstat().st_size
    return total


def _os_major() -> int | None:
    text = _read("/etc/debian_version") or ""
    match = re.match(r"(\d+)", text.strip())
    return int(match.group(1)) if match else None


def _java_majors() -> list[int]:
    majors = set()
    for entry in Path("/usr/lib/jvm").glob("java-*-openjdk-*"):
        match = re.match(r"java-(\d+)-openjdk", entry.name)
        if match and (entry / "bin" / "java").exists():
            majors.add(int(match.group(1)))
    return sorted(majors)


def _node_major() -> int | None:
    out = _run(["node", "--version"])
    match = re.match(r"v(\d+)", (out or "").strip())
    return int(match.group(1)) if match else 0


def _json_get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _solr(facts: dict[str, Any], spec: dict[str, Any]) -> None:
    facts["solr_version"] = "" if not Path("/opt/solr").exists() else None
    try:
        info = _json_get(f"{spec['solr_url']}/admin/info/system?wt=json")
        facts["solr_version"] = str(info["lucene"]["solr-spec-version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    # solr.config.lib.enabled: Solr 9.8+ ignores <lib> without it (facts 1.4).
    found = None
    for path in ("/etc/default/solr.in.sh", "/etc/solr/solr.in.sh"):
        text = _read(path)
        if text is not None:
            found = bool(re.search(r"^[^#]*solr\.config\.lib\.enabled=true", text, re.M))
            break
    facts["solr_lib_enabled"] = found
    total: int | None = 0
    for core in spec["cores"]:
        name = f"{spec['solr_prefix']}{core}"
        try:
            status = _json_get(f"{spec['solr_url']}/admin/cores?action=STATUS&core={name}&wt=json")
            data_dir = status["status"][name]["dataDir"]
            total = (total or 0) + _tree_bytes(Path(data_dir))
        except (OSError, ValueError, KeyError, TypeError):
            total = None
            break
    facts["solr_bytes"] = total


def _db_bytes(db: str) -> int | None:
    out = _run(["runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", "postgres", "-c",
                f"SELECT pg_database_size('{db.replace(chr(39), '')}')"])
    try:
        return int((out or "").strip())
    except ValueError:
        return None


def _health(facts: dict[str, Any], port: int) -> None:
    base = f"http://127.0.0.1:{port}/server"
    try:
        status = _json_get(f"{base}/actuator/health").get("status")
    except (OSError, ValueError, AttributeError) as exc:
        facts["healthy"], facts["health_detail"] = False, f"actuator: {exc}"
        return
    try:
        version = _json_get(f"{base}/api").get("dspaceVersion")
    except (OSError, ValueError, AttributeError):
        version = None
    facts["healthy"] = status in ("UP", "UP_WITH_ISSUES")
    facts["health_detail"] = f"actuator {status}, REST root {version or 'no answer'}"


def _last_backup(name: str) -> dict[str, Any] | None:
    out = _run(["/usr/local/sbin/dspace-backup", "status", name, "--json"], timeout=120)
    if out is None:
        return None
    try:
        status = json.loads(out)
    except ValueError:
        return None
    last = status.get("last_run")
    if not isinstance(last, dict):
        return {"ok": None, "finished": None, "error": None}
    return {"ok": bool(last.get("ok")), "finished": last.get("time"), "error": last.get("error")}


def _cfg_keys(path: str) -> list[str] | None:
    text = _read(path)
    if text is None:
        return None
    keys = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "!")) and "=" in stripped:
            keys.append(stripped.split("=", 1)[0].strip())
    return sorted(set(keys))


def _yaml_keys(path: str) -> list[str] | None:
    """Dotted key paths of a YAML mapping (indentation-based: config.prod.yml is plain)."""
    text = _read(path)
    if text is None:
        return None
    keys, stack = set(), []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        match = re.match(r"^(\s*)([A-Za-z0-9_.\-]+)\s*:", line)
        if not match:
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        keys.add(".".join(k for _, k in stack))
    return sorted(keys)


def main() -> int:
    spec = json.loads(sys.argv[1])
    dspace_dir = spec["dspace_dir"]
    facts: dict[str, Any] = {}
    version = _read(spec["version_file"])
    facts["installed_version"] = version.strip() if version else ""
    facts["os_major"] = _os_major()
    facts["java_majors"] = _java_majors()
    facts["node_major"] = _node_major()
    _solr(facts, spec)
    places = {"dspace": dspace_dir, "ui": spec["ui_dir"], "var": "/var/lib", "tmp": "/tmp"}
    facts["free_bytes"] = {key: _free(path) for key, path in places.items()}
    facts["filesystems"] = {key: _device(path) for key, path in places.items()}
    facts["db_bytes"] = _db_bytes(spec["db"])
    parts = ("bin", "config", "etc", "lib", "solr", "webapps")
    facts["release_bytes"] = {
        "backend": sum(_tree_bytes(Path(dspace_dir) / p) for p in parts),
        "ui": _tree_bytes(Path(spec["ui_dir"], "current", "dist"))}
    _health(facts, int(spec["backend_port"]))
    facts["last_backup"] = _last_backup(spec["name"])
    facts["local_cfg_keys"] = _cfg_keys(f"{dspace_dir}/config/local.cfg")
    facts["ui_config_keys"] = _yaml_keys(f"{spec['ui_dir']}/current/config/config.prod.yml")
    record = _read(spec["record_file"])
    try:
        facts["record"] = json.loads(record) if record else {}
    except ValueError:
        facts["record"] = None
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
