"""The sample content sets (roles/dspace_content/files/sample) and the pure parts of the host
program dspace-content (the lab test tests/integration/test_content.py runs it for real)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.unit.fixtures.helpers import REPO

ROLE = REPO / "roles" / "dspace_content"
SAMPLE = ROLE / "files" / "sample"


def _program() -> Any:
    os.environ["DSPACE_BACKUP_PROGRAM"] = str(REPO / "roles/dspace_backup/files/dspace-backup")
    loader = importlib.machinery.SourceFileLoader(
        "dspace_content_program", str(ROLE / "files" / "dspace-content")
    )
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.mark.parametrize("lang", ["en", "es"])
def test_each_sample_set_is_complete_small_and_importable(lang: str) -> None:
    root = SAMPLE / lang
    names = _program().collection_names(root / "structure.xml")
    batches = sorted(p.name for p in (root / "items").iterdir())
    assert batches == [f"{n:02d}" for n in range(1, len(names) + 1)] and len(names) == 4
    items = sorted((root / "items").glob("*/item_*"))
    assert len(items) == 24
    bitstreams = 0
    for item in items:
        dc = ET.parse(item / "dublin_core.xml").getroot()
        assert dc.tag == "dublin_core"
        assert [v.text for v in dc if v.get("element") == "title"], item
        for line in (item / "contents").read_text().splitlines():
            name = line.split("\t")[0]
            assert (item / name).is_file(), f"{item}: {name}"
            assert name.isascii()
            bitstreams += 1
        pdfs = list(item.glob("*.pdf"))
        assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF-1.4")
        assert pdfs[0].read_bytes().rstrip().endswith(b"%%EOF")
    assert bitstreams == 58
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 1_000_000
    users = (root / "users.csv").read_text().splitlines()
    assert users[0] == "email,first,last,language" and len(users) == 4


def test_the_sets_say_they_are_cc0_and_the_generator_reproduces_them(tmp_path: Path) -> None:
    readme = (SAMPLE / "README.md").read_text()
    assert "CC0 1.0 Universal" in readme and "written for dspace-deploy" in readme
    for item in SAMPLE.glob("*/items/*/item_*"):
        assert "CC0 1.0" in (item / "license.txt").read_text()
    # the shipped files are exactly what scripts/sample-content writes
    loader = importlib.machinery.SourceFileLoader(
        "sample_content", str(REPO / "scripts/sample-content")
    )
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    generator = importlib.util.module_from_spec(spec)
    loader.exec_module(generator)
    generator.OUT = tmp_path / "sample"
    assert generator.main() == 0
    for lang in ("en", "es"):
        made = sorted(
            p.relative_to(tmp_path / "sample" / lang)
            for p in (tmp_path / "sample" / lang).rglob("*")
            if p.is_file()
        )
        shipped = sorted(
            p.relative_to(SAMPLE / lang) for p in (SAMPLE / lang).rglob("*") if p.is_file()
        )
        assert made == shipped
        assert all(
            (tmp_path / "sample" / lang / p).read_bytes() == (SAMPLE / lang / p).read_bytes()
            for p in made
        )


def test_collections_follow_structure_builder_document_order(tmp_path: Path) -> None:
    program = _program()
    structure = tmp_path / "s.xml"
    structure.write_text(
        "<import_structure><community><name>A</name><community><name>B</name>"
        "<collection><name>in B</name></collection></community>"
        "<collection><name>in A</name></collection></community>"
        "<community><name>C</name><collection><name>in C</name></collection></community>"
        "</import_structure>"
    )
    assert program.collection_names(structure) == ["in B", "in A", "in C"]
    mapped = tmp_path / "map.xml"
    mapped.write_text(
        '<imported_structure><community identifier="1/1"><name>A</name>'
        '<community identifier="1/2"><name>B</name><collection identifier="1/3">'
        "<name>in B</name></collection></community></community></imported_structure>"
    )
    assert program.mapped_collections(mapped) == {"in B": "1/3"}


def test_sample_users_passwords_are_never_taken_for_an_option() -> None:
    """`dspace user --add ... -p VALUE`: a VALUE starting with "-" that looks like an option
    (e.g. "-a...", -a being --add's) is parsed as one and the command fails ("Missing argument
    for option: p"); token_urlsafe started with "-" 1 time in 64."""
    program = _program()
    passwords = {program.unknown_password() for _ in range(2000)}
    assert len(passwords) == 2000
    assert not [value for value in passwords if value.startswith("-")]
    assert min(len(value) for value in passwords) >= 32
