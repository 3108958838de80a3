/*
 * dspace-deploy test look-alike (not DSpace code): where the OAI-PMH endpoint gets its records and
 * sets. Records are the documents `oai import` put into the oai core (DSpaceItemSolrRepository:
 * every list query is sorted by item.id; an unreachable core lists nothing); a field a document
 * lacks is read from the database the way the real import computes it (org.dspace.lookalike.OaiIndex).
 * Sets, set existence, the earliest datestamp and item READ rights come from the database, as in
 * DSpaceSetRepository, DSpaceEarliestDateResolver and DSpaceAuthorizationFilter (dspace-9.3).
 */
package org.dspace.xoai.lookalike;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import lookalike.common.Json;
import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Http;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.OaiIndex;
import org.dspace.lookalike.Solr;

public final class Repository {
    /** The fields DSpaceSolrItem reads; a document missing any of them is completed from the database. */
    private static final String[] NEEDED = {"item.handle", "item.lastmodified", "item.deleted", "item.public",
        "item.compile"};
    /** solr.LengthFilterFactory max="10000" of the oai core's metadata.* fields. */
    private static final int INDEXED_LENGTH = 10000;

    private final Config config;

    public Repository(Config config) {
        this.config = config;
    }

    /** One document of the oai core, as the data provider sees it. */
    public static final class Record {
        final String id;
        final String handle;
        final Instant lastModified;
        final boolean deleted;
        final boolean isPublic;
        final List<String> communities;
        final List<String> collections;
        final Map<String, List<String>> indexed = new LinkedHashMap<>();
        final String compiled;
        private Metadata metadata;

        Record(Map<String, Object> doc) {
            id = String.valueOf(first(doc.get("item.id")));
            handle = String.valueOf(first(doc.get("item.handle")));
            lastModified = Instant.parse(String.valueOf(first(doc.get("item.lastmodified"))));
            deleted = Boolean.parseBoolean(String.valueOf(first(doc.get("item.deleted"))));
            isPublic = Boolean.parseBoolean(String.valueOf(first(doc.get("item.public"))));
            communities = strings(doc.get("item.communities"));
            collections = strings(doc.get("item.collections"));
            compiled = String.valueOf(first(doc.get("item.compile")));
            for (Map.Entry<String, Object> e : doc.entrySet()) {
                if (e.getKey().startsWith("metadata.")) {
                    List<String> values = new ArrayList<>();
                    for (String v : strings(e.getValue())) {
                        if (v.length() <= INDEXED_LENGTH) {
                            values.add(v);
                        }
                    }
                    indexed.put(e.getKey().substring("metadata.".length()), values);
                }
            }
        }

        /** DSpaceSolrItem.getSets(): communities, then collections. */
        List<String> sets() {
            List<String> out = new ArrayList<>(communities);
            out.addAll(collections);
            return out;
        }

        Metadata metadata() {
            if (metadata == null) {
                metadata = Metadata.parse(compiled);
            }
            return metadata;
        }

        List<String> indexedValues(String field) {
            return indexed.getOrDefault(field, List.of());
        }
    }

    /** Every record of the oai core in item.id order; none when the core does not answer. */
    public List<Record> records() {
        List<Map<String, Object>> docs;
        try {
            Http.Response r = Http.get(Solr.core(config, "oai") + "/select?q=*:*&rows=2147483647&wt=json");
            if (r.status != 200) {
                Log.error("OAI: Solr query failed: HTTP " + r.status + " " + r.body, null);
                return List.of();
            }
            docs = docs(Json.parse(r.body));
        } catch (Exception e) {
            Log.error("OAI: the oai core does not answer", e);
            return List.of();
        }
        completeFromDatabase(docs);
        List<Record> out = new ArrayList<>();
        for (Map<String, Object> d : docs) {
            if (complete(d)) {
                out.add(new Record(d));
            } else {
                Log.warn("OAI: document " + d.get("item.id") + " lacks fields and its item is not in the database");
            }
        }
        out.sort(Comparator.comparing(r -> r.id));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> docs(Object parsed) {
        Map<String, Object> response = (Map<String, Object>) ((Map<String, Object>) parsed).get("response");
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : (List<Object>) response.get("docs")) {
            out.add(new LinkedHashMap<>((Map<String, Object>) o));
        }
        return out;
    }

    private static boolean complete(Map<String, Object> d) {
        for (String f : NEEDED) {
            if (first(d.get(f)) == null) {
                return false;
            }
        }
        return d.get("item.id") != null;
    }

    private void completeFromDatabase(List<Map<String, Object>> docs) {
        Map<UUID, Map<String, Object>> missing = new LinkedHashMap<>();
        for (Map<String, Object> d : docs) {
            if (!complete(d) && first(d.get("item.id")) != null) {
                try {
                    missing.put(UUID.fromString(String.valueOf(first(d.get("item.id")))), d);
                } catch (IllegalArgumentException e) {
                    // not an item id: left incomplete
                }
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        try (Connection conn = Db.connect(config)) {
            for (Map<String, Object> full : OaiIndex.documents(conn, config, missing.keySet())) {
                Map<String, Object> d = missing.get(UUID.fromString((String) full.get("item.id")));
                for (Map.Entry<String, Object> e : full.entrySet()) {
                    if (first(d.get(e.getKey())) == null) {
                        d.put(e.getKey(), e.getValue());
                    }
                }
            }
        } catch (SQLException e) {
            Log.error("OAI: cannot read items from the database", e);
        }
    }

    /** DSpaceAuthorizationFilter.isShown: the item behind the handle may be read anonymously now. */
    boolean readable(String handle) {
        try (Connection conn = Db.connect(config);
             PreparedStatement ps = conn.prepareStatement("SELECT h.resource_id FROM handle h JOIN item i "
                 + "ON i.uuid = h.resource_id WHERE h.handle = ?")) {
            ps.setString(1, handle);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && OaiIndex.readableByAnonymous(conn, (UUID) rs.getObject(1));
            }
        } catch (SQLException e) {
            Log.error("OAI: authorization check failed", e);
            return false;
        }
    }

    /** A community or collection set: [spec, name]; DSpaceSetRepository lists communities, then collections, each by name. */
    List<String[]> databaseSets() throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (Connection conn = Db.connect(config)) {
            out.addAll(containers(conn, "community", "com_"));
            out.addAll(containers(conn, "collection", "col_"));
        }
        return out;
    }

    private static List<String[]> containers(Connection conn, String table, String prefix) throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT min(h.handle), (SELECT v.text_value FROM "
            + "metadatavalue v JOIN metadatafieldregistry f ON f.metadata_field_id = v.metadata_field_id "
            + "JOIN metadataschemaregistry s ON s.metadata_schema_id = f.metadata_schema_id WHERE "
            + "v.dspace_object_id = t.uuid AND s.short_id = 'dc' AND f.element = 'title' AND f.qualifier IS NULL "
            + "ORDER BY v.place LIMIT 1) AS name FROM " + table + " t JOIN handle h ON h.resource_id = t.uuid "
            + "GROUP BY t.uuid ORDER BY name NULLS LAST, 1");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String name = rs.getString(2);
                out.add(new String[] {prefix + rs.getString(1).replace('/', '_'),
                    name == null || name.trim().isEmpty() ? "undefined" : name});
            }
        }
        return out;
    }

    /** DSpaceSetRepository.exists: col_/com_ specs whose handle resolves to a collection/community. */
    boolean setExists(String spec) {
        String table = spec.startsWith("col_") ? "collection" : spec.startsWith("com_") ? "community" : null;
        if (table == null) {
            return false;
        }
        String handle = spec.replace(table.equals("collection") ? "col_" : "com_", "").replace("_", "/");
        try (Connection conn = Db.connect(config);
             PreparedStatement ps = conn.prepareStatement("SELECT 1 FROM handle h JOIN " + table
                 + " t ON t.uuid = h.resource_id WHERE h.handle = ?")) {
            ps.setString(1, handle);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            Log.error("OAI: set lookup failed", e);
            return false;
        }
    }

    /** DSpaceEarliestDateResolver: the smallest dc.date.available value (by text), else now. */
    Instant earliestDate() {
        try (Connection conn = Db.connect(config);
             PreparedStatement ps = conn.prepareStatement("SELECT v.text_value FROM metadatavalue v "
                 + "JOIN metadatafieldregistry f ON f.metadata_field_id = v.metadata_field_id "
                 + "JOIN metadataschemaregistry s ON s.metadata_schema_id = f.metadata_schema_id "
                 + "WHERE s.short_id = 'dc' AND f.element = 'date' AND f.qualifier = 'available' "
                 + "ORDER BY v.text_value LIMIT 1");
             ResultSet rs = ps.executeQuery()) {
            if (rs.next() && rs.getString(1) != null) {
                return Instant.parse(rs.getString(1));
            }
        } catch (SQLException | RuntimeException e) {
            Log.warn("OAI: earliest date: " + e.getMessage());
        }
        return Instant.now();
    }

    static Object first(Object v) {
        if (v instanceof List<?> l) {
            return l.isEmpty() ? null : l.get(0);
        }
        return v;
    }

    static List<String> strings(Object v) {
        List<String> out = new ArrayList<>();
        if (v instanceof List<?> l) {
            for (Object o : l) {
                out.add(String.valueOf(o));
            }
        } else if (v != null) {
            out.add(String.valueOf(v));
        }
        return out;
    }
}
