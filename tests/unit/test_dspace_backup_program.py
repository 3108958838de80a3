"""The dspace_backup role's host program (roles/dspace_backup/files/dspace-backup), its pure
parts: repository URLs and restic command lines (no secret in argv), retention flags, schema
comparison, manifest checks and the proof against a manifest (missing file, wrong MD5, wrong
size, wrong count)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.unit.programs import load_program

prog = load_program("roles/dspace_backup/files/dspace-backup", "dspace_backup_under_test")

SECRET = "s3cr3t-Repo-Password"
AWS_SECRET = "AKIAsecretKEY/xyz"


def _config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    config = {
        "instance": "repo",
        "site": {"site_name": "uni", "line": "9", "flavor": "dspace", "version": "9.3"},
        "state_dir": str(tmp_path / "state"),
        "targets": [
            {"name": "local", "type": "local", "path": "/var/backups/dspace-deploy",
             "password_file": "/etc/dspace-deploy/backup/targets/local.password",
             "env_file": "/etc/dspace-deploy/backup/targets/local.env"},
            {"name": "offsite", "type": "s3", "bucket": "dspace", "path": "prod",
             "endpoint": "http://10.88.0.1:9000", "region": "eu-west-1",
             "password_file": "/etc/dspace-deploy/backup/targets/offsite.password",
             "env_file": str(tmp_path / "offsite.env")},
        ],
        "scheduled_targets": ["offsite"],
        "retention": {"daily": 7, "weekly": 4, "monthly": 12},
    }
    config.update(extra)
    return config


def _manifest(**extra: Any) -> dict[str, Any]:
    manifest = {"format": 1, "instance": "repo", "line": "9", "flavor": "dspace",
                "schema_version": "9.0.2025.03.12", "dspace_version": "9.3",
                "counts": {"items": 2, "bitstreams": 2}, "solr": {"statistics": 5},
                "bitstreams": [], "files": {}}
    manifest.update(extra)
    return manifest


# --- repositories and restic command lines ------------------------------------------------------

def test_repository_urls_per_target_type() -> None:
    url = prog.repository_url
    assert url({"type": "local", "path": "/var/backups/dspace-deploy/"}, "repo") == \
        "/var/backups/dspace-deploy/repo"
    assert url({"type": "sftp", "host": "bk.example.org", "user": "restic", "port": 2222,
                "path": "/srv/restic"}, "repo") == "sftp://restic@bk.example.org:2222//srv/restic/repo"
    assert url({"type": "s3", "bucket": "dspace", "path": "/prod/",
                "endpoint": "http://10.88.0.1:9000/"}, "repo") == \
        "s3:http://10.88.0.1:9000/dspace/prod/repo"
    assert url({"type": "s3", "bucket": "dspace"}, "cris") == "s3:s3.amazonaws.com/dspace/cris"
    with pytest.raises(prog.BackupError):
        url({"type": "ftp", "name": "x"}, "repo")


def test_sftp_target_uses_the_key_file_not_the_key(tmp_path: Path) -> None:
    key = tmp_path / "bk.ssh_key"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETKEY\n")
    target = prog.resolve_target({"name": "bk", "type": "sftp", "host": "h", "user": "u",
                                  "path": "/b", "ssh_key_file": str(key)}, "repo",
                                 known_hosts="/etc/dspace-deploy/backup/known_hosts")
    command = [o for o in target["options"] if o.startswith("sftp.command=")]
    assert len(command) == 1
    assert f"-i {key}" in command[0] and "u@h -s sftp" in command[0]
    assert "SECRETKEY" not in " ".join(prog.restic_argv(target, "snapshots"))


def test_secrets_travel_in_the_environment_never_in_argv(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / "offsite.env").write_text(
        f"# comment\nAWS_ACCESS_KEY_ID=AKIA123\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n")
    target = prog.select_targets(config, ["offsite"])[0]
    argv = prog.backup_argv(target, "repo", ["/a", "/b"], _manifest())
    forget = prog.forget_argv(target, "repo", config["retention"])
    env = prog.restic_env(target, base={"RESTIC_PASSWORD": SECRET, "PATH": "/usr/bin"})
    for line in (argv, forget):
        assert not any(SECRET in a or AWS_SECRET in a or "AKIA" in a for a in line)
    assert env["RESTIC_PASSWORD_FILE"] == target["password_file"]
    assert "RESTIC_PASSWORD" not in env  # an inherited password never wins over the file
    assert env["AWS_SECRET_ACCESS_KEY"] == AWS_SECRET
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["RESTIC_REPOSITORY"] == "s3:http://10.88.0.1:9000/dspace/prod/repo"
    assert argv[:2] == ["restic", "backup"]
    assert argv[argv.index("--host") + 1] == "repo"
    tags = [argv[i + 1] for i, a in enumerate(argv) if a == "--tag"]
    assert {"dspace-deploy", "instance=repo", "schema=9.0.2025.03.12", "dspace=9.3"} <= set(tags)
    assert argv[-2:] == ["/a", "/b"]


def test_forget_keeps_the_retention_per_instance(tmp_path: Path) -> None:
    target = prog.select_targets(_config(tmp_path), ["local"])[0]
    argv = prog.forget_argv(target, "repo", {"daily": 7, "weekly": 4, "monthly": 12})
    assert argv[:3] == ["restic", "forget", "--prune"]
    assert argv[argv.index("--keep-daily") + 1] == "7"
    assert argv[argv.index("--keep-weekly") + 1] == "4"
    assert argv[argv.index("--keep-monthly") + 1] == "12"
    assert argv[argv.index("--host") + 1] == "repo"
    assert argv[argv.index("--tag") + 1] == "dspace-deploy"
    assert argv[argv.index("--group-by") + 1] == "host"


def test_repositories_are_named_by_the_public_hostname(tmp_path: Path) -> None:
    """Two hosts of a site may both run an instance `repo`; their backups must never mix,
    and a moved instance (same hostname, new host) must find its own."""
    config = _config(tmp_path, hostname="repositorio.uni.edu")
    local, offsite = prog.select_targets(config, None)
    assert local["repository"] == "/var/backups/dspace-deploy/repositorio.uni.edu"
    assert offsite["repository"] == "s3:http://10.88.0.1:9000/dspace/prod/repositorio.uni.edu"
    other = prog.select_targets(config, ["offsite"], source="staging.uni.edu")[0]
    assert other["repository"].endswith("/prod/staging.uni.edu")
    manifest = prog.build_manifest(
        config=config, created="2026-11-22T00:00:00Z", host="h1", schema_version="9.0",
        counts={}, bitstreams=[], staged={}, solr_counts={}, assetstore_bytes=0,
        dspace_version="9.3")
    assert manifest["hostname"] == "repositorio.uni.edu"
    assert "hostname=repositorio.uni.edu" in prog.snapshot_tags("repo", manifest)


def test_retention_flags() -> None:
    assert prog.retention_flags({"daily": 7, "weekly": 0, "monthly": 12}) == \
        ["--keep-daily", "7", "--keep-monthly", "12"]
    # Nothing to keep would let forget remove every snapshot: keep the newest at least.
    assert prog.retention_flags({}) == ["--keep-last", "1"]


def test_target_selection(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert [t["name"] for t in prog.select_targets(config, None)] == ["local", "offsite"]
    assert [t["name"] for t in prog.select_targets(config, None, scheduled=True)] == ["offsite"]
    with pytest.raises(prog.BackupError, match="unknown target nope"):
        prog.select_targets(config, ["nope"])


def test_timer_listing_parse() -> None:
    listing = ("dspace-repo-backup.timer loaded active waiting DSpace repo: schedule\n"
               "dspace-repo-checker.timer loaded inactive dead DSpace repo: checker\n")
    assert prog.parse_timer_units(listing) == ["dspace-repo-backup.timer"]


def test_restic_errors_are_told_apart() -> None:
    assert "password" in prog.restic_error("Fatal: wrong password or no key found")[0]
    assert "credentials" in prog.restic_error("Access Denied. (403)")[0]
    assert "full" in prog.restic_error("write: no space left on device")[0]
    assert "unreachable" in prog.restic_error("dial tcp 10.0.0.9:9000: connect: "
                                              "connection refused")[0]


# --- schema comparison ---------------------------------------------------------------------------

def test_schema_versions_compare_numerically() -> None:
    assert prog.parse_schema_version("9.0.2025.03.12") == (9, 0, 2025, 3, 12)
    assert prog.compare_schema("8.4.2026.03.28", "9.0.2025.03.12") == "older"
    assert prog.compare_schema("10.0.2026.02.18", "9.0.2025.03.12") == "newer"
    assert prog.compare_schema("9.0.2025.03.12", "9.0.2025.03.12") == "equal"
    assert prog.compare_schema("7.6.2026.03.25", "7.10.2020.01.01") == "older"
    assert prog.compare_schema(None, "9.0") == "unknown"


def test_schema_decision() -> None:
    go, migrate, _ = prog.schema_decision("9.0.2025.03.12", "9.0.2025.03.12", False)
    assert (go, migrate) == (True, False)
    go, migrate, message = prog.schema_decision("8.4.2026.03.28", "9.0.2025.03.12", False)
    assert (go, migrate) == (False, False) and "older" in message
    go, migrate, _ = prog.schema_decision("8.4.2026.03.28", "9.0.2025.03.12", True)
    assert (go, migrate) == (True, True)
    go, _, message = prog.schema_decision("10.0.2026.02.18", "9.0.2025.03.12", True)
    assert not go and "newer" in message


# --- manifest -------------------------------------------------------------------------------------

def test_bitstream_paths_follow_dspace() -> None:
    assert prog.bitstream_relpath("12345678901234567890") == "12/34/56/12345678901234567890"
    assert prog.bitstream_relpath("abcde") == "ab/cd/e/abcde"
    assert prog.bitstream_relpath("ab") == "ab/ab"
    assert prog.bitstream_relpath("../../etc/12345678") == "12/34/56/12345678"


def test_manifest_and_its_summary(tmp_path: Path) -> None:
    config = _config(tmp_path)
    manifest = prog.build_manifest(
        config=config, created="2026-11-22T02:30:00Z", host="h1", schema_version="9.0",
        counts={"items": 1, "bitstreams": 1}, bitstreams=[{"internal_id": "1"}],
        staged={"database.dump": {"sha256": "0" * 64, "size": 3}},
        solr_counts={"statistics": 4, "authority": 0}, assetstore_bytes=10,
        dspace_version="9.3")
    assert manifest["format"] == 1 and manifest["instance"] == "repo"
    assert (manifest["line"], manifest["flavor"], manifest["site"]["site_name"]) == \
        ("9", "dspace", "uni")
    json.dumps(manifest)
    summary = prog.manifest_summary(manifest)
    assert "bitstreams" not in summary and summary["counts"]["items"] == 1


def test_instance_mismatch_is_reported(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert prog.check_instance_match(_manifest(), config) == []
    problems = prog.check_instance_match(_manifest(instance="cris", flavor="cris"), config)
    assert len(problems) == 2 and "instance cris" in problems[0]


def test_restore_from_another_instance_and_an_older_line(tmp_path: Path) -> None:
    config = _config(tmp_path, site={"line": "10", "flavor": "dspace"}, instance="lib")
    prod = _manifest(hostname="repo.uni.edu")  # line 9, instance repo
    assert prog.check_instance_match(prod, config, "repo.uni.edu", allow_older=True) == []
    without = prog.check_instance_match(prod, config, "repo.uni.edu")
    assert without == ["the snapshot's line is '9', the host's '10' (an older line needs "
                       "--allow-older-schema)"]
    assert prog.check_instance_match(prod, config, "other.uni.edu", allow_older=True) == [
        "the snapshot is of repo.uni.edu, not other.uni.edu"]
    newer = _manifest(line="11", hostname="repo.uni.edu")
    assert prog.check_instance_match(newer, config, "repo.uni.edu", allow_older=True)


def test_staged_files_are_verified(tmp_path: Path) -> None:
    (tmp_path / "database.dump").write_bytes(b"dump")
    good = {"database.dump": {"sha256": hashlib.sha256(b"dump").hexdigest(), "size": 4}}
    assert prog.verify_staged(_manifest(files=good), tmp_path) == []
    bad = {"database.dump": {"sha256": hashlib.sha256(b"pmud").hexdigest(), "size": 4},
           "solr/statistics/x.csv": {"sha256": "0", "size": 1}}
    problems = prog.verify_staged(_manifest(files=bad), tmp_path)
    assert problems == ["database.dump does not match its sha256",
                        "solr/statistics/x.csv is missing"]


# --- proof ----------------------------------------------------------------------------------------

def _assetstore(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, list[dict[str, Any]]]:
    store = tmp_path / "assetstore"
    rows = []
    for internal_id, content in files.items():
        path = store / prog.bitstream_relpath(internal_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        rows.append({"internal_id": internal_id, "store_number": 0, "size_bytes": len(content),
                     "checksum": hashlib.md5(content).hexdigest()})
    return store, rows


def test_proof_passes_on_a_complete_restore(tmp_path: Path) -> None:
    store, rows = _assetstore(tmp_path, {"11111111111111": b"alpha", "22222222222222": b"beta"})
    rows.append({"internal_id": "33333333", "store_number": 1, "size_bytes": 1, "checksum": "x"})
    manifest = _manifest(bitstreams=rows)
    bits = prog.prove_bitstreams(manifest, store)
    assert bits["ok"] and bits["checked"] == 2 and bits["skipped_not_local"] == 1
    proof = prog.build_proof(manifest, {"items": 2, "bitstreams": 2}, {"statistics": 5}, bits,
                             "9.0.2025.03.12")
    assert proof["ok"], proof


def test_proof_fails_on_missing_file_wrong_md5_wrong_size(tmp_path: Path) -> None:
    store, rows = _assetstore(tmp_path, {"11111111111111": b"alpha", "22222222222222": b"beta",
                                         "44444444444444": b"gamma"})
    (store / prog.bitstream_relpath("11111111111111")).unlink()
    (store / prog.bitstream_relpath("22222222222222")).write_bytes(b"BETA")  # same size
    (store / prog.bitstream_relpath("44444444444444")).write_bytes(b"gam")
    bits = prog.prove_bitstreams(_manifest(bitstreams=rows), store)
    assert not bits["ok"]
    assert bits["missing"] == ["11111111111111"]
    assert bits["wrong_md5"] == ["22222222222222"]
    assert bits["wrong_size"] == ["44444444444444"]
    assert bits["failures"] == 3


def test_proof_fails_on_wrong_counts_and_solr(tmp_path: Path) -> None:
    bits = prog.prove_bitstreams(_manifest(), tmp_path)
    proof = prog.build_proof(_manifest(), {"items": 1, "bitstreams": 2}, {"statistics": None},
                             bits, "9.0.2025.03.12")
    assert not proof["ok"]
    assert proof["checks"]["counts"]["items"] == {"ok": False, "expected": 2, "actual": 1}
    assert proof["checks"]["counts"]["bitstreams"]["ok"]
    assert not proof["checks"]["solr"]["statistics"]["ok"]


def test_proof_fails_when_an_import_brought_back_fewer_documents(tmp_path: Path) -> None:
    """solr-import-statistics exits 0 when it fails: the core's count after it is the judge,
    as are the search and oai cores after index-discovery and oai import."""
    bits = prog.prove_bitstreams(_manifest(), tmp_path)
    counts = {"items": 2, "bitstreams": 2}
    manifest = _manifest(solr={"statistics": 5, "qaevent": 3})
    proof = prog.build_proof(manifest, counts, {"statistics": 0, "qaevent": 3}, bits,
                             "9.0.2025.03.12")
    assert not proof["ok"]
    assert proof["checks"]["solr"]["statistics"] == {"ok": False, "expected": 5, "actual": 0}
    reindex = {"search": {"ok": True, "expected": 2, "actual": 4},
               "oai": {"ok": False, "expected": 2, "actual": 0}}
    proof = prog.build_proof(manifest, counts, {"statistics": 5, "qaevent": 3}, bits,
                             "9.0.2025.03.12", reindex)
    assert not proof["ok"] and proof["checks"]["reindex"]["oai"]["actual"] == 0


def test_a_failed_proof_is_told_in_one_line(tmp_path: Path) -> None:
    store, rows = _assetstore(tmp_path, {"11111111111111": b"alpha"})
    (store / prog.bitstream_relpath("11111111111111")).unlink()
    bits = prog.prove_bitstreams(_manifest(bitstreams=rows), store)
    proof = prog.build_proof(_manifest(solr={"statistics": 400}, complete=False,
                                       problems=["export of statistics failed"]),
                             {"items": 2, "bitstreams": 2}, {"statistics": 0}, bits,
                             "9.0.2025.03.12", {"oai": {"ok": False, "expected": 3, "actual": 0}})
    assert prog.failed_checks(proof) == [
        "solr statistics: 0 (manifest: 400)", "bitstreams: 1 of 1 files missing or changed",
        "complete: export of statistics failed", "reindex oai: 0 (items in the database: 3)"]


def test_proof_of_an_incomplete_snapshot_names_what_it_lacks(tmp_path: Path) -> None:
    bits = prog.prove_bitstreams(_manifest(), tmp_path)
    manifest = _manifest(complete=False, problems=["the export of Solr core repo-statistics "
                                                   "holds 0 of the 5 documents"])
    proof = prog.build_proof(manifest, {"items": 2, "bitstreams": 2}, {"statistics": 5}, bits,
                             "9.0.2025.03.12")
    assert not proof["ok"]
    assert proof["checks"]["complete"] == {
        "ok": False, "detail": "the export of Solr core repo-statistics holds 0 of the 5 documents"}
    # manifests written before parts were judged count as complete
    assert prog.build_proof(_manifest(), {"items": 2, "bitstreams": 2}, {"statistics": 5}, bits,
                            "9.0.2025.03.12")["checks"]["complete"]["ok"]


def test_reindex_is_judged_against_the_database(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    config = _config(tmp_path, cores=["oai", "search", "statistics"],
                     solr={"prefix": "repo-", "url": "http://127.0.0.1:8983/solr"})
    monkeypatch.setattr(prog, "psql", lambda config, sql: "3\n" if "handle" in sql else "4\n")
    found = {"repo-search": 5, "repo-oai": 0}
    monkeypatch.setattr(prog, "solr_numfound", lambda url, fq=None: found[url.rsplit("/", 1)[1]])
    checks = prog.reindex_checks(config)
    assert checks == {"search": {"ok": True, "expected": 4, "actual": 5},
                      "oai": {"ok": False, "expected": 3, "actual": 0}}


def test_a_core_is_restored_through_solr(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    config = _config(tmp_path, solr={"prefix": "repo-", "url": "http://127.0.0.1:8983/solr"})
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    source = tmp_path / "snapshot"
    source.mkdir()
    (source / "segments_1").write_text("index")
    calls: list[dict[str, str]] = []

    def answer(url: str, params: dict[str, str], timeout: float = 60) -> dict[str, Any]:
        calls.append(params)
        if params["command"] == "restore":
            assert (data_dir / "snapshot.dspace-deploy-restore" / "segments_1").is_file()
            return {"status": "OK"}
        return {"restorestatus": {"snapshotName": "snapshot.dspace-deploy-restore",
                                  "status": "success" if len(calls) > 2 else "In Progress"},
                "status": "OK"}

    monkeypatch.setattr(prog, "solr_data_dir", lambda config, core: data_dir)
    monkeypatch.setattr(prog, "solr_get", answer)
    monkeypatch.setattr(prog.time, "sleep", lambda seconds: None)
    assert prog.restore_snapshot_core(config, source, "qaevent") is None
    assert [c["command"] for c in calls] == ["restore", "restorestatus", "restorestatus"]
    assert not (data_dir / "snapshot.dspace-deploy-restore").exists()  # cleaned up

    def failed(url: str, params: dict[str, str], timeout: float = 60) -> dict[str, Any]:
        if params["command"] == "restore":
            return {"status": "OK"}
        return {"restorestatus": {"status": "failed", "exception": "NoSuchFileException: x"},
                "status": "ERROR", "message": "Unable to read restorestatus"}

    monkeypatch.setattr(prog, "solr_get", failed)
    assert prog.restore_snapshot_core(config, source, "qaevent") == \
        "the restore of Solr core repo-qaevent failed: NoSuchFileException: x"


def test_solr_8_writes_the_backup_details_flat() -> None:
    assert prog.as_dict(["status", "success", "snapshotName", "n1"]) == {
        "status": "success", "snapshotName": "n1"}
    assert prog.as_dict({"status": "success"}) == {"status": "success"}
    assert prog.as_dict(None) == {}


def test_proof_accepts_a_migrated_schema_but_not_an_older_one(tmp_path: Path) -> None:
    bits = prog.prove_bitstreams(_manifest(), tmp_path)
    counts = {"items": 2, "bitstreams": 2}
    migrated = prog.build_proof(_manifest(schema_version="8.4.2026.03.28"), counts,
                                {"statistics": 5}, bits, "9.0.2025.03.12")
    assert migrated["ok"]
    behind = prog.build_proof(_manifest(), counts, {"statistics": 5}, bits, "8.4.2026.03.28")
    assert not behind["ok"] and not behind["checks"]["schema"]["ok"]


def test_alert_mail_names_the_failure(tmp_path: Path) -> None:
    config = _config(tmp_path, alert_email="ops@example.org")
    message = prog.alert_message(config, {"ok": False, "error": "pg_dump failed; fix it",
                                          "targets": []}, "h1")
    assert message.startswith("To: ops@example.org\n")
    assert "FAILED" in message and "pg_dump failed" in message


def test_errors_are_one_line_with_a_fix(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prog.os, "geteuid", lambda: 0)
    monkeypatch.setattr(prog, "CONFIG_DIR", Path("/nonexistent"))
    assert prog.main(["status", "Bad-Name", "--json"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("dspace-backup: ") and "; " in err and "\n" not in err


def test_restic_subcommand_skips_options() -> None:
    argv = ["restic", "-o", "sftp.command=ssh -p 22 u@h -s sftp", "snapshots", "--json"]
    assert prog.restic_subcommand(argv) == "snapshots"
    assert prog.restic_subcommand(["restic"]) == "restic"


def test_check_problems_name_the_damaged_packs() -> None:
    output = ("pack bb03b340fe33aaaa contains 2 errors: [blob 89d1: decrypting failed]\n"
              "The repository contains damaged pack files.\n"
              "restic repair packs bb03b340fe335a7323e6\nrestic repair snapshots --forget\n"
              "Fatal: repository contains errors\n")
    assert prog.check_problems(output) == "damaged pack files bb03b340fe33"
    assert prog.check_problems("error: load <index/1234>: EOF\nFatal: x\n") == \
        "error: load <index/1234>: EOF"


def test_wrong_s3_keys_are_not_taken_for_a_missing_repository() -> None:
    """What restic 0.18 prints for a moto or AWS store that rejects the key (seen on a lab
    host): not a reason to `restic init`."""
    stderr = ("Fatal: unable to open config file: Stat: The request signature we calculated "
              "does not match the signature you provided. Check your key and signing method.\n"
              "Is there a repository at the following location?\ns3:http://10.88.0.1:9000/b/x\n")
    assert not prog.repository_missing(stderr)
    assert prog.restic_error(stderr)[0] == "the S3 store refused the credentials"
    unknown_key = ("Fatal: unable to open config file: Stat: The AWS Access Key Id you provided "
                   "does not exist in our records.\n")
    assert prog.restic_error(unknown_key)[0] == "the S3 store refused the credentials"


def test_missing_repository_is_told_from_an_unreachable_one() -> None:
    missing_local = ("Fatal: unable to open config file: stat /b/repo/config: no such file or "
                     "directory\nIs there a repository at the following location?\n/b/repo\n")
    assert prog.repository_missing(missing_local)
    refused = ('Fatal: unable to open config file: Stat: Get "http://127.0.0.1:9/bucket/?'
               'location=": dial tcp 127.0.0.1:9: connect: connection refused\n'
               "Is there a repository at the following location?\n")
    assert not prog.repository_missing(refused)
    assert "unreachable" in prog.restic_error(refused)[0]
    denied = "Fatal: unable to open config file: Stat: Access Denied.\n"
    assert not prog.repository_missing(denied)
    assert not prog.repository_missing("Fatal: wrong password or no key found\n")
    sftp = ("subprocess ssh: ssh: connect to host 10.88.1.250 port 22: No route to host\n"
            "Fatal: unable to open repository at sftp://root@h:22//x: unable to start the "
            "sftp session, error: EOF\n")
    assert "unreachable" in prog.restic_error(sftp)[0]


def test_a_dspace_tool_s_failure_is_told_without_its_stack_trace() -> None:
    stderr = ("Problem encountered while trying to export index statistics.\n"
              "org.apache.solr.client.solrj.SolrServerException: IOException occurred when "
              "talking to server at: http://127.0.0.1:8983/solr/repo-statistics\n"
              "\tat org.apache.solr.client.solrj.impl.HttpSolrClient.executeMethod(x.java:1)\n"
              "Caused by: java.net.ConnectException: Connection refused\n\t... 12 more\n")
    assert prog.tool_message(stderr) == (
        "Problem encountered while trying to export index statistics. "
        "org.apache.solr.client.solrj.SolrServerException: IOException occurred when talking "
        "to server at: http://127.0.0.1:8983/solr/repo-statistics")
    assert prog.tool_message("") == "no message"


def test_solr_dates_compare_as_text() -> None:
    assert prog.solr_time("2026-01-01T00:00:00Z") == "2026-01-01T00:00:00.000Z"
    assert prog.solr_time("2026-01-01T00:00:00.5Z") == "2026-01-01T00:00:00.500Z"
    assert prog.solr_time("2026-01-01T00:00:00.123Z") == "2026-01-01T00:00:00.123Z"
    assert prog.solr_time("yesterday") is None and prog.solr_time("") is None
    moment = prog.dt.datetime(2026, 12, 4, 21, 6, 21, 123456, tzinfo=prog.dt.UTC)
    assert prog.solr_moment(moment) == "2026-12-04T21:06:21.123Z"


def test_an_export_is_counted_by_distinct_documents(tmp_path: Path) -> None:
    """DSpace's monthly batches overlap at a month's first instant ([start TO start+1MONTH]),
    rows may hold quoted newlines, a failed batch leaves an empty file, and documents newer than
    the cutoff may or may not be in the export."""
    (tmp_path / "statistics_export_2026-01.csv").write_text(
        'uid,time,referrer\ns1,2026-01-01T00:00:00Z,"a\nmultiline, quoted"\n'
        "s2,2026-01-02T00:00:00.5Z,\nb1,2026-02-01T00:00:00Z,\n")
    (tmp_path / "statistics_export_2026-02.csv").write_text(
        "time,uid\n2026-02-01T00:00:00Z,b1\n2026-02-03T00:00:00Z,s3\n2026-12-04T22:00:00Z,new\n")
    (tmp_path / "statistics_export_2026-03.csv").write_text("")
    (tmp_path / "other.csv").write_text("uid,time\nx,2026-01-01T00:00:00Z\n")
    counted = prog.count_export(tmp_path, "statistics", "time", "uid", "2026-12-04T21:00:00.000Z")
    assert counted == {"files": 3, "empty_files": 1, "rows": 6, "documents": 5, "settled": 4}
    # without a uniqueKey every row counts
    counted = prog.count_export(tmp_path, "statistics", "time", None, "2026-12-04T21:00:00.000Z")
    assert counted is not None and counted["documents"] == 6 and counted["settled"] == 5
    assert prog.count_export(tmp_path / "none", "statistics", "time", "uid", "x") == {
        "files": 0, "empty_files": 0, "rows": 0, "documents": 0, "settled": 0}


def test_the_lock_is_held_and_waited_for(tmp_path: Path) -> None:
    import fcntl

    lock = tmp_path / "tasks" / "cleanup.lock"
    with prog.task_lock(lock), lock.open("a") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with lock.open("a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _fake_restic(tmp_path: Path, stderr: str, stays: float) -> str:
    """A stand-in for restic that says `stderr` and then keeps retrying for `stays` s."""
    fake = tmp_path / "restic"
    fake.write_text("#!/bin/sh\n"
                    f"printf '%s\\n' {json.dumps(stderr)} >&2\n"
                    f"exec sleep {stays}\n")
    fake.chmod(0o755)
    return str(fake)


def test_a_store_that_keeps_refusing_is_named_when_restic_times_out(tmp_path: Path) -> None:
    """restic retries a store that rejects the keys until the program's timeout."""
    fake = _fake_restic(tmp_path, "Load(<config/0000000000>, 0, 0) returned error, retrying "
                        "after 552ms: The request signature we calculated does not match the "
                        "signature you provided.", stays=60)
    target = prog.select_targets(_config(tmp_path), ["offsite"])[0]
    with pytest.raises(prog.BackupError) as caught:
        prog.Restic(target).execute([fake, "cat", "config"], timeout=2)
    assert "the S3 store refused the credentials (gave up after 2 s)" in caught.value.what


def test_a_full_target_stops_restic_at_its_first_retry(tmp_path: Path) -> None:
    """restic 0.18 retries a write to a full disk for over an hour (seen in the lab):
    the program stops it at the first message instead of waiting."""
    fake = _fake_restic(tmp_path, "Save(<data/956b9ced99>) returned error, retrying after "
                        "720ms: write /var/backups/x/data/95/956b: no space left on device",
                        stays=600)
    target = prog.select_targets(_config(tmp_path), ["local"])[0]
    started = prog.time.monotonic()
    with pytest.raises(prog.BackupError) as caught:
        prog.Restic(target).execute([fake, "backup", "/srv"])
    assert prog.time.monotonic() - started < 30
    assert "target local: restic backup: the backup target is full" in caught.value.what


def test_restore_finds_the_parts_of_another_instance(tmp_path: Path) -> None:
    snap = {"paths": ["/srv/dspace/repo/assetstore",
                      "/var/lib/dspace-deploy/dspace_backup/repo/staging"]}
    assert str(prog.snapshot_staging(snap, tmp_path)) == \
        "/var/lib/dspace-deploy/dspace_backup/repo/staging"
    assert prog.snapshot_staging({"paths": []}, tmp_path) == tmp_path


class FakeSolr:
    """The instance's Solr at the program's boundaries: documents per core with a time each,
    data directories, and the replication handler's backup."""

    def __init__(self, root: Path, docs: dict[str, list[tuple[str, str]]]) -> None:
        self.root = root
        self.docs = docs  # core -> [(key, time)]
        self.backups: list[str] = []
        self.grow: dict[str, int] = {}  # core -> documents added during its first backup

    def numfound(self, url: str, fq: str | None = None) -> int:
        docs = self.docs[url.rsplit("/", 1)[1].split("-", 1)[1]]
        if fq:  # -time:{CUTOFF TO *]
            cutoff = fq.split("{", 1)[1].split(" ", 1)[0]
            return sum(1 for _, t in docs if prog.solr_time(t) <= cutoff)
        return len(docs)

    def data_dir(self, config: dict[str, Any], core: str) -> Path:
        path = self.root / f"repo-{core}" / "data"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def backup(self, url: str, name: str, timeout: float) -> dict[str, Any]:
        core = url.rsplit("/", 1)[1].split("-", 1)[1]
        snapshot = self.data_dir({}, core) / f"snapshot.{name}"
        snapshot.mkdir()
        (snapshot / "segments_1").write_text(json.dumps(self.docs[core]))
        self.backups.append(name)
        for _ in range(self.grow.pop(core, 0)):
            self.docs[core].append((f"late-{len(self.docs[core])}", "2026-12-04T23:00:00Z"))
        return {"status": "success", "snapshotName": name, "fileCount": 1}

    def export(self, config: dict[str, Any], core: str, directory: Path,
               months: int | None = None) -> None:
        """What DSpace's export writes: the documents with a time, one file per month."""
        by_month: dict[str, list[tuple[str, str]]] = {}
        for key, moment in self.docs[core]:
            by_month.setdefault(moment[:7], []).append((key, moment))
        for month in sorted(by_month)[:months]:
            field = prog.EXPORT_TIME_FIELDS[core]
            (directory / f"{core}_export_{month}.csv").write_text(
                f"uid,{field}\n" + "".join(f"{k},{t}\n" for k, t in by_month[month]))


def _staging_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, export: Any,
                  solr: FakeSolr | None = None) -> dict[str, Any]:
    """stage() with the host's database, Solr and DSpace replaced at their boundaries."""
    solr = solr or FakeSolr(tmp_path / "solr", {
        "statistics": [(f"s{n}", f"2026-0{1 + n % 3}-15T10:00:00Z") for n in range(3)],
        "authority": [(f"a{n}", "2026-05-01T00:00:00Z") for n in range(2)],
        "qaevent": [("q1", "")], "suggestion": []})
    monkeypatch.setattr(prog, "db_schema_version", lambda config: "9.0.2025.03.12")
    monkeypatch.setattr(prog, "db_counts", lambda config: {"items": 1, "bitstreams": 1})
    monkeypatch.setattr(prog, "db_bitstreams", lambda config: [])
    monkeypatch.setattr(prog, "dump_database",
                        lambda config, dump: dump.write_bytes(b"PGDMP-fake"))
    monkeypatch.setattr(prog, "solr_commit", lambda url: None)
    monkeypatch.setattr(prog, "solr_unique_key", lambda url: "uid")
    monkeypatch.setattr(prog, "solr_numfound", solr.numfound)
    monkeypatch.setattr(prog, "solr_data_dir", solr.data_dir)
    monkeypatch.setattr(prog, "solr_backup", solr.backup)
    monkeypatch.setattr(prog.shutil, "chown", lambda *args: None)

    def dspace(config: dict[str, Any], *args: str, **kwargs: Any) -> Any:
        return export(config, *args, **kwargs) or prog.subprocess.CompletedProcess(
            args, 0, "", "")

    monkeypatch.setattr(prog, "dspace", dspace)
    (tmp_path / "assetstore").mkdir()
    return _config(tmp_path, user="dspace", assetstore_dir=str(tmp_path / "assetstore"),
                   config_dir=str(tmp_path / "config"), handle_dir=str(tmp_path / "handle"),
                   cores=["authority", "oai", "qaevent", "search", "statistics", "suggestion"],
                   solr={"prefix": "repo-", "url": "http://127.0.0.1:8983/solr",
                         "export_cores": ["statistics", "authority"]})


def _export_args(args: Sequence[str]) -> tuple[str, Path]:
    return args[args.index("-i") + 1], Path(args[args.index("-d") + 1])


def test_exports_and_solr_backups_run_side_by_side(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """Both exports must be running at once: each waits at a barrier for the other (a serial
    run would break the barrier). The cores no export reaches are saved by Solr's backup; the
    manifest counts each core's documents and proves the backup complete."""
    import threading

    both_running = threading.Barrier(2, timeout=30)
    solr = FakeSolr(tmp_path / "solr", {
        "statistics": [(f"s{n}", f"2026-0{1 + n % 3}-15T10:00:00Z") for n in range(3)],
        "authority": [(f"a{n}", "2026-05-01T00:00:00Z") for n in range(2)],
        "qaevent": [("q1", ""), ("q2", "")], "suggestion": []})

    def export(config: dict[str, Any], *args: str, **kwargs: Any) -> None:
        both_running.wait()
        solr.export(config, *_export_args(args))

    config = _staging_host(monkeypatch, tmp_path, export, solr)
    manifest = prog.stage(config, tmp_path / "state" / "staging")
    assert manifest["solr"] == {"statistics": 3, "authority": 2, "qaevent": 2, "suggestion": 0}
    assert manifest["complete"] and manifest["problems"] == []
    assert manifest["solr_parts"]["statistics"]["expected"] == 3
    assert manifest["solr_parts"]["qaevent"] == {"method": "snapshot", "core": "repo-qaevent",
                                                 "ok": True, "documents": 2, "files": 1}
    assert "solr-cores/qaevent/segments_1" in manifest["files"]
    assert not list((tmp_path / "solr" / "repo-qaevent" / "data").iterdir())  # moved out
    assert "dspace-deploy" in prog.snapshot_tags("repo", manifest)


def test_an_export_that_exits_0_with_nothing_makes_the_backup_incomplete(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """DSpace's export exits 0 when Solr cannot be reached, having written nothing; or leaves
    some months (exit 0) when it fails half way."""
    def export(config: dict[str, Any], *args: str, **kwargs: Any) -> Any:
        core, directory = _export_args(args)
        if core == "authority":
            return prog.subprocess.CompletedProcess(args, 0, "", "Problem encountered while "
                                                    "trying to export index authority.\n")
        solr.export(config, core, directory, months=2)
        return None

    solr = FakeSolr(tmp_path / "solr", {
        "statistics": [(f"s{n}", f"2026-0{1 + n % 3}-15T10:00:00Z") for n in range(3)],
        "authority": [(f"a{n}", "2026-05-01T00:00:00Z") for n in range(2)],
        "qaevent": [], "suggestion": []})
    config = _staging_host(monkeypatch, tmp_path, export, solr)
    manifest = prog.stage(config, tmp_path / "state" / "staging")
    assert not manifest["complete"]
    parts = manifest["solr_parts"]
    assert not parts["authority"]["ok"] and not parts["statistics"]["ok"]
    assert "the export of Solr core repo-authority holds 0 of the 2 documents" in \
        parts["authority"]["problem"]
    assert "Problem encountered while trying to export index authority." in \
        parts["authority"]["problem"]
    assert "holds 2 of the 3 documents" in parts["statistics"]["problem"]
    tags = prog.snapshot_tags("repo", manifest)
    assert "dspace-deploy-incomplete" in tags and "dspace-deploy" not in tags
    assert "incomplete=authority+statistics" in tags


def test_a_core_written_to_during_its_backup_is_backed_up_again(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    solr = FakeSolr(tmp_path / "solr", {"statistics": [], "authority": [],
                                         "qaevent": [("q1", "")], "suggestion": []})
    solr.grow["qaevent"] = 2
    config = _staging_host(monkeypatch, tmp_path, lambda *a, **k: None, solr)
    manifest = prog.stage(config, tmp_path / "state" / "staging")
    assert manifest["solr"]["qaevent"] == 3 and len(solr.backups) == 3  # qaevent twice
    assert not list((tmp_path / "solr" / "repo-qaevent" / "data").iterdir())


def test_a_failed_solr_backup_makes_the_backup_incomplete(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    config = _staging_host(monkeypatch, tmp_path, lambda *a, **k: None)

    def refused(url: str, name: str, timeout: float) -> dict[str, Any]:
        raise prog.SolrError("HTTP 400: Path /x must be relative to SOLR_HOME")

    monkeypatch.setattr(prog, "solr_backup", refused)
    manifest = prog.stage(config, tmp_path / "state" / "staging")
    assert {"the backup of Solr core repo-qaevent failed: HTTP 400: Path /x must be relative "
            "to SOLR_HOME", "the backup of Solr core repo-suggestion failed: HTTP 400: Path /x "
            "must be relative to SOLR_HOME"} <= set(manifest["problems"])
    assert not manifest["solr_parts"]["qaevent"]["ok"] and not manifest["complete"]


def test_an_incomplete_backup_fails_loudly_and_is_not_a_success(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, user="dspace", lock_file=str(tmp_path / "tasks" / "cleanup.lock"),
                     backup_unit="dspace-repo-backup")
    manifest = {"complete": False, "problems": [
        "the export of Solr core repo-statistics holds 0 of the 400 documents Solr counts up "
        "to 2026-12-04T21:00:00.000Z (0 files, 0 rows)"]}
    monkeypatch.setattr(prog, "task_lock", lambda *a: prog.contextlib.nullcontext())
    monkeypatch.setattr(prog, "stage", lambda config, staging: manifest)
    monkeypatch.setattr(prog, "backup_paths", lambda config, staging: [])
    monkeypatch.setattr(prog, "backup_one", lambda config, target, paths, manifest: {
        "target": target["name"], "ok": True, "snapshot": "1a2b3c4d5e", "complete": False})
    args = prog.parser().parse_args(["run", "repo", "--json"])
    with pytest.raises(prog.BackupError) as caught:
        prog.cmd_run(config, args)
    assert "the backup of repo is incomplete: the export of Solr core repo-statistics holds 0 " \
           "of the 400 documents" in caught.value.what
    assert "(local 1a2b3c4d, offsite 1a2b3c4d) are kept, tagged dspace-deploy-incomplete" in \
        caught.value.what
    state = tmp_path / "state"
    record = json.loads((state / "last-run.json").read_text())
    assert record["ok"] is False and "repo-statistics" in record["error"]
    assert not (state / "last-success.json").exists()
    assert json.loads(capsys.readouterr().out)["ok"] is False  # one JSON document


def test_latest_is_the_newest_complete_snapshot(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    snaps = [{"id": "aaa", "time": "2026-12-01T00:00:00Z", "tags": ["dspace-deploy"]},
             {"id": "bbb", "time": "2026-12-03T00:00:00Z",
              "tags": ["dspace-deploy-incomplete", "incomplete=statistics"]}]
    restic = prog.Restic(prog.select_targets(_config(tmp_path), ["local"])[0])
    monkeypatch.setattr(restic, "snapshots", lambda host: snaps)
    assert prog.resolve_snapshot(restic, "repo", "latest")["id"] == "aaa"
    assert prog.resolve_snapshot(restic, "repo", "bbb")["id"] == "bbb"
    monkeypatch.setattr(restic, "snapshots", lambda host: snaps[1:])
    with pytest.raises(prog.BackupError, match="only incomplete snapshots"):
        prog.resolve_snapshot(restic, "repo", "latest")
    entry = prog.snapshot_entry("local", snaps[1])
    assert entry["complete"] is False and entry["incomplete"] == ["statistics"]
    listing = prog.human({"snapshots": [prog.snapshot_entry("local", s) for s in snaps]})
    assert listing.splitlines()[1].endswith("INCOMPLETE (statistics)")
    assert "INCOMPLETE" not in listing.splitlines()[0]


def test_incomplete_snapshots_are_retained_apart(tmp_path: Path) -> None:
    target = prog.select_targets(_config(tmp_path), ["local"])[0]
    argv = prog.forget_argv(target, "repo", {"daily": 7}, prog.TAG_INCOMPLETE)
    assert argv[argv.index("--tag") + 1] == "dspace-deploy-incomplete"
    argv = prog.forget_argv(target, "repo", {"daily": 7})
    assert argv[argv.index("--tag") + 1] == "dspace-deploy"


def _tagged_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, argv: list[str],
                manifest: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """cmd_run with staging and restic replaced: its record and the manifests backed up."""
    config = _config(tmp_path, user="dspace", lock_file=str(tmp_path / "tasks" / "cleanup.lock"))
    backed_up: list[dict[str, Any]] = []

    def stage(config: dict[str, Any], staging: Path) -> dict[str, Any]:
        staging.mkdir(parents=True, exist_ok=True)
        return dict(manifest)

    def backup_one(config: dict[str, Any], target: dict[str, Any], paths: list[str],
                   manifest: dict[str, Any]) -> dict[str, Any]:
        backed_up.append(manifest)
        return {"target": target["name"], "ok": True, "snapshot": f"{target['name']}-5e6f7a8b",
                "complete": manifest.get("complete", True) is not False}

    monkeypatch.setattr(prog, "task_lock", lambda *a: prog.contextlib.nullcontext())
    monkeypatch.setattr(prog, "stage", stage)
    monkeypatch.setattr(prog, "backup_paths", lambda config, staging: [])
    monkeypatch.setattr(prog, "backup_one", backup_one)
    return prog.cmd_run(config, prog.parser().parse_args(argv)), backed_up


def test_a_tagged_run_tags_its_snapshots_and_names_them(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    """`run --tag pre-upgrade --json`: every snapshot carries the tag and the keep tag, its
    manifest records the purpose, and the JSON names each snapshot with its target."""
    record, backed_up = _tagged_run(monkeypatch, tmp_path,
                                    ["run", "repo", "--tag", "pre-upgrade", "--json"],
                                    _manifest(complete=True))
    assert record["ok"] and record["tags"] == ["pre-upgrade"]
    assert record["snapshots"] == [
        {"target": "local", "id": "local-5e6f7a8b", "complete": True},
        {"target": "offsite", "id": "offsite-5e6f7a8b", "complete": True}]
    assert all(m["tags"] == ["pre-upgrade"] for m in backed_up)
    staged = json.loads((tmp_path / "state" / "staging" / "manifest.json").read_text())
    assert staged["tags"] == ["pre-upgrade"]
    tags = prog.snapshot_tags("repo", backed_up[0])
    assert {"dspace-deploy", "pre-upgrade", "dspace-deploy-keep"} <= set(tags)
    entry = prog.snapshot_entry("local", {"id": "x", "tags": tags})
    assert entry["kept"] and entry["complete"]
    untagged, _ = _tagged_run(monkeypatch, tmp_path, ["run", "repo"], _manifest())
    assert untagged["tags"] == [] and len(untagged["snapshots"]) == 2
    assert "dspace-deploy-keep" not in prog.snapshot_tags("repo", _manifest())


def test_an_incomplete_tagged_run_fails_and_says_so_in_its_snapshots(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(prog.BackupError, match="is incomplete"):
        _tagged_run(monkeypatch, tmp_path, ["run", "repo", "--tag", "pre-upgrade", "--json"],
                    _manifest(complete=False, problems=["statistics export holds 0 of 4"]))
    record = json.loads((tmp_path / "state" / "last-run.json").read_text())
    assert record["ok"] is False
    assert {s["complete"] for s in record["snapshots"]} == {False}


def test_a_bad_tag_is_refused_before_anything_runs(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    def never(*args: Any) -> Any:
        raise AssertionError("staged despite a bad tag")

    monkeypatch.setattr(prog, "stage", never)
    for bad in ("dspace-deploy", "dspace-deploy-keep", "instance=lib", "Pre Upgrade", "a,b"):
        args = prog.parser().parse_args(["run", "repo", "--tag", bad])
        with pytest.raises(prog.BackupError, match="cannot be used"):
            prog.cmd_run(_config(tmp_path), args)


def test_retention_never_removes_a_kept_snapshot(tmp_path: Path) -> None:
    target = prog.select_targets(_config(tmp_path), ["local"])[0]
    for tag in (prog.TAG_COMPLETE, prog.TAG_INCOMPLETE):
        argv = prog.forget_argv(target, "repo", {"daily": 7}, tag)
        assert argv[argv.index("--keep-tag") + 1] == "dspace-deploy-keep"


# --- further parts (docs/backup.md, "Further parts") ------------------------------------------

def _declare(parts_dir: Path, instance: str, file: str, body: Any) -> None:
    (parts_dir / instance).mkdir(parents=True, exist_ok=True)
    (parts_dir / instance / file).write_text(body if isinstance(body, str) else json.dumps(body))


def test_further_parts_are_read_per_instance(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    _declare(parts, "repo", "lareferencia-stats.json",
             {"name": "lareferencia-stats", "paths": ["/var/lib/x/repo"], "owner": "dspace"})
    _declare(parts, "lib", "lareferencia-stats.json",
             {"name": "lareferencia-stats", "paths": ["/var/lib/x/lib"], "owner": "dspace"})
    found = prog.further_parts({"instance": "repo"}, parts)
    assert found == {"lareferencia-stats": {"paths": ["/var/lib/x/repo"], "owner": "dspace"}}
    assert prog.further_parts({"instance": "none"}, parts) == {}


@pytest.mark.parametrize("body", [
    "{not json", {"paths": ["/a"]}, {"name": "x", "paths": []}, {"name": "x", "paths": ["rel"]},
    {"name": "Bad Name", "paths": ["/a"]}])
def test_a_malformed_part_declaration_fails_the_backup(tmp_path: Path, body: Any) -> None:
    _declare(tmp_path, "repo", "bad.json", body)
    with pytest.raises(prog.BackupError, match=r"bad\.json"):
        prog.further_parts({"instance": "repo"}, tmp_path)


def test_backup_paths_include_the_existing_directories_of_further_parts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "stats"
    state.mkdir()
    _declare(tmp_path / "parts", "repo", "s.json",
             {"name": "s", "paths": [str(state), str(tmp_path / "missing")], "owner": "dspace"})
    monkeypatch.setattr(prog, "PARTS_DIR", tmp_path / "parts")
    config = {"instance": "repo", "assetstore_dir": str(tmp_path / "a"),
              "config_dir": str(tmp_path / "c"), "handle_dir": str(tmp_path / "h")}
    assert prog.backup_paths(config, tmp_path / "staging") == [str(tmp_path / "staging"),
                                                               str(state)]


def test_restore_puts_further_parts_back_where_this_host_declares_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "old/place").mkdir(parents=True)
    (scratch / "old/place/repo.dat").write_text("lastTrackedEventTimestamp=x\n")
    _declare(tmp_path / "parts", "repo", "s.json",
             {"name": "s", "paths": [str(tmp_path / "new")], "owner": "dspace"})
    monkeypatch.setattr(prog, "PARTS_DIR", tmp_path / "parts")
    synced: list[tuple[Path, Path, str | None]] = []
    monkeypatch.setattr(prog, "sync_tree", lambda s, d, o: synced.append((s, d, o)))
    manifest = {"parts": {"s": {"paths": ["/old/place"], "owner": "dspace"},
                          "gone": {"paths": ["/nowhere"], "owner": ""}}}
    restored = prog.restore_further_parts(manifest, {"instance": "repo"},
                                          lambda p: scratch / p.lstrip("/"))
    assert restored == [str(tmp_path / "new")]
    assert synced == [(scratch / "old/place", tmp_path / "new", "dspace")]
