"""Measure idempotent re-runs of `up` on converged lab hosts. Prints figures, never asserts.

Targets (README, "Performance"): a re-run of a converged host in at most 20 s with
changed=0; the same re-run on 8 hosts in at most 3 times the 1-host time.

Usage: .venv/bin/python benchmarks/rerun.py [--hosts 1 4 8] [--os debian13] [--runs 3]
       [--connection ssh|podman]
Creates a throw-away lab (XDG dirs in a temp directory) whose hosts each run one full-stack
instance from the look-alike bundles (tests/lookalike; no internet needed), converges it
once, then times `runs` re-runs on 1 host (--limit) and on each larger count, and removes
the lab. Re-runs on 1 and N hosts take place in the same lab, so they compare like with like.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.lookalike


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--os", default="debian13")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connection", default="ssh", choices=["ssh", "podman"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dspace-bench-") as tmp:
        for kind in ("DATA", "STATE", "CONFIG"):
            os.environ[f"XDG_{kind}_HOME"] = f"{tmp}/{kind.lower()}"
        _bench(args)


def _bench(args: argparse.Namespace) -> None:
    from dspace_deploy import bundles, runner
    from dspace_deploy.inventory.validate import load_site
    from dspace_deploy.lab.labs import LINE_FOR_OS, create_lab, destroy_lab
    from tests.lookalike import build_release

    name = f"bench{os.getpid() % 10000}"
    lab = create_lab(name, hosts=max(args.hosts), oses=[args.os], connection=args.connection)
    try:
        site = load_site(lab.inventory, lab.vault_password_file)
        artifacts = Path(tempfile.mkdtemp(prefix="dspace-bench-artifacts-"))
        line = LINE_FOR_OS[args.os]
        build_release(line, artifacts / f"{line}-dspace")
        extravars = bundles.bundle_vars(bundles.resolve_bundles(site, str(artifacts)))
        start = time.perf_counter()
        first = runner.run(runner.Job("up", "site.yml", site, extravars=extravars))
        print(f"converge {len(lab.hosts)} host(s): {time.perf_counter() - start:.1f} s "
              f"(ok={first.summary.ok}, changed={first.summary.changed})")
        baseline = None
        for count in sorted(set(args.hosts)):
            limit = ",".join(h.name for h in lab.hosts[:count])
            times, changed, tasks = [], [], []
            for _ in range(args.runs):
                events: list[str] = []

                def observe(event: dict[str, Any], seen: list[str] = events) -> None:
                    seen.append(str(event.get("event")))

                start = time.perf_counter()
                result = runner.run(runner.Job("up", "site.yml", site, limit=limit,
                                                extravars=extravars), observer=observe)
                times.append(time.perf_counter() - start)
                changed.append(result.summary.changed)
                tasks.append(events.count("playbook_on_task_start"))
            median = statistics.median(times)
            baseline = baseline or median
            print(f"re-run on {count} host(s): median {median:.1f} s, min {min(times):.1f} s, "
                  f"max {max(times):.1f} s, changed={max(changed)}, tasks={max(tasks)}, "
                  f"ratio to 1 host {median / baseline:.2f} ({args.runs} runs, "
                  f"{args.connection}, {args.os})")
    finally:
        destroy_lab(name)


if __name__ == "__main__":
    main()
