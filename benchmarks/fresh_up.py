"""Measure a fresh `up` against its floor: the OS package installs and artifact unpacking
alone. Prints figures, never asserts.

Target (README, "Performance"): a fresh `up` costs at most 1.3 times the package installs
and artifact unpacking it cannot avoid.

Usage: .venv/bin/python benchmarks/fresh_up.py [--os debian13] [--preload]
With --preload both hosts start from the preloaded lab image (`lab up --preload`): the floor
is then what is left to install (if anything) plus the unpacking. The figures also give a
per-task and per-role profile of the `up` (from the runner's events).
Creates a throw-away lab of two identical fresh hosts (XDG dirs in a temp directory). Host 1
gets a full-stack instance from the look-alike bundles (tests/lookalike) with a timed `up`.
The packages that run added to host 1 are then installed on host 2 with one timed
`apt-get update && apt-get install`, and the bundle's three archives are copied to host 2
and unpacked (timed): that sum is the floor. Removes the lab.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.lookalike


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--os", default="debian13")
    parser.add_argument("--preload", action="store_true",
                        help="hosts from the preloaded image (lab up --preload)")
    parser.add_argument("--tasks", type=Path, metavar="FILE",
                        help="also write every task result (role, task, seconds) as TSV")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dspace-bench-") as tmp:
        for kind in ("DATA", "STATE", "CONFIG"):
            os.environ[f"XDG_{kind}_HOME"] = f"{tmp}/{kind.lower()}"
        _bench(args.os, Path(tmp), args.preload, args.tasks)


def _exec(container: str, script: str) -> str:
    done = subprocess.run(["podman", "exec", container, "bash", "-c", script],
                          capture_output=True, text=True, check=True)
    return done.stdout


def _packages(container: str) -> set[str]:
    return set(_exec(container, "dpkg-query -W -f='${Package}\\n'").split())


class TaskProfile:
    """Per-task wall time from the runner's events (`duration` of each `runner_on_*`)."""

    def __init__(self) -> None:
        self.tasks: dict[str, float] = defaultdict(float)
        self.roles: dict[str, float] = defaultdict(float)
        self.count = 0
        self.calls: dict[str, int] = defaultdict(int)  # module calls: a task's loop items
        self.results: dict[str, int] = defaultdict(int)  # task results (one per task and host)
        self.rows: list[tuple[str, str, float]] = []  # every task result, in run order
        self.host_calls = 0  # module runs on the host (benchmarks/task_cost.py: their cost)

    def __call__(self, event: dict[str, Any]) -> None:
        from profile_run import is_host_call

        self.host_calls += is_host_call(event)
        if event.get("event") in ("runner_item_on_ok", "runner_item_on_failed",
                                  "runner_item_on_skipped"):
            data = event.get("event_data") or {}
            self.calls[str(data.get("role") or "-")] += 1
            return
        if event.get("event") not in ("runner_on_ok", "runner_on_failed", "runner_on_skipped",
                                      "runner_on_unreachable"):
            return
        data = event.get("event_data") or {}
        seconds = float(data.get("duration") or 0.0)
        role = str(data.get("role") or "-")
        self.tasks[f"{role} : {data.get('task', '?')}"] += seconds
        self.roles[role] += seconds
        self.results[role] += 1
        self.rows.append((role, str(data.get("task", "?")), seconds))
        self.count += 1

    def print(self, top: int = 25) -> None:
        total = sum(self.tasks.values())
        print(f"task results: {self.count}, {total:.1f} s in tasks; "
              f"module runs on the host: {self.host_calls}")
        print("by role:")
        for role, seconds in sorted(self.roles.items(), key=lambda item: -item[1]):
            print(f"  {seconds:7.1f} s  {role} ({self.results[role]} task results, "
                  f"{self.calls[role]} loop items)")
        print(f"slowest {top} tasks:")
        for task, seconds in sorted(self.tasks.items(), key=lambda item: -item[1])[:top]:
            print(f"  {seconds:7.1f} s  {task}")


def _timed(what: str, job: Callable[[], object]) -> float:
    start = time.perf_counter()
    job()
    seconds = time.perf_counter() - start
    print(f"  {what}: {seconds:.1f} s")
    return seconds


def _bench(os_name: str, tmp: Path, preload: bool, tasks: Path | None) -> None:
    from dspace_deploy import bundles, runner
    from dspace_deploy.inventory.validate import load_site
    from dspace_deploy.lab.labs import LINE_FOR_OS, create_lab, destroy_lab, stack_preload
    from tests.lookalike import build_release

    name = f"fresh{os.getpid() % 10000}"
    lab = create_lab(name, hosts=2, oses=[os_name],
                     preload=stack_preload([os_name]) if preload else None)
    try:
        first, second = lab.hosts
        site = load_site(lab.inventory, lab.vault_password_file)
        line = LINE_FOR_OS[os_name]
        release = build_release(line, tmp / "artifacts" / f"{line}-dspace")
        extravars = bundles.bundle_vars(bundles.resolve_bundles(site, str(tmp / "artifacts")))
        before = _packages(first.container)
        profile = TaskProfile()
        start = time.perf_counter()
        result = runner.run(runner.Job("up", "site.yml", site, limit=first.name,
                                       extravars=extravars), observer=profile)
        up_seconds = time.perf_counter() - start
        image = "preloaded image" if preload else "plain image"
        print(f"fresh up of 1 host ({os_name}, {image}, DSpace {line} look-alike): "
              f"{up_seconds:.1f} s "
              f"(ok={result.summary.ok}, changed={result.summary.changed})")
        profile.print()
        if tasks:
            tasks.write_text("".join(f"{role}\t{task}\t{seconds:.3f}\n"
                                     for role, task, seconds in profile.rows))
        added = sorted(_packages(first.container) - before)
        print(f"floor on an identical fresh host ({len(added)} packages the run added):")
        install = _timed("apt-get update + install", lambda: _exec(
            second.container,
            "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && "
            f"apt-get install -y -qq {' '.join(added)} >/dev/null")) if added else 0.0

        def unpack() -> None:
            for archive in (release.installer, release.ui, release.solr):
                subprocess.run(["podman", "cp", str(archive), f"{second.container}:/tmp/"],
                               check=True)
            _exec(second.container, "mkdir -p /tmp/unpack && cd /tmp/unpack && "
                  "for a in /tmp/*.tar.gz /tmp/*.tgz; do tar -xzf \"$a\"; done")

        unpacking = _timed("copy + unpack the bundle's archives", unpack)
        floor = install + unpacking
        print(f"floor {floor:.1f} s; fresh up / floor = {up_seconds / floor:.2f} "
              "(target: at most 1.3)")
    finally:
        destroy_lab(name)


if __name__ == "__main__":
    main()
