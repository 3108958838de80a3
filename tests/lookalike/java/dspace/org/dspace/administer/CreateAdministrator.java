/*
 * dspace-deploy test look-alike (not DSpace code): create-administrator per release contract 4.4.
 * Non-interactive with -e -f -l -p; otherwise prompts through System.console(), which is null
 * without a terminal, so the command crashes exactly where the real one does.
 */
package org.dspace.administer;

import java.io.Console;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Locale;
import java.util.UUID;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;

public final class CreateAdministrator {
    private Console console;

    private CreateAdministrator() {
        console = System.console();
    }

    public static void main(String[] argv) throws Exception {
        Opts o = new Opts()
            .add("e", "email", true, "administrator email address")
            .add("f", "first", true, "administrator first name")
            .add("h", "help", false, "explain create-administrator options")
            .add("l", "last", true, "administrator last name")
            .add("c", "language", true, "administrator language")
            .add("p", "password", true, "administrator password");
        try {
            o.parse(argv);
        } catch (Opts.ParseException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
        if (o.has("h")) {
            System.out.print(o.help("dspace create-administrator"));
            return;
        }
        CreateAdministrator ca = new CreateAdministrator();
        if (o.has("e") && o.has("f") && o.has("l") && o.has("c") && o.has("p")) {
            ca.createAdministrator(o.get("e"), o.get("f"), o.get("l"), o.get("c"), o.get("p"));
        } else if (o.has("e") && o.has("f") && o.has("l") && o.has("p")) {
            System.out.println("Creating an initial administrator account");
            ca.createAdministrator(o.get("e"), o.get("f"), o.get("l"), Locale.getDefault().getLanguage(),
                o.get("p"));
        } else {
            ca.negotiateAdministratorDetails(o);
        }
    }

    private void negotiateAdministratorDetails(Opts o) throws Exception {
        String email = o.get("e");
        String first = o.get("f");
        String last = o.get("l");
        String language = o.get("c");
        System.out.println("Creating an initial administrator account");
        while (email == null || email.isBlank()) {
            email = console.readLine("E-mail address: ").trim();
        }
        if (first == null) {
            first = console.readLine("First name: ").trim();
        }
        if (last == null) {
            last = console.readLine("Last name: ").trim();
        }
        if (language == null) {
            language = console.readLine("Language: ").trim();
        }
        String password = o.get("p");
        if (password == null) {
            char[] p1 = console.readPassword("Password: ");
            char[] p2 = console.readPassword("Again to confirm: ");
            if (!new String(p1).equals(new String(p2))) {
                System.out.println("Passwords do not match. Please try again.");
                System.exit(1);
            }
            password = new String(p1);
        }
        String ok = console.readLine("Is the above data correct? (y or n): ");
        if (ok == null || !ok.trim().toLowerCase(Locale.ROOT).startsWith("y")) {
            System.out.println("Administrator account NOT created.");
            return;
        }
        createAdministrator(email, first, last, language, password);
    }

    private void createAdministrator(String email, String first, String last, String language,
                                     String password) throws Exception {
        Config.get();
        try (Connection conn = Db.context()) {
            conn.setAutoCommit(false);
            UUID admin = Db.groupId(conn, "Administrator");
            if (admin == null) {
                throw new IllegalStateException("Error, no admin group (group 1) found");
            }
            UUID person = null;
            try (PreparedStatement ps = conn.prepareStatement("SELECT uuid FROM eperson WHERE lower(email) = ?")) {
                ps.setString(1, email.toLowerCase(Locale.ROOT));
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        person = (UUID) rs.getObject(1);
                    }
                }
            }
            String[] hash = Db.hashPassword(password);
            if (person == null) {
                person = UUID.randomUUID();
                Db.exec(conn, "INSERT INTO dspaceobject (uuid) VALUES (?)", person);
                Db.exec(conn, "INSERT INTO eperson (uuid, email, password, salt, digest_algorithm, can_log_in, "
                    + "require_certificate, self_registered) VALUES (?, ?, ?, ?, ?, true, false, false)",
                    person, email.toLowerCase(Locale.ROOT), hash[0], hash[1], hash[2]);
            } else {
                Db.exec(conn, "UPDATE eperson SET password = ?, salt = ?, digest_algorithm = ?, can_log_in = true "
                    + "WHERE uuid = ?", hash[0], hash[1], hash[2], person);
            }
            setMeta(conn, person, "firstname", first);
            setMeta(conn, person, "lastname", last);
            setMeta(conn, person, "language", language);
            Db.exec(conn, "INSERT INTO epersongroup2eperson (eperson_group_id, eperson_id) VALUES (?, ?) "
                + "ON CONFLICT DO NOTHING", admin, person);
            conn.commit();
        }
        System.out.println("Administrator account created");
    }

    private static void setMeta(Connection conn, UUID obj, String element, String value) throws Exception {
        int field = Db.field(conn, "eperson", "http://dspace.org/eperson", element, null);
        Db.exec(conn, "DELETE FROM metadatavalue WHERE dspace_object_id = ? AND metadata_field_id = ?", obj, field);
        if (value != null && !value.isEmpty()) {
            Db.exec(conn, "INSERT INTO metadatavalue (dspace_object_id, metadata_field_id, text_value, place) "
                + "VALUES (?, ?, ?, 0)", obj, field, value);
        }
    }
}
