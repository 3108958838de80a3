"""Workshop labs without hosts: planning, refusals, the inventory and vault, the credentials
sheet, the orchestration of `lab up` / `lab reset` / `lab down` over fake hosts and runs,
and that no password reaches --json or stdout."""

from __future__ import annotations

import csv
import io
import json
import re
import stat
import sys
import types
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.cli import main
from dspace_deploy.errors import DeployError, InputError
from dspace_deploy.events import HostStats, RunSummary
from dspace_deploy.lab import credentials, labs, workshop
from dspace_deploy.runner import RunResult

GIB = 1024


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    monkeypatch.delenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setattr(workshop, "_has_containers", lambda name: False)


def plan(students: int = 3, *, host_memory_mb: int = 24 * GIB,
         **kwargs: Any) -> workshop.WorkshopPlan:
    return workshop.plan_workshop(workshop.WorkshopRequest("ws", students, **kwargs),
                                  host_memory_mb=host_memory_mb)


def lab_up(students: int = 3, per_host: int = 2) -> workshop.Outcome:
    return workshop.lab_up(workshop.WorkshopRequest("ws", students, per_host=per_host))


@dataclass
class Done:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    """`dspace-deploy ARGS` in this process, through main() (its error handling included)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def invoke(self, args: list[str]) -> Done:
        self.monkeypatch.setattr(sys, "argv", ["dspace-deploy", *args])
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        out, err = self.capsys.readouterr()
        return Done(int(exited.value.code or 0), out, err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(capsys, monkeypatch)


# --- planning --------------------------------------------------------------------------------


def test_default_per_host_comes_from_memory_and_spreads_students_evenly() -> None:
    # 24 GiB: (24576 - 2048) // 1536 = 14 fit; 20 students -> 2 hosts of 10, not 14 + 6
    twenty = plan(20)
    assert workshop.fits_per_host(24 * GIB) == 12  # capped at MAX_PER_HOST
    assert (twenty.hosts, twenty.per_host) == (2, 10)
    assert workshop.fits_per_host(8 * GIB) == 4  # t3.large / m6i.large
    assert workshop.fits_per_host(32 * GIB) == 12
    one = plan(1)
    assert (one.hosts, one.per_host) == (1, 1)


def test_roster_three_students_two_per_host() -> None:
    shape = plan(3, per_host=2)
    assert (shape.hosts, shape.per_host) == (2, 2)
    roster = shape.roster()
    assert [(s.name, s.host, s.slot) for s in roster] == [
        ("s01", "ws-1", 0), ("s02", "ws-1", 1), ("s03", "ws-2", 0)]
    assert roster[0].hostname == "s01.ws.lab.test"
    assert roster[0].url == "https://s01.ws.lab.test/"
    assert roster[0].login == "s01@ws.lab.test"
    assert [s.name for s in plan(120, per_host=12).roster()][-1] == "s120"


def test_instance_vars_carry_the_content_set_of_the_shared_interface() -> None:
    shape = plan(2, lang="es")
    item = workshop.instance_vars(shape, shape.roster()[1])
    assert item == {"name": "s02", "hostname": "s02.ws.lab.test", "line": "9",
                    "admin_email": "s02@ws.lab.test", "port_slot": 1, "content": "sample-es"}
    bare = plan(2, content="none")
    assert "content" not in workshop.instance_vars(bare, bare.roster()[0])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"students": 0}, "1 to 200 students, not 0"),
    ({"students": -3}, "not -3"),
    ({"students": 3, "per_host": 20}, "20 instances per host do not fit a host with 24576 MiB"),
    ({"students": 3, "per_host": 0}, "0 instances per host do not fit"),
    ({"students": 3, "host_memory_mb": 3000}, "holds no workshop instance"),
    ({"students": 200, "per_host": 2}, "need 100 hosts; a lab has at most 50"),
    ({"students": 3, "content": "demo"}, "Unknown content"),
    ({"students": 3, "lang": "fr"}, "language 'fr'"),
])
def test_wrong_shapes_are_refused_with_a_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        plan(**kwargs)
    assert message in str(caught.value)
    assert caught.value.hint


def test_bad_name_and_cloud_without_admin_cidr_are_refused() -> None:
    with pytest.raises(InputError, match="Invalid lab name"):
        workshop.plan_workshop(workshop.WorkshopRequest("Bad Name", 3),
                               host_memory_mb=24 * GIB)
    with pytest.raises(InputError, match="--admin-cidr"):
        plan(3, host_memory_mb=16 * GIB, cloud=workshop.CloudOptions(region="sa-east-1"))
    with pytest.raises(InputError, match=r"memory of size 'x9\.huge'"):
        workshop.host_memory(workshop.CloudOptions(region="r", size="x9.huge"))
    assert workshop.host_memory(workshop.CloudOptions(region="r", size="t3.large")) == 8192


def test_student_passwords_are_readable_and_valid_for_the_vault() -> None:
    seen = {workshop.generate_student_password() for _ in range(200)}
    assert len(seen) == 200
    for value in seen:
        assert re.fullmatch(r"[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}", value)
        assert re.fullmatch(r"[^\s'\"\\$,]{8,}", value)  # the spec's admin_password pattern


# --- clashes ---------------------------------------------------------------------------------


def test_a_lab_that_is_no_workshop_or_has_another_shape_is_refused() -> None:
    shape = plan(3, per_host=2)
    assert workshop.check_no_clash(shape) is None  # nothing there: new
    labs.lab_dir("ws").mkdir(parents=True)
    with pytest.raises(InputError, match="exists and is not a workshop") as caught:
        workshop.check_no_clash(shape)
    assert "lab down ws" in str(caught.value)
    workshop.Record(plan=shape.as_dict()).write(labs.lab_dir("ws"))
    assert workshop.check_no_clash(shape) is not None  # the same: a rerun
    with pytest.raises(InputError, match=r"another shape \(students 3 -> 4\)"):
        workshop.check_no_clash(plan(4, per_host=2))


def test_containers_of_that_name_are_a_clash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workshop, "_has_containers", lambda name: True)
    with pytest.raises(InputError, match="not a workshop"):
        workshop.check_no_clash(plan(3))


# --- inventory and vault ---------------------------------------------------------------------


def fake_host_vars(shape: workshop.WorkshopPlan) -> dict[str, dict[str, Any]]:
    return {name: {"ansible_host": f"10.88.0.{index}", "ansible_user": "deploy"}
            for index, name in enumerate(shape.host_names(), start=2)}


def write(shape: workshop.WorkshopPlan) -> tuple[Path, Path, list[workshop.Student]]:
    inventory = labs.lab_dir(shape.name) / "inventory"
    password_file = labs.lab_vault_password_file(shape.name)
    roster = workshop.write_inventory(shape, inventory, password_file, fake_host_vars(shape))
    workshop.Record(plan=shape.as_dict()).write(labs.lab_dir(shape.name))
    return inventory, password_file, roster


def test_inventory_has_one_instance_per_student_and_a_password_each() -> None:
    from dspace_deploy.inventory.validate import load_site
    from dspace_deploy.inventory.vault import read_vault

    shape = plan(3, per_host=2, lang="es")
    inventory, password_file, roster = write(shape)
    site = load_site(inventory, password_file)
    assert site.name == "lab-ws"
    assert site.hosts == ["ws-1", "ws-2"]
    assert [i["name"] for i in site.hostvars["ws-1"]["dspace_instances"]] == ["s01", "s02"]
    assert [i["port_slot"] for i in site.hostvars["ws-1"]["dspace_instances"]] == [0, 1]
    assert {i["content"] for i in site.hostvars["ws-1"]["dspace_instances"]} == {"sample-es"}
    assert [i["name"] for i in site.hostvars["ws-2"]["dspace_instances"]] == ["s03"]
    assert workshop.roster_of(site) == roster
    secrets = read_vault(site.vault_file, password_file)["vault_instance_secrets"]
    assert sorted(secrets) == ["s01", "s02", "s03"]
    passwords = workshop.student_passwords(site, ["s01", "s02", "s03"])
    assert len(set(passwords.values())) == 3
    assert all(re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){2}", p) for p in passwords.values())
    assert all(secrets[n]["db_password"] for n in secrets)  # the scaffold's own secrets too
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600


def test_rewriting_keeps_passwords_and_vault_bytes_and_drops_the_lab_default() -> None:
    from dspace_deploy.inventory import vault

    shape = plan(3, per_host=2, content="none")
    inventory, password_file, _ = write(shape)
    vault_file = inventory / "group_vars/all/vault.yml"
    before = vault_file.read_bytes()
    write(shape)
    assert vault_file.read_bytes() == before  # an unchanged vault keeps its bytes
    # the lab's own `repo` instance (create_lab's inventory) has no place in a workshop
    data = vault.read_vault(vault_file, password_file)
    data["vault_instance_secrets"]["repo"] = {"admin_password": "x" * 12, "db_password": "y" * 9}
    vault.write_vault(vault_file, data, vault.read_password(password_file), "lab-ws")
    added = workshop.give_passwords(vault_file, password_file, "lab-ws", ["s01", "s02", "s03"])
    assert added == []
    kept = vault.read_vault(vault_file, password_file)["vault_instance_secrets"]
    assert "repo" not in kept
    assert {n: kept[n]["admin_password"] for n in kept} == {
        n: vault.read_vault(vault_file, password_file)["vault_instance_secrets"][n][
            "admin_password"] for n in ("s01", "s02", "s03")}


def test_sample_content_needs_the_content_support(tmp_path: Path) -> None:
    from dspace_deploy import resources

    workshop._require_content_support(plan(2))  # this build has it (role dspace_content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resources, "playbooks_dir", lambda: tmp_path)  # no content.yml
        with pytest.raises(DeployError, match="no sample content support") as caught:
            workshop._require_content_support(plan(2))
        assert "--content none" in str(caught.value)
        workshop._require_content_support(plan(2, content="none"))  # nothing needed


# --- the credentials sheet -------------------------------------------------------------------


def students(count: int = 3) -> list[workshop.Student]:
    return plan(count, per_host=2).roster()


def test_csv_lists_exactly_the_students() -> None:
    roster = students()
    passwords = {s.name: f"pw-{s.name}-secret" for s in roster}
    text = credentials.render_csv(roster, passwords)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["student"] for r in rows] == ["s01", "s02", "s03"]
    assert rows[1] == {"student": "s02", "url": "https://s02.ws.lab.test/",
                       "login": "s02@ws.lab.test", "password": "pw-s02-secret"}


def test_html_has_one_card_per_student_autoescaped_and_self_contained() -> None:
    roster = students()
    evil = workshop.Student(name="s04", host="ws-2", slot=1, hostname="s04.ws.lab.test",
                            login='<script>alert("x")</script>@ws.lab.test')
    passwords = {s.name: f"pw-{s.name}" for s in [*roster, evil]}
    page = credentials.render_html("ws", [*roster, evil], passwords,
                                   generated=datetime(2026, 12, 5, 12, 0))
    assert page.count('class="card"') == 4
    for s in roster:
        assert f'id="{s.name}"' in page and s.url in page and f"pw-{s.name}" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "@page { size: A4" in page and "break-inside: avoid" in page
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)  # nothing outside
    assert "2026-12-05 12:00 UTC" in page


def test_sheet_files_are_private(tmp_path: Path) -> None:
    roster = students()
    written = credentials.write_sheet(tmp_path / "out", "ws", roster,
                                      {s.name: "p" * 12 for s in roster})
    assert set(written) == {"csv", "html"}
    for path in written.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


# --- lab up / reset / down over fake hosts and runs -----------------------------------------


@dataclass
class Calls:
    runs: list[dict[str, Any]]


def result(hosts: list[str], *, changed: int = 0, failed: tuple[str, ...] = ()) -> RunResult:
    summary = RunSummary(stats_seen=True)
    summary.hosts = {h: HostStats(ok=5, changed=changed, failed=int(h in failed))
                     for h in hosts}
    return RunResult(summary, "failed" if failed else "successful", 2 if failed else 0,
                     Path("/tmp/artifacts"))


@pytest.fixture
def fake_lab(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """create_lab makes no container; runs are recorded and succeed (changed on the first
    `up` only)."""
    calls = Calls(runs=[])

    def create_lab(name: str, hosts: int, oses: Any, connection: str, progress: Any,
                   preload: Any) -> labs.Lab:
        directory = labs.lab_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        lab = labs.Lab(name=name, hosts=labs.plan_hosts(name, list(oses) * hosts), dir=directory,
                       inventory=directory / "inventory",
                       vault_password_file=labs.lab_vault_password_file(name),
                       ssh_key=directory / "id_ed25519", connection=connection)
        for index, host in enumerate(lab.hosts, start=2):
            host.address = f"10.88.0.{index}"
        return lab

    def run_playbook(verb: str, playbook: str, site: Any, *, limit: str | None = None,
                     extravars: dict[str, Any] | None = None, observer: Any = None) -> RunResult:
        first_up = verb == "up" and not any(c["verb"] == "up" for c in calls.runs)
        calls.runs.append({"verb": verb, "playbook": playbook, "limit": limit,
                           "extravars": extravars or {}, "secrets": list(site.secrets)})
        hosts = limit.split(",") if limit else list(site.hosts)
        return result(hosts, changed=7 if first_up else 0)

    monkeypatch.setattr(labs, "create_lab", create_lab)
    monkeypatch.setattr(workshop, "run_playbook", run_playbook)
    monkeypatch.setattr(workshop, "host_memory", lambda cloud: 24 * GIB)
    return calls


def test_lab_up_deploys_takes_golden_once_and_writes_the_sheet(fake_lab: Calls) -> None:
    outcome = lab_up()
    assert outcome.ok
    assert [(c["verb"], c["playbook"]) for c in fake_lab.runs] == [
        ("up", "site.yml"), ("lab-golden", "content.yml")]
    assert fake_lab.runs[1]["extravars"] == {"content_action": "golden",
                                             "content_instances": ["s01", "s02", "s03"]}
    assert workshop.Record.read(labs.lab_dir("ws")).golden == ["s01", "s02", "s03"]
    rows = list(csv.DictReader(io.StringIO(outcome.sheet["csv"].read_text())))
    assert [r["student"] for r in rows] == ["s01", "s02", "s03"]
    # the runner got every student password to mask
    assert all(r["password"] in fake_lab.runs[0]["secrets"] for r in rows)

    again = lab_up()
    assert again.ok and again.runs["up"]["changed"] == 0
    assert [c["verb"] for c in fake_lab.runs] == ["up", "lab-golden", "up"]  # no second golden
    assert list(csv.DictReader(io.StringIO(again.sheet["csv"].read_text()))) == rows

    with pytest.raises(InputError, match="another shape"):
        lab_up(4)
    assert len(fake_lab.runs) == 3  # refused before anything ran


def test_lab_reset_runs_content_reset_for_the_chosen_students_only(fake_lab: Calls) -> None:
    lab_up()
    outcome = workshop.lab_reset("ws", ["s02"])
    assert outcome.ok and [s.name for s in outcome.students] == ["s02"]
    last = fake_lab.runs[-1]
    assert (last["playbook"], last["limit"]) == ("content.yml", "ws-1")
    assert last["extravars"] == {"content_action": "reset", "content_instances": ["s02"]}
    everyone = workshop.lab_reset("ws")
    assert fake_lab.runs[-1]["limit"] == "ws-1,ws-2"
    assert [s.name for s in everyone.students] == ["s01", "s02", "s03"]
    with pytest.raises(InputError, match="No student s09") as caught:
        workshop.lab_reset("ws", ["s09"])
    assert "s01 to s03" in str(caught.value)
    with pytest.raises(InputError, match="no workshop named 'nope'"):
        workshop.lab_reset("nope")


def test_a_failed_host_marks_its_students_and_takes_no_golden_of_them(
        fake_lab: Calls, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def run_playbook(verb: str, playbook: str, site: Any, **kwargs: Any) -> RunResult:
        calls.append(verb)
        return result(list(site.hosts), failed=("ws-2",) if verb == "up" else ())

    monkeypatch.setattr(workshop, "run_playbook", run_playbook)
    outcome = lab_up()
    assert not outcome.ok and outcome.failed == ["s03"]
    assert calls == ["up"]  # no golden after a failed up
    assert workshop.Record.read(labs.lab_dir("ws")).golden == []


def test_no_password_in_json_or_stdout(fake_lab: Calls, cli: Cli) -> None:
    runner = cli
    done = runner.invoke(["lab", "up", "--name", "ws", "--students", "3", "--per-host",
                               "2", "--json"])
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert [s["name"] for s in document["students"]] == ["s01", "s02", "s03"]
    sheet = Path(document["credentials"]["csv"])
    passwords = [r["password"] for r in csv.DictReader(io.StringIO(sheet.read_text()))]
    human = runner.invoke(["lab", "up", "--name", "ws", "--students", "3", "--per-host",
                                "2"])
    assert human.exit_code == 0, human.output
    assert str(sheet) in human.stdout
    again = runner.invoke(["lab", "credentials", "ws", "--json"])
    reset = runner.invoke(["lab", "reset", "ws", "--student", "s01", "--yes", "--json"])
    assert reset.exit_code == 0, reset.output
    for output in (done.stdout, done.stderr, human.stdout, human.stderr, again.stdout,
                   reset.stdout, reset.stderr):
        for password in passwords:
            assert password not in output


def test_cli_refusals_touch_nothing(fake_lab: Calls, cli: Cli) -> None:
    runner = cli
    for args, message in [
        (["--students", "0"], "1 to 200 students, not 0"),
        (["--students", "3", "--per-host", "40"], "40 instances per host do not fit"),
        (["--per-host", "2"], "--per-host belong to a workshop"),
        (["--students", "3", "--region", "x"], "go with --cloud aws"),
        (["--students", "3", "--cloud", "gcp"], "Unknown cloud"),
    ]:
        done = runner.invoke(["lab", "up", "--name", "ws", *args, "--json"])
        assert done.exit_code == 2, (args, done.output)
        assert message in json.loads(done.stdout)["error"], done.stdout
    assert fake_lab.runs == []
    assert not labs.lab_dir("ws").exists()
    done = runner.invoke(["lab", "reset", "ws", "--json"])
    assert done.exit_code == 2 and "no workshop named" in done.stdout


# --- the cloud path, through a fake of h-cloud's interface ---------------------------------


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """dspace_deploy.cloud.aws as agreed (issue13.md): plan / apply / destroy."""
    calls: dict[str, list[Any]] = {"plan": [], "apply": [], "destroy": []}
    module = types.ModuleType("dspace_deploy.cloud.aws")

    @dataclass
    class CloudHost:
        name: str
        instance_id: str
        public_address: str
        private_address: str
        user: str = "admin"

    def plan_(site: str, **kwargs: Any) -> Any:
        calls["plan"].append((site, kwargs))
        return types.SimpleNamespace(site=site, names=kwargs["names"],
                                     known_hosts=Path("/nowhere/known_hosts"),
                                     as_dict=lambda: {"cost": "PLAN COST"})

    def apply(cloud_plan: Any, progress: Any = None) -> list[CloudHost]:
        calls["apply"].append(cloud_plan)
        return [CloudHost(name, f"i-{i}", f"203.0.113.{i}", f"10.0.0.{i}")
                for i, name in reversed(list(enumerate(cloud_plan.names, start=1)))]

    def destroy(site: str, region: str, progress: Any = None) -> Any:
        calls["destroy"].append((site, region))
        failed = [("volume vol-1", "in use")] if len(calls["destroy"]) == 1 else []
        return types.SimpleNamespace(ok=not failed, as_dict=lambda: {"failed": failed})

    module.plan, module.apply, module.destroy = plan_, apply, destroy  # type: ignore[attr-defined]
    package = types.ModuleType("dspace_deploy.cloud")
    package.aws = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dspace_deploy.cloud", package)
    monkeypatch.setitem(sys.modules, "dspace_deploy.cloud.aws", module)
    return calls


def test_cloud_workshop_applies_and_down_retries_what_is_left(
        fake_lab: Calls, fake_aws: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch,
        cli: Cli) -> None:
    monkeypatch.setattr(workshop, "host_memory",
                        lambda cloud: workshop.CLOUD_SIZE_MEMORY_MB[cloud.size])
    monkeypatch.setattr(labs, "create_lab", lambda **kwargs: pytest.fail("no podman hosts"))
    runner = cli
    args = ["lab", "up", "--name", "cw", "--students", "10", "--cloud", "aws", "--region",
            "sa-east-1", "--size", "m6i.xlarge", "--admin-cidr", "203.0.113.7/32"]
    # (the refusal without --yes, with h-cloud's plan: test_workshop_cloud.py, moto)
    done = runner.invoke([*args, "--yes", "--json"])
    assert done.exit_code == 0, done.output
    site, kwargs = fake_aws["plan"][-1]
    # m6i.xlarge: 16 GiB -> 9 fit, 10 students -> 2 hosts of 5
    assert site == "lab-cw" and kwargs["count"] == 2 and kwargs["size"] == "m6i.xlarge"
    assert kwargs["admin_cidr"] == "203.0.113.7/32" and kwargs["region"] == "sa-east-1"
    document = json.loads(done.stdout)
    assert document["students"][0]["url"] == "https://s01.203.0.113.1.nip.io/"
    assert document["students"][9]["url"] == "https://s10.203.0.113.2.nip.io/"
    from dspace_deploy.inventory.validate import load_site

    inventory = load_site(labs.lab_dir("cw") / "inventory",
                          labs.lab_vault_password_file("cw"))
    assert inventory.hostvars["cw-1"]["ansible_host"] == "203.0.113.1"
    assert inventory.hostvars["cw-1"]["ansible_user"] == "admin"
    key = labs.lab_dir("cw") / "id_ed25519"
    assert kwargs["key_path"] == key and key.with_suffix(".pub").is_file()
    assert kwargs["names"] == ["cw-1", "cw-2"]
    assert "UserKnownHostsFile=/nowhere/known_hosts" in (
        inventory.hostvars["cw-2"]["ansible_ssh_common_args"])
    assert inventory.hostvars["cw-2"]["ansible_host"] == "203.0.113.2"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    down = runner.invoke(["lab", "down", "cw", "--json"])  # a volume still in use
    assert down.exit_code == 1 and "vol-1" in json.loads(down.stdout)["error"], down.output
    assert workshop.is_workshop("cw")  # kept, so that `lab down` can finish the job
    down = runner.invoke(["lab", "down", "cw", "--json"])
    assert down.exit_code == 0, down.output
    assert fake_aws["destroy"] == [("lab-cw", "sa-east-1")] * 2
    assert not labs.lab_dir("cw").exists()
    assert not labs.lab_vault_password_file("cw").exists()


def test_lab_credentials_rewrites_the_sheet_where_asked(fake_lab: Calls, cli: Cli,
                                                        tmp_path: Path) -> None:
    lab_up()
    first = (labs.lab_dir("ws") / credentials.CSV_NAME).read_text()
    done = cli.invoke(["lab", "credentials", "ws", "--out", str(tmp_path / "sheet")])
    assert done.exit_code == 0, done.output
    again = tmp_path / "sheet" / credentials.CSV_NAME
    assert again.read_text() == first  # the same passwords from the vault
    assert str(again) in done.stdout
    for row in csv.DictReader(io.StringIO(first)):
        assert row["password"] not in done.output
    assert stat.S_IMODE(again.stat().st_mode) == 0o600
