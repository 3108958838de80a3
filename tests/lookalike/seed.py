"""Repository content for the look-alike database: communities, collections and items.

`content_sql(...)` returns one SQL script that creates them the way DSpace stores them (what the
OAI-PMH endpoint, `oai import` and the handle server read): a `dspaceobject` row and a `handle`
per object, names and item metadata as `metadatavalue` rows (dc.title for containers, as DSpace 7+
keeps them), the `community2community`, `community2collection` and `collection2item` mappings, the
item's `owning_collection`, and an Anonymous READ `resourcepolicy` for public items (with a start
date for embargoed ones). Run it as any PostgreSQL client after the schema is migrated (the
Anonymous group exists then).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

# Constants.COMMUNITY, COLLECTION, ITEM (resource_type_id of handle and resourcepolicy rows)
COMMUNITY, COLLECTION, ITEM = 4, 3, 2
READ = 0
SCHEMAS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "dspace": "http://dspace.org/dspace",
}


@dataclass
class Community:
    handle: str
    name: str
    parent: str | None = None  # handle of the parent community
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Collection:
    handle: str
    name: str
    communities: list[str]  # handles
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Item:
    handle: str
    collection: str  # handle of the owning collection
    metadata: list[tuple[str, str]]  # ("dc.title", "A title"), ("dc.contributor.author", ...)
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    public: bool = True
    embargo_until: date | None = None  # Anonymous READ only from this date
    withdrawn: bool = False
    discoverable: bool = True
    mapped: list[str] = field(default_factory=list)  # further collections (mapped items)
    language: str | None = None  # text_lang of every value
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


def _q(value: object) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def _parts(name: str) -> tuple[str, str, str | None]:
    schema, element, *rest = name.split(".")
    return schema, element, rest[0] if rest else None


def _field_id(name: str) -> str:
    schema, element, qualifier = _parts(name)
    return (
        "(SELECT f.metadata_field_id FROM metadatafieldregistry f JOIN metadataschemaregistry s "
        f"ON s.metadata_schema_id = f.metadata_schema_id WHERE s.short_id = {_q(schema)} "
        f"AND f.element = {_q(element)} AND f.qualifier IS NOT DISTINCT FROM {_q(qualifier)})"
    )


def _register(name: str) -> str:
    schema, element, qualifier = _parts(name)
    return (
        "INSERT INTO metadatafieldregistry (metadata_schema_id, element, qualifier) SELECT "
        f"s.metadata_schema_id, {_q(element)}, {_q(qualifier)} FROM metadataschemaregistry s "
        f"WHERE s.short_id = {_q(schema)} AND NOT EXISTS {_field_id(name)};"
    )


def _values(obj: str, pairs: list[tuple[str, str]], lang: str | None) -> list[str]:
    return [
        "INSERT INTO metadatavalue (dspace_object_id, metadata_field_id, text_value, text_lang, "
        f"place) VALUES ({_q(obj)}, {_field_id(name)}, {_q(value)}, {_q(lang)}, {place});"
        for place, (name, value) in enumerate(pairs)
    ]


def _handle(handle: str, type_id: int, obj: str) -> str:
    return (
        "INSERT INTO handle (handle, resource_type_id, resource_id) "
        f"VALUES ({_q(handle)}, {type_id}, {_q(obj)});"
    )


def _container(table: str, type_id: int, obj: str, handle: str, name: str) -> list[str]:
    """A community or collection: its object, handle and name (dc.title, as DSpace 7+ keeps it)."""
    return [
        f"INSERT INTO dspaceobject (uuid) VALUES ({_q(obj)});",
        f"INSERT INTO {table} (uuid) VALUES ({_q(obj)});",
        _handle(handle, type_id, obj),
        *_values(obj, [("dc.title", name)], None),
    ]


def content_sql(
    communities: list[Community], collections: list[Collection], items: list[Item]
) -> str:
    out = ["BEGIN;"]
    for short, ns in SCHEMAS.items():
        out.append(
            "INSERT INTO metadataschemaregistry (namespace, short_id) SELECT "
            f"{_q(ns)}, {_q(short)} WHERE NOT EXISTS (SELECT 1 FROM metadataschemaregistry "
            f"WHERE short_id = {_q(short)});"
        )
    names = {"dc.title"} | {n for it in items for n, _ in it.metadata}
    out += [_register(n) for n in sorted(names)]
    for c in communities:
        out += _container("community", COMMUNITY, c.uuid, c.handle, c.name)
    by_handle = {c.handle: c.uuid for c in communities}
    for c in communities:
        if c.parent:
            out.append(
                "INSERT INTO community2community (parent_comm_id, child_comm_id) "
                f"VALUES ({_q(by_handle[c.parent])}, {_q(c.uuid)});"
            )
    for col in collections:
        out += _container("collection", COLLECTION, col.uuid, col.handle, col.name)
        for com in col.communities:
            out.append(
                "INSERT INTO community2collection (collection_id, community_id) "
                f"VALUES ({_q(col.uuid)}, {_q(by_handle[com])});"
            )
    by_handle.update({c.handle: c.uuid for c in collections})
    for it in items:
        out.append(f"INSERT INTO dspaceobject (uuid) VALUES ({_q(it.uuid)});")
        out.append(
            "INSERT INTO item (uuid, in_archive, withdrawn, discoverable, last_modified, "
            f"owning_collection) VALUES ({_q(it.uuid)}, {_q(not it.withdrawn)}, "
            f"{_q(it.withdrawn)}, {_q(it.discoverable)}, {_q(it.last_modified.isoformat())}, "
            f"{_q(by_handle[it.collection])});"
        )
        out.append(_handle(it.handle, ITEM, it.uuid))
        for col in [it.collection, *it.mapped]:
            out.append(
                "INSERT INTO collection2item (collection_id, item_id) "
                f"VALUES ({_q(by_handle[col])}, {_q(it.uuid)});"
            )
        out += _values(it.uuid, it.metadata, it.language)
        if it.public and not it.withdrawn:
            out.append(
                "INSERT INTO resourcepolicy (resource_type_id, action_id, start_date, rptype, "
                f"epersongroup_id, dspace_object) VALUES ({ITEM}, {READ}, {_q(it.embargo_until)}, "
                f"'TYPE_INHERITED', (SELECT uuid FROM epersongroup WHERE name = 'Anonymous'), "
                f"{_q(it.uuid)});"
            )
    out.append("COMMIT;")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- planted OAI problems

# Records that break named rules of dspace_deploy/oai/rules.py (docs/oai-validation.md), for the
# network report's lab test. Each item is a conforming record (info:eu-repo type and access
# rights, an ISO date, a handle URL, an ISO 639-3 language) with ONE problem; "control" has none.
# Name -> (what to change in the conforming metadata, the rule ids the record then breaks, as
# harvested from the `request` context). The driver and openaire contexts filter records without
# a DRIVER type or open access out (docs/lookalike.md, OAI-PMH): harvest `request` to see them.
EU_REPO = "info:eu-repo/semantics/"
PLANTED: dict[str, tuple[dict[str, list[str]], tuple[str, ...]]] = {
    "control": ({}, ()),
    "bad-date": (
        {"dc.date.issued": ["17/05/2020"]},
        ("lareferencia.date-year-range", "openaire.publication-date", "openaire.date-iso8601"),
    ),
    "no-type": ({"dc.type": []}, ("openaire.publication-type",)),
    "local-type": ({"dc.type": ["Article"]}, ("openaire.publication-type",)),
    "no-access-rights": ({"dc.rights": []}, ("openaire.access-rights",)),
    "no-author": ({"dc.contributor.author": []}, ("lareferencia.creator",)),
    "embargo-without-end": (
        {"dc.rights": ["info:eu-repo/semantics/embargoedAccess"]},
        ("openaire.embargo-end",),
    ),
    "bad-language": (
        {"dc.language.iso": ["en_US"]},
        ("openaire.language", "lareferencia.language"),
    ),
}


def planted_content(
    prefix: str,
    ui_url: str = "http://localhost:4000",
    first: int = 9000,
    names: tuple[str, ...] | None = None,
) -> tuple[list[Community], list[Collection], list[Item], dict[str, tuple[str, ...]]]:
    """A community and collection (handles prefix/first, prefix/first+1) holding one item per
    PLANTED entry (or per entry in `names`; prefix/first+2 on, in PLANTED's order); returns them
    and, per item handle, the rule ids its record breaks. `ui_url`: the site's dspace.ui.url,
    for dc.identifier.uri."""
    unknown = set(names or ()) - set(PLANTED)
    if unknown:
        raise ValueError(f"not in PLANTED: {sorted(unknown)}")
    chosen = [(name, entry) for name, entry in PLANTED.items() if names is None or name in names]
    community = Community(f"{prefix}/{first}", "Planted OAI problems")
    collection = Collection(f"{prefix}/{first + 1}", "Planted records", [community.handle])
    items, expected = [], {}
    for n, (name, (changes, rules)) in enumerate(chosen, start=first + 2):
        handle = f"{prefix}/{n}"
        fields = {
            "dc.title": [f"Planted record: {name}"],
            "dc.contributor.author": ["Quispe Mamani, Rosa"],
            "dc.type": [f"{EU_REPO}article", f"{EU_REPO}publishedVersion"],
            "dc.rights": ["info:eu-repo/semantics/openAccess"],
            "dc.date.issued": ["2020-05-17"],
            "dc.identifier.uri": [f"{ui_url.rstrip('/')}/handle/{handle}"],
            "dc.language.iso": ["spa"],
        } | changes
        metadata = [(key, value) for key, values in fields.items() for value in values]
        items.append(Item(handle, collection.handle, metadata))
        expected[handle] = rules
    return [community], [collection], items, expected


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.lookalike.seed planted --prefix P [--ui-url URL] [--first N]`: print the
    SQL that plants PLANTED's records (run it with psql in the instance's database, then
    `dspace oai import`; docs/oai-validation.md); the expected failures go to stderr as JSON."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m tests.lookalike.seed")
    parser.add_argument("what", choices=["planted"])
    parser.add_argument("--prefix", required=True, help="the site's handle prefix")
    parser.add_argument("--ui-url", default="http://localhost:4000", help="dspace.ui.url")
    parser.add_argument("--first", type=int, default=9000, help="first handle number to use")
    args = parser.parse_args(argv)
    communities, collections, items, expected = planted_content(
        args.prefix, args.ui_url, args.first
    )
    sys.stdout.write(content_sql(communities, collections, items))
    sys.stderr.write(json.dumps(expected) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
