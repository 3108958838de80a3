"""The OAI-PMH feed of a deployed look-alike instance, harvested from the controller as the
network report does: through nginx over HTTPS by the instance's public name (connect_to: lab
names do not resolve), with records planted that break named rules (tests/integration/
oai_plant.py). One Debian 13 host, one line-9 instance, one `up`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dspace_deploy.oai.harvest import Harvester, http_fetch
from dspace_deploy.oai.validate import check_feed, feed_failures
from tests.integration.helpers import EXE, cli
from tests.integration.oai_plant import plant_oai_problems

# CI proves the same harvest through tests/integration/test_report.py; this one stays for
# ./scripts/test --all (it isolates the harvester from the report).
pytestmark = [pytest.mark.lab, pytest.mark.lookalike, pytest.mark.extended]

PREFIX = "123456789"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    build_release("9", root / "9-dspace")
    return root


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    return lab_factory("oai", hosts=1, oses=("debian13",), connection="ssh", preload=True)


def _hostname(lab: Any) -> str:
    return f"repo.{lab.hosts[0].name}.lab.test"


@pytest.fixture(scope="module")
def converged(lab: Any, artifacts: Path) -> Path:
    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    (host,) = data["all"]["children"]["dspace"]["hosts"].values()
    host["dspace_instances"] = [{
        "name": "repo", "hostname": _hostname(lab), "line": "9", "handle_prefix": PREFIX,
        "admin_email": f"admin@{_hostname(lab)}"}]  # fmt: skip
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--artifacts", str(artifacts))
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
    return lab.inventory


def test_planted_records_are_reported_through_https(lab: Any, converged: Path) -> None:
    host = lab.hosts[0]
    expected = plant_oai_problems(host.container, "repo", PREFIX, f"https://{_hostname(lab)}")
    # the lab's certificate is not one the controller trusts: the transport is what is tested
    fetch = http_fetch(connect_to=host.address, verify=False, timeout=60)
    report = check_feed(
        Harvester(f"https://{_hostname(lab)}/server/oai/request", fetch=fetch),
        sample=len(expected),
    )
    assert set(report.verbs.values()) == {"ok"}, report.verbs
    assert feed_failures(report) == []  # driver and openaire contexts answer their sets
    found = {r.identifier.split(":", 2)[2]: tuple(f.rule_id for f in r.failures)
             for r in report.records}  # fmt: skip
    assert found == expected
    assert 0 < report.score < 100
