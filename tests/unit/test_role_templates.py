"""Role templates rendered with Ansible's own templating, and what they render run against the
look-alike release where it matters (docs/lookalike.md): the backend unit starts a jar built with
the default dspace.dir, local.cfg turns off the jobs the webapp would schedule a second time, the
task units pass the arguments each flavor's commands require.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
JAVA_HOME = Path(shutil.which("java") or "/usr/bin/java").resolve().parents[1]
HAVE_JAVA = all(shutil.which(t) for t in ("java", "javac"))


def render(template: str, variables: dict[str, Any]) -> str:
    templar = Templar(loader=DataLoader(), variables={"ansible_managed": "managed", **variables})
    return str(templar.template(trust_as_template((ROOT / template).read_text())))


def role_yaml(role: str, name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "roles" / role / name).read_text()))


def plan(dspace_dir: str, flavor: str = "dspace", line: str = "9") -> dict[str, Any]:
    return {
        "name": "repo", "hostname": "repo.example.org", "line": line, "version": "9.3",
        "flavor": flavor, "title": "Repo", "dspace_dir": dspace_dir, "user": "dspace",
        "ports": {"backend": 8080, "ui": 4000, "handle": 2641, "handle_http": 8000},
        "solr": {"url": "http://127.0.0.1:8983/solr", "prefix": "repo-"},
        "db": {"name": "dspace_repo", "user": "dspace_repo", "host": "127.0.0.1", "port": 5432},
        "urls": {"ui": "https://repo.example.org", "server": "https://repo.example.org/server",
                 "ssr": "http://127.0.0.1:8080/server"},
        "admin_email": "admin@example.org", "handle_prefix": "123456789",
        "handle_registered": False, "extra_config": {},
    }


def backend_unit(dspace_dir: str) -> str:
    return render("roles/dspace_backend/templates/backend.service.j2", {
        "dspace_backend_plan": plan(dspace_dir), "_dspace_backend_user": "dspace",
        "_dspace_backend_dir": dspace_dir, "_dspace_backend_java_home": str(JAVA_HOME),
        "_dspace_backend_heap": "256m", "dspace_backend_java_options": [],
    })


def exec_start(unit: str) -> list[str]:
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_backend(argv: list[str], port: int, log: Path) -> tuple[subprocess.Popen[bytes], bool]:
    """Start the unit's command line with another port; (process, listening within 30 s)."""
    argv = [f"-Dserver.port={port}" if a.startswith("-Dserver.port=") else a for a in argv]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    end = time.time() + 30
    while time.time() < end and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, True
        except OSError:
            time.sleep(0.2)
    return proc, False


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DSpace 9 look-alike installer unpacked as /srv/dspace/repo would hold it (the jar
    was built with the default dspace.dir, /dspace)."""
    if not HAVE_JAVA:
        pytest.skip("needs a JDK (the look-alike release)")
    from tests.lookalike import build_release

    base = tmp_path_factory.mktemp("srv")
    release = build_release("9", base / "bundle")
    installer = release.unpack_installer(base / "unpacked")
    dspace = base / "srv" / "dspace" / "repo"
    dspace.parent.mkdir(parents=True)
    installer.rename(dspace)
    return dspace


@pytest.mark.lookalike
def test_backend_unit_starts_a_jar_built_with_the_default_dspace_dir(installed: Path,
                                                                      tmp_path: Path) -> None:
    """Issue 10, 1: server-boot.jar carries logging.config=/dspace/config/log4j2.xml (Maven
    filtered it at build time); the unit must point Spring Boot at the instance's file."""
    import zipfile

    if Path("/dspace/config/log4j2.xml").exists():
        pytest.skip("/dspace/config/log4j2.xml exists on this machine")
    with zipfile.ZipFile(installed / "webapps" / "server-boot.jar") as jar:
        baked = jar.read("application.properties").decode()
    assert "logging.config = /dspace/config/log4j2.xml" in baked

    unit = backend_unit(str(installed))
    log = installed / "log" / "dspace.log"
    proc, listening = start_backend(exec_start(unit), free_port(), tmp_path / "out.log")
    try:
        assert listening, (tmp_path / "out.log").read_text()[-3000:]
        # logging.config's own directory: ${log4j:configParentLocation}/../log = [dspace]/log
        end = time.time() + 20
        while time.time() < end and "HTTP listener started" not in log.read_text():
            time.sleep(0.2)
        assert "HTTP listener started" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(20)
    assert f"-Dlogging.config={installed}/config/log4j2.xml" in exec_start(unit)


def local_cfg(dspace_dir: str, extra: dict[str, Any] | None = None,
              flavor: str = "dspace") -> str:
    p = plan(dspace_dir, flavor)
    p["extra_config"] = extra or {}
    return render("roles/dspace_backend/templates/local.cfg.j2",
                  {"dspace_backend_plan": p, "dspace_backend_db_password": "secret-pw"})


def test_local_cfg_turns_off_the_jobs_the_timers_run() -> None:
    """Issue 10, 7: sitemap.cron and solr-database-resync.cron (dspace.cfg) make the webapp
    run what the dspace_tasks timers run; "-" turns Spring's schedule off."""
    text = local_cfg("/srv/dspace/repo")
    lines = [x.strip() for x in text.splitlines()]
    assert "sitemap.cron = -" in lines and "solr-database-resync.cron = -" in lines
    # extra_config still decides: its value replaces the role's line (one line per key)
    text = local_cfg("/srv/dspace/repo", {"sitemap.cron": "0 15 1 * * ?"})
    assert [x for x in text.splitlines() if x.startswith("sitemap.cron")] == [
        "sitemap.cron = 0 15 1 * * ?"]


@pytest.mark.lookalike
def test_the_webapp_schedules_nothing_with_the_roles_local_cfg(installed: Path,
                                                               tmp_path: Path) -> None:
    (installed / "config" / "local.cfg").write_text(local_cfg(str(installed)))
    log = installed / "log" / "dspace.log"
    log.unlink(missing_ok=True)
    argv = exec_start(backend_unit(str(installed)))
    if not any(a.startswith("-Dlogging.config=") for a in argv):
        argv.insert(1, f"-Dlogging.config={installed}/config/log4j2.xml")
    proc, listening = start_backend(argv, free_port(), tmp_path / "out.log")
    try:
        assert listening, (tmp_path / "out.log").read_text()[-3000:]
        end = time.time() + 20
        while time.time() < end and "HTTP listener started" not in log.read_text():
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(20)
        (installed / "config" / "local.cfg").unlink()
    text = log.read_text()
    assert "Scheduled job generateSitemap is disabled" in text, text[-2000:]
    assert "Scheduled job solrDatabaseResync is disabled" in text, text[-2000:]
    assert "with cron" not in text


def task_unit(task: str, flavor: str) -> str:
    variables: dict[str, Any] = {
        **role_yaml("dspace_tasks", "defaults/main.yml"),
        "dspace_tasks_catalog": role_yaml("dspace_tasks", "vars/main.yml")["dspace_tasks_catalog"],
        "dspace_tasks_busy_status": 75,
        "dspace_tasks_plan": plan("/srv/dspace/repo", flavor),
        "item": {"key": task, "value": "*-*-* 02:00:00"},
        "_dspace_tasks_marker": "# marker", "_dspace_tasks_lock_dir": "/srv/dspace/repo/var/tasks",
        "_dspace_tasks_name": "repo", "_dspace_tasks_user": "dspace",
        "_dspace_tasks_dspace_dir": "/srv/dspace/repo",
        "_dspace_tasks_java_home": "/usr/lib/jvm/java-21-openjdk-amd64",
    }
    return render("roles/dspace_tasks/templates/task.service.j2", variables)


def task_commands(unit: str) -> list[list[str]]:
    """The bin/dspace arguments of each ExecStart of a task unit."""
    commands = []
    for line in unit.splitlines():
        if line.startswith("ExecStart="):
            script = shlex.split(line.removeprefix("ExecStart="))[-1]
            commands.append(shlex.split(script.split("/bin/dspace ", 1)[1]))
    return commands


@pytest.mark.parametrize(("task", "frequency"), [("subscription-send-daily", "D"),
                                                 ("subscription-send-weekly", "W"),
                                                 ("subscription-send-monthly", "M")])
def test_subscription_tasks_pass_what_each_flavor_requires(task: str, frequency: str) -> None:
    """Issue 10, 6: DSpace-CRIS requires -t content|statistics besides -f
    (SubscriptionEmailNotificationConfiguration.java:29 at both CRIS tags); DSpace has no -t."""
    assert task_commands(task_unit(task, "dspace")) == [["subscription-send", "-f", frequency]]
    assert task_commands(task_unit(task, "cris")) == [
        ["subscription-send", "-t", "content", "-f", frequency],
        ["subscription-send", "-t", "statistics", "-f", frequency]]


@pytest.mark.lookalike
def test_cris_subscription_arguments_pass_the_real_option_check(tmp_path: Path) -> None:
    """The CRIS task's arguments get past the launcher's option parsing (DSpace-CRIS 2024.02,
    which runs on the controller's Java 17 and has the same required -t); without -t the
    look-alike refuses them like the real launcher (help, exit 1)."""
    if not HAVE_JAVA:
        pytest.skip("needs a JDK (the look-alike release)")
    from tests.lookalike import build_release

    release = build_release("8", tmp_path / "bundle", flavor="cris")
    dspace = release.unpack_installer(tmp_path / "unpacked")
    (dspace / "config" / "local.cfg").write_text(
        f"dspace.dir = {dspace}\ndb.url = jdbc:postgresql://127.0.0.1:{free_port()}/none\n")
    env = dict(os.environ)
    for command in task_commands(task_unit("subscription-send-daily", "cris")):
        done = subprocess.run([str(dspace / "bin" / "dspace"), *command], capture_output=True,
                              text=True, env=env, timeout=120, check=False)
        assert "Missing required option" not in done.stdout + done.stderr
        assert "The script has started" in done.stdout, done.stdout + done.stderr
    done = subprocess.run([str(dspace / "bin" / "dspace"), "subscription-send", "-f", "D"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1 and "Missing required option: t" in done.stderr + done.stdout


def test_index_discovery_is_described_as_what_it_does() -> None:
    """Issue 10, 8: plain index-discovery only adds and updates (IndexClientOptions.java:74 at
    dspace-9.3); stale documents stay until -c."""
    catalog = role_yaml("dspace_tasks", "vars/main.yml")["dspace_tasks_catalog"]
    described = catalog["index-discovery"]["description"]
    assert "stale" in described and "-c" in described, described
    readme = (ROOT / "roles" / "dspace_tasks" / "README.md").read_text()
    assert "removes stale documents" not in readme and "cleans stale documents" not in readme


def proxy_vhost(hsts: bool = False) -> str:
    return render("roles/proxy/templates/dspace-site.conf.j2", {
        "site": {"name": "repo", "hostname": "Repo.Example.org", "backend_port": 8080,
                 "ui_port": 4000, "tls_mode": "provided"},
        "_proxy_site_tls": {"cert": "/c.crt", "key": "/c.key", "hsts": hsts, "final": True},
        "_proxy_ipv6": False, "_proxy_http2_directive": True,
        **{k: v for k, v in role_yaml("proxy", "defaults/main.yml").items()},
        **{k: v for k, v in role_yaml("proxy", "vars/main.yml").items()
           if not k.startswith("_")},
    })


def test_every_proxied_location_of_a_vhost_tests_the_maintenance_flag() -> None:
    """Each location that passes requests on first answers 503 while the site's flag exists,
    with the page of its kind (JSON for the REST API); the page's location is internal and
    sends Retry-After and the security headers (a location's add_header replaces the
    server's)."""
    text = proxy_vhost(hsts=True)
    flag = "if (-f /var/lib/dspace-deploy/maintenance/repo.example.org/on) { return 503; }"
    blocks = [b.split("}", 1)[0] if "if (" not in b else b for b in text.split("location ")[1:]]
    proxied = [b for b in blocks if "proxy_pass" in b]
    assert len(proxied) == 3
    for block in proxied:
        assert block.index(flag) < block.index("proxy_pass"), block
        page = "page.json" if block.lstrip().startswith(("= /server", "^~ /server/")) \
            else "page.html"
        assert f"error_page 503 /.dspace-deploy-maintenance/{page};" in block, block
    internal = next(b for b in blocks if b.startswith("^~ /.dspace-deploy-maintenance/"))
    maint = "/var/lib/dspace-deploy/maintenance/repo.example.org"
    for line in ("internal;", f"alias {maint}/;", "set $dspace_retry_after 300;",
                 "add_header Retry-After $dspace_retry_after always;",
                 f"include {maint}/retry-after.con[f];",
                 "add_header Strict-Transport-Security", 'add_header X-Frame-Options "SAMEORIGIN"'):
        assert line in internal, (line, internal)
