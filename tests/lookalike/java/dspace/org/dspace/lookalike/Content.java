/*
 * dspace-deploy test look-alike (not DSpace code): the content operations structure-builder, import
 * and user share (objects, handles, metadata, policies, bundles, bitstreams in the assetstore), on
 * the look-alike schema (tests/lookalike/_migrations.py). Facts and sources: docs/lookalike.md,
 * "Content tools".
 */
package org.dspace.lookalike;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

public final class Content {
    /** org.dspace.core.Constants type ids. */
    public static final int BITSTREAM = 0;
    public static final int BUNDLE = 1;
    public static final int ITEM = 2;
    public static final int COLLECTION = 3;
    public static final int COMMUNITY = 4;
    public static final int GROUP = 6;
    public static final int EPERSON = 7;
    /** org.dspace.core.Constants action ids. */
    public static final int READ = 0;
    public static final int WRITE = 1;
    public static final String[] TYPE_TEXT = {"BITSTREAM", "BUNDLE", "ITEM", "COLLECTION", "COMMUNITY", "SITE",
        "GROUP", "EPERSON"};

    private static final String DC_NS = "http://purl.org/dc/elements/1.1/";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Content() {
    }

    /** A checked exception like org.dspace.authorize.AuthorizeException. */
    public static final class AuthorizeException extends Exception {
        private static final long serialVersionUID = 1L;

        public AuthorizeException(String m) {
            super(m);
        }
    }

    public static UUID newObject(Connection conn) throws SQLException {
        UUID u = UUID.randomUUID();
        Db.exec(conn, "INSERT INTO dspaceobject (uuid) VALUES (?)", u);
        return u;
    }

    /** HandleServiceImpl.createHandle: prefix + "/" + nextval('handle_seq') (HandleDAOImpl.java:42,124). */
    public static String createHandle(Connection conn, UUID obj, int type, String wanted) throws SQLException {
        String handle = wanted;
        if (handle == null) {
            try (PreparedStatement ps = conn.prepareStatement("SELECT nextval('handle_seq')");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                handle = prefix() + "/" + rs.getLong(1);
            }
        }
        Db.exec(conn, "INSERT INTO handle (handle, resource_type_id, resource_id) VALUES (?, ?, ?)", handle, type,
            obj);
        return handle;
    }

    public static String prefix() {
        return Config.get().get("handle.prefix", "123456789");
    }

    /** The object a handle resolves to: {uuid, type} or null (an unbound handle resolves to nothing). */
    public static Object[] resolve(Connection conn, String handle) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
            "SELECT resource_id, resource_type_id FROM handle WHERE handle = ? AND resource_id IS NOT NULL")) {
            ps.setString(1, handle);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Object[] {rs.getObject(1), rs.getInt(2)} : null;
            }
        }
    }

    public static String handleOf(Connection conn, UUID obj) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
            "SELECT handle FROM handle WHERE resource_id = ? ORDER BY handle_id LIMIT 1")) {
            ps.setObject(1, obj);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    public static boolean exists(Connection conn, String table, UUID id) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT 1 FROM " + table + " WHERE uuid = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** The field of the registry; a field the registry lacks is DSpaceObjectServiceImpl's SQLException. */
    public static int field(Connection conn, String schema, String element, String qualifier) throws SQLException {
        if (!Registry.has(schema, element, qualifier)) {
            throw new SQLException("bad_dublin_core schema=" + schema + "." + element + "." + qualifier
                + ". Metadata field does not exist!");
        }
        return Db.field(conn, schema, Registry.namespace(schema), element, qualifier);
    }

    public static void addMetadata(Connection conn, UUID obj, String schema, String element, String qualifier,
                                   String lang, String value) throws SQLException {
        int f = field(conn, schema, element, qualifier);
        int place;
        try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM metadatavalue "
            + "WHERE dspace_object_id = ? AND metadata_field_id = ?")) {
            ps.setObject(1, obj);
            ps.setInt(2, f);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                place = rs.getInt(1);
            }
        }
        Db.exec(conn, "INSERT INTO metadatavalue (dspace_object_id, metadata_field_id, text_value, text_lang, place) "
            + "VALUES (?, ?, ?, ?, ?)", obj, f, value, lang, place);
    }

    public static void setSingle(Connection conn, UUID obj, String element, String qualifier, String value)
        throws SQLException {
        int f = field(conn, "dc", element, qualifier);
        Db.exec(conn, "DELETE FROM metadatavalue WHERE dspace_object_id = ? AND metadata_field_id = ?", obj, f);
        if (value != null) {
            Db.exec(conn, "INSERT INTO metadatavalue (dspace_object_id, metadata_field_id, text_value, place) "
                + "VALUES (?, ?, ?, 0)", obj, f, value);
        }
    }

    /** The metadata values (v) with their fields (f) and schemas (s), for a SELECT. */
    public static final String METADATA_FROM = "FROM metadatavalue v "
        + "JOIN metadatafieldregistry f ON f.metadata_field_id = v.metadata_field_id "
        + "JOIN metadataschemaregistry s ON s.metadata_schema_id = f.metadata_schema_id ";

    public static String first(Connection conn, UUID obj, String schema, String element, String qualifier)
        throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT v.text_value " + METADATA_FROM
            + "WHERE v.dspace_object_id = ? AND s.short_id = ? AND f.element = ? "
            + "AND f.qualifier IS NOT DISTINCT FROM ? ORDER BY v.place LIMIT 1")) {
            ps.setObject(1, obj);
            ps.setString(2, schema);
            ps.setString(3, element);
            ps.setString(4, qualifier);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    public static UUID epersonByEmail(Connection conn, String email) throws SQLException {
        if (email == null) {
            return null;
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT uuid FROM eperson WHERE lower(email) = ?")) {
            ps.setString(1, email.toLowerCase(Locale.ROOT));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? (UUID) rs.getObject(1) : null;
            }
        }
    }

    public static boolean isAdmin(Connection conn, UUID eperson) throws SQLException {
        if (eperson == null) {
            return false;
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT 1 FROM epersongroup2eperson m "
            + "JOIN epersongroup g ON g.uuid = m.eperson_group_id WHERE g.name = 'Administrator' "
            + "AND m.eperson_id = ?")) {
            ps.setObject(1, eperson);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    public static void policy(Connection conn, UUID obj, int type, int action, UUID group) throws SQLException {
        Db.exec(conn, "INSERT INTO resourcepolicy (resource_type_id, action_id, rptype, epersongroup_id, "
            + "dspace_object) VALUES (?, ?, 'TYPE_INHERITED', ?, ?)", type, action, group, obj);
    }

    public static String now() {
        return DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC)
            .format(Instant.now());
    }

    /** The bundle of that name of an item, created when missing (item2bundle, bundle's dc.title). */
    public static UUID bundle(Connection conn, UUID item, String name) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT b.bundle_id FROM item2bundle b "
            + "WHERE b.item_id = ? AND " + "(SELECT v.text_value FROM metadatavalue v JOIN metadatafieldregistry f "
            + "ON f.metadata_field_id = v.metadata_field_id WHERE v.dspace_object_id = b.bundle_id "
            + "AND f.element = 'title' AND f.qualifier IS NULL LIMIT 1) = ?")) {
            ps.setObject(1, item);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return (UUID) rs.getObject(1);
                }
            }
        }
        UUID b = newObject(conn);
        Db.exec(conn, "INSERT INTO bundle (uuid) VALUES (?)", b);
        Db.exec(conn, "INSERT INTO item2bundle (bundle_id, item_id) VALUES (?, ?)", b, item);
        setSingle(conn, b, "title", null, name);
        return b;
    }

    /** Stores a file in assetstore 0 as DSBitStoreService does: a random numeric internal id, three
     *  two-digit directory levels (BaseBitStoreService.java:53-54), MD5 checksum. */
    public static UUID storeBitstream(Connection conn, UUID bundle, Path file, String name) throws SQLException,
        IOException {
        String internalId = new BigInteger(128, RANDOM).toString().concat("00000000000000000000000000000000000000")
            .substring(0, 38);
        Path store = Path.of(Config.get().get("assetstore.dir", Config.get().home().resolve("assetstore").toString()));
        Path target = store.resolve(internalId.substring(0, 2)).resolve(internalId.substring(2, 4))
            .resolve(internalId.substring(4, 6)).resolve(internalId);
        Files.createDirectories(target.getParent());
        MessageDigest md5;
        try {
            md5 = MessageDigest.getInstance("MD5");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long size;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] data = in.readAllBytes();
            md5.update(data);
            Files.write(target, data);
            size = data.length;
        }
        UUID bs = newObject(conn);
        int order;
        try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM bundle2bitstream WHERE bundle_id = ?")) {
            ps.setObject(1, bundle);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                order = rs.getInt(1);
            }
        }
        Db.exec(conn, "INSERT INTO bitstream (uuid, size_bytes, checksum, checksum_algorithm, internal_id, deleted, "
            + "store_number, sequence_id) VALUES (?, ?, ?, 'MD5', ?, false, 0, ?)", bs, size,
            Db.hex(md5.digest()), internalId, order + 1);
        Db.exec(conn, "INSERT INTO bundle2bitstream (bundle_id, bitstream_id, bitstream_order) VALUES (?, ?, ?)",
            bundle, bs, order);
        setSingle(conn, bs, "title", null, name);
        return bs;
    }

    /** Collections of an item (owning first). */
    public static List<UUID> collectionsOf(Connection conn, UUID item) throws SQLException {
        List<UUID> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT collection_id FROM collection2item WHERE item_id = ? "
            + "ORDER BY (collection_id = (SELECT owning_collection FROM item WHERE uuid = ?)) DESC")) {
            ps.setObject(1, item);
            ps.setObject(2, item);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add((UUID) rs.getObject(1));
                }
            }
        }
        return out;
    }

    /** ItemServiceImpl.delete: metadata, bundles and policies go, bitstreams are flagged deleted (the files
     *  stay until `cleanup`), the handle stays in the table unbound (HandleServiceImpl.unbindHandle). */
    public static void deleteItem(Connection conn, UUID item) throws SQLException {
        List<UUID> bundles = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT bundle_id FROM item2bundle WHERE item_id = ?")) {
            ps.setObject(1, item);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    bundles.add((UUID) rs.getObject(1));
                }
            }
        }
        for (UUID b : bundles) {
            Db.exec(conn, "UPDATE bitstream SET deleted = true WHERE uuid IN "
                + "(SELECT bitstream_id FROM bundle2bitstream WHERE bundle_id = ?)", b);
            Db.exec(conn, "DELETE FROM bundle2bitstream WHERE bundle_id = ?", b);
            Db.exec(conn, "DELETE FROM item2bundle WHERE bundle_id = ?", b);
            Db.exec(conn, "DELETE FROM metadatavalue WHERE dspace_object_id = ?", b);
            Db.exec(conn, "DELETE FROM resourcepolicy WHERE dspace_object = ?", b);
            Db.exec(conn, "DELETE FROM bundle WHERE uuid = ?", b);
            Db.exec(conn, "DELETE FROM dspaceobject WHERE uuid = ?", b);
        }
        Db.exec(conn, "DELETE FROM collection2item WHERE item_id = ?", item);
        Db.exec(conn, "DELETE FROM metadatavalue WHERE dspace_object_id = ?", item);
        Db.exec(conn, "DELETE FROM resourcepolicy WHERE dspace_object = ?", item);
        Db.exec(conn, "UPDATE handle SET resource_id = NULL WHERE resource_id = ?", item);
        Db.exec(conn, "DELETE FROM item WHERE uuid = ?", item);
        Db.exec(conn, "DELETE FROM dspaceobject WHERE uuid = ?", item);
    }

    static String dcNamespace() {
        return DC_NS;
    }
}
