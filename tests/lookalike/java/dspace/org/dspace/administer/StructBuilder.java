/*
 * dspace-deploy test look-alike (not DSpace code): `dspace structure-builder`, with the options,
 * messages, exit codes and quirks of DSpace's StructBuilder (docs/lookalike.md, "Content tools";
 * DSpace/DSpace@dspace-9.3 dspace-api/src/main/java/org/dspace/administer/StructBuilder.java).
 */
package org.dspace.administer;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.xml.parsers.DocumentBuilderFactory;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Content;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Release;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

public final class StructBuilder {
    /** XML element -> dc field (element, qualifier), StructBuilder's communityMap / collectionMap. */
    private static final String[][] COMMUNITY_FIELDS = {
        {"name", "title", null}, {"description", "description", "abstract"}, {"intro", "description", null},
        {"copyright", "rights", null}, {"sidebar", "description", "tableofcontents"}};
    private static final String[][] COLLECTION_FIELDS = {
        {"name", "title", null}, {"description", "description", "abstract"}, {"intro", "description", null},
        {"copyright", "rights", null}, {"sidebar", "description", "tableofcontents"},
        {"license", "rights", "license"}, {"provenance", "provenance", null}};

    private StructBuilder() {
    }

    public static void main(String[] argv) throws Exception {
        boolean ten = Release.atLeast(10) && !"cris".equals(Release.flavor());
        Opts options = new Opts()
            .add("h", "help", false, "Print this help message.")
            .add("?", null, false, "")
            .add("x", "export", false, "Export the current structure as XML.")
            .add("k", "keep-handles", false, "Apply Handles from input document.")
            .add("e", "eperson", true, "User who is manipulating the repository's structure.").required()
            .add("f", "file", true, "File of new structure information.")
            .add("o", "output", true, "File to receive the structure map ('-' for standard out).").required();
        if (ten) {
            options.add("p", "parent", true, "Parent community or handle (optional)");
        }
        try {
            options.parse(argv);
        } catch (Opts.ParseException ex) {
            System.err.println(ex.getMessage());
            System.out.print(options.help("structure-builder"));
            System.exit(1);
        }
        if (options.has("h") || options.has("?")) {
            System.out.print(options.help("struct-builder"));
            System.exit(0);
        }
        if (!(options.has("f") || options.has("x"))) {
            System.out.print(options.help("struct-builder"));
            System.exit(1);
        }
        // the output is opened (created or truncated) before anything is checked
        String output = options.get("o");
        OutputStream out = "-".equals(output) ? System.out : new FileOutputStream(output);
        Config.get();
        try (Connection conn = Db.context()) {
            conn.setAutoCommit(false);
            // findByEmail returns null for an unknown address: no message here, the creation fails later
            UUID user = Content.epersonByEmail(conn, options.get("e"));
            UUID parent = null;
            if (ten && options.has("p")) {
                parent = resolveParent(conn, options.get("p"));
            }
            if (options.has("x")) {
                export(conn, out);
                out.close();
            } else {
                String input = options.get("f");
                InputStream in = "-".equals(input) ? System.in : new FileInputStream(input);
                // StructBuilder asks options.hasOption("k"), which is true whenever -k is defined:
                // identifiers in the input are always applied (StructBuilder.java:235 at dspace-9.3)
                importStructure(conn, user, in, out, parent, true);
                in.close();
                out.close();
                conn.commit();
            }
        }
        System.exit(0);
    }

    /** 10.0's -p: a value that is no community prints a line and exits 0 (StructBuilder.java:241-262). */
    private static UUID resolveParent(Connection conn, String id) throws SQLException {
        Object[] dso = Content.resolve(conn, id);
        if (dso != null) {
            if ((int) dso[1] == Content.COMMUNITY) {
                return (UUID) dso[0];
            }
            System.out.println("The handle provided for the -p option does not resolve to a community. " + id
                + " is an object of type: " + Content.TYPE_TEXT[(int) dso[1]]);
            System.exit(0);
        }
        try {
            UUID u = UUID.fromString(id);
            if (Content.exists(conn, "community", u)) {
                return u;
            }
        } catch (IllegalArgumentException e) {
            // findByIdOrLegacyId: not a UUID and no legacy id either
        }
        System.out.println("The value provided for -p is not a valid community ID or handle: " + id);
        System.exit(0);
        return null;
    }

    static void importStructure(Connection conn, UUID user, InputStream input, OutputStream output, UUID parent,
                                boolean keepHandles) throws Exception {
        Document document = null;
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            document = f.newDocumentBuilder().parse(input);
        } catch (IOException ex) {
            System.err.format("The input document could not be read:  %s%n", ex.getMessage());
            System.exit(1);
        } catch (org.xml.sax.SAXException ex) {
            System.err.format("The input document could not be parsed:  %s%n", ex.getMessage());
            System.exit(1);
        }
        validate(document);
        List<Element> withIds = new ArrayList<>();
        collectIdentified(document.getDocumentElement(), withIds);
        if (!withIds.isEmpty()) {
            if (!keepHandles) {
                System.err.println("The input document has 'identifier' attributes, which will be ignored.");
            } else {
                for (Element e : withIds) {
                    String id = e.getAttribute("identifier");
                    if (Content.resolve(conn, id) != null) {
                        System.err.printf("The input document contains handle %s, which is in use already. "
                            + "Aborting...%n", id);
                        System.exit(1);
                    }
                }
            }
        }
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<imported_structure>");
        try {
            for (Element c : children(document.getDocumentElement(), "community")) {
                xml.append(community(conn, user, c, parent, keepHandles));
            }
        } catch (Content.AuthorizeException ex) {
            System.err.format("Not authorized:  %s%n", ex.getMessage());
            System.exit(1);
        }
        xml.append("</imported_structure>\r\n");
        Writer w = new OutputStreamWriter(output, StandardCharsets.UTF_8);
        w.write(xml.toString());
        w.flush();
    }

    private static void validate(Document document) {
        StringBuilder err = new StringBuilder("The following errors were encountered parsing the source XML.\n"
            + "No changes have been made to the DSpace instance.\n\n");
        Element root = document.getDocumentElement();
        List<Element> top = "import_structure".equals(root.getTagName()) ? children(root, "community") : List.of();
        if (top.isEmpty()) {
            err.append("-There are no top level communities in the source document.");
            System.out.println(err);
            System.exit(1);
        }
        String errs = validateCommunities(top, 1);
        if (errs != null) {
            System.out.println(err.append(errs));
            System.exit(1);
        }
    }

    private static String validateCommunities(List<Element> communities, int level) {
        StringBuilder err = new StringBuilder();
        for (int i = 0; i < communities.size(); i++) {
            Element n = communities.get(i);
            if (children(n, "name").size() != 1) {
                err.append("-The level ").append(level).append(" community in position ").append(i + 1)
                    .append(" does not contain exactly one name field.\n");
            }
            String sub = validateCommunities(children(n, "community"), level + 1);
            if (sub != null) {
                err.append(sub);
            }
            List<Element> cols = children(n, "collection");
            for (int j = 0; j < cols.size(); j++) {
                if (children(cols.get(j), "name").size() != 1) {
                    err.append("-The level ").append(level + 1).append(" collection in position ").append(j + 1)
                        .append(" does not contain exactly one name field.\n");
                }
            }
        }
        return err.length() == 0 ? null : err.toString();
    }

    private static String community(Connection conn, UUID user, Element tn, UUID parent, boolean keepHandles)
        throws Exception {
        // CommunityServiceImpl.create: administrators only (or ADD on the parent)
        if (!Content.isAdmin(conn, user)) {
            throw new Content.AuthorizeException("Only administrators can create communities");
        }
        UUID id = Content.newObject(conn);
        Db.exec(conn, "INSERT INTO community (uuid) VALUES (?)", id);
        if (parent != null) {
            Db.exec(conn, "INSERT INTO community2community (parent_comm_id, child_comm_id) VALUES (?, ?)", parent, id);
        }
        String handle = Content.createHandle(conn, id, Content.COMMUNITY, wanted(tn, keepHandles));
        Map<String, String> meta = metadata(conn, id, tn, COMMUNITY_FIELDS);
        StringBuilder sb = new StringBuilder("<community identifier=\"" + esc(handle) + "\">");
        appendFields(sb, meta);
        for (Element c : children(tn, "community")) {
            sb.append(community(conn, user, c, id, keepHandles));
        }
        for (Element c : children(tn, "collection")) {
            sb.append(collection(conn, user, c, id, keepHandles));
        }
        return sb.append("</community>").toString();
    }

    private static String collection(Connection conn, UUID user, Element tn, UUID parent, boolean keepHandles)
        throws Exception {
        if (!Content.isAdmin(conn, user)) {
            // authorizeService.authorizeAction(context, community, ADD)
            throw new Content.AuthorizeException("Authorization denied for action ADD on COMMUNITY:" + parent
                + " by user " + user);
        }
        UUID id = Content.newObject(conn);
        Db.exec(conn, "INSERT INTO collection (uuid) VALUES (?)", id);
        Db.exec(conn, "INSERT INTO community2collection (collection_id, community_id) VALUES (?, ?)", id, parent);
        // a new collection gives Anonymous default READ to the items submitted into it
        Content.policy(conn, id, Content.COLLECTION, Content.READ, Db.groupId(conn, "Anonymous"));
        String handle = Content.createHandle(conn, id, Content.COLLECTION, wanted(tn, keepHandles));
        Map<String, String> meta = metadata(conn, id, tn, COLLECTION_FIELDS);
        StringBuilder sb = new StringBuilder("<collection identifier=\"" + esc(handle) + "\">");
        appendFields(sb, meta);
        return sb.append("</collection>").toString();
    }

    private static String wanted(Element tn, boolean keepHandles) {
        String id = tn.getAttribute("identifier");
        return id.isBlank() || !keepHandles ? null : id;
    }

    /** The short description defaults to " ", then each element present exactly once is set. */
    private static Map<String, String> metadata(Connection conn, UUID id, Element tn, String[][] fields)
        throws SQLException {
        Content.setSingle(conn, id, "description", "abstract", " ");
        Map<String, String> out = new LinkedHashMap<>();
        for (String[] f : fields) {
            List<Element> nl = children(tn, f[0]);
            if (nl.size() == 1) {
                Content.setSingle(conn, id, f[1], f[2], nl.get(0).getTextContent().trim());
            }
        }
        for (String[] f : fields) {
            String v = Content.first(conn, id, "dc", f[1], f[2]);
            if (v != null || "name".equals(f[0])) {
                out.put(f[0], v == null ? "" : v);
            }
        }
        return out;
    }

    private static void appendFields(StringBuilder sb, Map<String, String> meta) {
        for (Map.Entry<String, String> e : meta.entrySet()) {
            sb.append('<').append(e.getKey()).append('>').append(esc(e.getValue())).append("</").append(e.getKey())
                .append('>');
        }
    }

    static void export(Connection conn, OutputStream out) throws Exception {
        StringBuilder sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<import_structure>\r\n");
        for (UUID c : ids(conn, "SELECT c.uuid FROM community c WHERE c.uuid NOT IN "
            + "(SELECT child_comm_id FROM community2community) ORDER BY " + title("c.uuid"), null)) {
            exportCommunity(conn, c, sb, "  ");
        }
        sb.append("</import_structure>\r\n");
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static void exportCommunity(Connection conn, UUID c, StringBuilder sb, String ind) throws SQLException {
        sb.append(ind).append("<community identifier=\"").append(esc(Content.handleOf(conn, c))).append("\">\r\n");
        exportFields(conn, c, sb, ind + "  ", COMMUNITY_FIELDS, 5);
        for (UUID s : ids(conn, "SELECT child_comm_id FROM community2community WHERE parent_comm_id = ? ORDER BY "
            + title("child_comm_id"), c)) {
            exportCommunity(conn, s, sb, ind + "  ");
        }
        for (UUID s : ids(conn, "SELECT collection_id FROM community2collection WHERE community_id = ? ORDER BY "
            + title("collection_id"), c)) {
            sb.append(ind).append("  <collection identifier=\"").append(esc(Content.handleOf(conn, s)))
                .append("\">\r\n");
            exportFields(conn, s, sb, ind + "    ", COLLECTION_FIELDS, 6);
            sb.append(ind).append("  </collection>\r\n");
        }
        sb.append(ind).append("</community>\r\n");
    }

    private static void exportFields(Connection conn, UUID id, StringBuilder sb, String ind, String[][] fields, int n)
        throws SQLException {
        for (int i = 0; i < n; i++) {
            String v = Content.first(conn, id, "dc", fields[i][1], fields[i][2]);
            sb.append(ind).append('<').append(fields[i][0]).append('>').append(esc(v == null ? "" : v))
                .append("</").append(fields[i][0]).append(">\r\n");
        }
    }

    private static String title(String col) {
        return "(SELECT v.text_value FROM metadatavalue v JOIN metadatafieldregistry f ON f.metadata_field_id = "
            + "v.metadata_field_id WHERE v.dspace_object_id = " + col + " AND f.element = 'title' AND f.qualifier IS "
            + "NULL LIMIT 1)";
    }

    private static List<UUID> ids(Connection conn, String sql, UUID arg) throws SQLException {
        List<UUID> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            if (arg != null) {
                ps.setObject(1, arg);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add((UUID) rs.getObject(1));
                }
            }
        }
        return out;
    }

    private static void collectIdentified(Element e, List<Element> out) {
        if (e.hasAttribute("identifier")) {
            out.add(e);
        }
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element) {
                collectIdentified((Element) n, out);
            }
        }
    }

    static List<Element> children(Element e, String tag) {
        List<Element> out = new ArrayList<>();
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && ((Element) n).getTagName().equals(tag)) {
                out.add((Element) n);
            }
        }
        return out;
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
