"""Backups and restores, proven on lab hosts with a real S3 server (docs/backup.md).

One lab of two Debian 13 hosts (started from the preloaded lab image: the roles' Debian
packages are installed, their installs are tested elsewhere), converged by one `up` from
look-alike bundles:

  bk-1  repo  DSpace 9   the production instance: content goes in here
  bk-2  lib   DSpace 10  another institution (newer schema), for the older-schema refusal

Backup targets: `local` (a directory on each host), `offsite`, a bucket on a moto S3 server
on the controller that checks signatures and IAM permissions (tests/integration/s3server.py),
and `nearline`, an SFTP account on bk-2 reached with a key from the vault. The module then,
in order: puts content into repo (database rows, assetstore files of varied sizes including
two large ones, statistics and authority documents, documents only Solr holds in qaevent and
suggestion, items with handles); backs up to the three targets, lists, verifies, backs up
again (incremental); makes Solr's tools fail as they do, exiting 0 (a scheduled `oai import`
that indexes nothing fails its unit; exports that write nothing make an incomplete backup that
fails loudly and that `verify` and `status` show); restores repo on its own host after damage
and compares byte for byte, then restores onto a statistics core that refuses the import (the
proof fails); injects faults (target unreachable, wrong S3 credentials, an
interrupted backup, a full target, a corrupted pack) and checks that each is reported and that
good snapshots survive; destroys bk-1 and runs the drill (a new lab host converged and
restored from S3, kept for a byte-for-byte comparison); rebuilds bk-1 as an empty machine and
restores it with `restore --to` (converged first) from the SFTP target, byte for byte; and
restores repo's snapshot into lib (`--from`), refused for its older schema, then accepted with
--allow-older-schema.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration import s3server
from tests.integration.helpers import EXE, assert_no_secret_in_files, cli, vault_secrets

pytestmark = [pytest.mark.lab, pytest.mark.lookalike]

BUCKET = "dspace-backups"
TARGETS = {"local", "offsite", "nearline"}
SFTP_USER, SFTP_PATH = "dspace-backups", "/srv/sftp-backups"
# Sizes of the assetstore files put into repo: many small, some medium, two large.
FILE_SIZES = [0, 1, 700, 4096, 65_536] * 4 + [1_500_000] * 3 + [24_000_000, 40_000_000]
STATISTICS_DOCS = 400
AUTHORITY_DOCS = 25
# Documents of the cores that only Solr holds (no DSpace export reaches them).
SOLR_ONLY_DOCS = {"qaevent": 7, "suggestion": 3}
HANDLED_ITEMS = 5  # items with a handle: what `oai import` indexes


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lookalike import build_release

    root = tmp_path_factory.mktemp("artifacts")
    for line in ("9", "10"):
        build_release(line, root / f"{line}-dspace")
    return root


@pytest.fixture(scope="module")
def lab(lab_factory: Any, state_home: Path) -> Any:
    return lab_factory("bk", hosts=2, oses=("debian13", "debian13"), connection="ssh",
                       preload=True)


@pytest.fixture(scope="module")
def s3(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # The controller's address on the lab's own network (labs of format 2), which its hosts
    # reach; podman's default bridge may not even exist when no container uses it.
    gateway = lab.network.gateway if lab.network else None
    server = s3server.start(address=gateway, log=tmp_path_factory.mktemp("s3") / "moto.log")
    server.create_bucket(BUCKET)
    yield server
    server.stop()


def _hostname(lab: Any, index: int, name: str) -> str:
    return f"{name}.{lab.hosts[index].name}.lab.test"


@pytest.fixture(scope="module")
def sftp_key(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An SFTP account on bk-2 that accepts a new key; returns the private key."""
    key = tmp_path_factory.mktemp("sftp") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nearline",
                    "-f", str(key)], check=True)
    public = key.with_suffix(".pub").read_text().strip()
    _exec(lab.hosts[1], f"useradd --create-home --shell /bin/sh {SFTP_USER} && "
          f"install -d -m 0700 -o {SFTP_USER} -g {SFTP_USER} ~{SFTP_USER}/.ssh {SFTP_PATH} && "
          f"echo {_q(public)} > ~{SFTP_USER}/.ssh/authorized_keys && "
          f"chown {SFTP_USER}: ~{SFTP_USER}/.ssh/authorized_keys")
    return key.read_text()


@pytest.fixture(scope="module")
def site(lab: Any, s3: Any, sftp_key: str) -> Path:
    """The lab's inventory with the two instances, the three backup targets and their keys."""
    from dspace_deploy.inventory.vault import read_password, read_vault, write_vault

    hosts_yml = lab.inventory / "hosts.yml"
    data = yaml.safe_load(hosts_yml.read_text())
    hosts = data["all"]["children"]["dspace"]["hosts"]
    for index, (name, line) in enumerate((("repo", "9"), ("lib", "10"))):
        hosts[lab.hosts[index].name]["dspace_instances"] = [{
            "name": name, "hostname": _hostname(lab, index, name), "line": line,
            "admin_email": f"admin@{_hostname(lab, index, name)}"}]
    hosts_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    (lab.inventory / "group_vars/all/backup.yml").write_text(yaml.safe_dump({
        "dspace_backup_targets": [
            {"name": "local", "type": "local", "path": "/var/backups/dspace-deploy"},
            {"name": "offsite", "type": "s3", "bucket": BUCKET, "path": "lab",
             "endpoint": s3.endpoint},
            {"name": "nearline", "type": "sftp", "host": lab.hosts[1].address,
             "user": SFTP_USER, "path": SFTP_PATH},
        ]}))
    done = subprocess.run([EXE, "secrets", "sync", "-i", str(lab.inventory)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    vault_file = lab.inventory / "group_vars/all/vault.yml"
    secrets = read_vault(vault_file, lab.vault_password_file)
    assert set(secrets["vault_backup_secrets"]) == TARGETS  # generated passwords
    secrets["vault_backup_secrets"]["offsite"].update(
        aws_access_key_id=s3.access_key_id, aws_secret_access_key=s3.secret_access_key)
    secrets["vault_backup_secrets"]["nearline"]["ssh_private_key"] = sftp_key
    write_vault(vault_file, secrets, read_password(lab.vault_password_file), f"lab-{lab.name}")
    return lab.inventory


@pytest.fixture(scope="module")
def converged(site: Path, artifacts: Path) -> dict[str, Any]:
    code, document, stderr = cli("up", "-i", str(site), "--artifacts", str(artifacts))
    assert code == 0, json.dumps(document.get("failures"), indent=1) + stderr[-3000:]
    return document


def _exec(host: Any, script: str, check: bool = True,
          privileged: bool = False) -> subprocess.CompletedProcess[str]:
    """Run as root on the host; privileged: with every capability (mount), as an
    administrator on a real machine."""
    done = subprocess.run(["podman", "exec", *(["--privileged"] if privileged else []),
                           host.container, "bash", "-ec", script],
                          capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, f"{script}\n{done.stdout}{done.stderr}"
    return done


def _psql(host: Any, database: str, sql: str) -> str:
    return _exec(host, f"runuser -u postgres -- psql -d {database} -Atqc {_q(sql)}").stdout


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# --- content ---------------------------------------------------------------------------------

SEED = r"""
import hashlib, json, os, random, subprocess, urllib.request, uuid
sizes = json.loads(os.environ["SIZES"])
rnd = random.Random(20261122)
store = "/srv/dspace/repo/assetstore"
rows, files = [], {}
for n, size in enumerate(sizes):
    iid = str(rnd.randrange(10**37, 10**38))
    rel = f"{iid[0:2]}/{iid[2:4]}/{iid[4:6]}/{iid}"
    path = os.path.join(store, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = rnd.randbytes(size)
    with open(path, "wb") as out:
        out.write(data)
    files[rel] = hashlib.sha256(data).hexdigest()
    rows.append((str(uuid.UUID(int=rnd.getrandbits(128))), n, size,
                 hashlib.md5(data).hexdigest(), iid))
subprocess.run(["chown", "-R", "dspace:dspace", store], check=True)
sql = ["BEGIN;"]
for u, n, size, md5, iid in rows:
    item = str(uuid.UUID(int=rnd.getrandbits(128)))
    sql.append(f"INSERT INTO dspaceobject VALUES ('{u}'), ('{item}');")
    sql.append(f"INSERT INTO item (uuid, item_id, last_modified) VALUES ('{item}', {n}, "
               "now() - interval '1 day');")
    if n < int(os.environ["HANDLED"]):
        sql.append("INSERT INTO handle (handle, resource_type_id, resource_id) VALUES "
                   f"('123456789/{1000 + n}', 2, '{item}');")
    sql.append("INSERT INTO bitstream (uuid, bitstream_id, size_bytes, checksum, "
               f"checksum_algorithm, internal_id, store_number) VALUES ('{u}', {n}, {size}, "
               f"'{md5}', 'MD5', '{iid}', 0);")
sql.append("COMMIT;")
subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-q",
                "-d", "dspace_repo"], input="\n".join(sql), text=True, check=True)
def post(core, docs):
    request = urllib.request.Request(
        f"http://127.0.0.1:8983/solr/repo-{core}/update?commit=true",
        data=json.dumps(docs).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=60).read()
post("statistics", [{"id": f"stat-{i}", "type": 2, "owningItem": rows[i % len(rows)][0],
                     "time": f"2026-{1 + i % 11:02d}-15T10:00:00Z", "ip": f"10.0.0.{i % 250}"}
                    for i in range(int(os.environ["STATS"]))])
post("authority", [{"id": f"auth-{i}", "value": f"Author {i}", "field": "dc_contributor_author",
                    "creation_date": "2026-03-01T08:00:00Z",
                    "last_modified_date": f"2026-{3 + i % 6:02d}-02T08:00:00Z"}
                   for i in range(int(os.environ["AUTH"]))])
solr_only = json.loads(os.environ["SOLR_ONLY"])
post("qaevent", [{"event_id": f"qa-{i}", "id": f"qa-{i}", "source": "openaire"}
                 for i in range(solr_only["qaevent"])])
post("suggestion", [{"suggestion_fullid": f"sg-{i}", "id": f"sg-{i}"}
                    for i in range(solr_only["suggestion"])])
print(json.dumps(files))
"""


@pytest.fixture(scope="module")
def seeded(lab: Any, converged: dict[str, Any]) -> dict[str, Any]:
    """Content in repo on bk-1; returns what a byte-for-byte comparison needs."""
    host = lab.hosts[0]
    done = subprocess.run(
        ["podman", "exec", "-i", "-e", f"SIZES={json.dumps(FILE_SIZES)}",
         "-e", f"STATS={STATISTICS_DOCS}", "-e", f"AUTH={AUTHORITY_DOCS}",
         "-e", f"SOLR_ONLY={json.dumps(SOLR_ONLY_DOCS)}", "-e", f"HANDLED={HANDLED_ITEMS}",
         host.container,
         "python3", "-"], input=SEED, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return {"files": json.loads(done.stdout.strip().splitlines()[-1]),
            "state": _content_state(host)}


def _content_state(host: Any, instance: str = "repo") -> dict[str, Any]:
    """Everything a restore must bring back, as comparable values."""
    database = f"dspace_{instance}"
    # A new instance has no assetstore directory until its first upload.
    hashes = _exec(host, f"! cd /srv/dspace/{instance}/assetstore 2>/dev/null || "
                   "find . -type f -print0 | sort -z | xargs -0 -r sha256sum").stdout
    handle = _exec(host, f"cd /srv/dspace/{instance}/handle-server && "
                   "sha256sum *priv*.bin *pub*.bin config.dct").stdout
    return {
        "assetstore": hashes,
        "handle_keys": handle,
        "items": _psql(host, database, "SELECT uuid, item_id FROM item ORDER BY uuid"),
        "bitstreams": _psql(host, database, "SELECT uuid, size_bytes, checksum, internal_id "
                            "FROM bitstream ORDER BY uuid"),
        "statistics": _solr_ids(host, f"{instance}-statistics"),
        "authority": _solr_ids(host, f"{instance}-authority"),
        "qaevent": _solr_ids(host, f"{instance}-qaevent"),
        "suggestion": _solr_ids(host, f"{instance}-suggestion"),
    }


def _solr_ids(host: Any, core: str) -> list[str]:
    body = _exec(host, f"curl -sf 'http://127.0.0.1:8983/solr/{core}/select?q=*:*&rows=100000"
                 "&fl=id&wt=json'").stdout
    return sorted(doc["id"] for doc in json.loads(body)["response"]["docs"])


def _backup(site: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, document, stderr = cli("backup", "-i", str(site), *args)
    assert "Traceback" not in stderr
    return code, document


def _answer(document: dict[str, Any], instance: str = "repo") -> dict[str, Any]:
    (answer,) = [a for a in document["instances"] if a["instance"] == instance]
    return answer


# --- backups ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def first_backup(site: Path, seeded: dict[str, Any]) -> dict[str, Any]:
    code, document = _backup(site)
    assert code == 0, json.dumps(document, indent=1)
    return document


def test_backup_saves_the_instance_to_every_target(first_backup: dict[str, Any],
                                                   seeded: dict[str, Any]) -> None:
    answer = _answer(first_backup)
    data = answer["data"]
    assert answer["ok"] and data["ok"]
    assert {t["target"] for t in data["targets"] if t["ok"] and t["snapshot"]} == TARGETS
    manifest = data["manifest"]
    assert manifest["counts"]["bitstreams"] == len(FILE_SIZES)
    assert manifest["counts"]["items"] >= len(FILE_SIZES)
    assert manifest["solr"] == {"statistics": STATISTICS_DOCS, "authority": AUTHORITY_DOCS,
                                **SOLR_ONLY_DOCS}
    assert manifest["complete"] and manifest["problems"] == []
    parts = manifest["solr_parts"]
    assert parts["statistics"]["expected"] == STATISTICS_DOCS  # judged against Solr's count
    assert parts["statistics"]["files"] == 11  # one per month, as DSpace writes them
    assert {parts[c]["method"] for c in SOLR_ONLY_DOCS} == {"snapshot"}
    assert manifest["assetstore_bytes"] >= sum(FILE_SIZES)
    assert manifest["schema_version"].startswith("9.")
    assert _answer(first_backup, "lib")["ok"]  # the other host's instance too


def test_the_s3_bucket_holds_only_encrypted_data(first_backup: dict[str, Any], s3: Any,
                                                 seeded: dict[str, Any]) -> None:
    keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any(k.startswith("lab/") and "/data/" in k for k in keys), keys[:20]
    small = [k for k in keys if "/data/" in k][:20]
    for key in small:
        body = s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert b"Author 1" not in body and b"dspace_repo" not in body, key


def test_the_sftp_account_holds_the_repository(first_backup: dict[str, Any],
                                               lab: Any) -> None:
    repository = f"{SFTP_PATH}/{_hostname(lab, 0, 'repo')}"
    owners = _exec(lab.hosts[1], f"test -f {repository}/config && "
                   f"find {repository}/data -type f -printf '%u\\n' | sort -u").stdout.split()
    assert owners == [SFTP_USER]  # written through the account, not as root


def test_up_again_changes_nothing_and_repairs_a_lost_sftp_key(
        first_backup: dict[str, Any], site: Path, lab: Any, artifacts: Path) -> None:
    """Idempotence with every target type; the SFTP key file is part of the backup role's
    converged state, so a key file deleted on the host is written again by the next `up`."""
    code, document, stderr = cli("up", "-i", str(site), "--artifacts", str(artifacts))
    assert code == 0, stderr[-2000:]
    changed = {h: s["changed"] for h, s in document["hosts"].items() if s["changed"]}
    assert not changed, f"second run changed something: {changed}"
    key = "/etc/dspace-deploy/backup/targets/nearline.ssh_key"
    _exec(lab.hosts[0], f"rm {key}")
    code, document, stderr = cli("up", "-i", str(site), "--artifacts", str(artifacts))
    assert code == 0, stderr[-2000:]
    assert document["hosts"][lab.hosts[0].name]["changed"] > 0
    assert _exec(lab.hosts[0], f"stat -c %a {key}").stdout.strip() == "600"


def _unit(host: Any, unit: str) -> dict[str, str]:
    """The unit's state as systemd shows it (property: value)."""
    lines = _exec(host, f"systemctl show {unit}").stdout.splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_schedule_alert_and_target_changes_converge_the_units_and_secret_files(
        first_backup: dict[str, Any], site: Path, lab: Any, artifacts: Path) -> None:
    """The role follows its settings: an alert e-mail adds the failure mail service (named in
    the backup service's OnFailure=); a new schedule rewrites the timer and re-arms it (its
    next run from the new schedule) without starting the backup; no schedule stops, disables
    and removes the timer; a target no longer configured loses its secret files; the record
    of since when backups are scheduled is written once; back to the settings of the lab,
    everything is as before."""
    host, units = lab.hosts[0], "/etc/systemd/system/dspace-repo-backup"
    timer, service, alert = f"{units}.timer", f"{units}.service", f"{units}-alert.service"
    secrets = "/etc/dspace-deploy/backup/targets"
    record = "/var/lib/dspace-deploy/dspace_backup/repo/scheduled-since"
    settings = lab.inventory / "group_vars/all/backup.yml"
    original = settings.read_text()
    since = _exec(host, f"cat {record}").stdout
    started_before = _unit(host, "dspace-repo-backup.service")["ExecMainStartTimestampMonotonic"]

    def up(**changes: Any) -> None:
        settings.write_text(yaml.safe_dump({**yaml.safe_load(original), **changes}))
        code, _document, stderr = cli("up", "-i", str(site), "--artifacts", str(artifacts))
        assert code == 0, stderr[-2000:]

    try:
        up(dspace_backup_schedule="Sat *-*-* 23:45:00",
           dspace_backup_alert_email="ops@example.org")
        assert "OnCalendar=Sat *-*-* 23:45:00" in _exec(host, f"cat {timer}").stdout
        state = _unit(host, "dspace-repo-backup.timer")
        assert (state["UnitFileState"], state["ActiveState"]) == ("enabled", "active")
        next_run = state["NextElapseUSecRealtime"]
        assert next_run.startswith("Sat ") and "23:45:00" in next_run, next_run
        assert _unit(host, "dspace-repo-backup.service")[
            "ExecMainStartTimestampMonotonic"] == started_before, "no backup started"
        assert "dspace-repo-backup-alert" in _exec(host, f"cat {alert}").stdout
        assert "OnFailure=dspace-repo-backup-alert.service" in _exec(host, f"cat {service}").stdout

        targets = [t for t in yaml.safe_load(original)["dspace_backup_targets"]
                   if t["name"] != "local"]
        up(dspace_backup_schedule="", dspace_backup_targets=targets)
        gone = _exec(host, f"ls {timer} {alert} {secrets}/local.password {secrets}/local.env",
                     check=False)
        assert gone.stdout == "" and gone.stderr.count("No such file") == 4, gone.stderr
        state = _unit(host, "dspace-repo-backup.timer")
        assert (state["LoadState"], state["ActiveState"]) == ("not-found", "inactive"), state
        assert "OnFailure" not in _exec(host, f"cat {service}").stdout
        kept = set(_exec(host, f"ls {secrets}").stdout.split())
        assert kept == {"offsite.password", "offsite.env", "nearline.password", "nearline.env",
                        "nearline.ssh_key"}, kept
    finally:
        settings.write_text(original)
    up()
    state = _unit(host, "dspace-repo-backup.timer")
    assert (state["UnitFileState"], state["ActiveState"]) == ("enabled", "active")
    assert "OnCalendar=*-*-* 02:30:00" in _exec(host, f"cat {timer}").stdout
    assert _exec(host, f"stat -c %a {secrets}/local.password").stdout.strip() == "600"
    assert _exec(host, f"cat {record}").stdout == since, "written once"


def test_list_shows_the_snapshots_of_each_target(first_backup: dict[str, Any],
                                                 site: Path) -> None:
    code, document = _backup(site, "list", "--instance", "repo")
    assert code == 0, json.dumps(document, indent=1)
    snapshots = _answer(document)["data"]["snapshots"]
    assert {s["target"] for s in snapshots} == TARGETS
    assert all(s["counts"]["bitstreams"] == len(FILE_SIZES) for s in snapshots)


def test_an_unchanged_instance_backs_up_incrementally(first_backup: dict[str, Any],
                                                      site: Path) -> None:
    code, document = _backup(site, "--instance", "repo", "--target", "local")
    assert code == 0, json.dumps(document, indent=1)
    (result,) = _answer(document)["data"]["targets"]
    # The assetstore (66 MB) is unchanged: only the new dump and exports may be added.
    assert result["added_bytes"] < 2_000_000, result


def test_verify_reads_the_stored_data_back(first_backup: dict[str, Any], site: Path) -> None:
    code, document = _backup(site, "verify", "--instance", "repo", "--read-data")
    assert code == 0, json.dumps(document, indent=1)
    assert all(t["ok"] for t in _answer(document)["data"]["targets"])


def test_verify_check_sees_a_recent_backup(first_backup: dict[str, Any], site: Path,
                                           lab: Any) -> None:
    code, document, stderr = cli("verify", "-i", str(site), "--limit", lab.hosts[0].name)
    outcomes = {c["check"]: c for c in document["hosts"][lab.hosts[0].name]["checks"]}
    backup_checks = {k: v["outcome"] for k, v in outcomes.items()
                     if k.startswith("dspace_backup::")}
    assert backup_checks and set(backup_checks.values()) == {"passed"}, backup_checks
    assert code == 0, json.dumps([c for c in outcomes.values() if c["outcome"] != "passed"],
                                 indent=1) + stderr[-2000:]


# --- Solr tools that exit 0 when they fail --------------------------------------------------

def _block_solr_for_dspace(host: Any) -> None:
    """The DSpace user's connections to Solr are refused (its commands then fail as against
    a Solr that is down); root's, and so the backup program's own counts, still pass."""
    _exec(host, "nft add table inet solrfault && nft 'add chain inet solrfault out "
          "{ type filter hook output priority 0; }' && nft add rule inet solrfault out "
          "meta skuid dspace tcp dport 8983 reject with tcp reset")


def _unblock_solr(host: Any) -> None:
    _exec(host, "nft delete table inet solrfault", check=False)


def test_a_scheduled_oai_import_that_indexes_nothing_fails_its_unit(
        first_backup: dict[str, Any], lab: Any) -> None:
    host = lab.hosts[0]
    unit = "dspace-repo-oai-import.service"
    _exec(host, f"systemctl start {unit}")
    assert _exec(host, "curl -sf 'http://127.0.0.1:8983/solr/repo-oai/select?q=*:*&rows=0"
                 "&wt=json'").stdout.count(f'"numFound":{HANDLED_ITEMS}') == 1
    _clear_core(host, "repo-oai")
    _block_solr_for_dspace(host)
    try:
        done = _exec(host, f"systemctl start {unit}", check=False)
        assert done.returncode != 0
        assert _exec(host, f"systemctl is-failed {unit}", check=False).stdout.strip() == "failed"
        journal = _exec(host, f"journalctl -u {unit} -n 30 --no-pager").stdout
        assert "is down, turn it on." in journal  # what oai import printed, exiting 0
        assert ("dspace-task-check: the OAI-PMH index http://127.0.0.1:8983/solr/repo-oai holds "
                f"0 documents, but {HANDLED_ITEMS} items are in the archive or withdrawn "
                "with a handle") in journal
    finally:
        _unblock_solr(host)
    _exec(host, f"systemctl reset-failed {unit}; systemctl start {unit}")


def test_a_failed_solr_export_fails_loudly_and_is_not_a_good_backup(
        first_backup: dict[str, Any], site: Path, lab: Any) -> None:
    """DSpace's export exits 0 having written nothing: the backup fails, naming each core with
    the documents expected and exported; its snapshot is kept but marked incomplete, is not
    the last good backup, is not what `restore --snapshot latest` takes, and `verify` and
    `status` show the failure."""
    host = lab.hosts[0]
    _, document, _ = cli("status", "-i", str(site), "--limit", host.name)
    (before,) = [i for i in document["hosts"][host.name]["instances"] if i["name"] == "repo"]
    _block_solr_for_dspace(host)
    try:
        code, document = _backup(site, "--instance", "repo", "--target", "local")
    finally:
        _unblock_solr(host)
    answer = _answer(document)
    assert code == 1 and not answer["ok"], json.dumps(document, indent=1)
    error = answer["error"]
    assert "the backup of repo is incomplete" in error, error
    assert (f"the export of Solr core repo-statistics holds 0 of the {STATISTICS_DOCS} "
            "documents") in error and f"repo-authority holds 0 of the {AUTHORITY_DOCS}" in error
    assert "Problem encountered while trying to export index" in error  # DSpace's own words
    assert "tagged dspace-deploy-incomplete" in error
    (result,) = answer["data"]["targets"]
    assert result["ok"] and result["snapshot"] and result["complete"] is False
    code, document = _backup(site, "list", "--instance", "repo", "--target", "local")
    snapshots = {s["id"]: s for s in _answer(document)["data"]["snapshots"]}
    kept = snapshots[result["snapshot"]]
    assert not kept["complete"] and kept["incomplete"] == ["authority", "statistics"]
    # verify: the failed run is named; the last good backup is still young enough
    code, document, _ = cli("verify", "-i", str(site), "--limit", host.name)
    checks = {c["check"]: c for c in document["hosts"][host.name]["checks"]}
    failed = [c for name, c in checks.items() if name.startswith("dspace_backup::")
              and c["outcome"] != "passed"]
    assert code != 0 and [c["check"] for c in failed] == [
        "dspace_backup::test_no_failed_backup"], json.dumps(failed, indent=1)
    assert "repo-statistics holds 0 of the" in json.dumps(failed)
    # status: the last good backup unchanged, the failure a problem
    code, document, _ = cli("status", "-i", str(site), "--limit", host.name)
    (inst,) = [i for i in document["hosts"][host.name]["instances"] if i["name"] == "repo"]
    assert code != 0 and inst["last_backup"] == before["last_backup"]
    assert inst["backup_failure"].startswith("the backup of repo is incomplete")
    assert any("repo-statistics holds 0 of the" in p for p in inst["problems"])
    # the next backup, with Solr reachable again, is complete and clears the failure
    code, document = _backup(site, "--instance", "repo", "--target", "local")
    assert code == 0, json.dumps(document, indent=1)
    assert _answer(document)["data"]["manifest"]["complete"]


# --- restore on the same host ----------------------------------------------------------------

def test_restore_on_the_same_host_brings_everything_back(
        first_backup: dict[str, Any], seeded: dict[str, Any], site: Path, lab: Any) -> None:
    host = lab.hosts[0]
    some = sorted(seeded["files"])[:3]
    _exec(host, "cd /srv/dspace/repo/assetstore && rm -f " + " ".join(some)
          + " && echo stray > stray.bin")
    _psql(host, "dspace_repo", "DELETE FROM bitstream WHERE bitstream_id < 5")
    for core in ("statistics", "qaevent"):
        _clear_core(host, f"repo-{core}")
    _exec(host, "curl -sf 'http://127.0.0.1:8983/solr/repo-suggestion/update?commit=true' "
          "-H 'Content-Type: application/json' -d '[{\"suggestion_fullid\":\"stray\","
          "\"id\":\"stray\"}]'")
    assert _content_state(host) != seeded["state"]
    code, document, stderr = cli("restore", "-i", str(site), "--instance", "repo",
                                 "--target", "local", "--snapshot", "latest", "--yes")
    assert code == 0, json.dumps(document, indent=1) + stderr[-2000:]
    data = document["instances"][0]["data"]
    assert data["proof"]["ok"]
    # the rebuilt cores are judged against the database, Solr-only cores came back by Solr
    assert data["proof"]["checks"]["reindex"]["oai"] == {
        "ok": True, "expected": HANDLED_ITEMS, "actual": HANDLED_ITEMS}
    assert data["proof"]["checks"]["reindex"]["search"]["ok"]
    assert data["solr"]["qaevent"] == {"method": "snapshot", "problem": None}
    assert _content_state(host) == seeded["state"]  # byte for byte, stray file gone


def _clear_core(host: Any, core: str) -> None:
    _exec(host, f"curl -sf 'http://127.0.0.1:8983/solr/{core}/update?commit=true' "
          "-H 'Content-Type: application/json' -d '{\"delete\":{\"query\":\"*:*\"}}'")


def test_a_restore_whose_import_brings_back_fewer_documents_fails_its_proof(
        first_backup: dict[str, Any], seeded: dict[str, Any], site: Path, lab: Any) -> None:
    """The statistics core's schema now requires a field the snapshot's documents lack (a
    changed schema): DSpace's import clears the core and fails on the first file. The restore
    goes on and its proof, counting the core, fails; with the schema back, it restores."""
    host = lab.hosts[0]
    schema = "/var/solr/data/repo-statistics/conf/schema.xml"
    reload_ = ("curl -sf 'http://127.0.0.1:8983/solr/admin/cores?action=RELOAD"
               "&core=repo-statistics' >/dev/null")
    _exec(host, f"cp -p {schema} /root/statistics-schema.xml && sed -i 's|<fields>|<fields>"
          "<field name=\"lab_required\" type=\"string\" indexed=\"true\" stored=\"true\" "
          f"required=\"true\"/>|' {schema} && {reload_}")
    try:
        code, document, stderr = cli("restore", "-i", str(site), "--instance", "repo",
                                     "--target", "local", "--snapshot", "latest", "--yes")
        answer = document["instances"][0]
        assert code == 1 and not answer["ok"], json.dumps(document, indent=1) + stderr[-2000:]
        assert "does not match its manifest (solr statistics: 0 (manifest: " \
            f"{STATISTICS_DOCS}))" in answer["error"], answer["error"]
        assert answer["data"]["solr"]["statistics"]["exit"] == 1  # the refused rows escape
    finally:
        _exec(host, f"cp -p /root/statistics-schema.xml {schema} && {reload_}")
    code, document, stderr = cli("restore", "-i", str(site), "--instance", "repo",
                                 "--target", "local", "--snapshot", "latest", "--yes")
    assert code == 0, json.dumps(document, indent=1) + stderr[-2000:]
    assert _content_state(host) == seeded["state"]


# --- faults ----------------------------------------------------------------------------------

def _snapshot_ids(site: Path, target: str) -> set[str]:
    code, document = _backup(site, "list", "--instance", "repo", "--target", target)
    assert code == 0, json.dumps(document, indent=1)
    return {s["id"] for s in _answer(document)["data"]["snapshots"]}


def test_an_unreachable_target_fails_loudly_and_harms_nothing(
        first_backup: dict[str, Any], site: Path, lab: Any, s3: Any) -> None:
    host = lab.hosts[0]
    before = _snapshot_ids(site, "offsite")
    port = s3.endpoint.rsplit(":", 1)[1]
    _exec(host, "nft add table inet faulttest && nft 'add chain inet faulttest out "
          "{ type filter hook output priority 0; }' && nft add rule inet faulttest out "
          f"tcp dport {port} reject with tcp reset")
    try:
        code, document = _backup(site, "--instance", "repo")
    finally:
        _exec(host, "nft delete table inet faulttest")
    answer = _answer(document)
    assert code == 1 and not answer["ok"]
    assert "offsite" in answer["error"], answer["error"]
    results = {t["target"]: t["ok"] for t in answer["data"]["targets"]}
    assert results == {"local": True, "offsite": False, "nearline": True}  # the others ran
    assert _exec(host, "systemctl is-failed dspace-repo-backup.service", check=False
                 ).stdout.strip() != "active"
    assert before <= _snapshot_ids(site, "offsite")
    code, document = _backup(site, "--instance", "repo", "--target", "offsite")
    assert code == 0, json.dumps(document, indent=1)  # the next backup succeeds


def test_wrong_s3_credentials_are_named(first_backup: dict[str, Any], site: Path,
                                        lab: Any) -> None:
    host = lab.hosts[0]
    env = "/etc/dspace-deploy/backup/targets/offsite.env"
    _exec(host, f"cp -p {env} {env}.good && sed -i "
          "'s/^AWS_SECRET_ACCESS_KEY=.*/AWS_SECRET_ACCESS_KEY=not-the-key/' " + env)
    try:
        code, document = _backup(site, "--instance", "repo", "--target", "offsite")
    finally:
        _exec(host, f"mv {env}.good {env}")
    answer = _answer(document)
    assert code == 1 and not answer["ok"]
    assert "signature" in answer["error"].lower() or "credential" in answer["error"].lower(), \
        answer["error"]
    assert "not-the-key" not in json.dumps(document)


def test_an_interrupted_backup_leaves_earlier_snapshots_and_the_next_one_works(
        first_backup: dict[str, Any], site: Path, lab: Any) -> None:
    host = lab.hosts[0]
    before = _snapshot_ids(site, "local")
    # Grow the assetstore so that restic is still busy when it is killed.
    _exec(host, "head -c 120000000 /dev/urandom > /srv/dspace/repo/assetstore/big-new.bin")
    _exec(host, "systemd-run --unit=interrupted-backup /usr/local/sbin/dspace-backup run repo "
          "--target local; for i in $(seq 1 300); do pgrep -x restic && break; sleep 0.1; "
          "done; sleep 1; pkill -KILL -x restic || true; "
          "systemctl kill -s KILL interrupted-backup || true; sleep 1; "
          "systemctl reset-failed interrupted-backup || true")
    assert _snapshot_ids(site, "local") == before  # nothing half-written became a snapshot
    code, document = _backup(site, "--instance", "repo", "--target", "local")
    assert code == 0, json.dumps(document, indent=1)
    assert len(_snapshot_ids(site, "local") - before) == 1
    code, document = _backup(site, "verify", "--instance", "repo", "--target", "local")
    assert code == 0, json.dumps(document, indent=1)
    _exec(host, "rm -f /srv/dspace/repo/assetstore/big-new.bin")


def test_a_full_target_fails_loudly_and_harms_nothing(
        first_backup: dict[str, Any], site: Path, lab: Any) -> None:
    host = lab.hosts[0]
    repository = f"/var/backups/dspace-deploy/{_hostname(lab, 0, 'repo')}"
    before = _snapshot_ids(site, "local")
    # The target's disk: a file system holding the repository with 8 MB to spare.
    _exec(host, privileged=True, script=f"used=$(du -sk {repository} | cut -f1); "
                f"mv {repository} {repository}.disk && mkdir -m 0700 {repository} && "
                f"mount -t tmpfs -o size=$((used + 8192))k,mode=0700 tmpfs {repository} && "
                f"cp -a {repository}.disk/. {repository}/ && rm -rf {repository}.disk")
    try:
        _exec(host, "head -c 40000000 /dev/urandom > /srv/dspace/repo/assetstore/new-40mb.bin")
        code, document = _backup(site, "--instance", "repo", "--target", "local")
        answer = _answer(document)
        assert code == 1 and not answer["ok"], json.dumps(document, indent=1)
        assert "local" in answer["error"] and "full" in answer["error"], answer["error"]
        # The administrator grows the disk: the earlier snapshots are all there and whole,
        # and the next backup succeeds.
        _exec(host, f"mount -o remount,size=2g {repository}", privileged=True)
        assert before <= _snapshot_ids(site, "local")
        code, document = _backup(site, "verify", "--instance", "repo", "--target", "local")
        assert code == 0, json.dumps(document, indent=1)
        code, document = _backup(site, "--instance", "repo", "--target", "local")
        assert code == 0, json.dumps(document, indent=1)
    finally:
        _exec(host, "rm -f /srv/dspace/repo/assetstore/new-40mb.bin")
        _exec(host, privileged=True, script=f"mkdir -m 0700 {repository}.disk && "
                    f"cp -a {repository}/. {repository}.disk/ && umount {repository} && "
                    f"rmdir {repository} && mv {repository}.disk {repository}")


def test_a_corrupted_pack_is_found_and_other_targets_stay_good(
        first_backup: dict[str, Any], site: Path, lab: Any) -> None:
    host = lab.hosts[0]
    repository = f"/var/backups/dspace-deploy/{_hostname(lab, 0, 'repo')}"
    pack = _exec(host, f"find {repository}/data -type f -size +1M | sort | head -1").stdout.strip()
    assert pack, "no pack file to corrupt"
    _exec(host, f"printf 'garbage-garbage-garbage' | dd of={pack} bs=1 seek=4096 conv=notrunc")
    code, document = _backup(site, "verify", "--instance", "repo", "--target", "local",
                             "--read-data")
    answer = _answer(document)
    assert code == 1 and not answer["ok"], json.dumps(document, indent=1)
    assert "local" in answer["error"]
    code, document = _backup(site, "verify", "--instance", "repo", "--target", "offsite",
                             "--read-data")
    assert code == 0, json.dumps(document, indent=1)


# --- disaster: the host is gone --------------------------------------------------------------

@pytest.fixture(scope="module")
def drilled(first_backup: dict[str, Any], seeded: dict[str, Any], site: Path, lab: Any,
            artifacts: Path) -> dict[str, Any]:
    """bk-1 destroyed; the drill restores repo from S3 onto a new lab host, kept for a look."""
    from dspace_deploy.lab.labs import destroy_lab, list_labs

    subprocess.run(["podman", "rm", "-f", lab.hosts[0].container], capture_output=True,
                   check=True)
    before = {existing.name for existing in list_labs()}
    code, document, stderr = cli("drill", "-i", str(site), "--instance", "repo",
                                 "--target", "offsite", "--artifacts", str(artifacts), "--keep")
    made = [existing for existing in list_labs() if existing.name not in before]
    state = _content_state(made[0].hosts[0]) if made and code == 0 else None
    for lab_made in made:
        destroy_lab(lab_made.name)
    return {"code": code, "document": document, "stderr": stderr, "state": state,
            "labs": [m.name for m in made]}


def test_the_drill_restores_onto_a_new_host_byte_for_byte(drilled: dict[str, Any],
                                                          seeded: dict[str, Any]) -> None:
    document = drilled["document"]
    assert drilled["code"] == 0, json.dumps(document, indent=1) + drilled["stderr"][-2000:]
    assert document["ok"] and document["stage"] == "done" and document["kept"]
    assert document["restore"]["instances"][0]["data"]["proof"]["ok"]
    assert drilled["state"] == seeded["state"]


def test_the_drill_removes_its_lab(drilled: dict[str, Any]) -> None:
    from dspace_deploy.lab.labs import list_labs

    assert drilled["labs"], "the drill made no lab"
    assert not set(drilled["labs"]) & {existing.name for existing in list_labs()}


def test_restore_to_a_rebuilt_host_converges_it_first_and_proves_everything(
        drilled: dict[str, Any], seeded: dict[str, Any], site: Path, lab: Any,
        lab_factory: Any, artifacts: Path) -> None:
    """Disaster recovery by hand: bk-1 comes back as an empty machine of the same name (a new
    SSH host key, maybe a new address; from the lab's preloaded image: Debian packages, no
    DSpace, no data); `restore --to` converges it with `up`, then restores from the SFTP
    target on bk-2."""
    rebuilt = lab_factory("bk", hosts=2, oses=("debian13", "debian13"), connection="ssh")
    host = rebuilt.hosts[0]
    assert _exec(host, "test -d /srv/dspace/repo", check=False).returncode != 0  # empty
    code, document, stderr = cli("restore", "-i", str(site), "--instance", "repo", "--to",
                                 host.name, "--target", "nearline", "--snapshot", "latest",
                                 "--artifacts", str(artifacts), "--yes")
    assert code == 0, json.dumps(document, indent=1) + stderr[-3000:]
    assert document["instances"][0]["data"]["proof"]["ok"]
    assert _content_state(host) == seeded["state"]


def test_an_older_schema_is_refused_then_restored_with_upgrade(
        drilled: dict[str, Any], seeded: dict[str, Any], site: Path, lab: Any) -> None:
    host = lab.hosts[1]
    source = _hostname(lab, 0, "repo")
    before = _content_state(host, "lib")
    code, document, stderr = cli("restore", "-i", str(site), "--instance", "lib",
                                 "--from", source, "--target", "offsite", "--snapshot",
                                 "latest", "--yes")
    answer = document["instances"][0]
    assert code == 1 and answer["refused"], json.dumps(document, indent=1) + stderr[-2000:]
    assert "older" in answer["error"] and "--allow-older-schema" in answer["error"]
    assert _content_state(host, "lib") == before  # refused: nothing changed
    code, document, stderr = cli("restore", "-i", str(site), "--instance", "lib",
                                 "--from", source, "--target", "offsite", "--snapshot",
                                 "latest", "--yes", "--allow-older-schema")
    assert code == 0, json.dumps(document, indent=1) + stderr[-2000:]
    data = document["instances"][0]["data"]
    assert data["migrated"] and data["proof"]["ok"]
    schema = _psql(host, "dspace_lib", "SELECT version FROM schema_version WHERE success "
                   "ORDER BY installed_rank DESC LIMIT 1").strip()
    assert schema.startswith("10."), schema
    state = _content_state(host, "lib")
    for key in ("assetstore", "bitstreams", "statistics", "authority"):
        assert state[key] == seeded["state"][key], key


def test_no_secret_in_any_run_artifact(drilled: dict[str, Any], lab: Any,
                                       state_home: Path) -> None:
    assert_no_secret_in_files(state_home, vault_secrets(lab))

