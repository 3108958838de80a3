"""The lareferencia_stats role (LA Referencia's dspace-stats-collector): its properties name
every key the collector 0.7.8 reads and point it at the instance's own Solr core; its service
runs the collector with its state below its HOME, sandboxed, judged by the log; the judge
(files/lareferencia-stats-check) fails a run the collector logged as failed although it exited
0; the controller refuses an enabled instance without settings or token before any host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.errors import EXIT_BAD_INPUT, ValidationFailed
from dspace_deploy.inventory.validate import load_site
from tests.unit.fixtures.helpers import build, secrets_for, site
from tests.unit.programs import load_program
from tests.unit.test_role_templates import plan, render, role_yaml

check = load_program("roles/lareferencia_stats/files/lareferencia-stats-check",
                     "lareferencia_stats_check_under_test")

TOKEN = "0123456789abcdef0123456789abcdef"
HOME = "/var/lib/dspace-deploy/lareferencia_stats/repo"


def _variables() -> dict[str, Any]:
    defaults = role_yaml("lareferencia_stats", "defaults/main.yml")
    constants = {k: v for k, v in role_yaml("lareferencia_stats", "vars/main.yml").items()
                 if not k.startswith("_")}
    return {**defaults, **constants, "lareferencia_stats_plan": plan("/srv/dspace/repo"),
            "lareferencia_stats_token": TOKEN,
            "_lareferencia_stats_name": "repo",
            "_lareferencia_stats_settings": {"site_id": 42, "repository_id": "4321",
                                             "country": "PE"},
            "_lareferencia_stats_unit": "dspace-repo-lareferencia-stats",
            "_lareferencia_stats_config_dir": "/etc/dspace-deploy/lareferencia-stats/repo",
            "_lareferencia_stats_home": HOME,
            "_lareferencia_stats_log": f"{HOME}/dspace-stats-collector/var/logs/"
                                       "dspace-stats-collector.log"}


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines()
             if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


# Every key dspace-stats-collector 0.7.8 reads from <repo>.properties (configcontext.py,
# matomooutput.py); solr.core and anonymize.ip_mask have defaults there, the others not.
COLLECTOR_KEYS = {"matomo.idSite", "matomo.token_auth", "matomo.repositoryId",
                  "matomo.countryISO", "matomo.trackerUrl", "matomo.rec", "matomo.batchSize",
                  "dspace.dir", "dspace.majorVersion", "solr.server", "solr.core",
                  "max.eventsToSend", "anonymize.ip_mask"}


def test_properties_name_every_key_the_collector_reads() -> None:
    props = _properties(render("roles/lareferencia_stats/templates/collector.properties.j2",
                               _variables()))
    assert set(props) == COLLECTOR_KEYS
    assert props["matomo.idSite"] == "42" and props["matomo.token_auth"] == TOKEN
    assert props["matomo.countryISO"] == "PE" and props["matomo.repositoryId"] == "4321"
    # the instance's own core of the shared Solr (its prefix), DSpace 7+ reader
    assert props["solr.core"] == "repo-statistics"
    assert props["dspace.majorVersion"] == "7" and props["dspace.dir"] == "/srv/dspace/repo"
    assert props["anonymize.ip_mask"] == "255.255.0.0"


def test_service_runs_the_collector_sandboxed_and_judges_its_log() -> None:
    unit = render("roles/lareferencia_stats/templates/service.j2", _variables())
    lines = unit.splitlines()
    assert "Type=oneshot" in lines and "User=dspace" in lines
    assert f"Environment=HOME={HOME}" in lines  # the collector's state goes below $HOME
    assert ("ExecStart=/opt/dspace-deploy/lareferencia-stats/venv/bin/dspace-stats-collector "
            "--repository repo --config_dir /etc/dspace-deploy/lareferencia-stats/repo") in lines
    assert (f"ExecStartPost=/usr/local/sbin/lareferencia-stats-check {HOME}/dspace-stats-"
            "collector/var/logs/dspace-stats-collector.log") in lines
    for option in ("NoNewPrivileges=true", "PrivateTmp=true", "ProtectSystem=strict",
                   f"ReadWritePaths={HOME}", "ProtectHome=true"):
        assert option in lines
    # seccomp-based options fail in containers that cannot install filters (backend unit)
    assert not re.search(r"^(SystemCallFilter|RestrictAddressFamilies|LockPersonality)=",
                         unit, re.M)


def test_timer_follows_the_schedule() -> None:
    timer = render("roles/lareferencia_stats/templates/timer.j2", _variables())
    assert "OnCalendar=*-*-* *:17:00" in timer.splitlines()
    assert "Unit=dspace-repo-lareferencia-stats.service" in timer.splitlines()
    assert "Persistent=true" in timer.splitlines()


FINISHED = ("2026-12-05 09:00:01,002 INFO: DSpace Stats Collector finished processing 3 events "
            "from 2026-12-05T00:00:00.000000Z to 2026-12-05T08:59:00.123Z. Breakdown: 3 events "
            "sent succesfully, 0 events discarted as robot")


@pytest.mark.parametrize(("log", "good"), [
    (FINISHED, True),
    # Matomo offline: collector.py logs and exits 0
    ("2026-12-05 09:00:01,002 ERROR: Matomo is offline. Events will be processed in the next "
     "run. Error was: Connection refused", False),
    # a failure inside the pipeline, then the finish line of a later stage never comes
    ("2026-12-05 09:00:01,002 ERROR: A fatal exception ocurred processing events !!!! x\n"
     + FINISHED, False),
    # stopped before it finished (killed, or Solr not found: exit 1 with a half log)
    ("2026-12-05 09:00:01,002 INFO: starting", False),
    ("", False),
])
def test_the_judge_reads_the_last_run(log: str, good: bool) -> None:
    assert check.judge(log)[0] is good


def test_the_judge_exit_codes(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    assert check.main(["x", str(log)]) == 2  # no log: never ran
    log.write_text(FINISHED + "\n")
    assert check.main(["x", str(log)]) == 0
    log.write_text("2026-12-05 09:00:01,002 ERROR: Unknown exception. Events will be processed "
                   "in the next run. Error was: boom\n")
    assert check.main(["x", str(log)]) == 1


BACKUP_SECRETS = {"vault_backup_secrets": {"local": {"password": "Xk2Lm9Qp4Rt7Zw3"}}}
SETTINGS = {"repo": {"site_id": 42, "repository_id": "4321", "country": "PE"}}


def _load(tmp_path: Path, stats: dict[str, Any], vault: dict[str, Any]) -> ValidationFailed | None:
    root, password = build(tmp_path / "site", {"group_vars/all/site.yml": site(**stats)},
                           vault={**secrets_for("repo"), **BACKUP_SECRETS, **vault})
    try:
        load_site(root, password)
    except ValidationFailed as error:
        return error
    return None


def test_an_enabled_instance_needs_its_settings_and_token(tmp_path: Path) -> None:
    error = _load(tmp_path, {"lareferencia_stats_enabled": True, "lareferencia_stats_instances":
                             {"repo": {"site_id": 0, "repository_id": "4321"}}}, {})
    assert error is not None and error.exit_code == EXIT_BAD_INPUT
    keys = {p.key for p in error.problems}
    assert {"lareferencia_stats_instances.repo.site_id",
            "lareferencia_stats_instances.repo.country",
            "vault_lareferencia_stats_secrets.repo.token_auth"} <= keys
    assert "lareferencia_stats_instances.repo.repository_id" not in keys


def test_the_settings_problems_are_told_in_the_chosen_language(tmp_path: Path) -> None:
    from dspace_deploy import i18n

    try:
        i18n.use("es")
        error = _load(tmp_path, {"lareferencia_stats_enabled": True,
                                 "lareferencia_stats_instances": {"repo": {"site_id": 0}}}, {})
    finally:
        i18n.use("en")
    assert error is not None
    found = {p.key: (p.what, p.fix) for p in error.problems}
    assert found["lareferencia_stats_instances.repo.site_id"] == (
        "es 0", "indique el número idSite de Matomo que dio el nodo nacional")
    assert found["lareferencia_stats_instances.repo.country"][0] == "es obligatorio pero falta"
    what, fix = found["vault_lareferencia_stats_secrets.repo.token_auth"]
    assert what == ("la instancia repo envía estadísticas de uso a LA Referencia pero no tiene "
                    "token")
    assert "ansible-vault edit" in fix and "nada lo genera" in fix


def test_a_complete_instance_or_a_switched_off_site_is_accepted(tmp_path: Path) -> None:
    vault = {"vault_lareferencia_stats_secrets": {"repo": {"token_auth": TOKEN}}}
    assert _load(tmp_path / "on", {"lareferencia_stats_enabled": True,
                                   "lareferencia_stats_instances": SETTINGS}, vault) is None
    # switched off: nothing is required
    assert _load(tmp_path / "off", {"lareferencia_stats_instances": {"repo": {}}}, {}) is None
