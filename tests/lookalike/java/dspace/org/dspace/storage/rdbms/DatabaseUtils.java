/*
 * dspace-deploy test look-alike (not DSpace code): the "database" command with the
 * outputs and exit codes of release contract 4.3.
 */
package org.dspace.storage.rdbms;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.Release;

public final class DatabaseUtils {
    private DatabaseUtils() {
    }

    public static void main(String[] argv) {
        if (argv.length < 1) {
            System.out.println("\nDatabase action argument is missing.");
            System.out.println("Valid actions: 'test', 'info', 'migrate', 'repair', 'skip', 'validate', "
                + "'update-sequences' or 'clean'");
            System.out.println("\nOr, type 'database help' for more information.\n");
            System.exit(1);
        }
        Config c = Config.get();
        String action = argv[0].toLowerCase(Locale.ROOT);
        Connection conn;
        try {
            conn = Db.connect(c);
        } catch (SQLException e) {
            System.err.println("Caught exception:");
            e.printStackTrace();
            System.exit(1);
            return;
        }
        try {
            String schema = Db.schema(c);
            switch (action) {
                case "test":
                    System.out.println("\nAttempting to connect to database");
                    System.out.println("Connected successfully!");
                    printInfo(conn, c);
                    if (Release.pgcrypto() && !pgcryptoOk(conn, true)) {
                        System.exit(1);
                    }
                    System.exit(0);
                    break;
                case "info":
                case "status":
                    printInfo(conn, c);
                    System.out.println();
                    printTable(conn, schema);
                    if (!Db.historyExists(conn, schema)) {
                        System.out.println("\nNOTE: This database is NOT yet initialized for auto-migrations "
                            + "(via Flyway).");
                    }
                    if (Release.pgcrypto() && !pgcryptoOk(conn, true)) {
                        System.exit(1);
                    }
                    System.exit(0);
                    break;
                case "migrate":
                    // DatabaseUtils.java@dspace-9.3:170-228: one optional second word: "ignored"
                    // (outOfOrder=true), "force" (callbacks even with nothing pending), anything else is
                    // a target version (testing only: no callbacks, asks y/n on stdin).
                    System.out.println("\nDatabase URL: " + Db.url(c));
                    try {
                        if (argv.length == 2) {
                            if (argv[1].equalsIgnoreCase("ignored")) {
                                System.out.println("Migrating database to latest version AND running previously "
                                    + "\"Ignored\" migrations... (Check logs for details)");
                                Db.migrate(conn, schema, true);
                            } else if (argv[1].equalsIgnoreCase("force")) {
                                Db.migrate(conn, schema, false, true, null);
                            } else {
                                String target = argv[1];
                                System.out.println("You've specified to migrate your database ONLY to version "
                                    + target + " ...");
                                System.out.println("\nWARNING: In this mode, we DISABLE all callbacks, which means "
                                    + "that you will need to manually update registries and manually run a reindex. "
                                    + "This is because you are attempting to use an OLD version (" + target + ") "
                                    + "Database with a newer DSpace API. NEVER do this in a PRODUCTION scenario. "
                                    + "The resulting database is only useful for migration testing.\n");
                                System.out.print("Are you SURE you only want to migrate your database to version "
                                    + target + "? [y/n]: ");
                                String answer = new BufferedReader(new InputStreamReader(System.in)).readLine();
                                if (answer == null) {
                                    // choiceString.equalsIgnoreCase on null: the real command dies here
                                    throw new NullPointerException("Cannot invoke \"String.equalsIgnoreCase(String)\" "
                                        + "because \"choiceString\" is null");
                                }
                                if (answer.equalsIgnoreCase("y")) {
                                    System.out.println("Migrating database ONLY to version " + target
                                        + " ... (Check logs for details)");
                                    Db.migrate(conn, schema, false, false, target);
                                } else {
                                    System.out.println("No action performed.");
                                }
                            }
                        } else {
                            System.out.println("Migrating database to latest version... (Check dspace logs for "
                                + "details)");
                            Db.migrate(conn, schema, false);
                        }
                    } catch (SQLException e) {
                        System.err.println("Migration exception:");
                        e.printStackTrace();
                        System.exit(1);
                    }
                    System.out.println("Done.");
                    System.exit(0);
                    break;
                case "repair":
                    System.out.println("\nDatabase URL: " + Db.url(c));
                    System.out.println("Attempting to repair any previously failed migrations (or mismatched "
                        + "checksums) via FlywayDB... (Check dspace logs for details)");
                    if (Db.historyExists(conn, schema)) {
                        Db.exec(conn, "DELETE FROM " + Db.TABLE + " WHERE success = false");
                    }
                    System.out.println("Done.");
                    System.exit(0);
                    break;
                case "validate":
                    System.out.println("\nDatabase URL: " + Db.url(c));
                    System.out.println("Attempting to validate database status (and migration checksums) via "
                        + "FlywayDB...");
                    if (!validate(conn, schema)) {
                        System.exit(1);
                    }
                    System.out.println("No errors thrown. Validation succeeded. (Check dspace logs for more "
                        + "details)");
                    System.exit(0);
                    break;
                case "update-sequences":
                    System.out.println("\nDatabase URL: " + Db.url(c));
                    System.out.println("Running org/dspace/storage/rdbms/sqlmigration/postgres/update-sequences.sql");
                    System.out.println("update-sequences complete");
                    System.exit(0);
                    break;
                case "skip":
                    System.out.println("Skipping a migration is not reproduced by the dspace-deploy look-alike.");
                    System.exit(1);
                    break;
                case "clean":
                    clean(conn, c, schema);
                    break;
                default:
                    System.out.println("\nUsage: database [action]");
                    System.out.println("Valid actions: 'test', 'info', 'migrate', 'repair', 'skip', "
                        + "'validate', 'update-sequences' or 'clean'");
                    System.out.println(" - test             = Performs a test connection to database to "
                        + "validate connection settings");
                    System.out.println(" - info / status    = Describe basic info/status about database, "
                        + "including validating the compatibility of this database");
                    System.out.println(" - migrate          = Migrate the database to the latest version");
                    System.out.println(" - repair           = Attempt to repair any previously failed database "
                        + "migrations or checksum mismatches");
                    System.out.println(" - validate         = Validate current database's migration status");
                    System.out.println(" - update-sequences = Update database sequences after running AIP "
                        + "ingest.");
                    System.out.println(" - clean            = DESTROY all data (Warning there is no going back!)");
                    System.exit(0);
            }
        } catch (Exception e) {
            System.err.println("Error running '" + action + "':");
            e.printStackTrace();
            System.exit(1);
        }
    }

    static void printInfo(Connection conn, Config c) throws SQLException {
        DatabaseMetaData md = conn.getMetaData();
        System.out.println("\nDatabase Type: postgres");
        System.out.println("Database URL: " + md.getURL());
        System.out.println("Database Schema: " + Db.schema(c));
        System.out.println("Database Username: " + md.getUserName());
        System.out.println("Database Software: " + md.getDatabaseProductName() + " version "
            + md.getDatabaseProductVersion());
        System.out.println("Database Driver: " + md.getDriverName() + " version " + md.getDriverVersion());
        if (Release.pgcrypto()) {
            String v = pgcryptoVersion(conn);
            System.out.println("PostgreSQL 'pgcrypto' extension installed/up-to-date? "
                + (v != null && versionOk(v)) + " " + (v == null ? "(not installed)" : "(version=" + v + ")"));
        }
        System.out.println("FlywayDB Version: " + Release.get("flyway.version", "10.22.0"));
    }

    static String pgcryptoVersion(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT extversion FROM pg_extension WHERE extname = 'pgcrypto'")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static boolean versionOk(String v) {
        try {
            return Double.parseDouble(v) >= 1.1;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    static boolean pgcryptoOk(Connection conn, boolean print) throws SQLException {
        String installed = pgcryptoVersion(conn);
        String available = null;
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery(
                 "SELECT default_version FROM pg_available_extensions WHERE name = 'pgcrypto'")) {
            if (rs.next()) {
                available = rs.getString(1);
            }
        }
        String problem = null;
        if (installed == null && available == null) {
            problem = "NOT AVAILABLE";
        } else if (installed == null) {
            problem = "NOT INSTALLED";
        } else if (!versionOk(installed)) {
            problem = "OUTDATED";
        }
        if (problem != null && print) {
            System.out.println();
            System.out.println("WARNING: Required PostgreSQL 'pgcrypto' extension is " + problem
                + " on this database.");
            if (problem.equals("NOT AVAILABLE")) {
                System.out.println("The 'pgcrypto' extension is not available in this PostgreSQL installation: "
                    + "install the PostgreSQL 'contrib' package first.");
            }
            System.out.println("** DSpace REQUIRES PostgreSQL >= 9.4 AND pgcrypto extension >= 1.1 **");
            System.out.println("To install it, a database superuser must run the following on the DSpace database:");
            System.out.println("  CREATE EXTENSION pgcrypto;");
            System.out.println();
        }
        return problem == null;
    }

    static void printTable(Connection conn, String schema) throws SQLException {
        boolean undoable = !Release.get("flyway.version", "10").startsWith("8");
        List<String[]> rows = new ArrayList<>();
        List<Db.Applied> applied = Db.applied(conn, schema);
        Map<String, Db.Applied> byVersion = new HashMap<>();
        String max = null;
        for (Db.Applied a : applied) {
            byVersion.put(a.version, a);
            if (a.success && (max == null || Db.compareVersions(a.version, max) > 0)) {
                max = a.version;
            }
        }
        SimpleDateFormat fmt = new SimpleDateFormat("yyyy-MM-dd HH:mm:ss");
        List<Db.Migration> code = Db.codeMigrations();
        Map<String, Db.Migration> codeByVersion = new HashMap<>();
        for (Db.Migration m : code) {
            codeByVersion.put(m.version, m);
        }
        String codeMax = code.isEmpty() ? null : code.get(code.size() - 1).version;
        String seen = null; // highest version applied before this row (by installed rank)
        for (Db.Applied a : applied) {
            // Flyway's MigrationState display names: an applied row the code lacks is Missing, or
            // Future above the newest migration the code has; failed rows likewise. A row applied
            // after a higher version (by `migrate ignored`) is "Out of Order".
            String state;
            boolean outOfOrder = seen != null && a.version != null && Db.compareVersions(a.version, seen) < 0;
            if (a.success && a.version != null && (seen == null || Db.compareVersions(a.version, seen) > 0)) {
                seen = a.version;
            }
            if (codeByVersion.containsKey(a.version)) {
                state = !a.success ? "Failed" : outOfOrder ? "Out of Order" : "Success";
            } else if (codeMax != null && Db.compareVersions(a.version, codeMax) > 0) {
                state = a.success ? "Future" : "Failed (Future)";
            } else {
                state = a.success ? "Missing" : "Failed (Missing)";
            }
            rows.add(row(a.version, a.description, a.type, fmt.format(a.installedOn), state, undoable));
        }
        for (Db.Migration m : code) {
            Db.Applied a = byVersion.get(m.version);
            if (a != null) {
                continue;
            }
            String state = max != null && Db.compareVersions(m.version, max) < 0 ? "Ignored" : "Pending";
            rows.add(row(m.version, m.description, "SQL", "", state, undoable));
        }
        String[] head = undoable
            ? new String[] {"Category", "Version", "Description", "Type", "Installed On", "State", "Undoable"}
            : new String[] {"Category", "Version", "Description", "Type", "Installed On", "State"};
        int[] w = new int[head.length];
        for (int i = 0; i < head.length; i++) {
            w[i] = head[i].length();
        }
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder sep = new StringBuilder("+");
        for (int x : w) {
            sep.append("-".repeat(x + 2)).append('+');
        }
        System.out.println(sep);
        System.out.println(line(head, w));
        System.out.println(sep);
        if (rows.isEmpty()) {
            System.out.println("| No migrations found |");
        }
        for (String[] r : rows) {
            System.out.println(line(r, w));
        }
        System.out.println(sep);
    }

    private static String[] row(String v, String d, String t, String on, String state, boolean undoable) {
        return undoable ? new String[] {"Versioned", v, d, t, on, state, "No"}
            : new String[] {"Versioned", v, d, t, on, state};
    }

    private static String line(String[] cols, int[] w) {
        StringBuilder sb = new StringBuilder("|");
        for (int i = 0; i < cols.length; i++) {
            sb.append(' ').append(String.format("%-" + w[i] + "s", cols[i])).append(" |");
        }
        return sb.toString();
    }

    static boolean validate(Connection conn, String schema) throws SQLException {
        Map<String, Db.Migration> code = new HashMap<>();
        for (Db.Migration m : Db.codeMigrations()) {
            code.put(m.version, m);
        }
        boolean ok = true;
        try (Statement st = conn.createStatement()) {
            if (!Db.historyExists(conn, schema)) {
                return true;
            }
            try (ResultSet rs = st.executeQuery("SELECT version, checksum, success FROM " + Db.TABLE)) {
                while (rs.next()) {
                    Db.Migration m = code.get(rs.getString(1));
                    if (!rs.getBoolean(3)) {
                        System.err.println("Validate failed: Detected failed migration to version "
                            + rs.getString(1));
                        ok = false;
                    } else if (m != null && m.checksum() != rs.getInt(2)) {
                        System.err.println("Validate failed: Migration checksum mismatch for migration version "
                            + rs.getString(1));
                        ok = false;
                    }
                }
            }
        }
        return ok;
    }

    static void clean(Connection conn, Config c, String schema) throws Exception {
        if (c.getBool("db.cleanDisabled", true)) {
            System.out.println("\nWARNING: 'clean' command is currently disabled, as it is dangerous to run "
                + "in Production scenarios!");
            System.out.println("\nIn order to run a 'clean' you first must enable it in your DSpace config by "
                + "specifying 'db.cleanDisabled=false'.\n");
            System.exit(1);
        }
        System.out.println("\nDatabase URL: " + Db.url(c));
        System.out.println("\nWARNING: ALL DATA AND TABLES IN YOUR DATABASE WILL BE PERMANENTLY DELETED.\n");
        System.out.println("There is NO turning back from this action. Backup your DB before continuing.");
        System.out.print("Do you want to PERMANENTLY DELETE everything from your database? [y/n]: ");
        String answer = new BufferedReader(new InputStreamReader(System.in)).readLine();
        if (answer == null || !answer.trim().toLowerCase(Locale.ROOT).startsWith("y")) {
            System.out.println("No action performed.");
            System.exit(0);
        }
        System.out.println("Scrubbing database of all data...");
        try (PreparedStatement ps = conn.prepareStatement(
            "SELECT tablename FROM pg_tables WHERE schemaname = ?")) {
            ps.setString(1, schema);
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            try (Statement st = conn.createStatement()) {
                for (String t : tables) {
                    st.execute("DROP TABLE IF EXISTS \"" + t + "\" CASCADE");
                }
            }
        }
        System.out.println("Done.");
        System.exit(0);
    }
}
