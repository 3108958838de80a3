"""Bad input on the command line is refused on the controller with exit 2 before any host
is contacted (no ansible-runner run starts: no run directory appears), and with --json every
exit prints exactly one JSON document on stdout.

The site's only host is 192.0.2.10 (TEST-NET-1): were a run started, it would fail on the
connection, not with the validation error asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.fixtures.helpers import build, run_cli, secrets_for

EXE = str(Path(sys.executable).parent / "dspace-deploy")
BACKUP_SECRETS = {"vault_backup_secrets": {"local": {"password": "bk-Pw-0123456789abc"}}}


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every XDG directory under tmp_path; the state directory is returned."""
    for name in ("STATE", "CONFIG", "CACHE", "DATA"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / name.lower()))
    monkeypatch.delenv("DSPACE_DEPLOY_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("DSPACE_DEPLOY_INVENTORY", raising=False)
    return tmp_path / "state"


@pytest.fixture
def site_args(state: Path, tmp_path: Path) -> list[str]:
    root, password = build(tmp_path / "site", vault={**secrets_for("repo"), **BACKUP_SECRETS})
    return ["-i", str(root), "--vault-password-file", str(password)]


def runs_started(state: Path) -> list[Path]:
    return sorted(state.glob("dspace-deploy/*/runs"))


def refused(state: Path, *args: str) -> dict[str, Any]:
    """Run the CLI with --json: exit 2, one JSON document, no run started."""
    code, out, err = run_cli(*args, "--json")
    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert not runs_started(state), "ansible-runner was started although the input was bad"
    assert "Traceback" not in out + err
    document: dict[str, Any] = json.loads(out)
    assert document["ok"] is False and document["exit_code"] == 2
    return document


# --- restore: snapshot ids, --from host names -------------------------------------------------

@pytest.mark.parametrize("snapshot", ["", " ", "../../etc/passwd;rm -rf /", "abc", "LATEST",
                                      "$(reboot)", "1234567", "g" * 8])
def test_restore_refuses_a_malformed_snapshot_id(state: Path, site_args: list[str],
                                                 snapshot: str) -> None:
    document = refused(state, "restore", *site_args, "--snapshot", snapshot, "--yes")
    assert "--snapshot" in document["error"]
    assert "latest" in document["error"]  # the fix names what is accepted


@pytest.mark.parametrize("snapshot", ["latest", "4f2a9c1e", "4f2a9c1e" * 8])
def test_snapshot_ids_restic_gives_are_accepted(snapshot: str) -> None:
    from dspace_deploy.backups import check_snapshot_id

    assert check_snapshot_id(snapshot) == snapshot


@pytest.mark.parametrize("source", ["", "bad host!", "https://repo.example.edu/",
                                    "repo.example.edu:443", "a;rm -rf /", "-rf"])
def test_restore_refuses_a_malformed_from_hostname(state: Path, site_args: list[str],
                                                   source: str) -> None:
    document = refused(state, "restore", *site_args, "--snapshot", "latest", "--from", source,
                       "--yes")
    assert "--from" in document["error"]


def test_drill_refuses_a_malformed_snapshot_id(state: Path, site_args: list[str]) -> None:
    document = refused(state, "drill", *site_args, "--snapshot", "../x")
    assert "--snapshot" in document["error"]


# --- --artifacts: a directory or an http(s):// (or file://) URL, in every verb ----------------

ARTIFACT_VERBS = [["check"], ["up"], ["restore", "--snapshot", "latest", "--yes"],
                  ["drill"]]


@pytest.mark.parametrize("verb", ARTIFACT_VERBS, ids=lambda v: v[0])
def test_artifacts_that_do_not_exist_are_refused(state: Path, site_args: list[str],
                                                 tmp_path: Path, verb: list[str]) -> None:
    document = refused(state, *verb, *site_args, "--artifacts", str(tmp_path / "nowhere"))
    assert "nowhere" in document["error"] and "does not exist" in document["error"]


@pytest.mark.parametrize("verb", ARTIFACT_VERBS, ids=lambda v: v[0])
def test_artifacts_naming_a_file_are_refused(state: Path, site_args: list[str], tmp_path: Path,
                                             verb: list[str]) -> None:
    manifest = tmp_path / "bundles" / "9-dspace" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    document = refused(state, *verb, *site_args, "--artifacts", str(manifest))
    assert "is a file" in document["error"]
    assert str(manifest.parent) in document["error"]  # the fix names the directory


@pytest.mark.parametrize("verb", ARTIFACT_VERBS, ids=lambda v: v[0])
@pytest.mark.parametrize("url", ["ftp://mirror.example.edu/bundles", "s3://bucket/bundles",
                                 "scp://host/dir"])
def test_artifacts_with_another_url_scheme_are_refused(state: Path, site_args: list[str],
                                                       verb: list[str], url: str) -> None:
    document = refused(state, *verb, *site_args, "--artifacts", url)
    assert url.split(":")[0] in document["error"]
    assert "http" in document["error"]


def test_dspace_artifacts_with_another_url_scheme_is_an_inventory_problem(
        state: Path, tmp_path: Path) -> None:
    from tests.unit.fixtures.helpers import site

    root, password = build(tmp_path / "site",
                           {"group_vars/all/site.yml": site(
                               dspace_artifacts="ftp://mirror.example.edu/bundles")},
                           vault={**secrets_for("repo"), **BACKUP_SECRETS})
    document = refused(state, "validate", "-i", str(root), "--vault-password-file",
                       str(password))
    assert [p["key"] for p in document["problems"]] == ["dspace_artifacts"]


# --- --limit ------------------------------------------------------------------------------------

LIMIT_VERBS = [["check"], ["up"], ["verify"], ["status"], ["backup"], ["backup", "list"],
               ["backup", "verify"], ["handle", "bundle"]]


@pytest.mark.parametrize("verb", LIMIT_VERBS, ids=" ".join)
@pytest.mark.parametrize("limit", ["", "  "])
def test_an_empty_limit_is_an_error(state: Path, site_args: list[str], verb: list[str],
                                    limit: str) -> None:
    document = refused(state, *verb, *site_args, "--limit", limit)
    assert "--limit" in document["error"] and "empty" in document["error"]


@pytest.mark.parametrize("verb", LIMIT_VERBS, ids=" ".join)
def test_a_limit_matching_no_host_is_an_error(state: Path, site_args: list[str],
                                              verb: list[str]) -> None:
    document = refused(state, *verb, *site_args, "--limit", "nosuchhost")
    assert "--limit 'nosuchhost' matches no host of site demo" in document["error"]
    assert "repo" in document["error"]  # the hosts there are


def test_a_limit_naming_a_group_or_pattern_selects_its_hosts(state: Path, tmp_path: Path) -> None:
    from dspace_deploy.inventory.validate import load_site
    from dspace_deploy.selection import select_hosts

    root, password = build(tmp_path / "site", vault={**secrets_for("repo"), **BACKUP_SECRETS})
    site = load_site(root, password)
    assert select_hosts(site, None) == ["repo"]
    assert select_hosts(site, "dspace") == ["repo"]
    assert select_hosts(site, "re*") == ["repo"]
    assert select_hosts(site, "repo,other") == ["repo"]


# --- destinations that are files ------------------------------------------------------------------

def test_handle_bundle_dest_naming_a_file_is_refused(state: Path, site_args: list[str],
                                                     tmp_path: Path) -> None:
    existing = tmp_path / "a-file"
    existing.write_text("keep me")
    document = refused(state, "handle", "bundle", *site_args, "--dest", str(existing))
    assert str(existing) in document["error"] and "not a directory" in document["error"]
    assert existing.read_text() == "keep me"


def test_build_out_naming_a_file_is_refused_before_anything_is_fetched(
        state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    def no_network(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("build fetched something although --out is a file")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    existing = tmp_path / "a-file"
    existing.write_text("keep me")
    code, out, err = run_cli("build", "--line", "9", "--out", str(existing), "--json")
    assert code == 2, out + err
    document = json.loads(out)
    assert str(existing) in document["error"] and "not a directory" in document["error"]
    assert existing.read_text() == "keep me"


# --- with --json, every exit prints exactly one JSON document ------------------------------------

SWEEP: list[tuple[str, list[str]]] = [
    ("unknown flag", ["up", "--no-such-flag"]),
    ("unknown flag of lab up", ["lab", "up", "--bogus"]),
    ("missing --snapshot", ["restore", "-i", "/nonexistent"]),
    ("missing --line", ["build"]),
    ("lab up --hosts 0", ["lab", "up", "--hosts", "0"]),
    ("lab up --os debian11", ["lab", "up", "--os", "debian11"]),
    ("drill --os debian11", ["drill", "-i", "/nonexistent", "--os", "debian11"]),
    ("build --flavor other", ["build", "--line", "9", "--flavor", "other"]),
    ("lab down without a name", ["lab", "down"]),
    ("unknown verb", ["no-such-verb"]),
    ("unknown backup subcommand", ["backup", "nothing"]),
    ("extra argument", ["validate", "extra"]),
]
INVENTORY_VERBS = [["validate"], ["check"], ["up"], ["verify"], ["status"], ["backup"],
                   ["backup", "list"], ["backup", "verify"],
                   ["restore", "--snapshot", "latest"], ["drill"], ["handle", "bundle"]]
SWEEP += [(f"{' '.join(v)} without inventory", [*v, "-i", "/nonexistent"])
          for v in INVENTORY_VERBS]
SWEEP += [(f"{' '.join(v)} with an unknown flag", [*v, "--bogus"]) for v in INVENTORY_VERBS]


@pytest.mark.parametrize(("case", "args"), SWEEP, ids=[c for c, _ in SWEEP])
def test_every_json_exit_prints_one_document(state: Path, case: str, args: list[str]) -> None:
    code, out, err = run_cli(*args, "--json")
    assert code != 0, case
    document = json.loads(out)  # exactly one document: trailing text would not parse
    assert document["ok"] is False
    assert document["exit_code"] == code
    assert document["error"].strip()
    assert "Traceback" not in out + err
    assert not runs_started(state)


def test_usage_error_json_through_the_real_executable(tmp_path: Path) -> None:
    result = subprocess.run([EXE, "lab", "up", "--hosts", "0", "--json"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document == {"ok": False, "exit_code": 2, "error": document["error"],
                        "usage": "dspace-deploy lab up [OPTIONS]"}
    assert "--hosts" in document["error"] and "1<=x<=50" in document["error"]
    assert "Usage:" in result.stderr  # the terminal still gets click's usage text


def test_an_internal_error_with_json_is_one_document(monkeypatch: pytest.MonkeyPatch,
                                                     state: Path) -> None:
    from dspace_deploy.lab import labs

    def broken() -> list[Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(labs, "list_labs", broken)
    code, out, err = run_cli("lab", "list", "--json")
    assert code == 4
    document = json.loads(out)
    assert document["exit_code"] == 4 and "RuntimeError" in document["error"]
    assert "DSPACE_DEPLOY_DEBUG" in err


def test_an_interrupt_with_json_is_one_document(monkeypatch: pytest.MonkeyPatch,
                                                state: Path) -> None:
    from dspace_deploy.lab import labs

    def interrupted() -> list[Any]:
        raise KeyboardInterrupt

    monkeypatch.setattr(labs, "list_labs", interrupted)
    code, out, _ = run_cli("lab", "list", "--json")
    assert code == 130
    assert json.loads(out) == {"ok": False, "exit_code": 130, "error": "Interrupted."}


def test_a_verb_that_printed_its_document_is_not_followed_by_another(
        monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    from dspace_deploy.lab import labs

    monkeypatch.setattr(labs, "list_labs", lambda: [])
    monkeypatch.setattr(labs, "orphan_labs", lambda: [])
    code, out, _ = run_cli("lab", "list", "--json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "labs": [], "orphans": []}
