/*
 * dspace-deploy test look-alike (not DSpace code): database access and a Flyway-like
 * migration history in table schema_version (same columns as Flyway's).
 */
package org.dspace.lookalike;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.CRC32;

public final class Db {
    public static final String TABLE = "schema_version";
    private static final String SQL_DIR = "/org/dspace/storage/rdbms/sqlmigration/postgres/";

    private Db() {
    }

    public static final class Migration {
        public final String version;      // e.g. 9.0.2025.03.12
        public final String description;  // e.g. registration data
        public final String script;       // e.g. V9.0_2025.03.12__registration_data.sql
        public final String sql;

        Migration(String script, String sql) {
            this.script = script;
            String base = script.substring(1, script.length() - 4);
            int sep = base.indexOf("__");
            this.version = base.substring(0, sep).replace('_', '.');
            this.description = base.substring(sep + 2).replace('_', ' ');
            this.sql = sql;
        }

        public int checksum() {
            CRC32 crc = new CRC32();
            for (String line : sql.split("\\r?\\n")) {
                crc.update(line.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            return (int) crc.getValue();
        }
    }

    public static final class Applied {
        public int rank;
        public String version;
        public String description;
        public String type;
        public String script;
        public Timestamp installedOn;
        public boolean success;
    }

    /** Migrations shipped with this release, in version order. */
    public static List<Migration> codeMigrations() {
        List<Migration> out = new ArrayList<>();
        for (String script : Release.list("migrations")) {
            String sql = Release.resource(SQL_DIR + script);
            if (sql == null) {
                throw new IllegalStateException("Missing migration resource " + script);
            }
            out.add(new Migration(script, sql));
        }
        out.sort((a, b) -> compareVersions(a.version, b.version));
        return out;
    }

    public static int compareVersions(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            long p = i < x.length ? Long.parseLong(x[i]) : 0;
            long q = i < y.length ? Long.parseLong(y[i]) : 0;
            if (p != q) {
                return Long.compare(p, q);
            }
        }
        return 0;
    }

    public static String url(Config c) {
        return c.get("db.url", "jdbc:postgresql://localhost:5432/dspace");
    }

    public static String schema(Config c) {
        String s = c.get("db.schema");
        return s == null || s.isBlank() ? "public" : s.trim();
    }

    public static Connection connect(Config c) throws SQLException {
        try {
            Class.forName(c.get("db.driver", "org.postgresql.Driver"));
        } catch (ClassNotFoundException e) {
            throw new SQLException("JDBC driver not found: " + e.getMessage(), e);
        }
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", c.get("db.username", "dspace"));
        p.setProperty("password", c.get("db.password", "dspace"));
        String maxWait = c.get("db.maxwait", "10000");
        try {
            long seconds = Math.max(1, Long.parseLong(maxWait.trim()) / 1000);
            p.setProperty("connectTimeout", String.valueOf(seconds));
            p.setProperty("loginTimeout", String.valueOf(seconds));
        } catch (NumberFormatException e) {
            // keep driver defaults
        }
        Connection conn = DriverManager.getConnection(url(c), p);
        String schema = schema(c);
        if (!"public".equals(schema)) {
            try (Statement st = conn.createStatement()) {
                st.execute("SET search_path TO \"" + schema.replace("\"", "") + "\", public");
            }
        }
        return conn;
    }

    public static boolean historyExists(Connection conn, String schema) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?")) {
            ps.setString(1, schema);
            ps.setString(2, TABLE);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    public static List<Applied> applied(Connection conn, String schema) throws SQLException {
        List<Applied> out = new ArrayList<>();
        if (!historyExists(conn, schema)) {
            return out;
        }
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT installed_rank, version, description, type, script, "
                 + "installed_on, success FROM " + TABLE + " ORDER BY installed_rank")) {
            while (rs.next()) {
                Applied a = new Applied();
                a.rank = rs.getInt(1);
                a.version = rs.getString(2);
                a.description = rs.getString(3);
                a.type = rs.getString(4);
                a.script = rs.getString(5);
                a.installedOn = rs.getTimestamp(6);
                a.success = rs.getBoolean(7);
                out.add(a);
            }
        }
        return out;
    }

    /** Migrations of this release that are not yet applied with success (and newer than the newest applied). */
    public static List<Migration> pending(Connection conn, String schema) throws SQLException {
        List<Applied> done = applied(conn, schema);
        Map<String, Applied> byVersion = new HashMap<>();
        String max = null;
        for (Applied a : done) {
            if (a.version != null) {
                byVersion.put(a.version, a);
                if (a.success && (max == null || compareVersions(a.version, max) > 0)) {
                    max = a.version;
                }
            }
        }
        List<Migration> out = new ArrayList<>();
        for (Migration m : codeMigrations()) {
            Applied a = byVersion.get(m.version);
            if (a != null && a.success) {
                continue;
            }
            if (max != null && compareVersions(m.version, max) < 0) {
                continue; // would be "Ignored" (out of order): Flyway does not run it by default
            }
            out.add(m);
        }
        return out;
    }

    public static List<Migration> ignored(Connection conn, String schema) throws SQLException {
        List<Applied> done = applied(conn, schema);
        Map<String, Applied> byVersion = new HashMap<>();
        String max = null;
        for (Applied a : done) {
            if (a.version != null) {
                byVersion.put(a.version, a);
                if (a.success && (max == null || compareVersions(a.version, max) > 0)) {
                    max = a.version;
                }
            }
        }
        List<Migration> out = new ArrayList<>();
        for (Migration m : codeMigrations()) {
            Applied a = byVersion.get(m.version);
            if ((a == null || !a.success) && max != null && compareVersions(m.version, max) < 0) {
                out.add(m);
            }
        }
        return out;
    }

    /** Apply pending migrations (one transaction, advisory lock like Flyway). Returns how many ran. */
    public static int migrate(Connection conn, String schema, boolean includeIgnored) throws SQLException {
        boolean auto = conn.getAutoCommit();
        conn.setAutoCommit(false);
        int count = 0;
        try {
            try (Statement st = conn.createStatement()) {
                st.execute("SELECT pg_advisory_xact_lock(77617373)");
                if (!historyExists(conn, schema)) {
                    st.execute("CREATE TABLE " + TABLE + " ("
                        + "installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, "
                        + "type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, "
                        + "installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), "
                        + "execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL, "
                        + "CONSTRAINT " + TABLE + "_pk PRIMARY KEY (installed_rank))");
                    st.execute("CREATE INDEX " + TABLE + "_s_idx ON " + TABLE + " (success)");
                }
            }
            List<Migration> todo = new ArrayList<>(pending(conn, schema));
            if (includeIgnored) {
                todo.addAll(0, ignored(conn, schema));
            }
            for (Migration m : todo) {
                long t0 = System.currentTimeMillis();
                try (Statement st = conn.createStatement()) {
                    st.execute(m.sql);
                }
                int rank;
                try (Statement st = conn.createStatement();
                     ResultSet rs = st.executeQuery("SELECT COALESCE(MAX(installed_rank), 0) + 1 FROM " + TABLE)) {
                    rs.next();
                    rank = rs.getInt(1);
                }
                try (PreparedStatement ps = conn.prepareStatement("INSERT INTO " + TABLE
                    + " (installed_rank, version, description, type, script, checksum, installed_by, "
                    + "installed_on, execution_time, success) VALUES (?, ?, ?, 'SQL', ?, ?, current_user, now(), ?, true)")) {
                    ps.setInt(1, rank);
                    ps.setString(2, m.version);
                    ps.setString(3, m.description);
                    ps.setString(4, m.script);
                    ps.setInt(5, m.checksum());
                    ps.setInt(6, (int) (System.currentTimeMillis() - t0));
                    ps.executeUpdate();
                }
                count++;
            }
            callbacks(conn);
            conn.commit();
        } catch (SQLException | RuntimeException e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(auto);
        }
        if (count > 0) {
            requestReindex();
        }
        return count;
    }

    /** What DSpace's Flyway callbacks do after a migration: default groups, site object, registries. */
    static void callbacks(Connection conn) throws SQLException {
        for (String g : new String[] {"Anonymous", "Administrator"}) {
            if (groupId(conn, g) == null) {
                UUID u = UUID.randomUUID();
                exec(conn, "INSERT INTO dspaceobject (uuid) VALUES (?)", u);
                exec(conn, "INSERT INTO epersongroup (uuid, permanent, name) VALUES (?, true, ?)", u, g);
            }
        }
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT uuid FROM site")) {
            if (!rs.next()) {
                UUID u = UUID.randomUUID();
                exec(conn, "INSERT INTO dspaceobject (uuid) VALUES (?)", u);
                exec(conn, "INSERT INTO site (uuid) VALUES (?)", u);
                String prefix = Config.get().get("handle.prefix", "123456789");
                exec(conn, "INSERT INTO handle (handle, resource_type_id, resource_id) VALUES (?, 5, ?)",
                    prefix + "/0", u);
            }
        }
        field(conn, "eperson", "http://dspace.org/eperson", "firstname", null);
        field(conn, "eperson", "http://dspace.org/eperson", "lastname", null);
        field(conn, "eperson", "http://dspace.org/eperson", "language", null);
        field(conn, "dc", "http://purl.org/dc/elements/1.1/", "title", null);
    }

    public static Integer field(Connection conn, String schema, String ns, String element, String qualifier)
        throws SQLException {
        Integer sid = null;
        try (PreparedStatement ps = conn.prepareStatement(
            "SELECT metadata_schema_id FROM metadataschemaregistry WHERE short_id = ?")) {
            ps.setString(1, schema);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    sid = rs.getInt(1);
                }
            }
        }
        if (sid == null) {
            try (PreparedStatement ps = conn.prepareStatement(
                "INSERT INTO metadataschemaregistry (namespace, short_id) VALUES (?, ?) RETURNING metadata_schema_id")) {
                ps.setString(1, ns);
                ps.setString(2, schema);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    sid = rs.getInt(1);
                }
            }
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT metadata_field_id FROM metadatafieldregistry "
            + "WHERE metadata_schema_id = ? AND element = ? AND qualifier IS NOT DISTINCT FROM ?")) {
            ps.setInt(1, sid);
            ps.setString(2, element);
            ps.setString(3, qualifier);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return rs.getInt(1);
                }
            }
        }
        try (PreparedStatement ps = conn.prepareStatement("INSERT INTO metadatafieldregistry "
            + "(metadata_schema_id, element, qualifier) VALUES (?, ?, ?) RETURNING metadata_field_id")) {
            ps.setInt(1, sid);
            ps.setString(2, element);
            ps.setString(3, qualifier);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    public static UUID groupId(Connection conn, String name) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT uuid FROM epersongroup WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? (UUID) rs.getObject(1) : null;
            }
        }
    }

    public static int exec(Connection conn, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            return ps.executeUpdate();
        }
    }

    public static long count(Connection conn, String table) {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            return -1;
        }
    }

    /** Contract 9.1: after a successful migration DSpace asks for a full reindex (discovery.autoReindex). */
    static void requestReindex() {
        try {
            Config c = Config.get();
            if (!c.getBool("discovery.autoReindex", true)) {
                return;
            }
            java.nio.file.Path flag = c.home().resolve("solr/search/conf/reindex.flag");
            if (java.nio.file.Files.isDirectory(flag.getParent())) {
                java.nio.file.Files.writeString(flag, "");
            }
        } catch (Exception e) {
            // best effort
        }
    }

    /**
     * What creating a DSpace Context does first (contract 9.1): run pending migrations.
     */
    public static Connection context() throws SQLException {
        Config c = Config.get();
        Connection conn = connect(c);
        if (!pending(conn, schema(c)).isEmpty()) {
            Log.info("Pending database migrations found; migrating (DatabaseUtils.updateDatabase)");
            migrate(conn, schema(c), false);
        }
        return conn;
    }

    // ---- passwords (salted SHA-512, 1024 rounds, hex; like DSpace's PasswordHash defaults)

    public static String[] hashPassword(String password) {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        return new String[] {hex(digest(salt, password)), hex(salt), "SHA-512"};
    }

    public static boolean checkPassword(String password, String hash, String saltHex) {
        byte[] salt = unhex(saltHex);
        return hex(digest(salt, password)).equals(hash);
    }

    private static byte[] digest(byte[] salt, String password) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-512");
            md.update(salt);
            byte[] d = md.digest(password.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            for (int i = 1; i < 1024; i++) {
                md.reset();
                d = md.digest(d);
            }
            return d;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x));
        }
        return sb.toString();
    }

    static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
