"""The one module that talks to ansible-runner.

A verb describes its work as a `Job`; `run()` executes it with ansible-runner's Python API,
streams every event (secrets masked) to an observer, builds the `RunSummary`, keeps the
artifacts in a rotated run directory, and scrubs any secret that reached them.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.events import Event, RunSummary, SummaryBuilder
from dspace_deploy.redact import Redactor
from dspace_deploy.site import Site

KEEP_RUNS = 20

EventObserver = Callable[[Event], None]


@dataclass
class Job:
    """One playbook run against a site: what a verb yields for the core to execute."""

    verb: str  # names the run directory, e.g. "up"
    # A file name under playbooks/, or an absolute path (role tests run their own playbooks).
    playbook: str
    site: Site
    limit: str | None = None
    check: bool = False
    diff: bool = False
    verbosity: int = 0
    tags: list[str] = field(default_factory=list)
    extravars: dict[str, Any] = field(default_factory=dict)  # never secrets


@dataclass
class RunResult:
    summary: RunSummary
    status: str  # ansible-runner status: successful, failed, canceled, timeout
    rc: int
    artifact_dir: Path


def runs_dir(site_name: str) -> Path:
    return resources.state_home() / site_name / "runs"


def facts_dir(site_name: str) -> Path:
    return resources.state_home() / site_name / "facts"


def run(job: Job, observer: EventObserver | None = None) -> RunResult:
    """Execute a job; never raises for host failures (they are in the summary)."""
    import ansible_runner  # heavy: imported only when something runs

    if job.limit is not None and not job.limit.strip():
        # Ansible reads an empty limit as "every host"; the verbs refuse it earlier.
        raise InputError(f"The {job.verb} run got an empty --limit.",
                         hint="Give a host or group pattern, or no --limit.")
    playbook = resources.playbooks_dir() / job.playbook
    private_dir = runs_dir(job.site.name)
    private_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ident = f"{datetime.now():%Y%m%d-%H%M%S-%f}-{job.verb}"
    redactor = Redactor(job.site.secrets)
    builder = SummaryBuilder()
    lock = threading.Lock()

    def on_event(event: Event) -> bool:
        clean = redactor.data(event) if redactor else event
        with lock:
            builder.feed(clean)
            if observer is not None:
                observer(clean)
        return True  # keep ansible-runner's own event file (scrubbed after the run)

    runner = None
    try:
        runner = ansible_runner.run(
            private_data_dir=str(private_dir),
            ident=ident,
            rotate_artifacts=KEEP_RUNS,
            playbook=str(playbook),
            project_dir=str(resources.playbooks_dir()),
            inventory=str(job.site.path.resolve()),
            limit=job.limit,
            verbosity=job.verbosity or None,
            cmdline=_cmdline(job),
            extravars=job.extravars or None,
            envvars=_environment(job),
            fact_cache=str(facts_dir(job.site.name)),
            suppress_env_files=True,
            quiet=True,
            event_handler=on_event,
        )
    except (OSError, RuntimeError, ValueError) as problem:
        raise EnvironmentProblem(
            f"ansible-runner could not start the {job.verb} run: {problem}.",
            hint="Check that dspace-deploy's Python environment is intact "
            "(reinstall with `pip install -e .`).",
        ) from problem
    finally:
        redactor.scrub_tree(private_dir / "artifacts" / ident)
    artifact_dir = Path(runner.config.artifact_dir)
    if not builder.summary.stats_seen and runner.rc != 0:
        _explain_early_stop(artifact_dir, redactor, job)
    return RunResult(builder.summary, str(runner.status), int(runner.rc or 0), artifact_dir)


def _cmdline(job: Job) -> str:
    parts = ["--vault-password-file", _quote(str(job.site.vault_password_file))]
    if job.check:
        parts.append("--check")
    if job.diff:
        parts.append("--diff")
    if job.tags:
        parts += ["--tags", _quote(",".join(job.tags))]
    return " ".join(parts)


def _environment(job: Job) -> dict[str, str]:
    # ansible-runner starts `ansible-playbook` from PATH: put this interpreter's bin folder
    # first, so a venv or pipx install works without being activated.
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(resources.ansible_cfg()),
        "ANSIBLE_ROLES_PATH": str(resources.roles_dir()),
        # dspace.deploy first; the defaults stay (the venv's site-packages are searched too).
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(
            [str(resources.collections_dir()), "~/.ansible/collections",
             "/usr/share/ansible/collections"]),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(resources.cache_home() / "ssh"),
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
    }


def _quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


def _explain_early_stop(artifact_dir: Path, redactor: Redactor, job: Job) -> None:
    """Ansible stopped before running any play (syntax error, bad option): say why."""
    from dspace_deploy.errors import InputError

    text = ""
    for name in ("stderr", "stdout"):
        path = artifact_dir / name
        if path.exists():
            text += path.read_text(errors="replace")
    lines = [ln.strip() for ln in redactor.text(text).splitlines() if ln.strip()]
    detail = " ".join(lines[-6:]) or "no output"
    raise InputError(
        f"Ansible stopped before running any play of {job.playbook}: {detail}",
        hint=f"Full output: {artifact_dir}/stdout.",
    )
