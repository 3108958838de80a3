"""The per-instance includes of site.yml and precheck.yml loop over the instances' indexes,
so that every host shares one include (docs/performance.md, "Fleets").

Ansible's linear strategy runs an included file once for all the hosts that included it
with the same arguments and loop item; hosts whose items differ (their own plans) each get a
copy of the role's tasks, run one host after the other. The toy below shows both on two
hosts (connection local); the static test keeps site.yml and precheck.yml on the shared form.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = ("playbooks/site.yml", "playbooks/precheck.yml")


def _looped_includes() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name in PLAYBOOKS:
        for play in yaml.safe_load((REPO / name).read_text()):
            for task in play.get("tasks", []):
                if "ansible.builtin.include_role" in task and "loop" in task:
                    found.append((f"{name}: {task['name']}", task))
    return found


def test_site_and_precheck_include_the_instance_roles_by_index() -> None:
    includes = _looped_includes()
    assert len(includes) >= 10, [name for name, _ in includes]
    for name, task in includes:
        loop = task["loop"]
        assert loop.startswith("{{ range(") and loop.endswith("| length) | list }}"), name
        control = task["loop_control"]
        assert control["loop_var"] == "plan_index", name
        # The label is part of what makes two hosts' includes the same one.
        assert "plan_index" in control["label"] and "plan" not in control["label"].replace(
            "plan_index", ""), name
        role = task["ansible.builtin.include_role"]["name"]
        assert task["vars"][f"{role}_plan"].endswith("[plan_index] }}"), name


ROLE_TASK = """---
- name: Note the instance
  ansible.builtin.debug:
    msg: "{{ toy_plan.name }} on {{ inventory_hostname }}"
"""


def _play(by_index: bool) -> dict[str, Any]:
    loop: dict[str, Any] = (
        {"loop": "{{ range(plans | length) | list }}",
         "loop_control": {"loop_var": "plan_index", "label": "instance {{ plan_index + 1 }}"},
         "vars": {"toy_plan": "{{ plans[plan_index] }}"}}
        if by_index else
        {"loop": "{{ plans }}", "loop_control": {"loop_var": "plan", "label": "{{ plan.name }}"},
         "vars": {"toy_plan": "{{ plan }}"}})
    return {"name": "Toy", "hosts": "all", "gather_facts": False, "connection": "local",
            "tasks": [{"name": "Include the toy role per instance",
                       "ansible.builtin.include_role": {"name": "toy"}, **loop}]}


def _copies(tmp_path: Path, by_index: bool) -> list[list[str]]:
    """For each copy of the role's task that ran: the hosts it ran on."""
    (tmp_path / "roles" / "toy" / "tasks").mkdir(parents=True, exist_ok=True)
    (tmp_path / "roles" / "toy" / "tasks" / "main.yml").write_text(ROLE_TASK)
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {
        "one": {"plans": [{"name": "repo"}]}, "two": {"plans": [{"name": "thesis"}]}}}}))
    (tmp_path / "play.yml").write_text(yaml.safe_dump([_play(by_index)]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_ROLES_PATH": str(tmp_path / "roles"), "ANSIBLE_HOME": str(tmp_path / "home"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_CACHE_PLUGIN": "memory"}
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                           str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml")],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tasks = json.loads(done.stdout)["plays"][0]["tasks"]
    return [sorted(t["hosts"]) for t in tasks if t["task"]["name"].endswith("Note the instance")]


@pytest.mark.parametrize(("by_index", "copies"), [(True, [["one", "two"]]),
                                                  (False, [["one"], ["two"]])])
def test_an_include_by_index_is_shared_by_the_hosts(tmp_path: Path, by_index: bool,
                                                    copies: list[list[str]]) -> None:
    # The copies' order follows which host's include result came back first: compare sets.
    assert sorted(_copies(tmp_path, by_index)) == copies
