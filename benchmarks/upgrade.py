"""Measure an upgrade: the window in which REST and UI do not answer 200 during a patch
upgrade (9.2 to 9.3), polled every 0.5 s through the proxy, next to the floor it cannot beat
(the backend's own restart plus `database migrate`), the rollback time, and the local copy
of the database (CREATE DATABASE ... TEMPLATE) next to `pg_dump` of the same database.
Prints figures, never asserts.

Usage: .venv/bin/python benchmarks/upgrade.py [--inventory DIR --host NAME] [--keep-lab]
Without --inventory: a throw-away lab host (XDG dirs in a temp directory) converged on the
look-alike DSpace 9.2 (tests/lookalike; no internet needed) with one instance `repo` and one
backup. With --inventory: a lab inventory whose host already runs `repo` on 9.2 (backed up).
Then: the floor (on the host: backend stopped, `database migrate`, started, actuator UP),
`dspace-deploy upgrade --instance repo` to 9.3 with two pollers (REST /server/api and the UI
/ through nginx), `dspace-deploy rollback --instance repo`, and the copy timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.lookalike

EXE = str(Path(sys.executable).parent / "dspace-deploy")


class Poller(threading.Thread):
    """GET a URL every 0.5 s; remember when the answers were not 200."""

    def __init__(self, container: str, url: str, hostname: str) -> None:
        super().__init__(daemon=True)
        self.container, self.url, self.hostname = container, url, hostname
        self.samples: list[tuple[float, bool]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            done = subprocess.run(
                ["podman", "exec", self.container, "curl", "-sk", "-o", "/dev/null",
                 "-w", "%{http_code}", "--max-time", "5", "--resolve",
                 f"{self.hostname}:443:127.0.0.1", self.url],
                capture_output=True, text=True, check=False)
            self.samples.append((began, done.stdout.strip() == "200"))
            self.stop.wait(max(0.0, 0.5 - (time.monotonic() - began)))

    def window(self) -> tuple[float, int]:
        """Seconds from the first to the last sample that was not 200, and their number."""
        bad = [t for t, ok in self.samples if not ok]
        return (bad[-1] - bad[0] + 0.5 if bad else 0.0), len(bad)


def _host_exec(container: str, script: str) -> str:
    done = subprocess.run(["podman", "exec", container, "bash", "-ec", script],
                          capture_output=True, text=True, check=True)
    return done.stdout


def _cli(*args: str) -> tuple[int, dict[str, Any], float]:
    began = time.monotonic()
    done = subprocess.run([EXE, *args, "--json"], capture_output=True, text=True, check=False)
    took = time.monotonic() - began
    try:
        return done.returncode, json.loads(done.stdout), took
    except ValueError:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise


def _set_version(inventory: Path, version: str) -> None:
    import yaml

    hosts_yml = inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    for host in data["all"]["children"]["dspace"]["hosts"].values():
        for instance in host.get("dspace_instances") or []:
            if instance["name"] == "repo":
                instance["version"] = version
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))


FLOOR = r"""
unit=dspace-repo-backend.service
t0=$(date +%s.%N)
systemctl stop $unit
t1=$(date +%s.%N)
runuser -u dspace -- env JAVA_HOME=$(ls -d /usr/lib/jvm/java-*-openjdk-* | head -1) \
  /srv/dspace/repo/bin/dspace database migrate >/dev/null
t2=$(date +%s.%N)
systemctl start $unit
health=http://127.0.0.1:8080/server/actuator/health
until curl -sf $health | grep -Eq '"status":"UP(_WITH_ISSUES)?"'; do sleep 0.2; done
t3=$(date +%s.%N)
echo "$t0 $t1 $t2 $t3"
"""

COPY = r"""
db=dspace_repo__preupgrade
psql() { runuser -u postgres -- psql -XAtq -d postgres -c "$1"; }
size=$(psql "SELECT pg_database_size('$db')")
t0=$(date +%s.%N); psql "CREATE DATABASE bench_clone TEMPLATE $db"; t1=$(date +%s.%N)
runuser -u postgres -- pg_dump -Fc $db > /var/tmp/bench.dump; t2=$(date +%s.%N)
psql "DROP DATABASE bench_clone"; rm -f /var/tmp/bench.dump
echo "$size $t0 $t1 $t2"
"""


def measure(inventory: Path, artifacts: Path, container: str, hostname: str) -> None:
    start, stopped, migrated, up = map(float, _host_exec(container, FLOOR).split())
    print(f"floor: backend stop {stopped - start:.1f} s, database migrate "
          f"{migrated - stopped:.1f} s, start until actuator UP {up - migrated:.1f} s; "
          f"total {up - start:.1f} s")
    _set_version(inventory, "9.3")
    pollers = [Poller(container, f"https://{hostname}/server/api", hostname),
               Poller(container, f"https://{hostname}/", hostname)]
    for poller in pollers:
        poller.start()
    code, document, took = _cli("upgrade", "-i", str(inventory), "--instance", "repo",
                                "--artifacts", str(artifacts), "--yes")
    time.sleep(3)
    for poller in pollers:
        poller.stop.set()
        poller.join()
    (item,) = document["instances"]
    rest, ui = (p.window() for p in pollers)
    print(f"upgrade 9.2 -> 9.3: exit {code}, status {item.get('status')}, command {took:.1f} s, "
          f"recorded downtime {item.get('downtime_s')} s")
    print(f"  REST /server/api not 200 for {rest[0]:.1f} s ({rest[1]} of "
          f"{len(pollers[0].samples)} polls); UI / not 200 for {ui[0]:.1f} s ({ui[1]} of "
          f"{len(pollers[1].samples)} polls)")
    size, t0, t1, t2 = (float(x) for x in _host_exec(container, COPY).split())
    print(f"local copy of a {size / 2**20:.1f} MiB database: CREATE DATABASE ... TEMPLATE "
          f"{t1 - t0:.2f} s, pg_dump -Fc {t2 - t1:.2f} s")
    code, document, took = _cli("rollback", "-i", str(inventory), "--instance", "repo",
                                "--artifacts", str(artifacts), "--yes")
    (item,) = document["instances"]
    print(f"rollback 9.3 -> 9.2: exit {code}, status {item.get('status')}, command {took:.1f} s")
    _set_version(inventory, "9.2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path)
    parser.add_argument("--host", help="the lab host's name (with --inventory)")
    parser.add_argument("--artifacts", type=Path, help="bundles 9-dspace-9.2 and 9-dspace-9.3")
    parser.add_argument("--keep-lab", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dspace-bench-") as tmp:
        artifacts = args.artifacts or Path(tmp) / "artifacts"
        if args.artifacts is None:
            from tests.lookalike import build_release

            for version in ("9.2", "9.3"):
                build_release("9", artifacts / f"9-dspace-{version}", version=version,
                              ui_version=version)
        if args.inventory:
            host = args.host
            container = f"dspace-lab-{host}"
            measure(args.inventory, artifacts, container, f"repo.{host}.lab.test")
            return
        for kind in ("DATA", "STATE", "CONFIG"):
            os.environ[f"XDG_{kind}_HOME"] = f"{tmp}/{kind.lower()}"
        from dspace_deploy.lab.labs import create_lab, destroy_lab

        lab = create_lab("bench-upg", hosts=1, oses=["debian13"], connection="ssh",
                         progress=lambda m: print(m, file=sys.stderr))
        try:
            import yaml

            hosts_yml = lab.inventory / "hosts.yml"
            data = yaml.safe_load(hosts_yml.read_text())
            for host in data["all"]["children"]["dspace"]["hosts"].values():
                host["dspace_instances"] = [{
                    "name": "repo", "hostname": f"repo.{lab.hosts[0].name}.lab.test",
                    "line": "9", "version": "9.2", "admin_email": "admin@repo.lab.test"}]
            hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
            subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)], check=True,
                           capture_output=True)
            code, _, took = _cli("up", "-i", str(lab.inventory), "--artifacts", str(artifacts))
            print(f"up on 9.2: exit {code}, {took:.0f} s")
            code, _, _ = _cli("backup", "-i", str(lab.inventory))
            measure(lab.inventory, artifacts, lab.hosts[0].container,
                    f"repo.{lab.hosts[0].name}.lab.test")
        finally:
            if not args.keep_lab:
                destroy_lab(lab.name)


if __name__ == "__main__":
    main()
