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

    /** The highest version applied with success (Flyway's "current" version), or null. */
    static String maxApplied(List<Applied> done) {
        String max = null;
        for (Applied a : done) {
            if (a.version != null && a.success && (max == null || compareVersions(a.version, max) > 0)) {
                max = a.version;
            }
        }
        return max;
    }

    /**
     * Migrations Flyway would run with outOfOrder=false: not yet applied with success and above the
     * highest applied version. Lower ones are "Ignored" (ignored()) until `migrate ignored`.
     */
    public static List<Migration> pending(Connection conn, String schema) throws SQLException {
        return unapplied(conn, schema, false);
    }

    public static List<Migration> ignored(Connection conn, String schema) throws SQLException {
        List<Migration> out = unapplied(conn, schema, true);
        out.removeAll(pending(conn, schema));
        return out;
    }

    /** Not yet applied with success; with outOfOrder also those below the highest applied. */
    static List<Migration> unapplied(Connection conn, String schema, boolean outOfOrder) throws SQLException {
        List<Applied> done = applied(conn, schema);
        Map<String, Applied> byVersion = new HashMap<>();
        for (Applied a : done) {
            if (a.version != null) {
                byVersion.put(a.version, a);
            }
        }
        String max = maxApplied(done);
        List<Migration> out = new ArrayList<>();
        for (Migration m : codeMigrations()) {
            Applied a = byVersion.get(m.version);
            if (a != null && a.success) {
                continue;
            }
            if (!outOfOrder && max != null && compareVersions(m.version, max) < 0) {
                continue;
            }
            out.add(m);
        }
        return out;
    }

    public static int migrate(Connection conn, String schema, boolean outOfOrder) throws SQLException {
        return migrate(conn, schema, outOfOrder, false, null);
    }

    /**
     * DatabaseUtils.updateDatabase(ds, conn, targetVersion, outOfOrder, forceMigrate) at dspace-9.3: run
     * the pending migrations (with outOfOrder also the "Ignored" ones), each in its own transaction as
     * Flyway does on PostgreSQL: a failing one is rolled back and leaves no row, the ones before it in
     * the same run stay committed, and the error ends the run. Callbacks run after a successful
     * migrate (also with force and nothing pending), never with a target version. After a run that
     * applied something the reindex flag follows discovery.autoReindex. Returns how many ran.
     */
    public static int migrate(Connection conn, String schema, boolean outOfOrder, boolean force, String target)
        throws SQLException {
        boolean auto = conn.getAutoCommit();
        int count = 0;
        try (Statement lock = conn.createStatement()) {
            lock.execute("SELECT pg_advisory_lock(77617373)");
            try {
                createHistory(conn, schema);
                List<Migration> todo = new ArrayList<>(unapplied(conn, schema, outOfOrder));
                if (target != null) {
                    todo.removeIf(m -> compareVersions(m.version, target) > 0);
                }
                if (todo.isEmpty() && !force) {
                    Log.info("DSpace database schema is up to date");
                    return 0;
                }
                conn.setAutoCommit(false);
                for (Migration m : todo) {
                    applyOne(conn, schema, m);
                    count++;
                }
                if (target == null) {
                    try {
                        callbacks(conn);
                        conn.commit();
                    } catch (SQLException | RuntimeException e) {
                        conn.rollback();
                        throw e;
                    }
                }
            } finally {
                conn.setAutoCommit(auto);
                try (Statement unlock = conn.createStatement()) {
                    unlock.execute("SELECT pg_advisory_unlock(77617373)");
                }
            }
        }
        if (count > 0 && target == null) {
            setReindexDiscovery(Config.get().getBool("discovery.autoReindex", true));
        }
        return count;
    }

    private static void createHistory(Connection conn, String schema) throws SQLException {
        if (historyExists(conn, schema)) {
            return;
        }
        try (Statement st = conn.createStatement()) {
            st.execute("CREATE TABLE " + TABLE + " ("
                + "installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, "
                + "type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, "
                + "installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), "
                + "execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL, "
                + "CONSTRAINT " + TABLE + "_pk PRIMARY KEY (installed_rank))");
            st.execute("CREATE INDEX " + TABLE + "_s_idx ON " + TABLE + " (success)");
        }
    }

    /**
     * Failure point of a test bundle (docs/lookalike.md, "Failure points"): the migration named by
     * failure.slowMigration pauses inside its transaction, so a test can kill the process meanwhile.
     */
    private static void pauseIfSlow(Migration m) {
        if (!m.script.equals(Release.get("failure.slowMigration", ""))) {
            return;
        }
        double seconds = Double.parseDouble(Release.get("failure.slowMigrationSeconds", "0"));
        Log.info("Look-alike failure point: migration " + m.script + " pauses " + seconds + " s");
        try {
            Thread.sleep((long) (seconds * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One versioned migration in its own transaction (Flyway's default on PostgreSQL). */
    private static void applyOne(Connection conn, String schema, Migration m) throws SQLException {
        Log.info("Migrating schema \"" + schema + "\" to version \"" + m.version + " - " + m.description + "\"");
        long t0 = System.currentTimeMillis();
        try {
            try (Statement st = conn.createStatement()) {
                st.execute(m.sql);
            }
            pauseIfSlow(m);
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
            conn.commit();
        } catch (SQLException e) {
            conn.rollback();
            // Flyway's FlywayMigrateException text (flyway-core DbMigrate / FlywaySqlScriptException)
            String msg = "Migration " + m.script + " failed\n" + "-".repeat(("Migration " + m.script + " failed")
                .length()) + "\nSQL State  : " + e.getSQLState() + "\nError Code : " + e.getErrorCode()
                + "\nMessage    : " + e.getMessage() + "\nLocation   : " + SQL_DIR.substring(1) + m.script
                + "\n\nMigration of schema \"" + schema + "\" to version \"" + m.version + " - " + m.description
                + "\" failed! Changes successfully rolled back.";
            Log.error(msg, null);
            throw new SQLException("Flyway migration error occurred", new SQLException(msg, e.getSQLState(), e));
        }
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

    /** [dspace.dir]/solr/search/conf/reindex.flag (DatabaseUtils.java@dspace-9.3:66-74). */
    public static java.nio.file.Path reindexFlag() {
        return Config.get().home().resolve("solr/search/conf/reindex.flag");
    }

    /**
     * DatabaseUtils.setReindexDiscovery@dspace-9.3: true creates the flag file (not its directory: a
     * missing one is only logged), false deletes it. A migration calls it with discovery.autoReindex.
     */
    public static synchronized void setReindexDiscovery(boolean reindex) {
        java.nio.file.Path flag = reindexFlag();
        try {
            if (reindex) {
                if (!java.nio.file.Files.exists(flag)) {
                    java.nio.file.Files.createFile(flag);
                }
            } else {
                java.nio.file.Files.deleteIfExists(flag);
            }
        } catch (java.io.IOException e) {
            Log.error("Unable to " + (reindex ? "create" : "delete") + " Discovery reindex flag file " + flag
                + ". You may need to reindex manually.", e);
        }
    }

    /** DatabaseUtils.getReindexDiscovery@dspace-9.3: discovery.autoReindex and the flag file. */
    public static synchronized boolean getReindexDiscovery() {
        return Config.get().getBool("discovery.autoReindex", true) && java.nio.file.Files.exists(reindexFlag());
    }

    /**
     * What creating a DSpace Context does first (contract 9.1): run pending migrations.
     */
    public static Connection context() throws SQLException {
        Config c = Config.get();
        Connection conn = connect(c);
        // Context.updateDatabase@dspace-9.3:211-227: a failure is logged and the command goes on
        try {
            migrate(conn, schema(c), false);
        } catch (SQLException e) {
            Log.error("Cannot update or initialize database via Flyway!", e);
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
