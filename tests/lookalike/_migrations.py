"""Look-alike Flyway migrations per line (contract 9.1: newest migration of each line).

The first migration creates the handful of tables the look-alike's commands use (eperson, groups,
metadata, items, bitstreams, handles, the community/collection/item mappings and resource policies,
with the real tables' names and columns). Later ones carry the real newest version numbers and
names so `database info` shows what a deployment of that line would show.
"""

from __future__ import annotations

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

CRIS = "V1.2__lookalike_cris_layout_tables.sql"
CRIS_SQL = """-- dspace-deploy test look-alike: stand-in for the DSpace-CRIS layout tables
CREATE TABLE cris_layout_tab (
  id SERIAL PRIMARY KEY,
  entity_type VARCHAR(255),
  shortname VARCHAR(255),
  source VARCHAR(1000)
);
"""

NEWEST = {
    "7.6": (
        "V7.6_2026.03.25__entity_types_caching.sql",
        "-- dspace-deploy test look-alike\nCREATE TABLE IF NOT EXISTS entity_type "
        "(id SERIAL PRIMARY KEY, label VARCHAR(32));\n",
    ),
    "8": (
        "V8.4_2026.03.28__Fix-bundle2bitstream-with-deleted-bitstreams.sql",
        "-- dspace-deploy test look-alike\nUPDATE bitstream SET deleted = deleted WHERE FALSE;\n",
    ),
    "9": (
        "V9.0_2025.03.12__registration_data.sql",
        "-- dspace-deploy test look-alike\nCREATE TABLE registrationdata (id SERIAL PRIMARY KEY, "
        "email VARCHAR(256), token VARCHAR(48), expires TIMESTAMP, registration_type VARCHAR(255), "
        "net_id VARCHAR(64));\n",
    ),
    "10": (
        "V10.0_2026.02.18__add_columns_security_level_metadata_value.sql",
        "-- dspace-deploy test look-alike\n"
        "ALTER TABLE metadatavalue ADD COLUMN security_level INTEGER;\n",
    ),
}


def migrations(line: str, flavor: str) -> dict[str, str]:
    """script name -> SQL, for the line (10 includes 9's newest too)."""
    out = {INITIAL: INITIAL_SQL}
    if flavor == "cris":
        out[CRIS] = CRIS_SQL
    if line == "10":
        out[NEWEST["9"][0]] = NEWEST["9"][1]
    name, sql = NEWEST[line]
    out[name] = sql
    return out
