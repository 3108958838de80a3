"""Sample content on one lab host (look-alike DSpace 9.3, preloaded image), roles/dspace_content:
  ct-1  Debian 13  repo  content: sample-en
- `up` seeds it with DSpace's tools: 3 communities, 4 collections, 24 items, 58 bitstreams and the
  sample users, visible in REST (discover/search/objects) and OAI-PMH (ListIdentifiers), and the
  set's 3 groups with their 5 memberships (made through the REST API as the administrator);
- `playbooks/content.yml` content_action=golden takes the snapshot (a second one changes
  nothing; reset refuses nothing here, golden refuses nothing: the refusals are unit-tested);
- after changes (items deleted and added with `dspace import`, a password changed, a group's
  members removed) a reset brings back exactly the golden state: counts, item handles, a
  bitstream's checksum, the password hash, the groups and their members, REST and OAI;
- a reset SIGKILLed half-way (while it restores the database) and run again ends golden;
- a second `up` reports changed=0 and seeds nothing again.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from dspace_deploy.runner import Job, RunResult, run
from tests.integration.helpers import cli, with_instances

# Behind ./scripts/test --all (marker extended), for CI's time: test_workshop.py proves the
# seeding, the golden snapshot and a reset in CI through `lab up --students` and `lab reset`;
# this module adds the exact golden comparison and the reset killed half-way.
pytestmark = [pytest.mark.lab, pytest.mark.lookalike, pytest.mark.extended]

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "content.yml"
NAME = "repo"
DB = f"dspace_{NAME}"
# The shipped sample-en set (roles/dspace_content/files/sample/README.md): 2 top communities and
# one sub-community, 4 collections, 24 items, 24 PDFs + 6 CSVs + 4 notes + 24 licences.
EXPECTED = {"communities": 3, "collections": 4, "items": 24, "bitstreams": 58}
# Its groups.csv: group -> members (the permanent Anonymous and Administrator groups left out).
GROUPS = {"Library Staff": 1, "Researchers": 1, "Workshop Participants": 3}
STATE = f"/var/lib/dspace-deploy/dspace_content/{NAME}"


def _sh(lab: Any, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["podman", "exec", lab.hosts[0].container, "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    if check:
        assert done.returncode == 0, f"{script}: {done.stdout}{done.stderr}"
    return done


def _sql(lab: Any, query: str) -> str:
    return _sh(lab, f'runuser -u postgres -- psql -X -A -t -q -d {DB} -c "{query}"').stdout.strip()


def _state(lab: Any) -> dict[str, Any]:
    """What a reset must bring back, read from the database, the assetstore, REST and OAI."""
    counts = dict(
        zip(
            EXPECTED,
            _sql(
                lab,
                "SELECT (SELECT count(*) FROM community), "
                "(SELECT count(*) FROM collection), (SELECT count(*) FROM item), "
                "(SELECT count(*) FROM bitstream WHERE NOT deleted)",
            ).split("|"),
            strict=True,
        )
    )
    handles = _sql(
        lab,
        "SELECT string_agg(h.handle, ' ' ORDER BY h.handle) FROM handle h "
        "JOIN item i ON i.uuid = h.resource_id",
    )
    first = _sql(
        lab,
        "SELECT internal_id || ' ' || checksum FROM bitstream WHERE NOT deleted "
        "ORDER BY internal_id LIMIT 1",
    ).split()
    path = (
        f"/srv/dspace/{NAME}/assetstore/{first[0][0:2]}/{first[0][2:4]}/{first[0][4:6]}/{first[0]}"
    )
    md5 = _sh(lab, f"md5sum {path}").stdout.split()[0]
    password = _sql(lab, "SELECT password FROM eperson WHERE email = 'librarian@example.org'")
    groups = _sql(
        lab,
        "SELECT string_agg(g.name || '=' || (SELECT count(*) FROM epersongroup2eperson m "
        "WHERE m.eperson_group_id = g.uuid), ',' ORDER BY g.name) FROM epersongroup g "
        "WHERE NOT g.permanent",
    )
    rest = json.loads(
        _sh(
            lab,
            "curl -fsS 'http://127.0.0.1:8080/server/api/discover/search/objects"
            "?dsoType=ITEM&size=1'",
        ).stdout
    )
    oai = _sh(
        lab,
        "curl -fsS 'http://127.0.0.1:8080/server/oai/request?verb=ListIdentifiers"
        "&metadataPrefix=oai_dc'",
    ).stdout
    listed = re.search(r'completeListSize="(\d+)"', oai)
    return {
        "counts": {k: int(v) for k, v in counts.items()},
        "handles": handles,
        "bitstream": (first[1], md5),
        "password": password,
        "groups": dict(pair.split("=") for pair in groups.split(",")) if groups else {},
        "rest_items": rest["_embedded"]["searchResult"]["page"]["totalElements"],
        "oai_records": int(listed.group(1)) if listed else oai.count("<header"),
    }


def _content(site: Any, action: str) -> tuple[RunResult, float]:
    job = Job(
        verb="content-test", playbook=str(PLAYBOOK), site=site, extravars={"content_action": action}
    )
    started = time.monotonic()
    result = run(job)
    seconds = time.monotonic() - started
    print(f"content {action}: {seconds:.1f} s, {result.summary.changed} changed")
    return result, seconds


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    build_release("9", root / "9-dspace")
    return root


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    lab = lab_factory("content", hosts=1, oses=("debian13",), connection="ssh", preload=True)
    host = lab.hosts[0].name
    return with_instances(
        lab,
        {
            host: [
                {
                    "name": NAME,
                    "hostname": f"{NAME}.{host}.lab.test",
                    "line": "9",
                    "admin_email": f"admin@{host}.lab.test",
                    "content": "sample-en",
                }
            ]
        },
    )


@pytest.fixture(scope="module")
def site(lab: Any, artifacts: Path) -> Any:
    from dspace_deploy.inventory.validate import load_site

    started = time.monotonic()
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--artifacts", str(artifacts))
    print(f"content lab: up with seeding {time.monotonic() - started:.0f} s")
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
    return load_site(lab.inventory, lab.vault_password_file)


def test_up_seeds_the_sample_set_once(lab: Any, site: Any) -> None:
    state = _state(lab)
    assert state["counts"] == EXPECTED, state
    assert state["rest_items"] == 24 and state["oai_records"] == 24, state
    seeded = json.loads(_sh(lab, f"cat {STATE}/seeded.json").stdout)
    assert seeded["content"] == "sample-en" and seeded["items"] == 24
    assert sorted(seeded["collections"]) == [
        "Biology Articles",
        "Open Educational Resources",
        "Research Data",
        "Theses and Dissertations",
    ]
    # the file for administrators only: READ for Administrator, not Anonymous
    assert (
        _sql(
            lab,
            "SELECT count(*) FROM resourcepolicy r JOIN epersongroup g ON g.uuid = "
            "r.epersongroup_id JOIN metadatavalue v ON v.dspace_object_id = r.dspace_object "
            "WHERE v.text_value = 'internal-notes.txt' AND g.name = 'Administrator'",
        )
        == "4"
    )
    assert _sql(lab, "SELECT count(*) FROM eperson WHERE email LIKE '%@example.org'") == "3"
    # the groups, made through the REST API, with their members (read back from the database)
    assert state["groups"] == {name: str(n) for name, n in GROUPS.items()}, state
    assert sorted(seeded["groups_added"]) == sorted(GROUPS) and seeded["groups"] == GROUPS
    assert (
        _sql(
            lab,
            "SELECT string_agg(e.email, ' ' ORDER BY e.email) FROM epersongroup2eperson m "
            "JOIN eperson e ON e.uuid = m.eperson_id "
            "JOIN epersongroup g ON g.uuid = m.eperson_group_id "
            "WHERE g.name = 'Workshop Participants'",
        )
        == "librarian@example.org researcher@example.org student@example.org"
    )
    assert seeded["counts"]["groups"] == 2 + len(GROUPS)  # and Anonymous, Administrator


def test_golden_reset_and_a_killed_reset(lab: Any, site: Any) -> None:
    result, golden_s = _content(site, "golden")
    assert result.rc == 0 and result.summary.changed > 0, result.summary.failures
    golden = _state(lab)
    result, _ = _content(site, "golden")
    assert result.rc == 0 and result.summary.changed == 0  # kept, not taken again
    # a class at work: a collection's items deleted, new ones added (DSpace's own import),
    # a password changed (as a user does through the UI)
    admin = site.hostvars[lab.hosts[0].name]["dspace_instances"][0]["admin_email"]
    seeded = json.loads(_sh(lab, f"cat {STATE}/seeded.json").stdout)
    dspace = f"cd /srv/dspace/{NAME} && runuser -u dspace -- bin/dspace"
    _sh(
        lab,
        f"cp {STATE}/maps/01.map /tmp/01.map && chmod 644 /tmp/01.map && "
        f"{dspace} import -d -m /tmp/01.map -e {admin} >/dev/null",
    )
    _sh(
        lab,
        f"rm -f /tmp/new.map && {dspace} import -a -c {seeded['collections']['Research Data']} "
        f"-s /srv/dspace/{NAME}/var/dspace-content/sample-en/items/02 -m /tmp/new.map "
        f"-e {admin} >/dev/null",
    )
    _sql(lab, "UPDATE eperson SET password = 'changed' WHERE email = 'librarian@example.org'")
    _sql(
        lab,
        "DELETE FROM epersongroup2eperson WHERE eperson_group_id = "
        "(SELECT uuid FROM epersongroup WHERE name = 'Workshop Participants')",
    )
    changed = _state(lab)
    assert changed["counts"]["items"] == 24 - 6 + 6 and changed["handles"] != golden["handles"]
    assert changed["password"] == "changed"
    assert changed["groups"]["Workshop Participants"] == "0"
    assert golden["groups"] == {name: str(n) for name, n in GROUPS.items()}
    result, reset_s = _content(site, "reset")
    assert result.rc == 0, result.summary.failures
    after = _state(lab)
    assert after == golden, {"golden": golden, "after": after}
    # modified again, then a reset killed while it restores the database, then run again
    _sh(
        lab,
        f"cp {STATE}/maps/03.map /tmp/03.map && chmod 644 /tmp/03.map && "
        f"{dspace} import -d -m /tmp/03.map -e {admin} >/dev/null",
    )
    assert _state(lab)["counts"]["items"] == 18
    # start a reset on the host and SIGKILL its process group as soon as its scratch database
    # exists (the restore of the database is under way); polled on the host, not through exec
    killed = _sh(
        lab,
        f"setsid /usr/local/sbin/dspace-content reset {NAME} --json >/tmp/reset.out 2>&1 & pid=$!; "
        "while kill -0 $pid 2>/dev/null; do "
        '  if runuser -u postgres -- psql -X -A -t -q -d postgres -c "SELECT 1 FROM pg_database '
        f"WHERE datname LIKE '{DB}\\_\\_%'\" | grep -q 1; then "
        "    /bin/kill -KILL -- -$pid; echo killed; exit 0; fi; sleep 0.02; done; echo finished",
    ).stdout
    assert "killed" in killed, killed + _sh(lab, "cat /tmp/reset.out", check=False).stdout
    assert _sh(lab, f"test -f {STATE}/reset.json", check=False).returncode == 0
    result, _ = _content(site, "reset")
    assert result.rc == 0, result.summary.failures
    assert _state(lab) == golden
    assert _sh(lab, f"test -f {STATE}/reset.json", check=False).returncode == 1
    print(f"content lab: golden {golden_s:.0f} s, reset {reset_s:.0f} s")


def test_a_second_up_changes_nothing_and_seeds_nothing(
    lab: Any, site: Any, artifacts: Path
) -> None:
    before = _sh(lab, f"stat -c %Y {STATE}/seeded.json").stdout
    code, document, stderr = cli("up", "-i", str(lab.inventory), "--artifacts", str(artifacts))
    assert code == 0, stderr[-2000:]
    assert document["hosts"][lab.hosts[0].name]["changed"] == 0, document
    assert _sh(lab, f"stat -c %Y {STATE}/seeded.json").stdout == before
