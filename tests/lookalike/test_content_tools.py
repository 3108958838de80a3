"""The look-alike's content tools: `structure-builder`, `import` (Simple Archive Format) and `user`,
with the options, files, handles, messages and exit codes of the real ones (docs/lookalike.md,
"Content tools"), and the content they make visible to `index-discovery` and `oai import`.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.lookalike.test_lookalike import MISSING
from tests.lookalike.test_solr_tools import Instance, _count

pytestmark = pytest.mark.lookalike

if MISSING:
    pytest.skip(f"missing: {', '.join(MISSING)}", allow_module_level=True)

ADMIN = "admin@example.org"
DB = "solrtools"

STRUCTURE = """<?xml version="1.0" encoding="UTF-8"?>
<import_structure>
  <community>
    <name>Faculty of Science</name>
    <description>Research of the faculty</description>
    <community>
      <name>Department of Physics</name>
      <collection><name>Theses</name><license>CC0</license></collection>
    </community>
    <collection><name>Articles</name></collection>
  </community>
  <community><name>Library</name></community>
</import_structure>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    made = Instance(tmp_path_factory.mktemp("content"))
    p = made.dspace_cmd(
        "create-administrator", "-e", ADMIN, "-f", "Ada", "-l", "Admin", "-p", "secret", "-c", "en"
    )
    assert p.returncode == 0, p.stdout + p.stderr
    yield made
    made.close()


def sql(site: Instance, statement: str) -> str:
    return site.pg.sql(DB, statement)


def count(site: Instance, table: str, where: str = "true") -> int:
    return int(sql(site, f"SELECT count(*) FROM {table} WHERE {where}"))


def build_structure(site: Instance, tmp: Path) -> dict[str, str]:
    """Runs structure-builder on STRUCTURE; returns collection name -> handle from the map."""
    src, out = tmp / "structure.xml", tmp / "map.xml"
    src.write_text(STRUCTURE)
    p = site.dspace_cmd("structure-builder", "-f", str(src), "-o", str(out), "-e", ADMIN)
    assert p.returncode == 0, p.stdout + p.stderr
    import xml.etree.ElementTree as ET

    root = ET.parse(out).getroot()
    assert root.tag == "imported_structure"
    return {c.findtext("name") or "": c.get("identifier") or "" for c in root.iter("collection")}


def saf_item(
    base: Path,
    name: str,
    title: str,
    files: dict[str, bytes] | None = None,
    contents: str | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    d = base / name
    d.mkdir(parents=True)
    (d / "dublin_core.xml").write_text(
        textwrap.dedent(f"""\
        <?xml version="1.0" encoding="UTF-8"?>
        <dublin_core>
          <dcvalue element="title" qualifier="none">{title}</dcvalue>
          <dcvalue element="contributor" qualifier="author">Doe, Jane</dcvalue>
          <dcvalue element="date" qualifier="issued">2024-05-01</dcvalue>
        </dublin_core>
        """)
    )
    for fname, data in (files or {}).items():
        (d / fname).write_bytes(data)
    if contents is not None:
        (d / "contents").write_text(contents)
    for fname, text in (extra or {}).items():
        (d / fname).write_text(text)
    return d


def test_structure_builder_options_and_failures(site: Instance, tmp_path: Path) -> None:
    src = tmp_path / "s.xml"
    src.write_text(STRUCTURE)
    # -e and -o are required (commons-cli): message, usage, exit 1
    p = site.dspace_cmd("structure-builder", "-f", str(src), "-e", ADMIN)
    assert p.returncode == 1 and "Missing required option: o" in p.stderr
    # neither -f nor -x: the help and exit 1
    p = site.dspace_cmd("structure-builder", "-o", str(tmp_path / "m.xml"), "-e", ADMIN)
    assert p.returncode == 1 and "struct-builder" in p.stdout
    before = count(site, "community")
    # an unknown e-person is no error by itself: the creation is refused, nothing is committed,
    # and the map file was already created (empty)
    out = tmp_path / "unknown.xml"
    p = site.dspace_cmd(
        "structure-builder", "-f", str(src), "-o", str(out), "-e", "nobody@example.org"
    )
    assert p.returncode == 1
    assert "Not authorized:  Only administrators can create communities" in p.stderr
    assert count(site, "community") == before and out.exists() and out.read_text() == ""
    # a community without a name: the validation report on stdout, exit 1
    bad = tmp_path / "bad.xml"
    bad.write_text(
        "<import_structure><community><collection><name>X</name></collection>"
        "</community></import_structure>"
    )
    p = site.dspace_cmd("structure-builder", "-f", str(bad), "-o", str(out), "-e", ADMIN)
    assert p.returncode == 1
    assert (
        "-The level 1 community in position 1 does not contain exactly one name field." in p.stdout
    )
    assert "No changes have been made to the DSpace instance." in p.stdout
    p = site.dspace_cmd(
        "structure-builder", "-f", str(tmp_path / "missing.xml"), "-o", str(out), "-e", ADMIN
    )
    assert p.returncode == 1 and count(site, "community") == before


def test_structure_builder_creates_the_tree_with_new_handles_and_again_on_a_second_run(
    site: Instance, tmp_path: Path
) -> None:
    before = count(site, "community")
    cols = build_structure(site, tmp_path)
    assert set(cols) == {"Theses", "Articles"}
    assert count(site, "community") == before + 3 and count(site, "community2community") >= 1
    # every handle comes from handle_seq under the prefix, in document order
    thesis, article = (int(cols[n].split("/")[1]) for n in ("Theses", "Articles"))
    assert cols["Theses"].startswith("123456789/") and article == thesis + 1
    assert (
        sql(
            site,
            "SELECT handle FROM handle WHERE resource_id = (SELECT uuid FROM collection c "
            f"WHERE EXISTS (SELECT 1 FROM handle h WHERE h.resource_id = c.uuid AND h.handle = "
            f"'{cols['Theses']}'))",
        )
        == cols["Theses"]
    )
    # structure-builder is not idempotent: a second run makes a second tree
    (tmp_path / "again").mkdir()
    build_structure(site, tmp_path / "again")
    assert count(site, "community") == before + 6
    # the map file is no input (its root is imported_structure): "no top level communities"
    p = site.dspace_cmd(
        "structure-builder",
        "-f",
        str(tmp_path / "map.xml"),
        "-o",
        str(tmp_path / "x.xml"),
        "-e",
        ADMIN,
    )
    assert p.returncode == 1 and "-There are no top level communities" in p.stdout
    # -x exports the tree with the handles; fed back, its identifiers are in use and the run
    # aborts (the 9.3 code asks options.hasOption("k"), true whether -k was given or not)
    export = tmp_path / "export.xml"
    p = site.dspace_cmd("structure-builder", "-x", "-o", str(export), "-e", ADMIN)
    assert p.returncode == 0 and cols["Theses"] in export.read_text()
    assert "<import_structure>" in export.read_text()
    p = site.dspace_cmd(
        "structure-builder", "-f", str(export), "-o", str(tmp_path / "y.xml"), "-e", ADMIN
    )
    assert p.returncode == 1 and "which is in use already. Aborting..." in p.stderr
    assert count(site, "community") == before + 6


def test_import_adds_items_bitstreams_and_the_map_file(site: Instance, tmp_path: Path) -> None:
    cols = build_structure(site, tmp_path)
    src = tmp_path / "saf"
    pdf = b"%PDF-1.4 look-alike test\n" * 40
    saf_item(
        src,
        "item_000",
        "First",
        {"paper.pdf": pdf, "notes.txt": b"notes", "license.txt": b"CC0"},
        "paper.pdf\tbundle:ORIGINAL\tprimary:true\tdescription:The paper\n"
        "notes.txt\tpermissions:-r 'Administrator'\n"
        "license.txt\n",
    )
    saf_item(
        src,
        "item_001",
        "Second",
        extra={
            "metadata_dcterms.xml": '<dublin_core schema="dcterms">'
            '<dcvalue element="abstract">Short</dcvalue></dublin_core>'
        },
    )
    mapfile = tmp_path / "mapfile"
    items = count(site, "item")
    p = site.dspace_cmd(
        "import", "-a", "-c", cols["Articles"], "-s", str(src), "-m", str(mapfile), "-e", ADMIN
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "The script has started" in p.stdout and "The script has completed" in p.stdout
    assert "Owning Collection: Articles" in p.stdout
    lines = mapfile.read_text().splitlines()
    assert [ln.split()[0] for ln in lines] == ["item_000", "item_001"]
    handles = [ln.split()[1] for ln in lines]
    assert count(site, "item") == items + 2
    first = sql(site, f"SELECT resource_id FROM handle WHERE handle = '{handles[0]}'")
    assert sql(site, f"SELECT in_archive FROM item WHERE uuid = '{first}'") == "t"
    # bundles ORIGINAL and LICENSE; the primary bitstream; files in the assetstore with their MD5
    rows = sql(
        site,
        "SELECT b.internal_id, b.checksum, b.size_bytes FROM bitstream b JOIN bundle2bitstream bb "
        "ON bb.bitstream_id = b.uuid JOIN item2bundle ib ON ib.bundle_id = bb.bundle_id "
        f"WHERE ib.item_id = '{first}' ORDER BY b.size_bytes DESC",
    ).splitlines()
    assert len(rows) == 3
    internal, md5, size = rows[0].split("|")
    stored = site.dspace / "assetstore" / internal[0:2] / internal[2:4] / internal[4:6] / internal
    assert (
        stored.read_bytes() == pdf and md5 == hashlib.md5(pdf).hexdigest() and int(size) == len(pdf)
    )
    assert (
        count(
            site,
            "bundle",
            f"primary_bitstream_id IS NOT NULL AND uuid IN (SELECT bundle_id FROM "
            f"item2bundle WHERE item_id = '{first}')",
        )
        == 1
    )
    # permissions: notes.txt readable by Administrator only; the others by Anonymous
    assert (
        sql(
            site,
            "SELECT g.name FROM resourcepolicy r JOIN epersongroup g ON g.uuid = r.epersongroup_id "
            "JOIN metadatavalue v ON v.dspace_object_id = r.dspace_object WHERE v.text_value = "
            "'notes.txt'",
        )
        == "Administrator"
    )
    # metadata: provenance, URI, and the second item's dcterms.abstract
    second = sql(site, f"SELECT resource_id FROM handle WHERE handle = '{handles[1]}'")
    assert (
        count(site, "metadatavalue", f"dspace_object_id = '{second}' AND text_value = 'Short'") == 1
    )
    assert (
        count(
            site,
            "metadatavalue",
            f"dspace_object_id = '{first}' AND text_value LIKE '%/handle/{handles[0]}'",
        )
        == 1
    )
    # the same map file again: refused (exit 1) unless resuming
    p = site.dspace_cmd(
        "import", "-a", "-c", cols["Articles"], "-s", str(src), "-m", str(mapfile), "-e", ADMIN
    )
    assert p.returncode == 1 and f"The mapfile {mapfile} already exists" in p.stderr
    p = site.dspace_cmd(
        "import",
        "-a",
        "-R",
        "-c",
        cols["Articles"],
        "-s",
        str(src),
        "-m",
        str(mapfile),
        "-e",
        ADMIN,
    )
    assert p.returncode == 0 and "Skipping import of item_000" in p.stdout
    assert count(site, "item") == items + 2
    # delete by map file; a second delete only reports the items gone and exits 0
    p = site.dspace_cmd("import", "-d", "-m", str(mapfile), "-e", ADMIN)
    assert p.returncode == 0, p.stdout + p.stderr
    assert count(site, "item") == items
    assert (
        count(site, "bitstream", f"internal_id = '{internal}' AND deleted") == 1 and stored.exists()
    )
    p = site.dspace_cmd("import", "-d", "-m", str(mapfile), "-e", ADMIN)
    assert p.returncode == 0 and "Error - cannot locate item - already deleted?" in p.stderr


def test_import_failures_and_the_exit_codes_they_give(site: Instance, tmp_path: Path) -> None:
    cols = build_structure(site, tmp_path)
    items = count(site, "item")
    src = tmp_path / "saf"
    saf_item(src, "a", "Without collections")
    # no -c and no `collections` file: every item is skipped with a message, and the run exits 0
    p = site.dspace_cmd("import", "-a", "-s", str(src), "-m", str(tmp_path / "m0"), "-e", ADMIN)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "No collections specified for item a. Skipping." in p.stderr
    assert count(site, "item") == items and (tmp_path / "m0").read_text() == ""
    # a `collections` file naming the collection works
    (src / "a" / "collections").write_text(cols["Theses"] + "\n")
    p = site.dspace_cmd("import", "-a", "-s", str(src), "-m", str(tmp_path / "m1"), "-e", ADMIN)
    assert p.returncode == 0 and count(site, "item") == items + 1
    # -m and -e are required; an unknown e-person, an unknown collection: exit 1
    p = site.dspace_cmd("import", "-a", "-s", str(src), "-e", ADMIN)
    assert p.returncode == 1
    p = site.dspace_cmd(
        "import",
        "-a",
        "-s",
        str(src),
        "-c",
        cols["Theses"],
        "-m",
        str(tmp_path / "m2"),
        "-e",
        "nobody@example.org",
    )
    assert p.returncode == 1 and "EPerson cannot be found: nobody@example.org" in p.stderr
    p = site.dspace_cmd(
        "import",
        "-a",
        "-s",
        str(src),
        "-c",
        "123456789/99999",
        "-m",
        str(tmp_path / "m3"),
        "-e",
        ADMIN,
    )
    assert p.returncode == 1 and "Cannot resolve 123456789/99999 to collection" in p.stderr
    # a field the registry lacks fails the whole run: rolled back, but the map file keeps the
    # items written before the failure (their handles now resolve to nothing)
    bad = tmp_path / "bad"
    saf_item(bad, "item_1", "Good")
    saf_item(
        bad,
        "item_2",
        "Bad",
        extra={
            "metadata_local.xml": '<dublin_core schema="local">'
            '<dcvalue element="nosuch">x</dcvalue></dublin_core>'
        },
    )
    p = site.dspace_cmd(
        "import",
        "-a",
        "-s",
        str(bad),
        "-c",
        cols["Theses"],
        "-m",
        str(tmp_path / "m4"),
        "-e",
        ADMIN,
    )
    assert p.returncode == 1 and "Metadata field does not exist!" in p.stderr
    assert count(site, "item") == items + 1
    stale = (tmp_path / "m4").read_text().split()
    assert stale[0] == "item_1" and count(site, "handle", f"handle = '{stale[1]}'") == 0
    # a file the contents list lacks on disk fails the run too
    missing = tmp_path / "missing"
    saf_item(missing, "x", "No file", contents="absent.pdf\n")
    p = site.dspace_cmd(
        "import",
        "-a",
        "-s",
        str(missing),
        "-c",
        cols["Theses"],
        "-m",
        str(tmp_path / "m5"),
        "-e",
        ADMIN,
    )
    assert p.returncode == 1 and count(site, "item") == items + 1
    # -v validates without writing anything (no map file either)
    p = site.dspace_cmd(
        "import",
        "-a",
        "-v",
        "-s",
        str(bad),
        "-c",
        cols["Theses"],
        "-m",
        str(tmp_path / "m6"),
        "-e",
        ADMIN,
    )
    assert p.returncode == 0 and "**Test Run** - not actually importing items." in p.stdout
    assert "ERROR: schema 'local'" not in p.stderr  # local exists, its field does not
    assert "ERROR: Metadata field: 'local.nosuch.null' was not found in the registry." in p.stderr
    assert not (tmp_path / "m6").exists() and count(site, "item") == items + 1


def test_user_add_list_and_duplicates(site: Instance) -> None:
    p = site.dspace_cmd(
        "user",
        "--add",
        "-m",
        "Student1@example.org",
        "-g",
        "Ana",
        "-s",
        "Pérez",
        "-p",
        "pw-1",
        "-l",
        "es",
    )
    assert p.returncode == 0 and p.stdout.startswith("Created EPerson "), p.stdout + p.stderr
    p = site.dspace_cmd("user", "--list")
    assert p.returncode == 0 and "student1@example.org/null\tPérez, Ana" in p.stdout
    p = site.dspace_cmd("user", "--add", "-m", "student2@example.org")
    assert p.returncode == 1 and "You must provide a password for the new user." in p.stderr
    # a second account with the same address: the database refuses it, the exception escapes
    # the tool and the launcher exits 1
    p = site.dspace_cmd("user", "--add", "-m", "student1@example.org", "-p", "x")
    assert p.returncode == 1 and "eperson_email_key" in p.stderr
    assert count(site, "eperson", "email = 'student1@example.org'") == 1
    p = site.dspace_cmd("user")
    assert p.returncode == 1 and "Unknown operation." in p.stderr


def _password_matches(site: Instance, email: str, password: str) -> bool:
    """The look-alike's EPerson digest (Db.hashPassword): SHA-512 of salt + password, 1024
    rounds."""
    row = sql(site, f"SELECT password || ' ' || salt FROM eperson WHERE email = '{email}'")
    digest, salt = row.split()
    value = hashlib.sha512(bytes.fromhex(salt) + password.encode()).digest()
    for _ in range(1023):
        value = hashlib.sha512(value).digest()
    return value.hex() == digest


def test_user_options_are_parsed_as_commons_cli_does(site: Instance) -> None:
    """EPersonCLITool parses with commons-cli 1.11.0's DefaultParser (docs/lookalike.md, "Content
    tools"): a value that starts with "-" is an option's argument unless it looks like an option
    (its first letter a short option of the verb, a long option or a prefix of one); a negative
    number always is one. main parses the verbs alone and stops at the first other token."""
    add = ("user", "--add", "-g", "Eve", "-s", "Hyphen")
    p = site.dspace_cmd(*add, "-m", "hyphen1@example.org", "--password", "-xyz123")
    assert p.returncode == 0 and p.stdout.startswith("Created EPerson "), p.stdout + p.stderr
    assert _password_matches(site, "hyphen1@example.org", "-xyz123")
    p = site.dspace_cmd(*add, "-m", "hyphen2@example.org", "-p", "-20.5")
    assert p.returncode == 0 and _password_matches(site, "hyphen2@example.org", "-20.5"), p.stderr
    # -a is --add's own option, --email a long one, -e a prefix of one: options, not values
    for value, error in (("-abc123", "Missing argument for option: p"),
                         ("--email", "Missing argument for option: p"),
                         ("-e", "Unrecognized option: -e")):
        p = site.dspace_cmd(*add, "-m", "hyphen3@example.org", "-p", value)
        assert p.returncode == 1 and error in p.stderr, (value, p.stdout + p.stderr)
    # -m and -n are an OptionGroup: the second one given is the one refused
    p = site.dspace_cmd(*add, "-n", "net3", "-m", "hyphen3@example.org", "-p", "x")
    assert p.returncode == 1 and ("The option 'm' was specified but an option from this group has "
                                  "already been selected: 'n'") in p.stderr, p.stderr
    assert count(site, "eperson", "netid = 'net3' OR email = 'hyphen3@example.org'") == 0
    # the verbs are a group too; the exception escapes main and the launcher exits 1
    p = site.dspace_cmd("user", "--add", "--delete", "-m", "hyphen3@example.org")
    assert p.returncode == 1, p.stdout + p.stderr
    assert ("Exception: The option 'd' was specified but an option from this group has already "
            "been selected: 'a'") in p.stderr
    # main stops at the first token that is not a verb or -h: no verb, "Unknown operation."
    p = site.dspace_cmd("user", "-m", "hyphen1@example.org", "--list")
    assert p.returncode == 1 and "Unknown operation." in p.stderr, p.stdout + p.stderr
    # --list parses nothing more
    p = site.dspace_cmd("user", "--list", "--no-such-option")
    assert p.returncode == 0 and "hyphen1@example.org/null\tHyphen, Eve" in p.stdout, p.stderr


def test_imported_items_reach_discovery_and_oai(site: Instance, tmp_path: Path) -> None:
    cols = build_structure(site, tmp_path)
    src = tmp_path / "saf"
    for i in range(3):
        saf_item(src, f"item_{i}", f"Visible {i}", {"a.txt": b"x"}, "a.txt\n")
    p = site.dspace_cmd(
        "import",
        "-a",
        "-s",
        str(src),
        "-c",
        cols["Articles"],
        "-m",
        str(tmp_path / "map"),
        "-e",
        ADMIN,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    archived = count(site, "item", "in_archive OR withdrawn")
    assert site.dspace_cmd("index-discovery", "-b").returncode == 0
    assert _count(f"{site.solr}/search", "search.resourcetype:Item") == archived
    p = site.dspace_cmd("oai", "import", "-c")
    assert p.returncode == 0, p.stdout + p.stderr
    handles = [ln.split()[1] for ln in (tmp_path / "map").read_text().splitlines()]
    for h in handles:
        assert _count(f"{site.solr}/oai", f'item.handle:"{h}"') == 1
