"""The dspace_tasks role's checker (roles/dspace_tasks/files/dspace-task-check): a scheduled
`oai import` that exits 0 having indexed nothing fails its unit; a run whose lock another run
holds is not judged; items archived while the task ran do not count."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.programs import load_program

check = load_program("roles/dspace_tasks/files/dspace-task-check", "dspace_task_check_under_test")
URL = "http://127.0.0.1:8983/solr/repo-oai"


def _args(tmp_path: Path) -> list[str]:
    return ["oai-index", "--db", "dspace_repo", "--db-port", "5432", "--core-url", URL,
            "--lock", str(tmp_path / "oai-import.lock"), "--unit",
            "dspace-repo-oai-import.service"]


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """systemd, PostgreSQL and Solr at the program's boundaries."""
    state: dict[str, Any] = {"items": 3, "documents": 3, "sql": [], "started": "@1764900000"}

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        if argv[0] == "systemctl":
            return subprocess.CompletedProcess(argv, 0, state["started"] + "\n", "")
        state["sql"].append(argv[-1])
        return subprocess.CompletedProcess(argv, 0, f"{state['items']}\n", "")

    def fake_documents(core_url: str) -> int:
        if state["documents"] is None:
            raise RuntimeError(f"the Solr core {core_url} does not answer (Connection refused)")
        return int(state["documents"])

    monkeypatch.setattr(check.subprocess, "run", fake_run)
    monkeypatch.setattr(check, "documents", fake_documents)
    return state


def test_an_index_with_every_item_passes(host: dict[str, Any], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert check.main(_args(tmp_path)) == 0
    assert "holds 3 documents for 3 items" in capsys.readouterr().out
    # items modified after the run began (archived meanwhile) are not expected
    assert "i.last_modified < to_timestamp(1764900000)" in host["sql"][0]
    assert "(i.in_archive OR i.withdrawn)" in host["sql"][0] and "handle" in host["sql"][0]


def test_an_import_that_indexed_nothing_fails_the_unit(host: dict[str, Any], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    host["documents"] = 0
    assert check.main(_args(tmp_path)) == 1
    assert capsys.readouterr().err.strip() == (
        f"dspace-task-check: the OAI-PMH index {URL} holds 0 documents, but 3 items are in the "
        "archive or withdrawn with a handle: `oai import` failed (it exits 0); see its output "
        "above")


def test_a_solr_that_does_not_answer_fails_the_unit(host: dict[str, Any], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    host["documents"] = None
    assert check.main(_args(tmp_path)) == 1
    assert "does not answer (Connection refused)" in capsys.readouterr().err


def test_no_items_no_documents_passes(host: dict[str, Any], tmp_path: Path) -> None:
    host["items"], host["documents"] = 0, 0
    assert check.main(_args(tmp_path)) == 0


def test_a_run_held_elsewhere_is_not_judged(host: dict[str, Any], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    host["documents"] = 0
    with (tmp_path / "oai-import.lock").open("a") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        assert check.main(_args(tmp_path)) == 0
    assert "not checked: another run holds" in capsys.readouterr().out


def test_without_systemd_s_start_time_every_item_counts(host: dict[str, Any],
                                                        tmp_path: Path) -> None:
    host["started"] = ""
    assert check.main(_args(tmp_path)) == 0
    assert "to_timestamp" not in host["sql"][0]
