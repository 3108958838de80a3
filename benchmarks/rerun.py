"""Measure idempotent re-runs of `up` on converged lab hosts. Prints figures, never asserts.

Targets (README, "Performance"; docs/performance.md): a re-run of a converged host with
changed=0 in at most 3 times a one-task playbook against the same host, measured in the
same run; the same re-run on 8 hosts in at most 3 times the 1-host time.

Usage: .venv/bin/python benchmarks/rerun.py [--hosts 1 4 8] [--os debian13] [--runs 3]
       [--connection ssh|podman]
       [--state DIR --lab NAME --artifacts DIR [--no-converge] [--keep] [--warm-up]]
       [--tree DIR]
Creates a throw-away lab (XDG dirs in a temp directory) whose hosts each run one full-stack
instance from the look-alike bundles (tests/lookalike; no internet needed), converges it
once, then alternates `runs` times: the one-task playbook on 1 host (the floor: one module
call), and `up` on each host count (--limit); and removes the lab. All runs take place in
the same lab, so they compare like with like. Each run is timed in a child process
(labbench.py) with the code of --tree (default: this checkout); --state, --lab,
--artifacts, --no-converge and --keep reuse a lab across invocations, as in fleet.py (which
adds the controller's CPU time and memory per host). Per run it prints the wall time, the
task starts and the module runs on the hosts (round trips); benchmarks/profile_run.py
shows where one run's time went.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path

from labbench import (
    Figures,
    add_lab_options,
    child_run,
    converged_lab,
    lab_state,
    load,
    median,
    one_task_playbook,
)


def _line(label: str, runs: list[Figures]) -> str:
    return (f"{label}: median {median(runs, 'seconds'):.1f} s (min "
            f"{min(r.seconds for r in runs):.1f}, max {max(r.seconds for r in runs):.1f}), "
            f"changed={max(r.changed for r in runs)}, tasks={max(r.tasks for r in runs)}, "
            f"host calls={max(r.host_calls for r in runs)}, controller CPU "
            f"{median(runs, 'cpu_tree'):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 4])
    add_lab_options(parser)
    args = parser.parse_args()
    counts = sorted(set(args.hosts) | {1})
    print(f"start: {load()}; code of {args.tree}", flush=True)
    with ExitStack() as stack:
        stack.enter_context(lab_state(args.state))
        lab = stack.enter_context(converged_lab(max(counts), args.os, args.connection, args.lab,
                                                args.artifacts, args.converge, args.keep,
                                                args.clone))
        floor = one_task_playbook(Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="dspace-bench-"))))

        def measure(count: int, playbook: str = "site.yml") -> Figures:
            figures = child_run(args.tree, lab, count, playbook, args.os, args.connection)
            print(f"  {Path(playbook).name} on {count} host(s): {figures.seconds:.1f} s, "
                  f"changed={figures.changed}, tasks={figures.tasks}, "
                  f"host calls={figures.host_calls}; {load()}", flush=True)
            return figures

        if args.warm_up:
            measure(max(counts))
        one_task: list[Figures] = []
        ups: dict[int, list[Figures]] = {count: [] for count in counts}
        for _ in range(args.runs):
            one_task.append(measure(1, floor))
            for count in counts:
                ups[count].append(measure(count))
        print(f"after the runs: {load()}; {args.runs} runs each, {args.connection}, {args.os}")
        floor_seconds = median(one_task, "seconds")
        print(_line("one-task playbook on 1 host", one_task))
        single = median(ups[1], "seconds")
        for count in counts:
            seconds = median(ups[count], "seconds")
            print(_line(f"up on {count} host(s)", ups[count])
                  + f"; ratio to 1 host {seconds / single:.2f}, to the one-task playbook "
                  f"{seconds / floor_seconds:.1f}")


if __name__ == "__main__":
    main()
