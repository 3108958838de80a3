"""What one task costs: on the controller alone, as a bare round trip, and as a module call on
a lab host. Prints figures, never asserts.

A fresh `up` is mostly a sequence of module calls (benchmarks/fresh_up.py counts them); this
says what each kind costs, so that its floor can be read with the calls it cannot avoid.

Usage: .venv/bin/python benchmarks/task_cost.py [--os debian13] [--tasks 30] [--connection ssh]
Creates a throw-away lab of one fresh host (XDG dirs in a temp directory), runs one playbook of
`--tasks` identical tasks per kind through the CLI's runner (twice; the faster run counts), then
times the host's Python running one AnsiballZ payload of `ping` on its own. Removes the lab.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))  # labbench
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # dspace_deploy

from labbench import load, open_lab, private_state

if TYPE_CHECKING:
    from dspace_deploy.lab.labs import Lab
    from dspace_deploy.site import Site

# One task of each kind, as it appears in the playbook ({i}: the task's number).
KINDS = {
    "a skipped task (controller)": "ansible.builtin.command: 'true'\n      when: false",
    "set_fact (controller)": "ansible.builtin.set_fact:\n        fact_{i}: 1",
    "raw (round trip, no Python)": "ansible.builtin.raw: 'true'\n      changed_when: false",
    "ping (one module call)": "ansible.builtin.ping:",
    "stat (one module call)": "ansible.builtin.stat:\n        path: /etc/hostname",
    "copy, unchanged (stat + copy)": (
        "ansible.builtin.copy:\n        dest: /tmp/bench-{i}\n        content: '{i}'\n"
        "        mode: '0644'"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--os", default="debian13")
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--connection", default="ssh", choices=["ssh", "podman"])
    args = parser.parse_args()
    print(load())
    with private_state() as tmp:
        from dspace_deploy.lab.labs import destroy_lab

        lab = open_lab(f"cost{time.time_ns() % 10000}", 1, args.os, args.connection)
        try:
            _per_kind(lab, tmp, args.tasks)
            _payload_on_host(lab.hosts[0].container, tmp)
        finally:
            destroy_lab(lab.name)


def _per_kind(lab: Lab, tmp: Path, count: int) -> None:
    from dspace_deploy.inventory.validate import load_site

    site = load_site(lab.inventory, lab.vault_password_file)
    host = lab.hosts[0].name
    print(f"seconds per task, {count} tasks per playbook, become: true, best of 2 runs:")
    for number, (kind, body) in enumerate(KINDS.items()):
        tasks = "".join(f"    - name: task {i}\n      {body.format(i=i)}\n"
                        for i in range(count))
        playbook = tmp / f"kind-{number}.yml"
        playbook.write_text("- hosts: all\n  gather_facts: false\n  become: true\n"
                            f"  tasks:\n{tasks}")
        best = min(_timed_run(site, host, playbook) for _ in range(2))
        print(f"  {best / count:6.3f} s  {kind}")


def _timed_run(site: Site, host: str, playbook: Path) -> float:
    from dspace_deploy import runner

    start = time.perf_counter()
    runner.run(runner.Job("up", str(playbook), site, limit=host))
    return time.perf_counter() - start


def _payload_on_host(container: str, tmp: Path) -> None:
    """The host's own share of a module call: Python running one AnsiballZ payload (which
    imports ansible.module_utils from the zip, compiled from source on every call)."""
    kept = tmp / "kept"
    ansible = Path(sys.executable).parent / "ansible"
    subprocess.run([str(ansible), "localhost", "-c", "local", "-m", "ansible.builtin.ping"],
                   env={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_PIPELINING": "0",
                        "ANSIBLE_REMOTE_TMP": str(kept), "PATH": "/usr/bin:/bin",
                        "HOME": str(tmp)},
                   capture_output=True, check=True)
    payload = next(kept.rglob("AnsiballZ_ping.py"))
    subprocess.run(["podman", "cp", str(payload), f"{container}:/tmp/ping_payload.py"],
                   check=True)
    runs = 10
    script = (f"start=$(date +%s%N); for i in $(seq {runs}); do "
              "python3 /tmp/ping_payload.py >/dev/null; done; "
              "echo $(( ($(date +%s%N) - start) / 1000000 ))")
    done = subprocess.run(["podman", "exec", container, "bash", "-c", script],
                          capture_output=True, text=True, check=True)
    print(f"  {int(done.stdout.strip()) / runs / 1000:6.3f} s  of a module call: the host's "
          "Python running the AnsiballZ payload of ping alone")


if __name__ == "__main__":
    main()
