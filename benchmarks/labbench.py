"""Shared machinery of the lab benchmarks (rerun.py, fleet.py): a throw-away lab converged
from the look-alike bundles, and timed runs of a playbook with the controller's own cost
(CPU time and peak memory of the ansible-playbook process tree).

Not a test: the benchmarks print figures and never assert.

Run as a program, it times one run in a lab that exists already, with the code of another
checkout (`--tree`), and prints the figures as one JSON line: fleet.py --tree compares two
versions of the roles on the same converged hosts.
  python benchmarks/labbench.py --tree DIR --lab NAME --hosts N --count C --artifacts DIR
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.lookalike

# One line per playbook: a run whose every task is one module call on the host, the floor
# that a converged re-run is compared with.
ONE_TASK_PLAYBOOK = """---
- name: One task on every host
  hosts: dspace
  gather_facts: false
  become: true
  tasks:
    - name: Ask the host once
      ansible.builtin.ping:
"""


@dataclass
class Lab:
    """A converged lab: the lab itself, its loaded site, the `up` extravars (bundles) and the
    directory of the look-alike bundles."""
    lab: Any
    site: Any
    extravars: dict[str, Any]
    artifacts: Path

    def limit(self, count: int) -> str:
        return ",".join(h.name for h in self.lab.hosts[:count])


@dataclass
class Figures:
    """One run: wall time, changed tasks (runner stats), task starts, the controller's CPU
    time (ansible-playbook and every process it started and reaped; and this process, which
    reads the events), the peak memory of that process tree (sum of PSS), and the module runs
    on the hosts."""
    seconds: float
    changed: int
    tasks: int
    cpu_tree: float
    cpu_self: float
    peak_mib: float
    host_calls: int = 0  # module runs on the hosts (round trips), as profile_run.py counts


@contextmanager
def private_state() -> Iterator[Path]:
    """XDG data, state and config homes in a temporary directory (nothing of the user's own
    labs or sites is touched)."""
    with tempfile.TemporaryDirectory(prefix="dspace-bench-") as tmp:
        saved = {kind: os.environ.get(f"XDG_{kind}_HOME") for kind in ("DATA", "STATE", "CONFIG")}
        for kind in saved:
            os.environ[f"XDG_{kind}_HOME"] = f"{tmp}/{kind.lower()}"
        try:
            yield Path(tmp)
        finally:
            for kind, value in saved.items():
                if value is None:
                    os.environ.pop(f"XDG_{kind}_HOME", None)
                else:
                    os.environ[f"XDG_{kind}_HOME"] = value


def add_lab_options(parser: argparse.ArgumentParser) -> None:
    """The options rerun.py and fleet.py share: the lab's shape, the number of runs, an
    existing lab to reuse, and the checkout whose code runs."""
    parser.add_argument("--os", default="debian13")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connection", default="ssh", choices=["ssh", "podman"])
    parser.add_argument("--state", type=Path, help="XDG dirs of an existing lab (kept)")
    parser.add_argument("--lab", default="", help="name of the lab (an existing one is reused)")
    parser.add_argument("--artifacts", type=Path, help="look-alike bundles of that lab")
    parser.add_argument("--no-converge", dest="converge", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the lab")
    parser.add_argument("--clone", action="store_true",
                        help="converge the first host only and start the others as its "
                             "clones (tests/integration/clones.py), then one untimed `up` "
                             "on all: N converged hosts for the price of one on two cores")
    parser.add_argument("--warm-up", action="store_true",
                        help="one untimed `up` on every host first (the lab was converged "
                             "with other code)")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                        help="checkout whose code runs")


@contextmanager
def lab_state(directory: Path | None) -> Iterator[None]:
    """The XDG dirs: those of an existing lab (`directory`, kept), or new temporary ones."""
    if directory is None:
        with private_state():
            yield
        return
    for kind in ("DATA", "STATE", "CONFIG"):
        os.environ[f"XDG_{kind}_HOME"] = f"{directory}/{kind.lower()}"
    yield


@contextmanager
def converged_lab(hosts: int, os_name: str, connection: str, name: str = "",
                  artifacts: Path | None = None, converge: bool = True,
                  keep: bool = False, clone: bool = False) -> Iterator[Lab]:
    """A lab of `hosts` hosts, each with one full-stack instance from the look-alike bundles,
    converged once by `up` (timed, printed); removed on exit unless `keep`. An existing lab
    of the same `name` and shape is reused (with its `artifacts`, and `converge=False` when
    it is converged already). `clone`: only the first host is converged, the others are
    started from a commit of it and converged by a second `up` (which repairs what is tied
    to a host's name or address: clones.py)."""
    lab = open_lab(name or f"bench{os.getpid() % 10000}", hosts, os_name, connection)
    built = artifacts is None
    try:
        if artifacts is None:
            from dspace_deploy.lab.labs import LINE_FOR_OS
            from tests.lookalike import build_release

            artifacts = Path(tempfile.mkdtemp(prefix="dspace-bench-artifacts-"))
            line = LINE_FOR_OS[os_name]
            build_release(line, artifacts / f"{line}-dspace")
        converged = site_of(lab, artifacts)
        print(f"lab {lab.name}: {hosts} host(s), artifacts {artifacts}", flush=True)
        if converge and clone and len(lab.hosts) > 1:
            _converge(converged, lab.hosts[0].name)
            _clone_first_host(lab, os_name, connection)
            converged = site_of(lab, artifacts)
        if converge:
            _converge(converged)
        yield converged
    finally:
        if not keep:
            from dspace_deploy.lab.labs import destroy_lab

            destroy_lab(lab.name)
            from tests.integration.clones import remove_clone_image

            remove_clone_image(lab.name)  # if clone made one
            if built and artifacts is not None:
                shutil.rmtree(artifacts, ignore_errors=True)


def _converge(lab: Lab, limit: str | None = None) -> None:
    """One `up` (timed, printed); a failed one ends the benchmark."""
    from dspace_deploy import runner

    start = time.perf_counter()
    first = runner.run(runner.Job("up", "site.yml", lab.site, extravars=lab.extravars,
                                  limit=limit))
    failed = sorted(h for h, stats in first.summary.hosts.items() if not stats.healthy)
    print(f"converge {len(first.summary.hosts)} host(s): {time.perf_counter() - start:.1f} s "
          f"(ok={first.summary.ok}, changed={first.summary.changed}, "
          f"failed hosts={failed or 'none'})", flush=True)
    if not first.summary.ok:
        raise SystemExit(f"the converging run failed (artifacts: "
                         f"{first.artifact_dir}); run again to finish it")


def _clone_first_host(lab: Any, os_name: str, connection: str) -> None:
    from dspace_deploy.lab.labs import create_lab
    from tests.integration.clones import clone_template

    def make(name: str, **shape: Any) -> Any:
        return create_lab(name, **shape)

    clone_template(make, lab, lab.name, lab.hosts[0], hosts=len(lab.hosts), oses=[os_name],
                   connection=connection)


def open_lab(name: str, hosts: int, os_name: str, connection: str) -> Any:
    """Lab `name`: created, or the existing one of that shape brought back up."""
    from dspace_deploy.lab.labs import create_lab

    return create_lab(name, hosts=hosts, oses=[os_name], connection=connection)


def site_of(lab: Any, artifacts: Path) -> Lab:
    from dspace_deploy import bundles
    from dspace_deploy.inventory.validate import load_site

    site = load_site(lab.inventory, lab.vault_password_file)
    extravars = bundles.bundle_vars(bundles.resolve_bundles(site, str(artifacts)))
    return Lab(lab, site, extravars, artifacts)


def _tree_pss_kib(root: int) -> int:
    """Sum of the PSS of every descendant of `root` (not `root` itself), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    inside: set[int] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in inside]
        inside.update(children)
        frontier.extend(children)
    total = 0
    for pid in inside:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            continue
    return total


class PeakMemory(threading.Thread):
    """Samples the PSS of this process's descendants every `interval` seconds; `cpu` is the
    sampler's own CPU time, left out of the controller's."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak_kib, self.cpu = interval, 0, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        start = time.thread_time()
        while not self._stop_event.is_set():
            self.peak_kib = max(self.peak_kib, _tree_pss_kib(os.getpid()))
            self._stop_event.wait(self.interval)
        self.cpu = time.thread_time() - start

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak_kib / 1024


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed_run(lab: Lab, count: int, playbook: str = "site.yml") -> Figures:
    """One run of `playbook` on the first `count` hosts of the lab, with its figures."""
    from profile_run import is_host_call

    from dspace_deploy import runner

    events: list[str] = []
    host_calls = 0

    def observe(event: dict[str, Any]) -> None:
        nonlocal host_calls
        events.append(str(event.get("event")))
        host_calls += is_host_call(event)

    extravars = lab.extravars if playbook == "site.yml" else {}
    memory = PeakMemory()
    cpu_tree, cpu_self = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    memory.start()
    start = time.perf_counter()
    result = runner.run(runner.Job("up", playbook, lab.site, limit=lab.limit(count),
                                   extravars=extravars), observer=observe)
    seconds = time.perf_counter() - start
    peak = memory.stop()
    return Figures(seconds=seconds, changed=result.summary.changed,
                   tasks=events.count("playbook_on_task_start"),
                   cpu_tree=_cpu(resource.RUSAGE_CHILDREN) - cpu_tree,
                   cpu_self=_cpu(resource.RUSAGE_SELF) - cpu_self - memory.cpu, peak_mib=peak,
                   host_calls=host_calls)


def one_task_playbook(directory: Path) -> str:
    """The absolute path of the one-task playbook, written into `directory`."""
    path = directory / "one-task.yml"
    path.write_text(ONE_TASK_PLAYBOOK)
    return str(path)


def median(runs: Sequence[Figures], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in runs))


def load() -> str:
    """The machine's load averages (1, 5, 15 min) and its cores: shared machines vary."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def child_run(tree: Path, lab: Lab, count: int, playbook: str, os_name: str,
              connection: str) -> Figures:
    """One timed run with the code of checkout `tree`, in a child process (this program)."""
    done = subprocess.run(
        [sys.executable, __file__, "--tree", str(tree), "--lab", lab.lab.name,
         "--hosts", str(len(lab.lab.hosts)), "--count", str(count), "--playbook", playbook,
         "--artifacts", str(lab.artifacts), "--os", os_name, "--connection", connection],
        capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the timed run failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return Figures(**json.loads(done.stdout.strip().splitlines()[-1]))


def _child() -> None:
    parser = argparse.ArgumentParser(description="one timed run with the code of --tree")
    parser.add_argument("--tree", type=Path, required=True)
    parser.add_argument("--lab", required=True)
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--playbook", default="site.yml")
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--os", default="debian13")
    parser.add_argument("--connection", default="ssh")
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))  # its dspace_deploy, roles and playbooks
    lab = site_of(open_lab(args.lab, args.hosts, args.os, args.connection), args.artifacts)
    figures = timed_run(lab, args.count, args.playbook)
    print(json.dumps(asdict(figures)))


if __name__ == "__main__":
    _child()
