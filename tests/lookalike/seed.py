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
