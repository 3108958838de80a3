"""Workshop labs: N students, each with a DSpace instance of their own, several per host.

`lab up --name W --students N` plans the hosts (ceil(N/K), K instances per host, K from the
host's memory unless given), makes them (podman lab hosts, or cloud VMs through
dspace_deploy.cloud.aws), writes a site inventory with one instance per student (`s01`,
`s02`, ...: its own name under the lab's domain, its own administrator), gives every student
a readable generated password in the lab's ansible-vault, runs the site playbook (which also
seeds the sample content of each instance, once), takes each instance's golden snapshot
(`playbooks/content.yml`, content_action=golden; once per instance, recorded here), and
writes the credentials sheet (credentials.py).

What the workshop is lives next to the lab's own files, in `<labdir>/workshop.json` (no
secret); a rerun with the same shape converges and changes nothing, another shape is refused
before anything is touched. Passwords are only in the vault and in the sheet (0600).
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dspace_deploy import resources
from dspace_deploy.errors import (
    EXIT_HOSTS_FAILED,
    EXIT_INTERRUPTED,
    DeployError,
    EnvironmentProblem,
    InputError,
)
from dspace_deploy.i18n import _, ngettext
from dspace_deploy.lab import labs

if TYPE_CHECKING:
    from dspace_deploy.runner import RunResult
    from dspace_deploy.site import Site

Progress = Callable[[str], None]


class CloudProblem(DeployError):
    """The cloud did not give or take back what the workshop needs (exit 1, as a host)."""

    exit_code = EXIT_HOSTS_FAILED


class NotConfirmed(DeployError):
    exit_code = EXIT_INTERRUPTED

METADATA = "workshop.json"
METADATA_FORMAT = 1
MAX_STUDENTS = 200
CONTENTS = ("sample", "none")
LANGUAGES = ("en", "es")

# Memory, in MiB, that one DSpace instance of a workshop needs on its host, with the real
# release: the backend JVM at the role's smallest heap (512m, roles/dspace_backend
# heap.yml) plus metaspace, threads and code cache (~900 MiB resident), the UI's Node.js
# server-side rendering (~400 MiB) and the handle server (-Xmx256m, ~250 MiB resident).
INSTANCE_MEMORY_MB = 1536
# What a host needs before its first instance: Debian, PostgreSQL (shared_buffers 15% of
# memory), Solr (its smallest heap, 512m) and nginx.
HOST_BASE_MEMORY_MB = 2048
# More instances than this on one host make one `up` of it long and one failure costly.
MAX_PER_HOST = 12
# Memory of the cloud sizes a workshop is likely to use (AWS EC2 instance types, GiB x 1024).
CLOUD_SIZE_MEMORY_MB = {
    "t3.medium": 4096, "t3.large": 8192, "t3.xlarge": 16384, "t3.2xlarge": 32768,
    "t4g.large": 8192, "t4g.xlarge": 16384, "m7g.large": 8192, "m7g.xlarge": 16384,
    "m6i.large": 8192, "m6i.xlarge": 16384, "m6i.2xlarge": 32768, "m6i.4xlarge": 65536,
    "m7i.large": 8192, "m7i.xlarge": 16384, "m7i.2xlarge": 32768,
    "r6i.large": 16384, "r6i.xlarge": 32768, "r6i.2xlarge": 65536,
}
DEFAULT_CLOUD_SIZE = "m6i.2xlarge"
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
PASSWORD_GROUPS = 3  # xxxx-xxxx-xxxx: 12 characters of 31, about 59 bits


# --- the plan (pure) -------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudOptions:
    region: str
    size: str = DEFAULT_CLOUD_SIZE
    admin_cidr: str = ""
    subnet: str | None = None
    data_volume_gb: int = 40


@dataclass(frozen=True)
class Student:
    name: str  # instance name: s01, s02, ...
    host: str  # inventory host name
    slot: int  # port slot on its host
    hostname: str  # public name of the instance
    login: str  # the administrator's e-mail

    @property
    def url(self) -> str:
        return f"https://{self.hostname}/"


@dataclass(frozen=True)
class WorkshopRequest:
    """What the trainer asks for (`lab up --name W --students N ...`), before it is checked
    and planned (plan_workshop)."""

    name: str
    students: int
    per_host: int | None = None  # None: as many as the host's memory holds
    content: str = "sample"
    lang: str = "en"
    os_name: str = labs.DEFAULT_OS
    cloud: CloudOptions | None = None
    domain: str | None = None  # None: <name>.<labs.HOST_DOMAIN>


@dataclass
class WorkshopPlan:
    name: str
    students: int
    per_host: int
    hosts: int
    content: str
    lang: str
    os: str
    domain: str
    cloud: CloudOptions | None = None
    host_memory_mb: int = 0

    @property
    def line(self) -> str:
        return labs.LINE_FOR_OS[self.os]

    @property
    def content_set(self) -> str | None:
        """The inventory's `content` value (h-content's interface), or None for none."""
        return None if self.content == "none" else f"{self.content}-{self.lang}"

    def host_names(self) -> list[str]:
        return [labs.host_name(self.name, index) for index in range(1, self.hosts + 1)]

    def roster(self, hostnames: Mapping[str, str] | None = None) -> list[Student]:
        """Every student, in order, on the host that serves them. `hostnames` (host ->
        the domain its students' names end in) overrides the lab domain (cloud VMs)."""
        width = max(2, len(str(self.students)))
        out = []
        for number in range(1, self.students + 1):
            host = labs.host_name(self.name, (number - 1) // self.per_host + 1)
            name = f"s{number:0{width}d}"
            domain = (hostnames or {}).get(host, self.domain)
            out.append(Student(name=name, host=host, slot=(number - 1) % self.per_host,
                               hostname=f"{name}.{domain}", login=f"{name}@{self.domain}"))
        return out

    def shape(self) -> dict[str, Any]:
        """What must be equal for a rerun to be the same workshop."""
        return {"students": self.students, "per_host": self.per_host, "hosts": self.hosts,
                "content": self.content, "lang": self.lang, "os": self.os,
                "domain": self.domain, "cloud": asdict(self.cloud) if self.cloud else None}

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.shape(), "line": self.line,
                "host_memory_mb": self.host_memory_mb}


def fits_per_host(memory_mb: int) -> int:
    """How many workshop instances a host with `memory_mb` MiB holds (at most MAX_PER_HOST)."""
    return max(0, min(MAX_PER_HOST, (memory_mb - HOST_BASE_MEMORY_MB) // INSTANCE_MEMORY_MB))


def plan_workshop(request: WorkshopRequest, *, host_memory_mb: int) -> WorkshopPlan:
    """The workshop's shape, or an InputError that says what is wrong and how to fix it."""
    _check_choices(request)
    hosts, per_host = _spread(request.students, request.per_host, host_memory_mb)
    if request.cloud is not None and not request.cloud.admin_cidr:
        raise InputError(_("A cloud workshop needs --admin-cidr."),
                         hint=_("Give the address range SSH is opened to, e.g. the "
                                "trainer's own address: --admin-cidr 203.0.113.7/32."))
    name = request.name
    return WorkshopPlan(name=name, students=request.students, per_host=per_host, hosts=hosts,
                        content=request.content, lang=request.lang, os=request.os_name,
                        domain=request.domain or f"{name}.{labs.HOST_DOMAIN}",
                        cloud=request.cloud, host_memory_mb=host_memory_mb)


def _check_choices(request: WorkshopRequest) -> None:
    """The name, the number of students, the content, its language and the OS."""
    labs.validate_name(request.name)
    students, content, lang = request.students, request.content, request.lang
    if not 1 <= students <= MAX_STUDENTS:
        raise InputError(
            _("A workshop has 1 to {most} students, not {students}.").format(
                most=MAX_STUDENTS, students=students),
            hint=_("Give --students a number from 1 to {most}.").format(most=MAX_STUDENTS))
    if content not in CONTENTS:
        raise InputError(_("Unknown content {content}.").format(content=repr(content)),
                         hint=_("Choose `sample` or `none`."))
    if lang not in LANGUAGES:
        raise InputError(_("No sample content in language {lang}.").format(lang=repr(lang)),
                         hint=_("Choose `en` or `es`."))
    if request.os_name not in labs.LINE_FOR_OS:
        raise InputError(_("Unknown lab OS: {names}.").format(names=request.os_name),
                         hint=_("Choose from: {names}.").format(
                             names=", ".join(labs.LINE_FOR_OS)))


def _spread(students: int, per_host: int | None, host_memory_mb: int) -> tuple[int, int]:
    """(hosts, instances per host) for `students` on hosts of `host_memory_mb` MiB."""
    fits = fits_per_host(host_memory_mb)
    if fits < 1:
        raise InputError(
            _("A host with {memory} MiB of memory holds no workshop instance: one needs "
              "{base} MiB for the host and {each} MiB per instance.").format(
                  memory=host_memory_mb, base=HOST_BASE_MEMORY_MB, each=INSTANCE_MEMORY_MB),
            hint=_("Use larger hosts (--size with --cloud)."))
    if per_host is None:
        per_host = min(fits, students)
    elif per_host < 1 or per_host > fits:
        raise InputError(
            _("{count} instances per host do not fit a host with {memory} MiB of memory: "
              "each needs {each} MiB, and the host {base} MiB of its own, so at most {fits} "
              "fit.").format(count=per_host, memory=host_memory_mb, each=INSTANCE_MEMORY_MB,
                             base=HOST_BASE_MEMORY_MB, fits=fits),
            hint=_("Give --per-host from 1 to {fits}, or leave it out (then it is {fits}).")
            .format(fits=fits))
    hosts = math.ceil(students / per_host)
    if hosts > labs.MAX_HOSTS:
        raise InputError(
            _("{students} students at {per_host} per host need {hosts} hosts; a lab has at "
              "most {most}.").format(students=students, per_host=per_host, hosts=hosts,
                                     most=labs.MAX_HOSTS),
            hint=_("Put more students on each host (--per-host, larger hosts)."))
    # spread evenly: 20 at 12 -> 10 + 10, not 12 + 8
    return hosts, math.ceil(students / hosts)


def host_memory(cloud: CloudOptions | None) -> int:
    """MiB of memory one host of the workshop has: the cloud size's, or (podman lab hosts
    share the controller's memory) this controller's."""
    if cloud is not None:
        memory = CLOUD_SIZE_MEMORY_MB.get(cloud.size)
        if memory is None:
            raise InputError(
                _("dspace-deploy does not know the memory of size {size}.").format(
                    size=repr(cloud.size)),
                hint=_("Choose one of: {sizes}.").format(
                    sizes=", ".join(sorted(CLOUD_SIZE_MEMORY_MB))))
        return memory
    return controller_memory_mb()


def controller_memory_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise EnvironmentProblem(_("/proc/meminfo does not give the memory of this controller."))


def generate_student_password() -> str:
    """A password read off a printed card and typed by a student: xxxx-xxxx-xxxx from an
    alphabet without look-alike characters (DSpace's default rule: 8 characters or more,
    authentication-password.cfg@dspace-9.3:54)."""
    groups = ("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4))
              for _ in range(PASSWORD_GROUPS))
    return "-".join(groups)


def instance_vars(plan: WorkshopPlan, student: Student) -> dict[str, Any]:
    """The student's entry in its host's dspace_instances."""
    item: dict[str, Any] = {
        "name": student.name,
        "hostname": student.hostname,
        "line": plan.line,
        "admin_email": student.login,
        "port_slot": student.slot,
    }
    if plan.content_set is not None:
        item["content"] = plan.content_set
    return item


# --- the record of a workshop ----------------------------------------------------------------


@dataclass
class Record:
    """`<labdir>/workshop.json`: the workshop's shape and what was done (no secret)."""

    plan: dict[str, Any]
    golden: list[str] = field(default_factory=list)  # instances with a golden snapshot
    cloud_hosts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(cls, directory: Path) -> Record | None:
        path = directory / METADATA
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            return cls(plan=data["plan"], golden=list(data.get("golden", [])),
                       cloud_hosts=list(data.get("cloud_hosts", [])))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(
                _("The workshop record {path} cannot be read ({error}).").format(
                    path=path, error=error),
                hint=_("Remove the lab with `{command}`.").format(
                    command=f"dspace-deploy lab down {directory.name}")) from error

    def write(self, directory: Path) -> None:
        path = directory / METADATA
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"format": METADATA_FORMAT, **asdict(self)},
                                        indent=2) + "\n")
        temporary.replace(path)


def plan_from_record(name: str, record: Record) -> WorkshopPlan:
    shape = record.plan
    cloud = CloudOptions(**shape["cloud"]) if shape.get("cloud") else None
    return WorkshopPlan(name=name, students=shape["students"], per_host=shape["per_host"],
                        hosts=shape["hosts"], content=shape["content"], lang=shape["lang"],
                        os=shape["os"], domain=shape["domain"], cloud=cloud,
                        host_memory_mb=int(shape.get("host_memory_mb", 0)))


def check_no_clash(plan: WorkshopPlan) -> Record | None:
    """The record of the same workshop (a rerun), None for a new one; refuses a lab of that
    name that is no workshop or another shape, before anything is touched."""
    directory = labs.lab_dir(plan.name)
    record = Record.read(directory)
    if record is None:
        if directory.exists() or (plan.cloud is None and _has_containers(plan.name)):
            raise InputError(
                _("A lab named {name} exists and is not a workshop.").format(
                    name=repr(plan.name)),
                hint=_("Choose another --name, or remove it first with `{command}`.").format(
                    command=f"dspace-deploy lab down {plan.name}"))
        return None
    have = {key: record.plan.get(key) for key in plan.shape()}
    if have != plan.shape():
        differs = ", ".join(f"{key} {have[key]} -> {value}"
                            for key, value in plan.shape().items() if have[key] != value)
        raise InputError(
            _("Workshop {name} already exists with another shape ({differs}).").format(
                name=repr(plan.name), differs=differs),
            hint=_("Rerun with the shape it has, or remove it first with `{command}`.")
            .format(command=f"dspace-deploy lab down {plan.name}"))
    return record


def _has_containers(name: str) -> bool:
    from dspace_deploy.lab import podman

    return bool(podman.lab_containers(name))


# --- inventory and vault ---------------------------------------------------------------------


def give_passwords(vault_file: Path, password_file: Path, site_name: str,
                   names: Sequence[str]) -> list[str]:
    """Give each student instance a readable administrator password in the vault (keeping
    any it has) and drop the entries of instances that are no student (the lab's default
    `repo`). Returns the names that got a new password."""
    from dspace_deploy.inventory import vault

    data = vault.read_vault(vault_file, password_file) if vault_file.exists() else {}
    table = data.get("vault_instance_secrets")
    if not isinstance(table, dict):
        table = data["vault_instance_secrets"] = {}
    stale = [key for key in table if key not in names]
    added = []
    for name in names:
        entry = table.get(name)
        if not isinstance(entry, dict):
            entry = table[name] = {}
        if not entry.get("admin_password"):
            entry["admin_password"] = generate_student_password()
            added.append(name)
    for key in stale:
        del table[key]
    if added or stale:
        if not password_file.exists():
            vault.write_password_file(password_file)
        vault.write_vault(vault_file, data, vault.read_password(password_file), site_name)
    return added


def write_inventory(plan: WorkshopPlan, inventory: Path, password_file: Path,
                    host_vars: Mapping[str, dict[str, Any]],
                    extra_vars: Mapping[str, Any] | None = None,
                    hostnames: Mapping[str, str] | None = None) -> list[Student]:
    """(Re)write the workshop's site inventory: the hosts with their connection variables
    (`host_vars`), each with the instances of its students. Existing secrets are kept."""
    import yaml

    from dspace_deploy.inventory.loader import VAULT_REL
    from dspace_deploy.inventory.scaffold import create_site
    from dspace_deploy.lab import inventory as lab_inventory
    from dspace_deploy.site import HostEntry, SiteAnswers

    roster = plan.roster(hostnames)
    site_name = lab_inventory.site_name(plan.name)
    give_passwords(inventory / VAULT_REL, password_file, site_name,
                   [student.name for student in roster])
    if extra_vars:
        extra = inventory / lab_inventory.LAB_VARS
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text("---\n" + yaml.safe_dump(dict(extra_vars), sort_keys=False))
    entries = [
        HostEntry(name=host, vars={
            **host_vars[host],
            "dspace_instances": [instance_vars(plan, s) for s in roster if s.host == host],
        })
        for host in plan.host_names()
    ]
    create_site(inventory, SiteAnswers(site_name=site_name, instances=[]), entries,
                vault_password_file=password_file, overwrite=True)
    password_file.chmod(0o600)
    return roster


def student_passwords(site: Site, names: Sequence[str]) -> dict[str, str]:
    """The administrator password of each student (from the vault; for the sheet only)."""
    from dspace_deploy.inventory import vault

    data = vault.read_vault(site.vault_file, site.vault_password_file)
    table = data.get("vault_instance_secrets") or {}
    missing = [name for name in names if not (table.get(name) or {}).get("admin_password")]
    if missing:
        raise InputError(
            _("The lab's vault has no administrator password for {names}.").format(
                names=", ".join(missing)),
            hint=_("Run `{command}` again: it gives every student one.").format(
                command=f"dspace-deploy lab up --name {site.name.removeprefix('lab-')}"))
    return {name: str(table[name]["admin_password"]) for name in names}


# --- running -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What `lab up` or `lab reset` did, for the CLI (no secret)."""

    name: str
    inventory: Path
    students: list[Student]
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # verb -> summary
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> wall time
    sheet: dict[str, Path] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # students whose host failed
    ok: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "name": self.name,
            "inventory": str(self.inventory),
            "students": [{"name": s.name, "host": s.host, "url": s.url, "login": s.login,
                          "ok": s.name not in self.failed} for s in self.students],
            "runs": self.runs,
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "credentials": {k: str(v) for k, v in self.sheet.items()},
        }


def run_playbook(verb: str, playbook: str, site: Site, *, limit: str | None = None,
                 extravars: dict[str, Any] | None = None,
                 observer: Callable[[Any], None] | None = None) -> RunResult:
    from dspace_deploy.runner import Job, run

    return run(Job(verb, playbook, site, limit=limit, extravars=extravars or {}),
               observer=observer)


def _summary(result: RunResult) -> dict[str, Any]:
    return {"status": result.status, "rc": result.rc, "changed": result.summary.changed,
            "artifacts": str(result.artifact_dir), **result.summary.as_dict()}


def _failed_hosts(result: RunResult) -> set[str]:
    bad = {name for name, stats in result.summary.hosts.items() if not stats.healthy}
    if result.rc != 0 and not result.summary.stats_seen:
        bad.add("*")
    return bad


def lab_up(
    request: WorkshopRequest,
    *,
    artifacts: str | None = None,
    confirm: Callable[[WorkshopPlan, Any], bool] | None = None,
    preload: Mapping[str, Sequence[str]] | None = None,
    progress: Progress | None = None,
    observer: Callable[[Any], None] | None = None,
) -> Outcome:
    """Bring up the workshop `request` asks for (or converge it again). Raises InputError
    before touching anything when the shape is wrong."""
    say = progress or (lambda _message: None)
    plan, record, cloud_plan = _prepare(request, confirm)
    started = time.monotonic()
    hosts = _make_hosts(plan, record, cloud_plan, preload, say)
    timings = {"hosts": time.monotonic() - started}
    roster = write_inventory(plan, *hosts)
    site = _load(hosts.inventory, hosts.password_file)
    run = _Run(site=site, say=say, observer=observer, outcome=Outcome(
        name=plan.name, inventory=hosts.inventory, students=roster, seconds=timings))
    extravars = _bundle_vars(site, artifacts)
    say(ngettext("deploying {count} instance", "deploying {count} instances",
                 len(roster)).format(count=len(roster)))
    run.playbook("up", "up", "site.yml", extravars)
    if run.outcome.ok:
        _take_golden(plan, record, run)
    _write_sheet(plan, run)
    timings["total"] = time.monotonic() - started
    return run.outcome


class _Hosts(NamedTuple):
    """The hosts of a workshop, made, as write_inventory takes them."""

    inventory: Path
    password_file: Path
    host_vars: dict[str, dict[str, Any]]
    extra_vars: dict[str, Any] | None
    hostnames: dict[str, str] | None  # host -> its students' domain (cloud VMs)


@dataclass
class _Run:
    """The playbooks of one `lab up`: where they run, whom they tell, what they did."""

    site: Site
    say: Progress
    observer: Callable[[Any], None] | None
    outcome: Outcome
    failed: set[str] = field(default_factory=set)  # hosts that failed ("*": all of them)

    def playbook(self, phase: str, verb: str, playbook: str,
                 extravars: dict[str, Any]) -> set[str]:
        """Run `playbook`, note it under `phase`; the hosts it failed on."""
        mark = time.monotonic()
        result = run_playbook(verb, playbook, self.site, extravars=extravars,
                              observer=self.observer)
        self.outcome.seconds[phase] = time.monotonic() - mark
        self.outcome.runs[phase] = _summary(result)
        bad = _failed_hosts(result)
        self.failed |= bad
        self.outcome.ok = self.outcome.ok and result.summary.ok and result.rc == 0
        return bad

    def lost(self, student: Student, failed: set[str] | None = None) -> bool:
        """Whether the student's host failed (in `failed`, by default in any run)."""
        failed = self.failed if failed is None else failed
        return student.host in failed or "*" in failed


def _prepare(request: WorkshopRequest, confirm: Callable[[WorkshopPlan, Any], bool] | None,
             ) -> tuple[WorkshopPlan, Record, Any]:
    """The plan, the record (an earlier one on a rerun) and the cloud plan (None for podman
    hosts), once everything is checked and the trainer agreed; nothing is touched yet."""
    plan = plan_workshop(request, host_memory_mb=host_memory(request.cloud))
    _require_content_support(plan)
    record = check_no_clash(plan)
    cloud_plan = _cloud_plan(plan) if plan.cloud is not None else None
    if confirm is not None and not confirm(plan, cloud_plan):
        raise NotConfirmed(_("Nothing was done."))
    return plan, record or Record(plan=plan.as_dict()), cloud_plan


def _make_hosts(plan: WorkshopPlan, record: Record, cloud_plan: Any,
                preload: Mapping[str, Sequence[str]] | None, say: Progress) -> _Hosts:
    if cloud_plan is not None:
        hosts = _cloud_hosts(plan, cloud_plan, record, say)
    else:
        hosts = _podman_hosts(plan, preload, say)
    record.write(labs.lab_dir(plan.name))
    return hosts


def _take_golden(plan: WorkshopPlan, record: Record, run: _Run) -> None:
    """The golden snapshot of each student instance that has none yet (content sample)."""
    roster = run.outcome.students
    todo = [s.name for s in roster
            if plan.content_set is not None and s.name not in record.golden
            and not run.lost(s)]
    if not todo:
        return
    run.say(ngettext("taking the golden snapshot of {count} instance",
                     "taking the golden snapshot of {count} instances",
                     len(todo)).format(count=len(todo)))
    bad = run.playbook("golden", "lab-golden", "content.yml",
                       {"content_action": "golden", "content_instances": todo})
    record.golden = sorted({*record.golden, *(
        s.name for s in roster if s.name in todo and not run.lost(s, bad))})
    record.write(labs.lab_dir(plan.name))


def _write_sheet(plan: WorkshopPlan, run: _Run) -> None:
    from dspace_deploy.lab import credentials

    roster = run.outcome.students
    run.outcome.sheet = credentials.write_sheet(
        labs.lab_dir(plan.name), plan.name, roster,
        student_passwords(run.site, [s.name for s in roster]))
    run.outcome.failed = [s.name for s in roster if run.lost(s)]


def _require_content_support(plan: WorkshopPlan) -> None:
    """Sample content needs the `content` instance option (role dspace_content)."""
    if plan.content_set is None:
        return
    from dspace_deploy.inventory.specs import load_catalog

    option = load_catalog().get("dspace_instances")
    playbook = resources.playbooks_dir() / "content.yml"
    if option is None or "content" not in option.options or not playbook.is_file():
        raise EnvironmentProblem(
            _("This dspace-deploy has no sample content support (the `content` instance "
              "option and playbooks/content.yml)."),
            hint=_("Use --content none, or a dspace-deploy with the dspace_content role."))


def _load(inventory: Path, password_file: Path) -> Site:
    from dspace_deploy.inventory.validate import load_site

    return load_site(inventory, password_file)


def _bundle_vars(site: Site, artifacts: str | None) -> dict[str, Any]:
    from dspace_deploy.bundles import bundle_vars, resolve_bundles

    return bundle_vars(resolve_bundles(site, artifacts))


def _podman_hosts(plan: WorkshopPlan, preload: Mapping[str, Sequence[str]] | None,
                  say: Progress) -> _Hosts:
    from dspace_deploy.lab import inventory as lab_inventory

    lab = labs.create_lab(name=plan.name, hosts=plan.hosts, oses=[plan.os],
                          connection="ssh", progress=say, preload=preload)
    host_vars = {host.name: labs.host_vars(lab, host) for host in lab.hosts}
    return _Hosts(lab.inventory, lab.vault_password_file, host_vars,
                  lab_inventory.group_vars(lab), None)


# --- cloud ---------------------------------------------------------------------------------


def _cloud_plan(plan: WorkshopPlan) -> Any:
    from dspace_deploy.cloud import aws
    from dspace_deploy.lab import inventory as lab_inventory

    assert plan.cloud is not None
    return aws.plan(lab_inventory.site_name(plan.name), count=plan.hosts, size=plan.cloud.size,
                    region=plan.cloud.region, subnet=plan.cloud.subnet,
                    admin_cidr=plan.cloud.admin_cidr,
                    data_volume_gb=plan.cloud.data_volume_gb,
                    key_path=labs.lab_dir(plan.name) / "id_ed25519",
                    names=plan.host_names())


def cloud_key(directory: Path) -> Path:
    """The workshop's SSH key, made before `apply` imports its public half (KEY.pub)."""
    key = directory / "id_ed25519"
    if not key.is_file():
        import subprocess

        directory.mkdir(parents=True, mode=0o700, exist_ok=True)
        key.with_suffix(".pub").unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                        f"dspace-deploy workshop {directory.name}", "-f", str(key)],
                       check=True, capture_output=True)
    key.chmod(0o600)
    return key


def _cloud_hosts(plan: WorkshopPlan, cloud_plan: Any, record: Record,
                 say: Progress) -> _Hosts:
    from dspace_deploy.cloud import aws

    directory = labs.lab_dir(plan.name)
    directory.mkdir(parents=True, mode=0o700, exist_ok=True)
    record.write(directory)  # before anything is created: `lab down` finds it
    key = cloud_key(directory)  # the plan names it; apply imports its public half
    made = {host.name: host for host in aws.apply(cloud_plan, progress=say)}
    names = plan.host_names()
    if sorted(made) != sorted(names):
        raise CloudProblem(
            _("The cloud gave {got} hosts for workshop {name}, not {want}.").format(
                got=len(made), name=plan.name, want=len(names)),
            hint=_("See `{command}`, then rerun or remove it with `{down}`.").format(
                command="dspace-deploy cloud list", down=f"dspace-deploy lab down {plan.name}"))
    # apply() records the VMs' host keys where the plan says (h-cloud: known_hosts per site)
    known_hosts = getattr(cloud_plan, "known_hosts", None) or directory / "known_hosts"
    host_vars: dict[str, dict[str, Any]] = {}
    hostnames: dict[str, str] = {}
    for name in names:
        host = made[name]
        host_vars[name] = {
            "ansible_host": host.public_address,
            "ansible_user": host.user,
            "ansible_become": True,
            "ansible_ssh_private_key_file": str(key),
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={known_hosts} "
                "-o StrictHostKeyChecking=accept-new"),
        }
        # Without a domain of the trainer's, names that resolve to the host's address
        # (nip.io answers a.b.c.d.nip.io with a.b.c.d).
        if plan.domain == f"{plan.name}.{labs.HOST_DOMAIN}":
            hostnames[name] = f"{host.public_address}.nip.io"
    record.cloud_hosts = [{"host": name, "instance_id": made[name].instance_id,
                           "address": made[name].public_address} for name in names]
    password_file = resources.vault_password_file(f"lab-{plan.name}")
    return _Hosts(directory / "inventory", password_file, host_vars, None, hostnames)


# --- reset, credentials, down ---------------------------------------------------------------


def open_workshop(name: str) -> tuple[WorkshopPlan, Record, Site, list[Student]]:
    """An existing workshop: its plan, record, site and students (as the inventory has them)."""
    labs.validate_name(name)
    directory = labs.lab_dir(name)
    record = Record.read(directory)
    if record is None:
        raise InputError(
            _("There is no workshop named {name}.").format(name=repr(name)),
            hint=_("Create it with `{command}`.").format(
                command=f"dspace-deploy lab up --name {name} --students N"))
    plan = plan_from_record(name, record)
    site = _load(directory / "inventory", resources.vault_password_file(f"lab-{name}"))
    return plan, record, site, roster_of(site)


def roster_of(site: Site) -> list[Student]:
    """The students as the inventory has them (host, slot, name, login)."""
    out = []
    for host in site.hosts:
        for item in site.hostvars[host].get("dspace_instances") or []:
            out.append(Student(name=item["name"], host=host, slot=int(item.get("port_slot", 0)),
                               hostname=item["hostname"], login=item["admin_email"]))
    return sorted(out, key=lambda s: s.name)


def chosen_students(roster: Sequence[Student], names: Sequence[str]) -> list[Student]:
    if not names:
        return list(roster)
    known = {s.name: s for s in roster}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(
            _("No student {names} in this workshop.").format(names=", ".join(unknown)),
            hint=_("Its students are {first} to {last}.").format(
                first=roster[0].name, last=roster[-1].name))
    return [known[n] for n in dict.fromkeys(names)]


def lab_reset(name: str, students: Sequence[str] = (), *,
              observer: Callable[[Any], None] | None = None,
              progress: Progress | None = None) -> Outcome:
    """Back to golden: `playbooks/content.yml` content_action=reset for the chosen students
    (all by default), on their hosts only."""
    say = progress or (lambda _message: None)
    plan, record, site, roster = open_workshop(name)
    chosen = chosen_students(roster, students)
    if plan.content_set is None:
        raise InputError(_("Workshop {name} has no content to reset to.").format(
            name=repr(name)), hint=_("Only a workshop made with --content sample has a "
                                     "golden snapshot."))
    without = [s.name for s in chosen if s.name not in record.golden]
    if without:
        raise InputError(
            _("No golden snapshot was taken of {names}.").format(names=", ".join(without)),
            hint=_("Run `{command}` again first: it takes the missing ones.").format(
                command=f"dspace-deploy lab up --name {name} ..."))
    hosts = sorted({s.host for s in chosen})
    say(ngettext("resetting {count} instance", "resetting {count} instances",
                 len(chosen)).format(count=len(chosen)))
    mark = time.monotonic()
    result = run_playbook("lab-reset", "content.yml", site, limit=",".join(hosts),
                          observer=observer,
                          extravars={"content_action": "reset",
                                     "content_instances": [s.name for s in chosen]})
    outcome = Outcome(name=name, inventory=site.path, students=chosen,
                      seconds={"reset": time.monotonic() - mark})
    outcome.runs["reset"] = _summary(result)
    bad = _failed_hosts(result)
    outcome.failed = [s.name for s in chosen if s.host in bad or "*" in bad]
    outcome.ok = result.summary.ok and result.rc == 0
    return outcome


def write_credentials(name: str, out: Path | None = None) -> dict[str, Path]:
    from dspace_deploy.lab import credentials

    _plan, _record, site, roster = open_workshop(name)
    return credentials.write_sheet(out or labs.lab_dir(name), name, roster,
                                   student_passwords(site, [s.name for s in roster]))


def is_workshop(name: str) -> bool:
    return (labs.lab_dir(name) / METADATA).is_file()


def lab_down(name: str, progress: Progress | None = None) -> dict[str, Any]:
    """Remove a workshop: its cloud resources (h-cloud's destroy, by the site's tags) or its
    containers, then its directory and vault password file."""
    labs.validate_name(name)
    directory = labs.lab_dir(name)
    record = Record.read(directory)
    removed: dict[str, Any] = {"name": name, "containers": [], "cloud": None}
    if record is not None and record.plan.get("cloud"):
        from dspace_deploy.cloud import aws
        from dspace_deploy.lab import inventory as lab_inventory

        report = aws.destroy(lab_inventory.site_name(name), record.plan["cloud"]["region"],
                             progress=progress)
        removed["cloud"] = _plain(report)
        if getattr(report, "ok", True) is False:  # keep the record: `lab down` again retries
            raise CloudProblem(
                _("Some cloud resources of workshop {name} could not be deleted: {what}.")
                .format(name=name, what=json.dumps(removed["cloud"].get("failed")
                                                   if isinstance(removed["cloud"], dict)
                                                   else removed["cloud"], default=str)),
                hint=_("Run `{command}` again; `{list}` shows what is left.").format(
                    command=f"dspace-deploy lab down {name}",
                    list="dspace-deploy cloud list"))
        import shutil

        shutil.rmtree(directory, ignore_errors=False)
        labs.lab_vault_password_file(name).unlink(missing_ok=True)
        return removed
    removed["containers"] = labs.destroy_lab(name)
    return removed


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)
