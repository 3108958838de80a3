"""Measure idempotent re-runs of `up` on converged lab hosts. Prints figures, never asserts.

Targets (README, "Performance"): a re-run of a converged host in at most 20 s with
changed=0; the same re-run on 8 hosts in at most 3 times the 1-host time.

Usage: .venv/bin/python benchmarks/rerun.py [--hosts 1 4 8] [--os debian13] [--runs 3]
       [--connection ssh|podman]
Creates a throw-away lab (XDG dirs in a temp directory) whose hosts each run one full-stack
instance from the look-alike bundles (tests/lookalike; no internet needed), converges it
once, then times `runs` re-runs on 1 host (--limit) and on each larger count, and removes
the lab. Re-runs on 1 and N hosts take place in the same lab, so they compare like with like.
benchmarks/fleet.py adds the controller's CPU time and memory per host (labbench.py holds
what both share).
"""

from __future__ import annotations

import argparse

from labbench import converged_lab, load, median, private_state, timed_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--os", default="debian13")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connection", default="ssh", choices=["ssh", "podman"])
    args = parser.parse_args()
    with private_state(), converged_lab(max(args.hosts), args.os, args.connection) as lab:
        baseline = None
        for count in sorted(set(args.hosts)):
            runs = [timed_run(lab, count) for _ in range(args.runs)]
            seconds = median(runs, "seconds")
            baseline = baseline or seconds
            print(f"re-run on {count} host(s): median {seconds:.1f} s, "
                  f"min {min(r.seconds for r in runs):.1f} s, "
                  f"max {max(r.seconds for r in runs):.1f} s, "
                  f"changed={max(r.changed for r in runs)}, tasks={max(r.tasks for r in runs)}, "
                  f"ratio to 1 host {seconds / baseline:.2f} ({args.runs} runs, "
                  f"{args.connection}, {args.os}; {load()})", flush=True)


if __name__ == "__main__":
    main()
