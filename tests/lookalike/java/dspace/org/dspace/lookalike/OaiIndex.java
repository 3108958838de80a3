/*
 * dspace-deploy test look-alike (not DSpace code): the one notion of an OAI document, what the real
 * `oai import` stores in the oai core for one item (DSpace/DSpace@dspace-9.3:
 * dspace-oai/src/main/java/org/dspace/xoai/app/XOAI.java:399-516 index(Item), the compiled metadata
 * of .../xoai/util/ItemUtils.java), read from the look-alike database. The look-alike `oai import`
 * (org.dspace.xoai.app.XOAI) stores these documents; the OAI-PMH endpoint of the backend jar serves
 * what is stored and reads the database only where the real provider does (READ rights, sets).
 */
package org.dspace.lookalike;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

public final class OaiIndex {
    /** Constants.READ. */
    public static final int READ = 0;
    /** SolrUtils.SOLR_DATE_FORMAT of the real import. */
    public static final DateTimeFormatter SOLR_DATE =
        DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    public static final String XOAI_NS = "http://www.lyncode.com/xoai";

    private OaiIndex() {
    }

    /**
     * The documents XOAI.index(Item) builds for these items, by item id; an item without a handle
     * has none (XOAI skips it, line 321). `indexed` is what the index held before this import:
     * item.id -> its item.public (null when the document lacks it), for checkIfIndexed and
     * checkIfVisibleInOAI (lines 282-310), which keep an embargoed item as visible as it was.
     * An item without last_modified, or whose dates all lie ahead, fails the import with a
     * NullPointerException as the real getMostRecentModificationDate does (lines 373-397).
     */
    public static Map<UUID, Map<String, Object>> documents(Connection conn, Config c, Collection<UUID> ids,
        Map<UUID, Boolean> indexed) throws SQLException {
        Map<UUID, Map<String, Object>> docs = new LinkedHashMap<>();
        Map<UUID, String> handles = new HashMap<>();
        Map<UUID, String> submitters = new HashMap<>();
        Map<UUID, Boolean> withdrawn = new HashMap<>();
        Map<UUID, Boolean> discoverable = new HashMap<>();
        Map<UUID, Instant> modified = new HashMap<>();
        // DSpaceObject.getHandle(): the handle with the lowest id (DSpaceObject.java:63-67, 153)
        try (PreparedStatement ps = conn.prepareStatement("SELECT i.uuid, (array_agg(h.handle ORDER BY "
            + "h.handle_id))[1], i.withdrawn, i.discoverable, i.last_modified, min(e.email) FROM item i "
            + "JOIN handle h ON h.resource_id = i.uuid LEFT JOIN eperson e ON e.uuid = i.submitter_id "
            + "WHERE i.uuid = ANY (?) GROUP BY i.uuid")) {
            ps.setArray(1, conn.createArrayOf("uuid", ids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    UUID id = (UUID) rs.getObject(1);
                    handles.put(id, rs.getString(2));
                    withdrawn.put(id, rs.getBoolean(3));
                    discoverable.put(id, rs.getObject(4) == null || rs.getBoolean(4));
                    Timestamp t = rs.getTimestamp(5);
                    if (t == null) {
                        throw new NullPointerException("Item " + id + " has no last_modified");
                    }
                    modified.put(id, t.toInstant());
                    submitters.put(id, rs.getString(6));
                }
            }
        }
        if (handles.isEmpty()) {
            return docs;
        }
        Map<UUID, List<LocalDate[]>> policies = anonymousReadPolicies(conn, handles.keySet());
        Map<UUID, List<String>> collections = collectionHandles(conn, handles.keySet());
        Map<UUID, List<Object[]>> metadata = metadata(conn, handles.keySet());
        Containers containers = new Containers(conn);
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        Instant now = Instant.now();
        for (Map.Entry<UUID, String> e : handles.entrySet()) {
            UUID id = e.getKey();
            Map<String, Object> full = new LinkedHashMap<>();
            full.put("item.id", id.toString());
            full.put("item.handle", e.getValue());
            List<LocalDate[]> pol = policies.getOrDefault(id, List.of());
            boolean embargoed = !readable(pol, today);
            boolean isIndexed = indexed.containsKey(id);
            if (isIndexed && indexed.get(id) == null) {
                throw new NullPointerException("The indexed document of item " + id + " has no item.public");
            }
            boolean isPublic = !embargoed || (isIndexed && indexed.get(id));
            full.put("item.public", isPublic);
            full.put("item.willChangeStatus", willChangeStatus(pol, today));
            full.put("item.deleted", withdrawn.get(id) || !discoverable.get(id) || (embargoed && isPublic));
            full.put("item.lastmodified", SOLR_DATE.format(mostRecentModification(pol, modified.get(id), now, id)));
            if (submitters.get(id) != null) {
                full.put("item.submitter", submitters.get(id));
            }
            List<String> cols = collections.getOrDefault(id, List.of());
            List<String> colSpecs = new ArrayList<>();
            for (String h : cols) {
                colSpecs.add("col_" + h.replace("/", "_"));
            }
            List<String> comSpecs = new ArrayList<>();
            for (String h : containers.parentCommunityHandles(cols)) {
                comSpecs.add("com_" + h.replace("/", "_"));
            }
            if (!colSpecs.isEmpty()) {
                full.put("item.collections", colSpecs);
            }
            if (!comSpecs.isEmpty()) {
                full.put("item.communities", comSpecs);
            }
            // no bundles in the look-alike database: no ORIGINAL bitstream, no dc.format.mimetype
            full.put("item.hasbitstream", false);
            List<Object[]> values = metadata.getOrDefault(id, List.of());
            for (Object[] v : values) {
                String key = "metadata." + v[0] + "." + v[1] + (v[2] == null ? "" : "." + v[2]);
                add(full, key, v[3]);
                if (v[5] != null) {
                    add(full, key + ".authority", v[5]);
                    add(full, key + ".confidence", String.valueOf(v[6]));
                }
            }
            full.put("item.compile", compile(c, e.getValue(), modified.get(id), values));
            docs.put(id, full);
        }
        return docs;
    }

    /** willChangeStatus: an Anonymous READ policy starting or ending after today. */
    private static boolean willChangeStatus(List<LocalDate[]> policies, LocalDate today) {
        for (LocalDate[] p : policies) {
            for (LocalDate day : p) {
                if (day != null && day.isAfter(today)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** getMostRecentModificationDate: the latest of last_modified and the policies' dates that has passed. */
    private static Instant mostRecentModification(List<LocalDate[]> policies, Instant modified, Instant now, UUID id) {
        List<Instant> dates = new ArrayList<>();
        for (LocalDate[] p : policies) {
            for (LocalDate day : p) {
                if (day != null) {
                    dates.add(day.atStartOfDay(ZoneOffset.UTC).toInstant());
                }
            }
        }
        dates.add(modified);
        Instant last = null;
        for (Instant t : dates.stream().sorted().toList()) {
            if (t.isBefore(now)) {
                last = t;
            }
        }
        if (last == null) {
            // SolrUtils.getDateFormatter().format(null)
            throw new NullPointerException("Item " + id + " has no modification date before now");
        }
        return last;
    }

    /** AuthorizeService.authorizeActionBoolean(anonymous, item, READ): a date-valid Anonymous READ policy. */
    public static boolean readableByAnonymous(Connection conn, UUID object) throws SQLException {
        return readable(anonymousReadPolicies(conn, List.of(object)).getOrDefault(object, List.of()),
            LocalDate.now(ZoneOffset.UTC));
    }

    private static boolean readable(List<LocalDate[]> policies, LocalDate today) {
        for (LocalDate[] p : policies) {
            if ((p[0] == null || !p[0].isAfter(today)) && (p[1] == null || !p[1].isBefore(today))) {
                return true;
            }
        }
        return false;
    }

    /** The OAI identifier: oai:${oai.identifier.prefix}:handle (DSpaceItem.buildIdentifier). */
    public static String identifier(Config c, String handle) {
        return "oai:" + identifierPrefix(c) + ":" + handle;
    }

    /**
     * oai.identifier.prefix, or the host name of dspace.ui.url without "www." as the real
     * DSpaceConfigurationService sets it when unset (.../services/impl/config/DSpaceConfigurationService.java:35).
     */
    public static String identifierPrefix(Config c) {
        String v = c.get("oai.identifier.prefix");
        if (v != null) {
            return v;
        }
        try {
            String host = new java.net.URL(c.get("dspace.ui.url", "")).getHost();
            return host.startsWith("www.") ? host.substring(4) : host;
        } catch (java.net.MalformedURLException e) {
            return null;
        }
    }

    /**
     * ItemUtils.sanitize: from 8.3 and 9.2 the values are XML-escaped before they are written as XML
     * text, so harvesters receive them escaped twice ("A &amp;amp; B"; DSpace/DSpace issue #12409).
     */
    public static boolean escapesTwice(String version) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\.(\\d+)").matcher(version);
        if (!m.lookingAt()) {
            return false;
        }
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        return major >= 10 || (major == 9 && minor >= 2) || (major == 8 && minor >= 3);
    }

    /** The item.compile XML: metadata by schema/element/qualifier/language, then bundles, others, repository, license. */
    static String compile(Config c, String handle, Instant modified, List<Object[]> values) {
        Node root = new Node(null);
        boolean twice = escapesTwice(Release.version());
        for (Object[] v : values) {
            String field = v[0] + "." + v[1] + (v[2] == null ? "" : "." + v[2]);
            if (c.getBool("metadata.hide." + field, false)) {
                continue;
            }
            Node n = root.child((String) v[0]).child((String) v[1]);
            if (v[2] != null && !((String) v[2]).isEmpty()) {
                n = n.child((String) v[2]);
            }
            n = n.child(v[4] == null || ((String) v[4]).isEmpty() ? "none" : (String) v[4]);
            String value = (String) v[3];
            n.fields.add(new String[] {"value", twice && value != null ? escapeXml10(value) : value});
            if (v[5] != null) {
                n.fields.add(new String[] {"authority", (String) v[5]});
                if ((Integer) v[6] != -1) {
                    n.fields.add(new String[] {"confidence", String.valueOf(v[6])});
                }
            }
        }
        root.child("bundles");
        Node others = root.child("others");
        others.fields.add(new String[] {"handle", handle});
        others.fields.add(new String[] {"identifier", identifier(c, handle)});
        others.fields.add(new String[] {"lastModifyDate", modified.toString()});
        Node repo = root.child("repository");
        repo.fields.add(new String[] {"url", c.get("dspace.ui.url")});
        repo.fields.add(new String[] {"name", c.get("dspace.name")});
        repo.fields.add(new String[] {"mail", c.get("mail.admin")});
        root.child("license");
        StringBuilder x = new StringBuilder();
        x.append("<metadata xmlns=\"").append(XOAI_NS).append("\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ")
            .append("xsi:schemaLocation=\"").append(XOAI_NS).append(" http://www.lyncode.com/xsd/xoai.xsd\">");
        for (Node n : root.children) {
            n.write(x);
        }
        return x.append("</metadata>").toString();
    }

    /** StringEscapeUtils.escapeXml10: the five entities, characters XML 1.0 forbids removed. */
    public static String escapeXml10(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '&': b.append("&amp;"); break;
                case '<': b.append("&lt;"); break;
                case '>': b.append("&gt;"); break;
                case '"': b.append("&quot;"); break;
                case '\'': b.append("&apos;"); break;
                default:
                    if (cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF)
                        || (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000) {
                        b.appendCodePoint(cp);
                    }
            }
        });
        return b.toString();
    }

    /** XML text/attribute escaping of a writer (one level). */
    public static String esc(String s) {
        if (s == null) {
            return "";
        }
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static final class Node {
        final String name;
        final List<String[]> fields = new ArrayList<>();
        final List<Node> children = new ArrayList<>();

        Node(String name) {
            this.name = name;
        }

        Node child(String n) {
            for (Node c : children) {
                if (c.name.equals(n)) {
                    return c;
                }
            }
            Node c = new Node(n);
            children.add(c);
            return c;
        }

        void write(StringBuilder x) {
            x.append("<element name=\"").append(esc(name)).append("\">");
            for (String[] f : fields) {
                x.append("<field name=\"").append(esc(f[0])).append("\">");
                if (f[1] != null) {
                    x.append(esc(f[1]));
                }
                x.append("</field>");
            }
            for (Node c : children) {
                c.write(x);
            }
            x.append("</element>");
        }
    }

    private static void add(Map<String, Object> d, String key, Object value) {
        @SuppressWarnings("unchecked")
        List<Object> l = (List<Object>) d.computeIfAbsent(key, k -> new ArrayList<>());
        l.add(value);
    }

    private static Map<UUID, List<LocalDate[]>> anonymousReadPolicies(Connection conn, Collection<UUID> ids)
        throws SQLException {
        Map<UUID, List<LocalDate[]>> out = new HashMap<>();
        UUID anonymous = Db.groupId(conn, "Anonymous");
        if (anonymous == null) {
            return out;
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT dspace_object, start_date, end_date "
            + "FROM resourcepolicy WHERE action_id = ? AND epersongroup_id = ? AND dspace_object = ANY (?)")) {
            ps.setInt(1, READ);
            ps.setObject(2, anonymous);
            ps.setArray(3, conn.createArrayOf("uuid", ids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    java.sql.Date s = rs.getDate(2);
                    java.sql.Date e = rs.getDate(3);
                    out.computeIfAbsent((UUID) rs.getObject(1), k -> new ArrayList<>()).add(new LocalDate[] {
                        s == null ? null : s.toLocalDate(), e == null ? null : e.toLocalDate()});
                }
            }
        }
        return out;
    }

    /**
     * Item.getCollections(): the collection2item mappings (the owning collection is one of them),
     * by name (NameAscendingComparator: case-insensitive, equal names by UUID; Item.java:253-259).
     */
    private static Map<UUID, List<String>> collectionHandles(Connection conn, Collection<UUID> ids)
        throws SQLException {
        Map<UUID, List<Named>> found = new HashMap<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT m.item_id, min(h.handle), m.collection_id, "
            + nameOf("m.collection_id") + " FROM (SELECT item_id, collection_id FROM collection2item UNION "
            + "SELECT uuid, owning_collection FROM item WHERE owning_collection IS NOT NULL) m "
            + "JOIN handle h ON h.resource_id = m.collection_id WHERE m.item_id = ANY (?) "
            + "GROUP BY m.item_id, m.collection_id")) {
            ps.setArray(1, conn.createArrayOf("uuid", ids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    found.computeIfAbsent((UUID) rs.getObject(1), k -> new ArrayList<>())
                        .add(new Named(rs.getString(2), (UUID) rs.getObject(3), rs.getString(4)));
                }
            }
        }
        Map<UUID, List<String>> out = new HashMap<>();
        found.forEach((item, cols) -> out.put(item, Named.handlesByName(cols)));
        return out;
    }

    /**
     * SQL for the name of the community or collection whose uuid is `column`: its first dc.title
     * (DSpace 7+ keep names as metadata).
     */
    public static String nameOf(String column) {
        return "(SELECT v.text_value FROM metadatavalue v JOIN metadatafieldregistry f "
            + "ON f.metadata_field_id = v.metadata_field_id JOIN metadataschemaregistry s "
            + "ON s.metadata_schema_id = f.metadata_schema_id WHERE v.dspace_object_id = " + column
            + " AND s.short_id = 'dc' AND f.element = 'title' AND f.qualifier IS NULL ORDER BY v.place LIMIT 1)";
    }

    /** A community or collection as NameAscendingComparator sorts it. */
    private record Named(String handle, UUID id, String name) {
        static final Comparator<Named> BY_NAME = (a, b) -> {
            String x = a.name == null ? "" : a.name.trim();
            String y = b.name == null ? "" : b.name.trim();
            return x.equals(y) ? a.id.compareTo(b.id) : x.compareToIgnoreCase(y);
        };

        static List<String> handlesByName(List<Named> objects) {
            return objects.stream().sorted(BY_NAME).map(Named::handle).toList();
        }
    }

    /** schema, element, qualifier, value, language, authority, confidence; ordered by field and place. */
    private static Map<UUID, List<Object[]>> metadata(Connection conn, Collection<UUID> ids) throws SQLException {
        Map<UUID, List<Object[]>> out = new HashMap<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT v.dspace_object_id, s.short_id, f.element, "
            + "f.qualifier, v.text_value, v.text_lang, v.authority, v.confidence FROM metadatavalue v "
            + "JOIN metadatafieldregistry f ON f.metadata_field_id = v.metadata_field_id "
            + "JOIN metadataschemaregistry s ON s.metadata_schema_id = f.metadata_schema_id "
            + "WHERE v.dspace_object_id = ANY (?) ORDER BY v.dspace_object_id, f.metadata_field_id, v.place, "
            + "v.metadata_value_id")) {
            ps.setArray(1, conn.createArrayOf("uuid", ids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent((UUID) rs.getObject(1), k -> new ArrayList<>()).add(new Object[] {
                        rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6),
                        rs.getString(7), rs.getObject(8) == null ? -1 : rs.getInt(8)});
                }
            }
        }
        return out;
    }

    /** The community tree: the communities of collections and the parents of communities, by handle. */
    static final class Containers {
        /** Collection.getCommunities(), by name. */
        private final Map<String, List<String>> collectionParents;
        /** Community.getParentCommunities(), by name. */
        private final Map<String, List<String>> communityParents;

        Containers(Connection conn) throws SQLException {
            collectionParents = load(conn, "SELECT hc.handle, hp.handle, m.community_id, " + nameOf("m.community_id")
                + " FROM community2collection m JOIN handle hc ON hc.resource_id = m.collection_id "
                + "JOIN handle hp ON hp.resource_id = m.community_id");
            communityParents = load(conn, "SELECT hc.handle, hp.handle, m.parent_comm_id, " + nameOf("m.parent_comm_id")
                + " FROM community2community m JOIN handle hc ON hc.resource_id = m.child_comm_id "
                + "JOIN handle hp ON hp.resource_id = m.parent_comm_id");
        }

        private static Map<String, List<String>> load(Connection conn, String sql) throws SQLException {
            Map<String, List<Named>> found = new HashMap<>();
            try (PreparedStatement ps = conn.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    found.computeIfAbsent(rs.getString(1), k -> new ArrayList<>())
                        .add(new Named(rs.getString(2), (UUID) rs.getObject(3), rs.getString(4)));
                }
            }
            Map<String, List<String>> out = new HashMap<>();
            found.forEach((child, parents) -> out.put(child, Named.handlesByName(parents)));
            return out;
        }

        /**
         * DSpaceCollectionsService.flatParentCommunities(context, item): a queue of
         * CommunityService.getAllParents of each collection (its communities, then each one's chain
         * of first parents: getParentObject), then every parent of what the queue yields; each
         * community once, in the order met.
         */
        List<String> parentCommunityHandles(List<String> collections) {
            Deque<String> queue = new ArrayDeque<>();
            for (String col : collections) {
                List<String> direct = collectionParents.getOrDefault(col, List.of());
                queue.addAll(direct);
                for (String com : direct) {
                    for (List<String> up = parents(com); !up.isEmpty(); up = parents(up.get(0))) {
                        queue.add(up.get(0));
                    }
                }
            }
            List<String> out = new ArrayList<>();
            while (!queue.isEmpty()) {
                String p = queue.poll();
                queue.addAll(parents(p));
                if (!out.contains(p)) {
                    out.add(p);
                }
            }
            return out;
        }

        private List<String> parents(String community) {
            return communityParents.getOrDefault(community, List.of());
        }
    }
}
