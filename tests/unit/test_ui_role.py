"""The dspace_ui role's templates and its check of the unit's sandbox, without a host.

The templates are rendered by a real `ansible-playbook` on localhost (connection local; it
writes only into a temporary directory), with the role's defaults and vars and a plan per
DSpace release.
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

from dspace_deploy.checks.test_dspace_ui import sandbox_problems

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "dspace_ui"
RELEASES = {"8.0": "8", "8.1": "8", "9.3": "9"}


def _plan(version: str) -> dict[str, Any]:
    return {"name": "repo", "hostname": "repo.example.edu", "line": RELEASES[version],
            "version": version, "flavor": "dspace", "ui_dir": "/srv/dspace-ui/repo",
            "user": "dspace", "ports": {"ui": 4000, "backend": 8080},
            "urls": {"ui": "https://repo.example.edu", "server": "https://repo.example.edu/server",
                     "ssr": "http://127.0.0.1:8080/server"},
            "node_major": 20}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """{version: {"config": config.prod.yml, "unit": the systemd unit}}."""
    tmp = tmp_path_factory.mktemp("ui-role")
    tasks = []
    for version in RELEASES:
        for template, name in (("config.prod.yml.j2", "config"), ("dspace-ui.service.j2", "unit")):
            tasks.append({
                "name": f"Render {name} of {version}",
                "ansible.builtin.template": {"src": str(ROLE / "templates" / template),
                                             "dest": str(tmp / f"{version}-{name}"),
                                             "mode": "0644"},
                "vars": {"dspace_ui_plan": _plan(version)},
            })
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars_files": [str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
             # _dspace_ui_group (vars/main.yml) is the name deploy.yml's probe found.
             "vars": {"_dspace_ui_host_probe": {"stdout_lines": ["group dspace"]},
                      "_dspace_ui_full_sandbox": True},
             "tasks": tasks}]
    playbook = tmp / "render.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_HOME": str(tmp / "home"), "ANSIBLE_LOCAL_TEMP": str(tmp / "local"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"),
                           "-i", "localhost,", str(playbook)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {version: {name: (tmp / f"{version}-{name}").read_text() for name in ("config", "unit")}
            for version in RELEASES}


@pytest.mark.parametrize(("version", "expected"), [("8.0", False), ("8.1", True), ("9.3", True)])
def test_ssr_base_url_is_written_from_8_1(rendered: dict[str, dict[str, str]], version: str,
                                          expected: bool) -> None:
    """dspace-angular 8.0 has no rest.ssrBaseUrl (DSpace/dspace-angular@dspace-8.1 adds it)."""
    rest = yaml.safe_load(rendered[version]["config"])["rest"]
    assert ("ssrBaseUrl" in rest) is expected, rest
    assert rest["host"] == "repo.example.edu" and rest["nameSpace"] == "/server"
    if expected:
        assert rest["ssrBaseUrl"] == "http://127.0.0.1:8080/server"


def test_the_unit_may_write_dist_browser_only(rendered: dict[str, dict[str, str]]) -> None:
    unit = rendered["9.3"]["unit"]
    lines = unit.splitlines()
    assert "ProtectSystem=strict" in lines
    assert [line for line in lines if line.startswith("ReadWritePaths=")] == [
        "ReadWritePaths=/srv/dspace-ui/repo/current/dist/browser"]
    assert "PrivateTmp=true" in lines


# --- the check of the sandbox (a process's mountinfo) -----------------------------------------

WRITABLE = "/srv/dspace-ui/repo/releases/0123456789abcdef/dist/browser"
SANDBOXED = f"""\
600 500 0:50 / / ro,relatime shared:1 - overlay overlay rw
601 600 0:51 / /tmp rw,nosuid,nodev shared:2 - overlay overlay rw
602 600 0:50 {WRITABLE} {WRITABLE} rw,relatime shared:3 - overlay overlay rw
603 601 0:50 /systemd-private-1f-dspace-repo-ui.service-Ab12/tmp /tmp rw,nosuid,nodev - overlay o rw
"""
UNSANDBOXED = """\
600 500 0:50 / / rw,relatime shared:1 - overlay overlay rw
601 600 0:51 / /tmp rw,nosuid,nodev shared:2 - tmpfs tmpfs rw
"""


def test_a_sandboxed_process_has_no_problem() -> None:
    assert sandbox_problems(SANDBOXED, WRITABLE) == []


def test_an_unsandboxed_process_is_reported() -> None:
    problems = sandbox_problems(UNSANDBOXED, WRITABLE)
    assert len(problems) == 3 and json.dumps(problems).count("is not applied") == 3, problems


def test_a_sandbox_without_the_release_directory_is_reported() -> None:
    other = WRITABLE.replace("0123456789abcdef", "fedcba9876543210")
    assert sandbox_problems(SANDBOXED, other) == [
        f"{other} is not mounted read-write (ReadWritePaths is not applied)"]
