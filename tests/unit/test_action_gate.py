"""The shared action gate dspace.deploy.action (the fast path of every role), without a host.

Two small roles built like the real ones (tasks/main.yml and precheck.yml import the gate,
vars/main.yml describes the stamp) run under a real `ansible-playbook` on localhost
(connection local; everything is written into a temporary directory, the stamps included):
a precheck play as playbooks/precheck.yml runs it within `up`, then a deploy play as
site.yml. Each role's steps append to a log, so the tests see which steps ran.
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
ROLES = ("toy_a", "toy_b")

MAIN = """---
- name: Converge the {role} (skipped while the stamp is unchanged)
  ansible.builtin.import_role:
    name: dspace.deploy.action
  vars:
    action_subject: the {role}
    action_stamp: "{{{{ _{role}_stamp }}}}"
"""

PRECHECK = """---
- name: Run the prechecks of the {role} (skipped while the stamp is unchanged)
  ansible.builtin.import_role:
    name: dspace.deploy.action
    tasks_from: precheck
  vars:
    action_subject: the {role}
    action_stamp: "{{{{ _{role}_stamp }}}}"
"""

# The steps record where they ran (role_path must be the calling role's own) and render a
# template of the calling role; the handler writes a managed file, so a stamp written before
# the handlers ran would not match on the next run.
DEPLOY = """---
- name: Log the deploy steps
  ansible.builtin.shell: echo "deploy {role} $ROLE_PATH" >> {tmp}/log
  environment:
    ROLE_PATH: "{{{{ role_path }}}}"
  changed_when: true

- name: Render the managed file
  ansible.builtin.template:
    src: managed.j2
    dest: "{tmp}/{role}.managed"
    mode: "0644"
  notify: Write the handled file

- name: Render the file the handler completes
  ansible.builtin.copy:
    content: "{{{{ {role}_value }}}}\\n"
    dest: "{tmp}/{role}.handled"
    mode: "0644"
    force: false
"""

# toy_a's steps can change a file toy_b's stamp covers (-e toy_a_poke=true), as the steps of a
# role may change what a later role's stamp covers.
POKE = """
- name: Change a file of the toy_b
  ansible.builtin.copy:
    content: "poked by toy_a\\n"
    dest: "{tmp}/toy_b.managed"
    mode: "0644"
  when: toy_a_poke | default(false) | bool
"""

HANDLERS = """---
- name: Write the handled file
  ansible.builtin.copy:
    content: "handled {{{{ {role}_value }}}}\\n"
    dest: "{tmp}/{role}.handled"
    mode: "0644"
"""

CHECKS = """---
- name: Log the prechecks
  ansible.builtin.shell: echo "checks {role}" >> {tmp}/log
  changed_when: false
"""

# The role's argument spec: site.yml includes the roles without Ansible's validation
# (rolespec_validate: false) and the gate validates when the steps run.
SPECS = """---
argument_specs:
  main:
    short_description: The toy {role}
    options:
      {role}_value:
        description: What the managed file holds.
        type: str
        choices: [one, two]
      {role}_port:
        description: A parameter of the steps only (not of the prechecks).
        type: int
  precheck:
    short_description: The toy {role}'s prechecks
    options:
      {role}_value:
        description: What the managed file holds.
        type: str
        choices: [one, two]
"""

VARS = """---
_{role}_stamp_names: >-
  {{{{ lookup('ansible.builtin.varnames', '^{role}_', wantlist=True) | sort }}}}
_{role}_stamp:
  name: {role}
  inputs:
    vars: >-
      {{{{ dict(_{role}_stamp_names
               | zip(lookup('ansible.builtin.vars', *_{role}_stamp_names, wantlist=True))) }}}}
  paths: ["{tmp}/{role}.managed", "{tmp}/{role}.handled"]
  stamp_dir: "{tmp}/stamps"
"""


def _site(tmp_path: Path, with_survey: bool = True) -> Path:
    """The toy site; its precheck play takes the survey first, as playbooks/precheck.yml
    does, unless `with_survey` is false (a playbook of the user's own)."""
    for role in ROLES:
        base = tmp_path / "roles" / role
        for folder in ("tasks", "vars", "defaults", "handlers", "templates", "meta"):
            (base / folder).mkdir(parents=True)
        fill = {"role": role, "tmp": tmp_path}
        (base / "tasks" / "main.yml").write_text(MAIN.format(**fill))
        (base / "tasks" / "precheck.yml").write_text(PRECHECK.format(**fill))
        (base / "tasks" / "deploy.yml").write_text(
            DEPLOY.format(**fill) + (POKE.format(**fill) if role == "toy_a" else ""))
        (base / "tasks" / "precheck_checks.yml").write_text(CHECKS.format(**fill))
        (base / "handlers" / "main.yml").write_text(HANDLERS.format(**fill))
        (base / "vars" / "main.yml").write_text(VARS.format(**fill))
        (base / "defaults" / "main.yml").write_text(f"---\n{role}_value: one\n")
        (base / "meta" / "argument_specs.yml").write_text(SPECS.format(**fill))
        (base / "templates" / "managed.j2").write_text(f"{role} {{{{ {role}_value }}}}\n")
    survey = [{"name": "Survey the stamps",
               "ansible.builtin.import_role": {"name": "dspace.deploy.action",
                                               "tasks_from": "survey"},
               "vars": {"action_stamp_dir": f"{tmp_path}/stamps"}}]
    prechecks = (survey if with_survey else []) + [
        {"name": f"Run the prechecks of {role}",
         "ansible.builtin.include_role": {"name": role, "tasks_from": "precheck",
                                          "rolespec_validate": False}}
        for role in ROLES]
    plays = [
        {"name": "Prechecks", "hosts": "localhost", "gather_facts": False,
         "connection": "local", "vars": {"dspace_precheck_fast": True}, "tasks": prechecks},
        {"name": "Deploy", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "tasks": [{"name": f"Converge {role}",
                    "ansible.builtin.import_role": {"name": role, "rolespec_validate": False}}
                   for role in ROLES]},
    ]
    (tmp_path / "site.yml").write_text(yaml.safe_dump(plays, sort_keys=False))
    return tmp_path


def _up(site: Path, *extra: str, succeeds: bool = True) -> dict[str, Any]:
    """One run; its JSON document, plus the lines the steps logged."""
    log = site / "log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_ROLES_PATH": str(site / "roles"),
           "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
           "ANSIBLE_HOME": str(site / "home"), "ANSIBLE_LOCAL_TEMP": str(site / "local"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
           "ANSIBLE_CACHE_PLUGIN": "memory"}
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"),
                           "-i", "localhost,", str(site / "site.yml"), *extra], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert (done.returncode == 0) == succeeds, done.stdout[-4000:] + done.stderr[-3000:]
    document: dict[str, Any] = json.loads(done.stdout)
    document["log"] = log.read_text().splitlines() if log.exists() else []
    return document


def _results(document: dict[str, Any], play: str, prefix: str) -> list[dict[str, Any]]:
    """The localhost results of the tasks of `play` whose name (after `role : `) starts with
    `prefix`."""
    return [task["hosts"]["localhost"] for p in document["plays"] if p["play"]["name"] == play
            for task in p["tasks"] if "localhost" in task["hosts"]
            and task["task"]["name"].split(" : ")[-1].startswith(prefix)]


def _changed(document: dict[str, Any]) -> int:
    return int(document["stats"]["localhost"]["changed"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The runs of one site, in order: first, again (unchanged), edited (a managed file of
    toy_a edited by hand), poked (toy_a's steps change a file of toy_b), changed (toy_a's
    parameter and toy_b's code changed), full (dspace_converge_full), invalid (a value the
    prechecks' spec refuses), invalid_steps (one only the steps' spec refuses); and the site
    directory."""
    site = _site(tmp_path_factory.mktemp("gate"))
    done: dict[str, Any] = {"site": site, "first": _up(site)}
    done["first_files"] = {name: (site / name).read_text()
                           for name in ("toy_a.managed", "toy_a.handled")}
    done["stamps"] = sorted(p.name for p in (site / "stamps").iterdir())
    done["again"] = _up(site)
    (site / "toy_a.managed").write_text("edited by hand\n")
    done["edited"] = _up(site)
    done["repaired"] = (site / "toy_a.managed").read_text()
    done["poked"] = _up(site, "-e", "toy_a_poke=true")
    done["poked_files"] = {name: (site / name).read_text()
                           for name in ("toy_b.managed", "toy_b.handled")}
    deploy = site / "roles" / "toy_b" / "tasks" / "deploy.yml"
    deploy.write_text(deploy.read_text() + "# a changed task file\n")
    done["changed"] = _up(site, "-e", "toy_a_value=two")
    done["full"] = _up(site, "-e", "toy_a_value=two", "-e", "dspace_converge_full=true")
    done["invalid"] = _up(site, "-e", "toy_a_value=three", succeeds=False)
    done["invalid_steps"] = _up(site, "-e", "toy_a_value=two", "-e", "toy_a_port=http",
                                succeeds=False)
    return done


def _deployed(runs: dict[str, Any], role: str) -> str:
    return f"deploy {role} {runs['site'] / 'roles' / role}"


def test_first_run_converges_in_the_callers_context(runs: dict[str, Any]) -> None:
    """The steps run as the calling role (its role_path, its template, its handler), the
    handlers before the stamp."""
    assert runs["first"]["log"] == ["checks toy_a", "checks toy_b",
                                    _deployed(runs, "toy_a"), _deployed(runs, "toy_b")]
    assert runs["first_files"] == {"toy_a.managed": "toy_a one\n",
                                   "toy_a.handled": "handled one\n"}
    assert runs["stamps"] == ["toy_a.json", "toy_b.json"]
    assert [r["msg"] for r in _results(runs["first"], "Deploy", "Say why")] == ["no stamp"] * 2
    assert not _results(runs["first"], "Deploy", "Probe the converged state"), \
        "the survey found no stamp, and toy_a's stamp surveyed again: no live probe"


def _ran(document: dict[str, Any]) -> list[str]:
    """The names of the tasks that ran on localhost (not skipped), in order, leaving out the
    includes of the play (the controller's)."""
    return [task["task"]["name"].split(" : ")[-1] for play in document["plays"]
            for task in play["tasks"] if "localhost" in task["hosts"]
            and not task["hosts"]["localhost"].get("skipped")
            and not {"include", "include_args"} & set(task["hosts"]["localhost"])]


def test_rerun_of_a_converged_site_calls_the_host_once(runs: dict[str, Any]) -> None:
    """The survey is the only task that runs: each role's gate decides on the controller,
    so a converged role costs no task on the host (no probe, no prechecks, no steps)."""
    again = runs["again"]
    assert again["log"] == [], "a converged role runs neither its prechecks nor its steps"
    assert _changed(again) == 0
    assert _ran(again) == [
        "Survey the converged-state stamps of the host (one call for every role)"]
    assert not _results(again, "Deploy", "Probe the converged state")
    assert all(p.get("censored") for p in _results(again, "Prechecks", "Survey")), \
        "the survey returns the stamps' salted hashes of inputs with secrets: no_log"


@pytest.fixture(scope="module")
def unsurveyed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A site whose playbook takes no survey (roles used from a playbook of the user's own):
    first run, then a re-run."""
    site = _site(tmp_path_factory.mktemp("gate-nosurvey"), with_survey=False)
    return {"site": site, "first": _up(site), "again": _up(site)}


def test_without_a_survey_the_gate_probes_each_role(unsurveyed: dict[str, Any]) -> None:
    again = unsurveyed["again"]
    assert again["log"] == ["checks toy_a", "checks toy_b"], \
        "without a survey the prechecks run, the steps do not"
    assert _changed(again) == 0
    probes = _results(again, "Deploy", "Probe the converged state")
    assert len(probes) == 2 and not any(p.get("skipped") for p in probes)
    assert all(p.get("censored") for p in probes)


def test_a_role_that_converges_surveys_again_for_the_later_ones(runs: dict[str, Any]) -> None:
    """The stamp of a role that ran its steps surveys the host again in the same call; the
    later roles decide from that survey (no live probe), converged or not."""
    edited = runs["edited"]
    assert edited["log"] == ["checks toy_a", _deployed(runs, "toy_a")]
    assert runs["repaired"] == "toy_a one\n"
    assert [r["msg"] for r in _results(edited, "Deploy", "Say why")] == [
        f"{runs['site']}/toy_a.managed changed"]
    assert not _results(edited, "Deploy", "Probe the converged state")
    stamps = _results(edited, "Deploy", "Stamp the converged state")
    assert len(stamps) == 1 and stamps[0].get("censored"), "the stamp and its survey: no_log"


def test_a_later_role_sees_what_an_earlier_one_changed(runs: dict[str, Any]) -> None:
    """toy_a's steps change a file toy_b's stamp covers: toy_b was converged at the start
    of the run (its prechecks are skipped), but the survey of toy_a's stamp sees the change
    and toy_b converges again."""
    poked = runs["poked"]
    assert poked["log"] == ["checks toy_a", _deployed(runs, "toy_a"), _deployed(runs, "toy_b")]
    assert [r["msg"] for r in _results(poked, "Deploy", "Say why")] == [
        "inputs changed", f"{runs['site']}/toy_b.managed changed"]
    assert runs["poked_files"]["toy_b.managed"] == "toy_b one\n"
    assert not _results(poked, "Deploy", "Probe the converged state")


def test_changed_parameters_or_role_code_converge_again(runs: dict[str, Any]) -> None:
    """The inputs hold the calling role's own code: an edited task file of toy_b counts."""
    changed = runs["changed"]
    assert changed["log"] == ["checks toy_a", "checks toy_b",
                              _deployed(runs, "toy_a"), _deployed(runs, "toy_b")]
    assert [r["msg"] for r in _results(changed, "Deploy", "Say why")] == ["inputs changed"] * 2


def test_full_run_runs_every_step_and_changes_nothing_else(runs: dict[str, Any]) -> None:
    full = runs["full"]
    assert full["log"] == ["checks toy_a", "checks toy_b",
                           _deployed(runs, "toy_a"), _deployed(runs, "toy_b")]
    assert [r["msg"] for r in _results(full, "Deploy", "Say why")] == [
        "full run (dspace_converge_full)"] * 2
    assert _changed(full) == 2, "only the two logging tasks report a change"


def test_parameters_are_validated_when_the_checks_or_steps_run(runs: dict[str, Any]) -> None:
    """The roles come in without Ansible's own validation (as in precheck.yml and site.yml);
    the gate validates a role's parameters against its argument spec when its prechecks run
    (its `precheck` entry point) and when its steps run (`main`), on the controller in the
    condition of the include that runs them: no task of its own. A value the spec refuses
    fails that include, before any check or step (and before the stamp)."""
    gate_tasks = [name for name in _ran(runs["changed"])
                  if not name.startswith(("Log ", "Render ", "Write ", "Survey "))]
    assert gate_tasks == ["Say why the deploy tasks run for the toy_a",
                          "Stamp the converged state of the toy_a",
                          "Say why the deploy tasks run for the toy_b",
                          "Stamp the converged state of the toy_b"], gate_tasks
    invalid = runs["invalid"]
    assert invalid["log"] == [], "neither toy_a's checks nor any step may run"
    failed = _results(invalid, "Prechecks", "Run the prechecks of the toy_a")
    assert failed and failed[0].get("failed"), failed
    assert "toy_a_value" in str(failed[0].get("msg", "")) and "three" in str(failed[0]), failed
    assert not _results(invalid, "Deploy", "Log the deploy steps")
    steps = runs["invalid_steps"]
    assert steps["log"] == ["checks toy_a"], "the prechecks' spec has no toy_a_port"
    failed = _results(steps, "Deploy", "Run the deploy tasks of the toy_a")
    assert failed and failed[0].get("failed"), failed
    assert "toy_a_port" in str(failed[0].get("msg", "")), failed
    assert not _results(steps, "Deploy", "Stamp the converged state"), "no stamp after a failure"
