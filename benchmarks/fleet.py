"""Measure what a fleet costs the controller: an idempotent `up` over 1 and over N converged
lab hosts in one go (wall time and ratio), the controller's CPU time and peak memory per
host, and the projection to a fleet of --project hosts. Prints figures, never asserts.

Usage: .venv/bin/python benchmarks/fleet.py [--hosts 4] [--os debian13] [--runs 3]
       [--connection ssh|podman] [--project 160]
       [--state DIR --lab NAME --artifacts DIR [--no-converge] [--keep]] [--tree DIR]
Creates a throw-away lab of --hosts hosts (XDG dirs in a temp directory), each with one
full-stack instance from the look-alike bundles (tests/lookalike), converges it once, then
alternates `runs` times: a one-task playbook on 1 host (the floor: one module call), `up`
on 1 host, `up` on all N hosts; and removes the lab. Each run is timed in a child process
(labbench.py) with the code of --tree (default: this checkout). To compare two versions on
the same hosts: keep the lab (--keep, with --state DIR for the XDG dirs), measure the
version it was converged with (--no-converge --tree OTHER), then the other one with
--warm-up (its first `up` converges again: the roles' code is part of every stamp).

The controller's cost of a run is that of the ansible-playbook process and every process it
starts (forks, ssh, podman exec): CPU time from getrusage(RUSAGE_CHILDREN) around the run,
peak memory as the largest sum of the tree's PSS sampled every 0.2 s (PSS, not RSS: the
forks share the parent's pages). ssh ControlMaster processes detach from the tree and are
not counted. The projection (docs/performance.md, "Fleets") takes the measured fixed and
per-host parts: CPU(H) = CPU(1) + (H - 1) * per-host CPU; memory saturates at `forks`
workers (ansible.cfg): peak(H) = peak(1) + (min(H, forks) - 1) * per-host memory; the wall
time of H hosts is at least CPU(H) / cores (the controller's) and at least
ceil(H / forks) times the 1-host re-run (each task waits for its slowest batch of forks).
"""

from __future__ import annotations

import argparse
import configparser
import math
import os
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

REPO = Path(__file__).resolve().parents[1]


def _forks() -> int:
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "ansible.cfg")
    return config.getint("defaults", "forks", fallback=5)


def _line(label: str, runs: list[Figures]) -> str:
    return (f"{label}: {median(runs, 'seconds'):.1f} s wall (min "
            f"{min(r.seconds for r in runs):.1f}, max {max(r.seconds for r in runs):.1f}), "
            f"controller CPU {median(runs, 'cpu_tree'):.1f} s (ansible-playbook tree) + "
            f"{median(runs, 'cpu_self'):.1f} s (dspace-deploy), peak "
            f"{median(runs, 'peak_mib'):.0f} MiB, tasks={max(r.tasks for r in runs)}, "
            f"changed={max(r.changed for r in runs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--project", type=int, default=160)
    add_lab_options(parser)
    args = parser.parse_args()
    forks, cores = _forks(), os.cpu_count() or 1
    print(f"start: {load()}; code of {args.tree}", flush=True)
    with ExitStack() as stack:
        stack.enter_context(lab_state(args.state))
        lab = stack.enter_context(converged_lab(args.hosts, args.os, args.connection, args.lab,
                                                args.artifacts, args.converge, args.keep,
                                                args.clone))
        floor = one_task_playbook(Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="dspace-bench-"))))
        one_task: list[Figures] = []
        one: list[Figures] = []
        many: list[Figures] = []

        def measure(count: int, playbook: str = "site.yml") -> Figures:
            figures = child_run(args.tree, lab, count, playbook, args.os, args.connection)
            print(f"  {Path(playbook).name} on {count} host(s): {figures}; {load()}", flush=True)
            return figures

        if args.warm_up:
            print(_line(f"warm-up up on {args.hosts} hosts", [measure(args.hosts)]), flush=True)
        for _ in range(args.runs):
            one_task.append(measure(1, floor))
            one.append(measure(1))
            many.append(measure(args.hosts))
        print(f"after the runs: {load()}; {args.runs} runs each, {args.connection}, {args.os}")
        print(_line("one-task playbook on 1 host", one_task))
        print(_line("up on 1 host", one))
        print(_line(f"up on {args.hosts} hosts", many))
        _report(args, one_task, one, many, forks, cores)


def _report(args: argparse.Namespace, one_task: list[Figures], one: list[Figures],
            many: list[Figures], forks: int, cores: int) -> None:
    n, h = args.hosts, args.project
    wall1, wall_n = median(one, "seconds"), median(many, "seconds")
    cpu1 = median(one, "cpu_tree") + median(one, "cpu_self")
    cpu_n = median(many, "cpu_tree") + median(many, "cpu_self")
    mem1, mem_n = median(one, "peak_mib"), median(many, "peak_mib")
    cpu_host = (cpu_n - cpu1) / (n - 1) if n > 1 else cpu1
    mem_host = (mem_n - mem1) / (n - 1) if n > 1 else 0.0
    print(f"ratio {n} hosts / 1 host: {wall_n / wall1:.2f} (wall); up on 1 host / one-task "
          f"playbook: {wall1 / median(one_task, 'seconds'):.1f}")
    print(f"per extra host: {cpu_host:.2f} s controller CPU, {mem_host:.0f} MiB peak memory "
          f"(fixed part: {cpu1 - cpu_host:.1f} s CPU, {mem1 - mem_host:.0f} MiB)")
    cpu_h = cpu1 + (h - 1) * cpu_host
    mem_h = mem1 + (min(h, forks) - 1) * mem_host
    floor_cpu, floor_batches = cpu_h / cores, math.ceil(h / forks) * wall1
    print(f"projection to {h} hosts (forks={forks}, {cores} cores): controller CPU "
          f"{cpu_h:.0f} s, peak memory {mem_h:.0f} MiB, wall time at least "
          f"{max(floor_cpu, floor_batches):.0f} s (CPU-bound {floor_cpu:.0f} s; "
          f"{math.ceil(h / forks)} batches of forks x the 1-host re-run {floor_batches:.0f} s)")


if __name__ == "__main__":
    main()
