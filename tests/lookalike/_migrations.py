"""Look-alike Flyway migrations per release (docs/lookalike.md, "Migrations").

Every release ships the script names of the real release (`migrations/<tag>.txt`, the
`git ls-tree` of dspace-api's `sqlmigration/postgres/` at the tag), so `database info`,
out-of-order ("Ignored") migrations and upgrades between releases behave as with the real
ones. The SQL is the look-alike's own: `V1.1__Initial...` creates the handful of tables the
look-alike's commands use (real names and columns), the scripts in `STAND_INS` change the
look-alike schema as the real ones change theirs (the table, column or index the real script
adds), and every other script changes nothing. A script's SQL depends on its name only, so its
checksum is the same in every release (Flyway validates checksums across upgrades).
"""

from __future__ import annotations

from pathlib import Path

LISTINGS = Path(__file__).resolve().parent / "migrations"

INITIAL = "V1.1__Initial_DSpace_1.1_database_schema.sql"

INITIAL_SQL = """-- dspace-deploy test look-alike: a minimal DSpace-shaped schema
CREATE TABLE dspaceobject (uuid UUID PRIMARY KEY);
CREATE TABLE eperson (
  uuid UUID PRIMARY KEY REFERENCES dspaceobject(uuid),
  eperson_id INTEGER,
  email VARCHAR(64) UNIQUE,
  password VARCHAR(128),
  salt VARCHAR(32),
  digest_algorithm VARCHAR(16),
  can_log_in BOOLEAN,
  require_certificate BOOLEAN,
  self_registered BOOLEAN,
  last_active TIMESTAMP,
  netid VARCHAR(64) UNIQUE,
  session_salt VARCHAR(32)
);
CREATE TABLE epersongroup (
  uuid UUID PRIMARY KEY REFERENCES dspaceobject(uuid),
  eperson_group_id INTEGER,
  permanent BOOLEAN DEFAULT FALSE,
  name VARCHAR(250) UNIQUE
);
CREATE TABLE epersongroup2eperson (
  eperson_group_id UUID REFERENCES epersongroup(uuid),
  eperson_id UUID REFERENCES eperson(uuid),
  PRIMARY KEY (eperson_group_id, eperson_id)
);
CREATE TABLE metadataschemaregistry (
  metadata_schema_id SERIAL PRIMARY KEY,
  namespace VARCHAR(256) UNIQUE,
  short_id VARCHAR(32) UNIQUE
);
CREATE TABLE metadatafieldregistry (
  metadata_field_id SERIAL PRIMARY KEY,
  metadata_schema_id INTEGER NOT NULL REFERENCES metadataschemaregistry(metadata_schema_id),
  element VARCHAR(64),
  qualifier VARCHAR(64),
  scope_note TEXT
);
CREATE TABLE metadatavalue (
  metadata_value_id SERIAL PRIMARY KEY,
  dspace_object_id UUID REFERENCES dspaceobject(uuid),
  metadata_field_id INTEGER REFERENCES metadatafieldregistry(metadata_field_id),
  text_value TEXT,
  text_lang VARCHAR(24),
  place INTEGER,
  authority VARCHAR(100),
  confidence INTEGER DEFAULT -1
);
CREATE TABLE site (uuid UUID PRIMARY KEY REFERENCES dspaceobject(uuid));
CREATE TABLE community (uuid UUID PRIMARY KEY REFERENCES dspaceobject(uuid), community_id INTEGER);
CREATE TABLE collection (uuid UUID PRIMARY KEY REFERENCES dspaceobject(uuid),
  collection_id INTEGER);
CREATE TABLE item (
  uuid UUID PRIMARY KEY REFERENCES dspaceobject(uuid),
  item_id INTEGER,
  in_archive BOOLEAN DEFAULT TRUE,
  withdrawn BOOLEAN DEFAULT FALSE,
  discoverable BOOLEAN DEFAULT TRUE,
  last_modified TIMESTAMP WITH TIME ZONE,
  owning_collection UUID REFERENCES collection(uuid),
  submitter_id UUID REFERENCES eperson(uuid)
);
CREATE TABLE bitstream (
  uuid UUID PRIMARY KEY REFERENCES dspaceobject(uuid),
  bitstream_id INTEGER,
  size_bytes BIGINT,
  checksum VARCHAR(64),
  checksum_algorithm VARCHAR(32),
  internal_id VARCHAR(256),
  deleted BOOLEAN DEFAULT FALSE,
  store_number INTEGER,
  sequence_id INTEGER
);
CREATE TABLE handle (
  handle_id SERIAL PRIMARY KEY,
  handle VARCHAR(256) UNIQUE,
  resource_type_id INTEGER,
  resource_legacy_id INTEGER,
  resource_id UUID REFERENCES dspaceobject(uuid)
);
CREATE SEQUENCE handle_seq;
CREATE TABLE bundle (
  uuid UUID PRIMARY KEY REFERENCES dspaceobject(uuid),
  bundle_id INTEGER,
  primary_bitstream_id UUID REFERENCES bitstream(uuid)
);
CREATE TABLE item2bundle (
  bundle_id UUID NOT NULL REFERENCES bundle(uuid),
  item_id UUID NOT NULL REFERENCES item(uuid),
  PRIMARY KEY (bundle_id, item_id)
);
-- tables later scripts change (the real ones have more columns)
CREATE TABLE bundle2bitstream (
  bundle_id UUID,
  bitstream_id UUID REFERENCES bitstream(uuid),
  bitstream_order INTEGER
);
CREATE TABLE requestitem (
  requestitem_id SERIAL PRIMARY KEY,
  token VARCHAR(48) UNIQUE,
  item_id UUID REFERENCES item(uuid),
  bitstream_id UUID REFERENCES bitstream(uuid),
  allfiles BOOLEAN,
  request_email VARCHAR(64),
  request_date TIMESTAMP
);
CREATE TABLE registrationdata (
  registrationdata_id SERIAL PRIMARY KEY,
  email VARCHAR(64) UNIQUE,
  token VARCHAR(48),
  expires TIMESTAMP
);
CREATE TABLE webapp (
  webapp_id SERIAL PRIMARY KEY,
  appname VARCHAR(32),
  url VARCHAR(1000),
  started TIMESTAMP,
  isui INTEGER
);
""" + """-- containers, their mappings, anonymous READ policies (OAI-PMH sets, item.public)
CREATE TABLE community2community (
  parent_comm_id UUID NOT NULL REFERENCES community(uuid),
  child_comm_id UUID NOT NULL REFERENCES community(uuid),
  PRIMARY KEY (parent_comm_id, child_comm_id)
);
CREATE TABLE community2collection (
  collection_id UUID NOT NULL REFERENCES collection(uuid),
  community_id UUID NOT NULL REFERENCES community(uuid),
  PRIMARY KEY (collection_id, community_id)
);
CREATE TABLE collection2item (
  collection_id UUID NOT NULL REFERENCES collection(uuid),
  item_id UUID NOT NULL REFERENCES item(uuid),
  PRIMARY KEY (collection_id, item_id)
);
CREATE TABLE resourcepolicy (
  policy_id SERIAL PRIMARY KEY,
  resource_type_id INTEGER,
  action_id INTEGER,
  start_date DATE,
  end_date DATE,
  rpname VARCHAR(30),
  rptype VARCHAR(30),
  rpdescription TEXT,
  eperson_id UUID REFERENCES eperson(uuid),
  epersongroup_id UUID REFERENCES epersongroup(uuid),
  dspace_object UUID REFERENCES dspaceobject(uuid)
);
"""


# Scripts whose look-alike SQL changes the schema as the real script does (DSpace/DSpace and
# 4Science/DSpace, `dspace-api/src/main/resources/org/dspace/storage/rdbms/sqlmigration/postgres/`
# at dspace-10.0 and dspace-cris-2025.02.01), on the look-alike's tables.
STAND_INS = {
    "V7.0_2018.04.16__dspace-entities.sql":
        "CREATE TABLE entity_type (id SERIAL PRIMARY KEY, label VARCHAR(32) UNIQUE NOT NULL);\n",
    # 8.4 and 9.3 (and CRIS 2025.02.01): back-dated, "Ignored" by a plain migrate on 8.x/9.x.
    "V7.6_2025.10.29__Fix-request-items-with-deleted-bitstreams.sql":
        "DELETE FROM requestitem WHERE bitstream_id IN\n"
        "  (SELECT bs.uuid FROM bitstream AS bs WHERE bs.deleted IS TRUE);\n",
    "V7.6_2026.03.25__entity_types_caching.sql":
        "CREATE INDEX entity_type_label_upper_idx ON entity_type (UPPER(label));\n",
    "V8.0_2023.08.07__qaevent_processed.sql":
        "CREATE TABLE qaevent_processed (qaevent_id VARCHAR(255) PRIMARY KEY,\n"
        "  qaevent_timestamp TIMESTAMP NULL, eperson_uuid UUID REFERENCES eperson (uuid),\n"
        "  item_uuid UUID REFERENCES item (uuid));\n",
    "V8.0_2024.02.14__ldn_tables.sql":
        "CREATE TABLE notifyservice (id INTEGER PRIMARY KEY, name VARCHAR(255),\n"
        "  url VARCHAR(255), ldn_url VARCHAR(255) UNIQUE, enabled BOOLEAN NOT NULL);\n",
    "V8.4_2026.03.28__Fix-bundle2bitstream-with-deleted-bitstreams.sql":
        "DELETE FROM bundle2bitstream WHERE bitstream_id IN\n"
        "  (SELECT bs.uuid FROM bitstream AS bs WHERE bs.deleted IS TRUE);\n",
    "V9.0_2024.11.09__ldn_service_external_actor.sql":
        "ALTER TABLE notifyservice ADD COLUMN uses_actor_email_id BOOLEAN DEFAULT false;\n",
    "V9.0_2025.02.13__add_access_colums_to_requestitem_table.sql":
        "ALTER TABLE requestitem ADD COLUMN IF NOT EXISTS access_token VARCHAR(48);\n"
        "ALTER TABLE requestitem ADD COLUMN IF NOT EXISTS access_expiry TIMESTAMP;\n",
    "V9.0_2025.03.12__registration_data.sql":
        "ALTER TABLE registrationdata ADD COLUMN registration_type VARCHAR(255);\n"
        "ALTER TABLE registrationdata ADD COLUMN net_id VARCHAR(64);\n"
        "CREATE TABLE registrationdata_metadata (\n"
        "  registrationdata_metadata_id INTEGER PRIMARY KEY,\n"
        "  registrationdata_id INTEGER REFERENCES registrationdata (registrationdata_id)\n"
        "  ON DELETE CASCADE, metadata_field_id INTEGER, text_value TEXT);\n",
    "V10.0_2026.01.07__create_table_items_for_update.sql":
        "CREATE TABLE IF NOT EXISTS itemupdate_metadata_enhancement\n"
        "  (uuid UUID NOT NULL PRIMARY KEY, date_queued TIMESTAMP NOT NULL);\n",
    "V10.0_2026.02.18__add_columns_security_level_metadata_value.sql":
        "ALTER TABLE metadatavalue ADD COLUMN IF NOT EXISTS security_level INTEGER;\n",
    # DSpace-CRIS: the layout tab table the look-alike's cris-layout-tool writes, metrics, and
    # CRIS's own (7.0-dated) security level column.
    "V7.0_2020.05.06__tabs_boxes_configuration.sql":
        "CREATE TABLE cris_layout_tab (id SERIAL PRIMARY KEY, entity_type VARCHAR(255),\n"
        "  shortname VARCHAR(255), source VARCHAR(1000));\n",
    "V7.0_2020.11.19__cris_metrics.sql":
        "CREATE TABLE cris_metrics (id INTEGER PRIMARY KEY, metrictype VARCHAR(255),\n"
        "  metriccount DOUBLE PRECISION, resource_id UUID REFERENCES dspaceobject (uuid));\n",
    "V7.0_2021.06.24__add_columns_security_level_metadata_value.sql":
        "ALTER TABLE metadatavalue ADD COLUMN IF NOT EXISTS security_level INTEGER;\n",
    "V9.0_2026.04.22__cris_metrics_resource_ref.sql":
        "ALTER TABLE cris_metrics ADD COLUMN IF NOT EXISTS resource_type INT;\n",
}

HEADER = "-- dspace-deploy test look-alike of {name}\n"
NO_CHANGE = "-- (no change to the look-alike schema)\nSELECT 1;\n"

# What a failing migration does in a bundle built with fail_migration (docs/lookalike.md,
# "Failure points"): a statement PostgreSQL refuses, after the script's own statements.
FAILING_SQL = "ALTER TABLE lookalike_failure_point ADD COLUMN never INTEGER;\n"


def release_tag(flavor: str, release: str) -> str:
    """The tag of a release: dspace-9.3, dspace-cris-2025.02.01."""
    return f"dspace-cris-{release}" if flavor == "cris" else f"dspace-{release}"


def listing(tag: str) -> list[str]:
    """Script names of the real release `tag`, in file order."""
    path = LISTINGS / f"{tag}.txt"
    if not path.exists():
        raise ValueError(f"no migration listing for {tag} (tests/lookalike/migrations/)")
    return [ln.strip() for ln in path.read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]


def version_of(script: str) -> tuple[int, ...]:
    """V9.0_2025.03.12__x.sql -> (9, 0, 2025, 3, 12), Flyway's version order."""
    return tuple(int(p) for p in script[1:].split("__", 1)[0].replace("_", ".").split("."))


def sql_of(script: str) -> str:
    body = INITIAL_SQL if script == INITIAL else STAND_INS.get(script, NO_CHANGE)
    return HEADER.format(name=script) + body


def migrations(tag: str, *, failing: str | None = None) -> dict[str, str]:
    """script name -> SQL for the release `tag`. `failing`: a script whose SQL ends with a
    statement PostgreSQL refuses (a failure point)."""
    out = {name: sql_of(name) for name in listing(tag)}
    if failing is not None:
        if failing not in out:
            raise ValueError(f"{failing} is not a migration of {tag}")
        out[failing] += FAILING_SQL
    return out


def newest(tag: str) -> str:
    return max(listing(tag), key=version_of)


def added_by(tag: str, previous: str | None) -> list[str]:
    """Scripts of `tag` that `previous` does not ship, newest version first (all of `tag`
    when there is no previous release)."""
    old = set(listing(previous)) if previous else set()
    return sorted((s for s in listing(tag) if s not in old), key=version_of, reverse=True)
