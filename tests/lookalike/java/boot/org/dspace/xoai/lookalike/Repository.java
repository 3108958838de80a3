/*
 * dspace-deploy test look-alike (not DSpace code): where the OAI-PMH endpoint gets its records and
 * sets. Records are the documents `oai import` put into the oai core (org.dspace.lookalike.OaiIndex
 * builds them), served as stored, as DSpaceItemSolrRepository and DSpaceSolrItem do (dspace-9.3):
 * every list query is sorted by item.id, an unreachable core lists nothing, and a document the
 * query selects that lacks item.lastmodified or item.deleted fails the request (DSpaceSolrItem's
 * constructor unboxes them: a NullPointerException, HTTP 500). Sets, set existence, the earliest
 * datestamp and an item's READ rights come from the database, as in DSpaceSetRepository,
 * DSpaceEarliestDateResolver and DSpaceAuthorizationFilter.isShown.
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
    /** solr.LengthFilterFactory max="10000" of the oai core's metadata.* fields. */
    private static final int INDEXED_LENGTH = 10000;

    private final Config config;

    public Repository(Config config) {
        this.config = config;
    }

    /**
     * One document of the oai core, as the data provider sees it: for the Solr query (a missing
     * field matches nothing) and, through item(), as DSpaceSolrItem reads it.
     */
    public static final class Record {
        final String id;
        final String handle;
        /** null when the document lacks item.lastmodified. */
        final Instant lastModified;
        final boolean deleted;
        private final boolean hasDeleted;
        final boolean isPublic;
        final List<String> communities;
        final List<String> collections;
        final Map<String, List<String>> indexed = new LinkedHashMap<>();
        final String compiled;
        private Metadata metadata;

        Record(Map<String, Object> doc) {
            id = String.valueOf(first(doc.get("item.id")));
            handle = String.valueOf(first(doc.get("item.handle")));
            Object lm = first(doc.get("item.lastmodified"));
            lastModified = lm == null ? null : Instant.parse(String.valueOf(lm));
            hasDeleted = first(doc.get("item.deleted")) != null;
            deleted = Boolean.parseBoolean(String.valueOf(first(doc.get("item.deleted"))));
            isPublic = Boolean.parseBoolean(String.valueOf(first(doc.get("item.public"))));
            communities = strings(doc.get("item.communities"));
            collections = strings(doc.get("item.collections"));
            Object compile = first(doc.get("item.compile"));
            compiled = compile == null ? null : String.valueOf(compile);
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

        /** new DSpaceSolrItem(doc): what answers an OAI-PMH request about this record. */
        Record item() {
            if (lastModified == null) {
                throw new NullPointerException("Cannot invoke \"java.util.Date.toInstant()\" because the return "
                    + "value of \"org.apache.solr.common.SolrDocument.getFieldValue(String)\" is null");
            }
            if (!hasDeleted) {
                throw new NullPointerException("Cannot invoke \"java.lang.Boolean.booleanValue()\" because the "
                    + "return value of \"org.apache.solr.common.SolrDocument.getFieldValue(String)\" is null");
            }
            return this;
        }

        /** DSpaceSolrItem.getSets(): communities, then collections. */
        List<String> sets() {
            List<String> out = new ArrayList<>(communities);
            out.addAll(collections);
            return out;
        }

        Metadata metadata() {
            if (compiled == null) {
                // new ItemMetadata(null): XOAI cannot read the compiled metadata
                throw new NullPointerException("item.compile of " + handle + " is null");
            }
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
        List<Record> out = new ArrayList<>();
        for (Map<String, Object> d : docs) {
            out.add(new Record(d));
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
        try (PreparedStatement ps = conn.prepareStatement("SELECT min(h.handle), " + OaiIndex.nameOf("t.uuid")
            + " AS name FROM " + table + " t JOIN handle h ON h.resource_id = t.uuid "
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
