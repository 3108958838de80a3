"""The sample content sets (roles/dspace_content/files/sample) and the pure parts of the host
program dspace-content (the lab test tests/integration/test_content.py runs it for real)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
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


@pytest.mark.parametrize("lang", ["en", "es"])
def test_each_sample_sets_groups_name_only_its_own_users(lang: str) -> None:
    program = _program()
    rows = program.read_groups(SAMPLE / lang / "groups.csv")
    assert len(rows) == 3 and all(r["description"] for r in rows)
    users = {
        line.split(",")[0] for line in (SAMPLE / lang / "users.csv").read_text().splitlines()[1:]
    }
    assert set().union(*(r["members"] for r in rows)) == users
    assert sum(len(r["members"]) for r in rows) == 5


class FakeRest:
    """DSpace's group endpoints in memory, as GroupRestRepository and GroupRestController answer
    (byMetadata: names containing the query, paged; members by text/uri-list of self links)."""

    def __init__(
        self, *, size: int = 1, drop_members: bool = False, create_status: int = 201
    ) -> None:
        self.groups: dict[str, dict[str, Any]] = {}
        self.members: dict[str, set[str]] = {}
        self.epersons = {f"{n}@example.org": f"e{n}" for n in ("ana", "ben", "eva")}
        self.size, self.drop_members, self.create_status = size, drop_members, create_status
        self.posts: list[str] = []

    def _page(
        self, rel: str, objects: list[dict[str, Any]], query: dict[str, Any]
    ) -> tuple[int, Any]:
        number, size = int(query["page"]), min(int(query["size"]), self.size)
        part = objects[number * size : (number + 1) * size]
        return 200, {
            "_embedded": {rel: part},
            "page": {"totalPages": -(-len(objects) // size), "totalElements": len(objects)},
        }

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
        query: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        query = query or {}
        if method == "POST":
            self.posts.append(path)
        if path == "/api/eperson/groups/search/byMetadata":
            found = [g for g in self.groups.values() if query["query"].lower() in g["name"].lower()]
            # no order in DSpace's query: the longer names first here, one per page
            return self._page("groups", sorted(found, key=lambda g: g["name"], reverse=True), query)
        if path == "/api/eperson/groups" and method == "POST":
            assert content_type == "application/json" and body is not None
            data = json.loads(body)
            if self.create_status != 201:
                return self.create_status, {"message": "An exception has occurred"}
            group = {
                "id": f"g{len(self.groups)}",
                "name": data["name"],
                "metadata": data.get("metadata", {}),
            }
            self.groups[group["id"]] = group
            self.members[group["id"]] = set()
            return 201, group
        if path.endswith("/epersons") and method == "GET":
            gid = path.split("/")[4]
            people = [
                {"email": e} for e, u in sorted(self.epersons.items()) if u in self.members[gid]
            ]
            return self._page("epersons", people, query)
        if path.endswith("/epersons") and method == "POST":
            assert content_type == "text/uri-list" and body is not None
            if not self.drop_members:
                self.members[path.split("/")[4]] |= {
                    ln.rsplit("/", 1)[1] for ln in body.decode().split("\n")
                }
            return 204, None
        if path == "/api/eperson/epersons/search/byEmail":
            uuid = self.epersons.get(query["email"])
            if uuid is None:
                return 204, None
            return 200, {
                "_links": {"self": {"href": f"http://x/server/api/eperson/epersons/{uuid}"}}
            }
        raise AssertionError(f"unexpected {method} {path}")


def _rows(program: Any, tmp_path: Path, text: str) -> list[dict[str, Any]]:
    table = tmp_path / "groups.csv"
    table.write_text("name,description,members\n" + text)
    return program.read_groups(table)


def test_groups_are_made_once_with_their_members_and_read_back(tmp_path: Path) -> None:
    program = _program()
    rows = _rows(
        program,
        tmp_path,
        "Researchers,Who research,ana@example.org ben@example.org\n"
        "Senior Researchers,,EVA@example.org\n"
        "All,Everyone,ana@example.org ben@example.org eva@example.org\n",
    )
    assert rows[1] == {
        "name": "Senior Researchers",
        "description": "",
        "members": ["eva@example.org"],
    }
    rest = FakeRest()
    assert program.seed_groups(rest, rows) == ["Researchers", "Senior Researchers", "All"]
    made = {g["name"]: g for g in rest.groups.values()}
    assert made["Researchers"]["metadata"] == {"dc.description": [{"value": "Who research"}]}
    assert made["Senior Researchers"]["metadata"] == {}  # no description, no metadata
    assert {g["name"]: len(rest.members[g["id"]]) for g in rest.groups.values()} == {
        "Researchers": 2,
        "Senior Researchers": 1,
        "All": 3,
    }
    # again: "Researchers" is found on the second page of the names containing it, after
    # "Senior Researchers"; nothing is posted
    rest.posts.clear()
    assert program.seed_groups(rest, rows) == [] and rest.posts == []
    # a member removed meanwhile is added again, the group is not made twice
    rest.members[made["All"]["id"]].discard("eben")
    assert program.seed_groups(rest, rows) == []
    assert rest.posts == [f"/api/eperson/groups/{made['All']['id']}/epersons"]
    assert len(rest.groups) == 3 and len(rest.members[made["All"]["id"]]) == 3


def test_groups_are_judged_by_what_dspace_reads_back(tmp_path: Path) -> None:
    program = _program()
    rows = _rows(program, tmp_path, "Staff,,ana@example.org\n")
    with pytest.raises(program.Error) as lacking:  # 204, yet nobody was added
        program.seed_groups(FakeRest(drop_members=True), rows)
    assert lacking.value.what == "the groups are not as the set says: Staff lacks ana@example.org"
    with pytest.raises(program.Error) as refused:
        program.seed_groups(FakeRest(create_status=500), rows)
    assert refused.value.what == "DSpace did not make group Staff (500 An exception has occurred)"
    with pytest.raises(program.Error) as ghost:
        program.seed_groups(FakeRest(), _rows(program, tmp_path, "Staff,,zoe@example.org\n"))
    assert ghost.value.what == "group Staff names zoe@example.org, who has no account"
    with pytest.raises(program.Error) as nameless:
        _rows(program, tmp_path, "Staff,,ana@example.org\n ,x,\n")
    assert "groups without a name (line 3)" in nameless.value.what


def test_the_password_comes_on_stdin_only_when_the_set_has_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse
    import io

    program = _program()
    assert program.read_password(argparse.Namespace(password_stdin=False), False) == ""
    with pytest.raises(program.Error) as missing:
        program.read_password(argparse.Namespace(password_stdin=False), True)
    assert "--password-stdin" in missing.value.fix
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret pass\n"))
    assert program.read_password(argparse.Namespace(password_stdin=True), True) == "s3cret pass"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(program.Error):
        program.read_password(argparse.Namespace(password_stdin=True), True)
    args = program.parser().parse_args(
        ["seed", "repo", "--set", "/x", "--admin", "a@b.c", "--password-stdin"]
    )
    assert args.password_stdin is True


def test_the_rest_api_is_the_backends_own_port() -> None:
    program = _program()
    config = {"instance": "repo", "health_url": "http://127.0.0.1:8081/server/actuator/health"}
    assert program.rest_url(config) == "http://127.0.0.1:8081/server"
    with pytest.raises(program.Error):
        program.rest_url({"instance": "repo"})
