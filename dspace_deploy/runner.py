"""The one module that talks to ansible-runner.

A verb describes its work as a `Job`; `run()` executes it with ansible-runner's Python API,
streams every event (secrets masked) to an observer, builds the `RunSummary`, keeps the
artifacts in a rotated run directory, and scrubs any secret that reached them.

Ansible gets only the environment the run needs (`passed_environment`): ansible-runner would
pass the caller's whole environment, and save it in every run's `command` artifact (and
Ansible in the fact cache, for a local connection), so an exported AWS_SECRET_ACCESS_KEY or
token would land on disk twenty runs deep. The state directory holding runs and facts is
private to the user (directories 0700, files 0600).
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dspace_deploy import resources
from dspace_deploy.errors import EnvironmentProblem, InputError
from dspace_deploy.events import Event, RunSummary, SummaryBuilder
from dspace_deploy.i18n import _
from dspace_deploy.redact import Redactor
from dspace_deploy.site import Site

KEEP_RUNS = 20

# What Ansible gets from the caller's environment; everything else stays out of the run.
PASSED_VARIABLES = frozenset({
    "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
    # SSH: the agent holding the keys; Kerberos (GSSAPI) credentials, a file name
    "SSH_AUTH_SOCK", "KRB5CCNAME",
    # the XDG directories this toolkit and podman (the lab's connection) use
    "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
    "DBUS_SESSION_BUS_ADDRESS",
    # a remote podman (its socket or connection, the path of its key; not CONTAINER_PASSPHRASE)
    "CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINER_SSHKEY",
    # downloads from the controller: proxies (credentials in them are masked on disk) and CAs
    "http_proxy", "https_proxy", "no_proxy", "all_proxy",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    # AWS: where the credential chain looks (a profile, its files, the region), never the
    # keys themselves (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_REGION", "AWS_DEFAULT_REGION",
})
PASSED_PREFIXES = ("LC_", "CONTAINERS_")  # the locale; podman's configuration files
# Variables ansible-runner sets for its own callback and fact cache (kept even when the
# caller had set them).
RUNNER_VARIABLES = frozenset({
    "ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_RETRY_FILES_ENABLED",
    "ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION",
    "AWX_ISOLATED_DATA_DIR",
})
# More names to pass, for a site that needs them (space- or comma-separated). Their values
# are saved in the run's artifacts like the rest of the environment.
PASS_ENV = "DSPACE_DEPLOY_PASS_ENV"
_PROXIES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")

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
    # heavy: imported only when something runs
    from ansible_runner.exceptions import ConfigurationError
    from ansible_runner.interface import init_runner

    if job.limit is not None and not job.limit.strip():
        # Ansible reads an empty limit as "every host"; the verbs refuse it earlier.
        raise InputError(_("The {verb} run got an empty --limit.").format(verb=job.verb),
                         hint=_("Give a host or group pattern, or no --limit."))
    playbook = resources.playbooks_dir() / job.playbook
    private_dir = runs_dir(job.site.name)
    make_private_state(job.site.name)
    ident = f"{datetime.now():%Y%m%d-%H%M%S-%f}-{job.verb}"
    redactor = Redactor([*job.site.secrets, *_proxy_passwords(os.environ)])
    builder = SummaryBuilder()
    lock = threading.Lock()

    def on_event(event: Event) -> bool:
        clean = redactor.data(event) if redactor else event
        with lock:
            builder.feed(clean)
            if observer is not None:
                observer(clean)
        return True  # keep ansible-runner's own event file (scrubbed after the run)

    own = _environment(job)
    runner = None
    try:
        runner = init_runner(
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
            envvars=own,
            fact_cache=str(facts_dir(job.site.name)),
            suppress_env_files=True,
            quiet=True,
            event_handler=on_event,
        )
        runner.config.env = passed_environment(runner.config.env, dict(os.environ), own)
        runner.run()
    except (OSError, RuntimeError, ValueError, ConfigurationError) as problem:
        raise EnvironmentProblem(
            _("ansible-runner could not start the {verb} run: {error}.").format(verb=job.verb,
                                                                              error=problem),
            hint=_("Check that dspace-deploy's Python environment is intact (reinstall with "
                   "`pip install -e .`)."),
        ) from problem
    finally:
        for written in (private_dir / "artifacts" / ident, facts_dir(job.site.name)):
            redactor.scrub_tree(written)
            _make_private(written)  # Ansible writes the fact cache with the umask
    artifact_dir = Path(runner.config.artifact_dir)
    if not builder.summary.stats_seen and runner.rc != 0:
        _explain_early_stop(artifact_dir, redactor, job)
    return RunResult(builder.summary, str(runner.status), int(runner.rc or 0), artifact_dir)


def passed_environment(prepared: dict[str, str], caller: dict[str, str],
                       own: dict[str, str]) -> dict[str, str]:
    """The environment of the run: ansible-runner's `prepared` one (the caller's, with the
    toolkit's `own` variables and ansible-runner's on top) without what the caller had that
    the run does not need."""
    extra = set(os.environ.get(PASS_ENV, "").replace(",", " ").split())

    def needed(name: str) -> bool:
        return (name in own or name in RUNNER_VARIABLES or name not in caller
                or name in PASSED_VARIABLES or name.startswith(PASSED_PREFIXES)
                or name in extra)

    return {name: value for name, value in prepared.items() if needed(name)}


def _proxy_passwords(environ: Mapping[str, str]) -> list[str]:
    """Passwords inside proxy URLs (http://user:password@proxy:3128): passed to Ansible,
    masked in the artifacts."""
    from urllib.parse import urlsplit

    found = []
    for name in _PROXIES:
        try:
            password = urlsplit(environ.get(name, "")).password
        except ValueError:
            continue
        if password:
            found.append(password)
    return found


def make_private_state(site_name: str) -> None:
    """The state directory and the site's run and fact directories exist and are private;
    a state directory others could enter (made by an older dspace-deploy) is tightened
    whole."""
    state = resources.state_home()
    opened = state.exists() and stat.S_IMODE(state.stat().st_mode) & 0o077
    own = (state, state / site_name, runs_dir(site_name), runs_dir(site_name) / "artifacts",
           facts_dir(site_name))
    for directory in own:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if opened:
        _make_private(state)
    for directory in own:
        directory.chmod(0o700)


def _make_private(root: Path) -> None:
    """Directories 0700 and files 0600 under `root` (symbolic links left alone)."""
    if not root.is_dir():
        return
    root.chmod(0o700)
    for top, directories, files in os.walk(root):
        for name in directories:
            path = os.path.join(top, name)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
        for name in files:
            path = os.path.join(top, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


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
        # ansible-runner turns host key checking off unless the caller sets it; a changed
        # host key must stop the run. ansible.cfg's ssh_args accept a new host's key on first
        # contact (StrictHostKeyChecking=accept-new) and refuse a changed one.
        "ANSIBLE_HOST_KEY_CHECKING": "True",
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
    detail = " ".join(lines[-6:]) or _("no output")
    raise InputError(
        _("Ansible stopped before running any play of {playbook}: {detail}").format(
            playbook=job.playbook, detail=detail),
        hint=_("Full output: {path}.").format(path=f"{artifact_dir}/stdout"),
    )
