"""LA Referencia's usage-statistics collector on a lab host (docs/lareferencia-stats.md).

One Debian 12 host (the collector 0.7.8 needs Python 3.11 at most) with instance `repo` of
DSpace 8 (the line Debian 12 runs: its Node.js 18) from look-alike bundles, the site switch
on, the token in the vault, the timer every 20 seconds. A small Matomo tracking receiver
(bulk tracking over HTTP, as Matomo's `matomo.php` answers it) runs on the host and records
every request. The module: `up` twice
(the second changed=0); items in the database and hits in the instance's Solr statistics
core, recorded as DSpace records them (two views, a robot's, a hit flagged isBot, a search, an
item the database does not know); the timer's run sends exactly the two views, with the
instance's site id, repository, country, token, canonical URL and masked IP; the next run sends
nothing again (its state); with the receiver down a run fails its unit although the collector
exits 0, `verify` says so, and once it is back the hit arrives exactly once; `verify` passes;
a backup holds the collector's state.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import EXE, cli

pytestmark = [pytest.mark.lab, pytest.mark.lookalike]

TOKEN = "4f1d2c3b4a5968778695a4b3c2d1e0f9"
SETTINGS = {"site_id": 42, "repository_id": "4321", "country": "PE"}
UNIT = "dspace-repo-lareferencia-stats"
RECEIVER_PORT = 8099
RECEIVED = "/root/matomo-received.jsonl"
STATE = "/var/lib/dspace-deploy/lareferencia_stats/repo"
HUMAN = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

# A Matomo tracking endpoint for bulk requests: POST {"requests": [...], "token_auth": ...},
# answered {"status": "success", "tracked": n, "invalid": 0} (Matomo's tracking API).
RECEIVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Tracker(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with open(sys.argv[2], "a") as log:
            log.write(json.dumps({"path": self.path, "body": body}) + "\n")
        answer = json.dumps({"status": "success", "tracked": len(body.get("requests", [])),
                             "invalid": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Tracker).serve_forever()
"""


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    build_release("8", root / "8-dspace")
    return root


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    return lab_factory("lars", hosts=1, oses=("debian12",), connection="ssh")


def _exec(host: Any, script: str, check: bool = True, stdin: str | None = None
          ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["podman", "exec", "-i", host.container, "bash", "-ec", script],
                          input=stdin, capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, f"{script}\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def site(lab: Any) -> Path:
    from dspace_deploy.inventory.vault import read_password, read_vault, write_vault

    host = lab.hosts[0]
    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    name = f"repo.{host.name}.lab.test"
    data["all"]["children"]["dspace"]["hosts"][host.name]["dspace_instances"] = [
        {"name": "repo", "hostname": name, "line": "8", "admin_email": f"admin@{name}"}]
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    # The COUNTER Robots list's format (a JSON list of {"pattern", "last_changed"}).
    robots = lab.inventory.parent / "COUNTER_Robots_list.json"  # outside the inventory
    robots.write_text(json.dumps([
        {"pattern": "Googlebot", "last_changed": "2024-01-01"},
        {"pattern": "^curl/", "last_changed": "2024-01-01"}]))
    (lab.inventory / "group_vars/all/lareferencia.yml").write_text(yaml.safe_dump({
        "lareferencia_stats_enabled": True,
        "lareferencia_stats_instances": {"repo": SETTINGS},
        "lareferencia_stats_tracker_url": f"http://127.0.0.1:{RECEIVER_PORT}/matomo.php",
        "lareferencia_stats_schedule": "*:*:0/20",
        "lareferencia_stats_randomized_delay": 0,
        "lareferencia_stats_robots_file": str(robots),
    }))
    done = subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    vault_file = lab.inventory / "group_vars/all/vault.yml"
    secrets = read_vault(vault_file, lab.vault_password_file)
    secrets["vault_lareferencia_stats_secrets"] = {"repo": {"token_auth": TOKEN}}
    write_vault(vault_file, secrets, read_password(lab.vault_password_file), f"lab-{lab.name}")
    return lab.inventory


def _start_receiver(host: Any) -> None:
    _exec(host, f"systemd-run --unit=matomo-receiver --collect /usr/bin/python3 "
          f"/root/matomo-receiver.py {RECEIVER_PORT} {RECEIVED}")
    for _ in range(50):
        if _exec(host, f"ss -Hltn 'sport = :{RECEIVER_PORT}' | grep -q LISTEN",
                 check=False).returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail("the Matomo receiver does not listen")


@pytest.fixture(scope="module")
def receiver(lab: Any) -> Any:
    host = lab.hosts[0]
    _exec(host, f"cat > /root/matomo-receiver.py && : > {RECEIVED}", stdin=RECEIVER)
    _start_receiver(host)
    return host


@pytest.fixture(scope="module")
def converged(site: Path, artifacts: Path, receiver: Any) -> dict[str, Any]:
    started = time.monotonic()
    code, document, stderr = cli("up", "-i", str(site), "--artifacts", str(artifacts))
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
    print(f"first up: {time.monotonic() - started:.0f} s")
    return document


def test_a_second_up_changes_nothing(converged: dict[str, Any], site: Path,
                                     artifacts: Path) -> None:
    code, document, _ = cli("up", "-i", str(site), "--artifacts", str(artifacts))
    assert code == 0
    assert all(s["changed"] == 0 and s["failed"] == 0 for s in document["hosts"].values()), \
        document["hosts"]


# --- hits, as DSpace records them ------------------------------------------------------------

ITEMS = {"123456789/11": "Sediment transport in the Rímac basin",
         "123456789/12": "Quechua loanwords in Andean Spanish"}


def _seed_items(host: Any) -> dict[str, str]:
    """Two items with titles and handles in the database; returns handle -> item uuid."""
    from tests.lookalike.seed import Collection, Community, Item, content_sql

    community = Community("123456789/1", "Faculty of Sciences")
    collection = Collection("123456789/2", "Theses", [community.handle])
    items = [Item(handle, collection.handle, [("dc.title", title)])
             for handle, title in ITEMS.items()]
    _exec(host, "runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -d dspace_repo",
          stdin=content_sql([community], [collection], items))
    return {item.handle: item.uuid for item in items}


def _hit(uuid: str, when: datetime, **fields: Any) -> dict[str, Any]:
    """A view as DSpace's SolrLoggerServiceImpl records it (time with milliseconds)."""
    return {"id": uuid, "type": 2, "owningItem": uuid, "isBot": False, "ip": "203.0.113.77",
            "userAgent": HUMAN, "referrer": "https://www.google.com/",
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            **fields}


def _post_hits(host: Any, hits: list[dict[str, Any]]) -> None:
    _exec(host, "curl -sf -H 'Content-Type: application/json' --data-binary @- "
          "'http://127.0.0.1:8983/solr/repo-statistics/update?commit=true'",
          stdin=json.dumps(hits))


def _moment(seconds_ago: int) -> datetime:
    """A moment of today (UTC, the hosts' zone): the collector's first run starts at midnight."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - timedelta(seconds=seconds_ago),
               midnight + timedelta(seconds=400 - seconds_ago))


def _received(host: Any) -> list[dict[str, Any]]:
    text = _exec(host, f"cat {RECEIVED}").stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _requests(host: Any) -> list[dict[str, str]]:
    """Every tracking request received, as its query parameters."""
    return [dict(urllib.parse.parse_qsl(request.lstrip("?")))
            for post in _received(host) for request in post["body"]["requests"]]


def _log(host: Any) -> str:
    """The collector's last run: its log and the unit's journal."""
    return _exec(host, f"cat {STATE}/dspace-stats-collector/var/logs/dspace-stats-collector.log;"
                 f" journalctl -u {UNIT}.service --no-pager -n 40", check=False).stdout


def _finished_runs(host: Any) -> str:
    return _exec(host, f"systemctl show {UNIT}.service -p InactiveEnterTimestampMonotonic "
                 "--value").stdout.strip()


def _next_run(host: Any, timeout: float = 150) -> dict[str, str]:
    """Wait until the timer has started and finished another run; returns the unit's state."""
    before = _finished_runs(host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(2)
        if _finished_runs(host) != before:
            shown = _exec(host, f"systemctl show {UNIT}.service -p Result -p ActiveState").stdout
            return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    pytest.fail(f"{UNIT}.service did not run within {timeout} s of timer")


@pytest.fixture(scope="module")
def first_hits(converged: dict[str, Any], receiver: Any) -> dict[str, str]:
    host = receiver
    uuids = _seed_items(host)
    view_1, view_2 = uuids["123456789/11"], uuids["123456789/12"]
    _post_hits(host, [
        _hit(view_1, _moment(300)),
        _hit(view_2, _moment(240), ip="198.51.100.23"),
        _hit(view_1, _moment(200), userAgent="Mozilla/5.0 (compatible; Googlebot/2.1)"),
        _hit(view_2, _moment(180), isBot=True),
        _hit(view_1, _moment(170), statistics_type="search"),
        _hit("6f0e3f49-1111-4c3e-9a57-000000000000", _moment(160)),  # not in the database
    ])
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(_requests(host)) < 2:
        _next_run(host)
    return uuids


def test_the_timer_sends_the_views_to_matomo(first_hits: dict[str, str], receiver: Any) -> None:
    host = receiver
    journal = _exec(host, f"journalctl -u {UNIT}.service --no-pager -o cat").stdout
    assert "Started" in journal or "Finished" in journal
    triggers = _exec(host, f"systemctl show {UNIT}.timer -p LastTriggerUSecMonotonic "
                     "--value").stdout.strip()
    assert triggers not in {"", "0"}, "the timer never started the collector"
    posts = _received(host)
    assert {post["path"] for post in posts} == {"/matomo.php"}
    assert all(post["body"]["token_auth"] == TOKEN for post in posts)
    requests = _requests(host)
    assert sorted(r["action_name"] for r in requests) == sorted(ITEMS.values()), _log(host)
    for request in requests:
        assert request["idsite"] == "42" and request["rec"] == "1"
        assert request["token_auth"] == TOKEN
        handle = next(h for h, title in ITEMS.items() if title == request["action_name"])
        assert request["url"].endswith(f"/handle/{handle}"), request["url"]
        cvar = json.loads(request["cvar"])
        assert cvar["2"] == ["repositoryID", "4321"] and cvar["3"] == ["countryID", "PE"]
        assert cvar["1"][1].endswith(handle)
        assert request["ua"] == HUMAN and request["urlref"] == "https://www.google.com/"
    assert sorted(r["cip"] for r in requests) == ["198.51.0.0", "203.0.0.0"]  # 255.255.0.0


def test_the_state_keeps_a_later_run_from_sending_again(first_hits: dict[str, str],
                                                        receiver: Any) -> None:
    host = receiver
    history = _exec(host, f"cat {STATE}/dspace-stats-collector/var/timestamp/repo.dat").stdout
    assert "lastTrackedEventTimestamp" in history
    sent = len(_requests(host))
    assert _next_run(host)["Result"] == "success"
    assert len(_requests(host)) == sent


def test_a_failed_send_fails_the_unit_and_loses_nothing(first_hits: dict[str, str],
                                                         receiver: Any, site: Path) -> None:
    host = receiver
    sent = len(_requests(host))
    _exec(host, "systemctl stop matomo-receiver")
    _post_hits(host, [_hit(first_hits["123456789/12"], _moment(5), ip="192.0.2.9")])
    try:
        state = _next_run(host)
        assert state["Result"] != "success", state  # the collector itself exits 0
        # The test's timer fires every 20 s, and a run in progress shows Result=success
        # (systemd resets it at start): hold the timer so verify sees the failed run.
        _exec(host, f"systemctl stop {UNIT}.timer && "
                    f"while systemctl is-active -q {UNIT}.service; do sleep 1; done")
        log = _log(host)
        # eventpipeline.py catches the sender's MatomoOfflineException and logs it
        assert " ERROR: A fatal exception ocurred processing events" in log, log
        code, document, _ = cli("verify", "-i", str(site))
        assert code == 1
        failed = [c["check"] for c in document["hosts"][host.name]["checks"]
                  if c["outcome"] == "failed"]
        assert any("lareferencia" in c and "last_run" in c for c in failed), failed
    finally:
        _start_receiver(host)
        _exec(host, f"systemctl start {UNIT}.timer")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(_requests(host)) == sent:
        _next_run(host)
    assert [r["cip"] for r in _requests(host)[sent:]] == ["192.0.0.0"]  # once, not lost
    assert _next_run(host)["Result"] == "success"


def test_verify_passes(first_hits: dict[str, str], site: Path, receiver: Any) -> None:
    code, document, stderr = cli("verify", "-i", str(site))
    assert code == 0, json.dumps(document, indent=1) + stderr
    checks = document["hosts"][receiver.name]["checks"]
    ours = {c["check"]: c["outcome"] for c in checks if "lareferencia" in c["check"]}
    assert len(ours) == 4 and set(ours.values()) == {"passed"}, ours


def test_a_backup_holds_the_collectors_state(first_hits: dict[str, str], site: Path,
                                            receiver: Any) -> None:
    host = receiver
    code, document, _ = cli("backup", "-i", str(site))
    assert code == 0, json.dumps(document, indent=1)
    (answer,) = [a for a in document["instances"] if a["instance"] == "repo"]
    assert answer["data"]["manifest"]["parts"] == {
        "lareferencia-stats": {"paths": [STATE], "owner": "dspace"}}
    listing = _exec(host, "repo=$(ls -d /var/backups/dspace-deploy/*/ | head -1) && "
                    "restic -r \"$repo\" --password-file "
                    "/etc/dspace-deploy/backup/targets/local.password ls latest").stdout
    assert f"{STATE}/dspace-stats-collector/var/timestamp/repo.dat" in listing.splitlines()
