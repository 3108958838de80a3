from __future__ import annotations

from pathlib import Path

from dspace_deploy.redact import MASK, Redactor

SECRET = "Zq3-very-long-generated-secret_value"
OTHER = "another-secret-value-123456"


def test_text_masks_every_occurrence() -> None:
    r = Redactor([SECRET])
    assert r.text(f"a {SECRET} b {SECRET}") == f"a {MASK} b {MASK}"


def test_nested_data_is_copied_and_masked() -> None:
    r = Redactor([SECRET, OTHER])
    event = {"res": {"cmd": ["psql", f"password={SECRET}"], SECRET: OTHER}, "n": 3}
    clean = r.data(event)
    assert SECRET not in repr(clean) and OTHER not in repr(clean)
    assert clean["n"] == 3
    assert SECRET in repr(event), "the original must stay untouched"


def test_short_values_are_not_treated_as_secrets() -> None:
    r = Redactor(["abc", ""])
    assert not r
    assert r.text("abc") == "abc"


def test_secret_containing_another_is_masked_whole() -> None:
    inner = "shortsecret1"
    outer = f"prefix-{inner}-suffix"
    assert Redactor([inner, outer]).text(outer) == MASK


def test_scrub_tree_rewrites_only_files_with_secrets(tmp_path: Path) -> None:
    dirty = tmp_path / "job_events" / "1-event.json"
    dirty.parent.mkdir()
    dirty.write_text(f'{{"stdout": "{SECRET}"}}')
    clean = tmp_path / "stdout"
    clean.write_text("nothing here")
    touched = Redactor([SECRET]).scrub_tree(tmp_path)
    assert touched == [dirty]
    assert SECRET not in dirty.read_text()
    assert MASK in dirty.read_text()
    assert clean.read_text() == "nothing here"
