/*
 * dspace-deploy test look-alike (not DSpace code): `dspace user` with the verbs, options, messages
 * and exit codes of DSpace's EPersonCLITool (docs/lookalike.md, "Content tools";
 * DSpace/DSpace@dspace-9.3 dspace-api/src/main/java/org/dspace/eperson/EPersonCLITool.java).
 */
package org.dspace.eperson;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Locale;
import java.util.UUID;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Content;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;

public final class EPersonCLITool {
    private static final String NS = "http://dspace.org/eperson";

    private EPersonCLITool() {
    }

    /** The options cmdAdd, cmdDelete and cmdModify parse the command line with again: the verb, the
     *  identity group (-m or -n) and the verb's own options, nothing else
     *  (DSpace/DSpace@dspace-9.3 dspace-api/.../eperson/EPersonCLITool.java:142-167,233-248,312-338). */
    private static Opts verbOptions(String verb) {
        Opts o = new Opts();
        switch (verb) {
            case "add" -> o.add("a", "add", false, "create a new EPerson");
            case "delete" -> o.add("d", "delete", false, "delete an existing EPerson");
            default -> o.add("M", "modify", false, "modify an EPerson");
        }
        o.add("m", "email", true, "the user's email address, empty for none")
            .add("n", "netid", true, "network ID associated with the person, empty for none")
            .group("m", "n");
        if ("add".equals(verb) || "modify".equals(verb)) {
            o.add("g", "givenname", true, "the person's actual first or personal name")
                .add("s", "surname", true, "the person's actual last or family name")
                .add("t", "telephone", true, "telephone number, empty for none")
                .add("l", "language", true, "the person's preferred language")
                .add("c", "requireCertificate", true, "if 'true', a certificate will be required for login");
        }
        if ("add".equals(verb)) {
            o.add("p", "password", true, "password to match the EPerson name");
        }
        if ("modify".equals(verb)) {
            o.add("C", "canLogIn", true, "'true' if the user can log in")
                .add("i", "newEmail", true, "new email address")
                .add("I", "newNetid", true, "new network ID")
                .add("w", "newPassword", false, "prompt for new password");
        }
        return o.add("h", "help", false, "explain --" + verb + " options");
    }

    /** main's globalOptions: the verbs, one of a group, and -h; parsed with stopAtNonOption, so the
     *  first token that is none of them ends the parse (EPersonCLITool.java:90-124). */
    private static Opts globalOptions() {
        return new Opts().add("a", "add", false, "create a new EPerson")
            .add("d", "delete", false, "delete an existing EPerson")
            .add("L", "list", false, "list EPersons")
            .add("M", "modify", false, "modify an EPerson")
            .group("a", "d", "L", "M")
            .add("h", "help", false, "explain options");
    }

    public static void main(String[] argv) throws Exception {
        // a ParseException (two verbs) escapes main: the launcher prints it and exits 1
        Opts command = globalOptions().parse(argv, true);
        String verb = command.has("a") ? "add" : command.has("d") ? "delete" : command.has("M") ? "modify"
            : command.has("L") ? "list" : null;
        Config.get();
        int status;
        try (Connection conn = Db.context()) {
            conn.setAutoCommit(false);
            if (verb == null) {
                if (!command.has("h")) {
                    System.err.println("Unknown operation.");
                }
                System.out.print(globalOptions().help("user [options]"));
                status = command.has("h") ? 0 : 1;
            } else if ("list".equals(verb)) {
                status = list(conn); // cmdList parses nothing more
            } else {
                Opts o = verbOptions(verb);
                boolean parsed = false;
                try {
                    o.parse(argv);
                    parsed = true;
                } catch (Opts.ParseException e) {
                    System.err.println(e.getMessage());
                }
                if (!parsed) {
                    status = 1;
                } else if (o.has("h")) {
                    System.out.print(o.help("user --" + verb + " [options]"));
                    status = 0;
                } else {
                    status = switch (verb) {
                        case "add" -> add(conn, o);
                        case "delete" -> delete(conn, o);
                        default -> modify(conn, o);
                    };
                }
            }
            if (status == 0) {
                // a duplicate e-mail or netid is refused by the database (unique columns); the
                // exception escapes main and the launcher exits 1 (inferred from the unique
                // constraints: the real tool prints nothing of its own for it)
                conn.commit();
            } else {
                conn.rollback();
            }
        }
        System.exit(status);
    }

    private static int add(Connection conn, Opts o) throws SQLException {
        if (!o.has("m") && !o.has("n")) {
            System.err.println("You must provide an email address or a netid to identify the new user.");
            return 1;
        }
        if (!o.has("p")) {
            System.err.println("You must provide a password for the new user.");
            return 1;
        }
        UUID id = Content.newObject(conn);
        String[] hash = Db.hashPassword(o.get("p"));
        boolean cert = o.has("c") && Boolean.parseBoolean(o.get("c"));
        Db.exec(conn, "INSERT INTO eperson (uuid, email, netid, password, salt, digest_algorithm, can_log_in, "
            + "require_certificate, self_registered) VALUES (?, ?, ?, ?, ?, ?, true, ?, false)", id,
            o.get("m") == null ? null : o.get("m").toLowerCase(Locale.ROOT), o.get("n"), hash[0], hash[1], hash[2],
            cert);
        meta(conn, id, "firstname", o.get("g"));
        meta(conn, id, "lastname", o.get("s"));
        meta(conn, id, "language", o.get("l", Locale.getDefault().getLanguage()));
        meta(conn, id, "phone", o.get("t"));
        System.out.printf("Created EPerson %s\n", id);
        return 0;
    }

    private static UUID find(Connection conn, Opts o) throws SQLException {
        String col = o.has("n") ? "netid" : "lower(email)";
        String v = o.has("n") ? o.get("n") : o.get("m").toLowerCase(Locale.ROOT);
        try (PreparedStatement ps = conn.prepareStatement("SELECT uuid FROM eperson WHERE " + col + " = ?")) {
            ps.setString(1, v);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? (UUID) rs.getObject(1) : null;
            }
        }
    }

    private static int delete(Connection conn, Opts o) throws Exception {
        if (!o.has("n") && !o.has("m")) {
            System.err.println("You must specify the user's email address or netid.");
            return 1;
        }
        UUID id = find(conn, o);
        if (id == null) {
            System.err.println("No such EPerson");
            return 1;
        }
        System.out.printf("Are you sure you want to delete this EPerson with ID: %s? (y or n): ", id);
        System.out.flush();
        String s = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        if (s != null && s.trim().toLowerCase(Locale.ROOT).startsWith("y")) {
            Db.exec(conn, "DELETE FROM epersongroup2eperson WHERE eperson_id = ?", id);
            Db.exec(conn, "DELETE FROM metadatavalue WHERE dspace_object_id = ?", id);
            Db.exec(conn, "DELETE FROM eperson WHERE uuid = ?", id);
            Db.exec(conn, "DELETE FROM dspaceobject WHERE uuid = ?", id);
            System.out.printf("%nDeleted EPerson with ID: %s", id);
        } else {
            System.out.printf("%nAbort Deletion of EPerson with ID: %s %n", id);
        }
        return 0;
    }

    private static int modify(Connection conn, Opts o) throws SQLException {
        if (!o.has("n") && !o.has("m")) {
            System.err.println("No EPerson selected");
            return 1;
        }
        UUID id = find(conn, o);
        if (id == null) {
            System.err.println("No such EPerson");
            return 1;
        }
        boolean modified = false;
        if (o.has("i")) {
            Db.exec(conn, "UPDATE eperson SET email = ? WHERE uuid = ?", o.get("i").toLowerCase(Locale.ROOT), id);
            modified = true;
        }
        if (o.has("I")) {
            Db.exec(conn, "UPDATE eperson SET netid = ? WHERE uuid = ?", o.get("I"), id);
            modified = true;
        }
        if (o.has("w")) {
            // ConsoleServiceImpl reads through System.console(), which is null without a terminal
            char[] p1 = System.console().readPassword("Enter new password for user %s: ", o.get("m"));
            char[] p2 = System.console().readPassword("Enter new password again to verify: ");
            if (p1.length == 0) {
                System.err.println("The new password may not be empty.");
            } else if (!new String(p1).equals(new String(p2))) {
                System.err.println("Passwords do not match.  Password not set");
            } else {
                String[] hash = Db.hashPassword(new String(p1));
                Db.exec(conn, "UPDATE eperson SET password = ?, salt = ?, digest_algorithm = ? WHERE uuid = ?",
                    hash[0], hash[1], hash[2], id);
                modified = true;
            }
        }
        for (String[] f : new String[][] {{"g", "firstname"}, {"s", "lastname"}, {"l", "language"}, {"t", "phone"}}) {
            if (o.has(f[0])) {
                meta(conn, id, f[1], o.get(f[0]));
                modified = true;
            }
        }
        if (o.has("c")) {
            Db.exec(conn, "UPDATE eperson SET require_certificate = ? WHERE uuid = ?", Boolean.parseBoolean(o.get("c")),
                id);
            modified = true;
        }
        if (o.has("C")) {
            Db.exec(conn, "UPDATE eperson SET can_log_in = ? WHERE uuid = ?", Boolean.parseBoolean(o.get("C")), id);
            modified = true;
        }
        if (!modified) {
            System.out.println("No changes.");
        }
        return 0;
    }

    private static int list(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT uuid, email, netid FROM eperson ORDER BY email");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                UUID id = (UUID) rs.getObject(1);
                System.out.printf("%s\t%s/%s\t%s, %s\n", id, rs.getString(2), rs.getString(3),
                    Content.first(conn, id, "eperson", "lastname", null),
                    Content.first(conn, id, "eperson", "firstname", null));
            }
        }
        return 0;
    }

    private static void meta(Connection conn, UUID id, String element, String value) throws SQLException {
        int f = Db.field(conn, "eperson", NS, element, null);
        Db.exec(conn, "DELETE FROM metadatavalue WHERE dspace_object_id = ? AND metadata_field_id = ?", id, f);
        if (value != null && !value.isEmpty()) {
            Db.exec(conn, "INSERT INTO metadatavalue (dspace_object_id, metadata_field_id, text_value, place) "
                + "VALUES (?, ?, ?, 0)", id, f, value);
        }
    }
}
