/*
 * dspace-deploy test look-alike (not DSpace code): `dspace import` (Simple Archive Format), with the
 * options, files, messages, exit codes and failure modes of DSpace's ItemImportCLI / ItemImport /
 * ItemImportServiceImpl (docs/lookalike.md, "Content tools"; DSpace/DSpace@dspace-9.3
 * dspace-api/src/main/java/org/dspace/app/itemimport/).
 */
package org.dspace.app.itemimport;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.FileWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import javax.xml.parsers.DocumentBuilderFactory;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Content;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Release;
import org.dspace.lookalike.Script;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

public class ItemImportCLI implements Script {
    private String command;
    private boolean isTest;
    private boolean isResume;
    private boolean isQuiet;
    private boolean excludeContent;
    private boolean useWorkflow;
    private String[] collectionArgs;
    private String sourcedir;
    private String mapfile;
    private String zipfilename;
    private boolean remoteUrl;
    private File workDir;

    @Override
    public Opts options() {
        return new Opts()
            .add("a", "add", false, "add items to DSpace")
            .add("r", "replace", false, "replace items in mapfile")
            .add("d", "delete", false, "delete items listed in mapfile")
            .add("s", "source", true, "source of items (directory)")
            .add("z", "zip", true, "name of zip file")
            .add("u", "url", true, "url of zip file")
            .add("c", "collection", true, "destination collection(s) Handle or database ID")
            .add("m", "mapfile", true, "mapfile items in mapfile").required()
            .add("e", "eperson", true, "email of eperson doing importing").required()
            .add("w", "workflow", false, "send submission through collection's workflow")
            .add("n", "notify", false, "if sending submissions through the workflow, send notification emails")
            .add("v", "validate", false, "test run - do not actually import items")
            .add("x", "exclude-bitstreams", false, "do not load or expect content bitstreams")
            .add("p", "template", false, "apply template")
            .add("R", "resume", false, "resume a failed import (add only)")
            .add("q", "quiet", false, "don't display metadata")
            .add("h", "help", false, "help");
    }

    private static void info(String m) {
        System.out.println(m);
        Log.info(m);
    }

    private static void error(String m) {
        System.err.println(m);
        Log.error(m, null);
    }

    /** ItemImport.setup (ItemImport.java:96-150 at dspace-9.3): the last of -a/-r/-d wins. */
    private void setup(Opts o) {
        if (o.has("a")) {
            command = "add";
        }
        if (o.has("r")) {
            command = "replace";
        }
        if (o.has("d")) {
            command = "delete";
        }
        useWorkflow = o.has("w");
        if (o.has("v")) {
            isTest = true;
            info("**Test Run** - not actually importing items.");
        }
        excludeContent = o.has("x");
        if (o.has("c")) {
            collectionArgs = o.all("c").toArray(new String[0]);
        } else {
            info("No collections given. Assuming 'collections' file inside item directory");
        }
        if (o.has("R")) {
            isResume = true;
            info("**Resume import** - attempting to import items not already imported");
        }
        isQuiet = o.has("q");
        sourcedir = o.get("s");
        if (o.has("z")) {
            zipfilename = o.get("z");
        }
        if (o.has("u")) {
            remoteUrl = true;
            zipfilename = o.get("u");
        }
        mapfile = o.get("m");
    }

    /** ItemImportCLI.validate: each refusal is an UnsupportedOperationException (exit 1). */
    private void validate(String eperson) {
        if (isResume && !"add".equals(command)) {
            error("Resume option only works with the --add command (run with -h flag for details)");
            throw new UnsupportedOperationException("Resume option only works with the --add command");
        }
        if (eperson == null) {
            error("An eperson to do the importing must be specified (run with -h flag for details)");
            throw new UnsupportedOperationException("An eperson to do the importing must be specified");
        }
        if (!isResume && "add".equals(command) && new File(mapfile).exists()) {
            error("The mapfile " + mapfile + " already exists. Either delete it or use --resume if attempting to "
                + "resume an aborted import. (run with -h flag for details)");
            throw new UnsupportedOperationException("The mapfile " + mapfile + " already exists");
        }
        if (command == null) {
            error("Must run with either add, replace, or remove (run with -h flag for details)");
            throw new UnsupportedOperationException("Must run with either add, replace, or remove");
        } else if (("add".equals(command) || "replace".equals(command)) && !remoteUrl && sourcedir == null) {
            error("A source directory containing items must be set (run with -h flag for details)");
            throw new UnsupportedOperationException("A source directory containing items must be set");
        }
    }

    @Override
    public int run(Opts o) throws Exception {
        setup(o);
        Instant start = Instant.now();
        Config.get();
        try (Connection conn = Db.context()) {
            conn.setAutoCommit(false);
            validate(o.get("e"));
            UUID user = eperson(conn, o.get("e"));
            List<UUID> collections = null;
            if (!"delete".equals(command) && collectionArgs != null) {
                info("Destination collections:");
                collections = new ArrayList<>();
                for (int i = 0; i < collectionArgs.length; i++) {
                    UUID col = collection(conn, collectionArgs[i]);
                    if (col == null) {
                        throw new IllegalArgumentException("Cannot resolve " + collectionArgs[i] + " to collection");
                    }
                    collections.add(col);
                    info((i == 0 ? "Owning " : "") + "Collection: " + Content.first(conn, col, "dc", "title", null));
                }
            }
            try {
                try {
                    readZip(user);
                    if ("add".equals(command)) {
                        addItems(conn, user, collections);
                    } else if ("replace".equals(command)) {
                        throw new UnsupportedOperationException("--replace is not reproduced by the look-alike");
                    } else {
                        deleteItems(conn);
                    }
                    if (isTest) {
                        conn.rollback();
                    } else {
                        conn.commit();
                    }
                } catch (Exception e) {
                    conn.rollback();
                    throw new Exception("Error committing changes to database: " + e.getMessage()
                        + ", aborting most recent changes", e);
                }
                if (isTest) {
                    info("***End of Test Run***");
                }
            } finally {
                if (workDir != null) {
                    deleteTree(workDir.toPath());
                }
                Instant end = Instant.now();
                long ms = end.toEpochMilli() - start.toEpochMilli();
                // 8.x prints epoch milliseconds (Date.getTime), 9.0+ ISO instants (ItemImport.java:259-264)
                boolean iso = Release.atLeast(9);
                info("Started: " + (iso ? DateTimeFormatter.ISO_INSTANT.format(start) : start.toEpochMilli()));
                info("Ended: " + (iso ? DateTimeFormatter.ISO_INSTANT.format(end) : end.toEpochMilli()));
                info("Elapsed time: " + (ms / 1000) + " secs (" + ms + " msecs)");
            }
        }
        return 0;
    }

    private static UUID eperson(Connection conn, String id) throws Exception {
        UUID person;
        if (id.contains("@")) {
            person = Content.epersonByEmail(conn, id);
        } else {
            UUID u = UUID.fromString(id);
            person = Content.exists(conn, "eperson", u) ? u : null;
        }
        if (person == null) {
            error("EPerson cannot be found: " + id + " (run with -h flag for details)");
            throw new UnsupportedOperationException("EPerson cannot be found: " + id);
        }
        return person;
    }

    /** A handle (has a '/') or a UUID; anything else that is not a collection resolves to null. */
    private static UUID collection(Connection conn, String id) throws Exception {
        if (id.indexOf('/') != -1) {
            Object[] dso = Content.resolve(conn, id);
            return dso != null && (int) dso[1] == Content.COLLECTION ? (UUID) dso[0] : null;
        }
        UUID u = UUID.fromString(id);
        return Content.exists(conn, "collection", u) ? u : null;
    }

    /** -z: the zip is looked for inside the -s directory; -u: fetched; both unpacked into the work dir. */
    private void readZip(UUID user) throws Exception {
        if (zipfilename == null) {
            return;
        }
        Path work = Path.of(Config.get().get("org.dspace.app.batchitemimport.work.dir",
            Config.get().home().resolve("imports").toString()));
        workDir = work.resolve("temp").resolve(user.toString()).toFile();
        InputStream in;
        if (!remoteUrl) {
            File zip = new File(sourcedir + File.separator + zipfilename);
            if (!zip.isFile()) {
                throw new IllegalArgumentException("Error reading file, the file couldn't be found for filename: "
                    + zipfilename);
            }
            in = Files.newInputStream(zip.toPath());
        } else {
            in = new URL(zipfilename).openStream();
        }
        String top = null;
        try (ZipInputStream z = new ZipInputStream(in)) {
            ZipEntry e;
            while ((e = z.getNextEntry()) != null) {
                Path target = workDir.toPath().resolve(e.getName()).normalize();
                if (!target.startsWith(workDir.toPath())) {
                    throw new IOException("Bad zip entry: " + e.getName());
                }
                String[] chunks = e.getName().split("/|\\\\");
                if (chunks.length > 2 && top == null) {
                    top = chunks[0];
                }
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(z, target);
                }
            }
        }
        sourcedir = top == null ? workDir.getPath() : workDir.getPath() + "/" + top;
    }

    private static Map<String, String> readMapFile(String name) throws Exception {
        Map<String, String> out = new HashMap<>();
        for (String line : Files.readAllLines(Path.of(name), StandardCharsets.UTF_8)) {
            String[] t = line.trim().split("\\s+");
            if (t.length < 2 || t[0].isEmpty()) {
                throw new Exception("Bad mapfile line:\n" + line);
            }
            out.put(t[0], t[1]);
        }
        return out;
    }

    /** ItemImportServiceImpl.addItems (:246-335): items in natural order of their directory names; the
     *  map file gets a line per item as it is added, and keeps it when a later item fails and the
     *  whole import is rolled back. */
    private void addItems(Connection conn, UUID user, List<UUID> collections) throws Exception {
        Map<String, String> skip = new HashMap<>();
        PrintWriter mapOut = null;
        try {
            if (!isTest) {
                if (isResume) {
                    skip = readMapFile(mapfile);
                }
                mapOut = new PrintWriter(new FileWriter(mapfile, isResume));
            }
            File d = new File(sourcedir);
            if (!d.isDirectory()) {
                throw new Exception("Error, cannot open source directory " + sourcedir);
            }
            String[] dirs = d.list((dir, n) -> new File(dir, n).isDirectory());
            Arrays.sort(dirs, ItemImportCLI::natural);
            for (int i = 0; i < dirs.length; i++) {
                if (skip.containsKey(dirs[i])) {
                    info("Skipping import of " + dirs[i]);
                    continue;
                }
                List<UUID> clist = collections;
                if (clist == null) {
                    try {
                        clist = collectionsFile(conn, sourcedir + File.separator + dirs[i]);
                        if (clist == null) {
                            error("No collections specified for item " + dirs[i] + ". Skipping.");
                            continue;
                        }
                    } catch (IllegalArgumentException e) {
                        error(e.getMessage() + " Skipping.");
                        continue;
                    }
                }
                addItem(conn, user, clist, sourcedir, dirs[i], mapOut);
                info(i + " " + dirs[i]);
            }
        } finally {
            if (mapOut != null) {
                mapOut.flush();
                mapOut.close();
            }
        }
    }

    /** ComparatorUtils.naturalComparator: plain String order. */
    private static int natural(String a, String b) {
        return a.compareTo(b);
    }

    private List<UUID> collectionsFile(Connection conn, String path) throws Exception {
        File f = new File(path + File.separator + "collections");
        info("Processing collections file: collections");
        if (!f.exists()) {
            System.out.println("No collections file found.");
            Log.warn("No collections file found.");
            return null;
        }
        List<UUID> out = new ArrayList<>();
        for (String line : Files.readAllLines(f.toPath(), StandardCharsets.UTF_8)) {
            UUID col;
            if (line.indexOf('/') != -1) {
                Object[] dso = Content.resolve(conn, line);
                col = dso != null && (int) dso[1] == Content.COLLECTION ? (UUID) dso[0] : null;
            } else {
                UUID u = UUID.fromString(line);
                col = Content.exists(conn, "collection", u) ? u : null;
            }
            if (col == null) {
                throw new IllegalArgumentException("Cannot resolve " + line + " to a collection.");
            }
            out.add(col);
        }
        return out;
    }

    private void addItem(Connection conn, UUID user, List<UUID> collections, String path, String name,
                         PrintWriter mapOut) throws Exception {
        UUID item = null;
        if (!isTest) {
            item = Content.newObject(conn);
            Db.exec(conn, "INSERT INTO item (uuid, in_archive, withdrawn, discoverable, last_modified, "
                + "owning_collection, submitter_id) VALUES (?, false, false, true, now(), NULL, ?)", item, user);
        }
        Path itemPath = new File(path + File.separator + name + File.separator).toPath().normalize();
        if (!itemPath.startsWith(Path.of(path).normalize())) {
            throw new IOException("Illegal item metadata path: '" + itemPath);
        }
        String dir = itemPath + File.separator;
        loadMetadata(conn, item, dir);
        List<String> options = contents(conn, item, dir);
        if (useWorkflow) {
            throw new UnsupportedOperationException("--workflow is not reproduced by the look-alike");
        }
        String handle = handleFile(dir);
        if (!isTest) {
            install(conn, user, item, collections.get(0), handle);
            handle = Content.handleOf(conn, item);
            if (!options.isEmpty()) {
                info("Processing options");
                processOptions(conn, item, options);
            }
            for (int i = 1; i < collections.size(); i++) {
                Db.exec(conn, "INSERT INTO collection2item (collection_id, item_id) VALUES (?, ?) ON CONFLICT DO "
                    + "NOTHING", collections.get(i), item);
            }
        }
        if (mapOut != null) {
            mapOut.println(name + " " + handle);
        }
    }

    /** dublin_core.xml (required: a missing one fails the import) then every metadata_*.xml. */
    private void loadMetadata(Connection conn, UUID item, String dir) throws Exception {
        loadDublinCore(conn, item, dir + "dublin_core.xml");
        File[] extra = new File(dir).listFiles((d, n) -> n.startsWith("metadata_") && n.endsWith(".xml"));
        if (extra != null) {
            Arrays.sort(extra);
            for (File f : extra) {
                loadDublinCore(conn, item, f.getPath());
            }
        }
    }

    private void loadDublinCore(Connection conn, UUID item, String file) throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new File(file));
        Element root = doc.getDocumentElement();
        String schema = root.hasAttribute("schema") ? root.getAttribute("schema") : "dc";
        if (!isQuiet) {
            info("\tLoading dublin core from " + file);
        }
        for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (!(n instanceof Element) || !"dcvalue".equals(((Element) n).getTagName())) {
                continue;
            }
            Element e = (Element) n;
            String value = e.getTextContent() == null ? "" : e.getTextContent().trim();
            String element = e.getAttribute("element");
            String qualifier = e.hasAttribute("qualifier") ? e.getAttribute("qualifier") : null;
            String lang = e.getAttribute("language").isBlank() ? null : e.getAttribute("language").trim();
            if (!isQuiet) {
                info("\tSchema: " + schema + " Element: " + element + " Qualifier: " + qualifier + " Value: "
                    + value);
            }
            if ("none".equals(qualifier) || "".equals(qualifier)) {
                qualifier = null;
            }
            if (!isTest && !value.isEmpty()) {
                Content.addMetadata(conn, item, schema, element, qualifier, lang, value);
            } else if (!Registry.hasSchemaOrField(schema, element, qualifier, true)) {
                error("ERROR: schema '" + schema + "' was not found in the registry.");
            } else if (!Registry.hasSchemaOrField(schema, element, qualifier, false)) {
                error("ERROR: Metadata field: '" + schema + "." + element + "." + qualifier
                    + "' was not found in the registry.");
            }
        }
    }

    /** The `contents` file: one bitstream a line, tab-separated `bundle:`, `permissions:`,
     *  `description:`, `primary:true`; returns the option lines processed after the install. */
    private List<String> contents(Connection conn, UUID item, String dir) throws Exception {
        File f = new File(dir + "contents");
        List<String> options = new ArrayList<>();
        info("\tProcessing contents file: " + f);
        if (!f.exists()) {
            for (String n : new File(dir).list()) {
                if (!"dublin_core.xml".equals(n) && !"handle".equals(n) && !(n.startsWith("metadata_")
                    && n.endsWith(".xml")) && !"collections".equals(n) && !"relationships".equals(n)) {
                    throw new FileNotFoundException("No contents file found");
                }
            }
            info("No contents file found - but only metadata files found. Assuming metadata only.");
            return options;
        }
        try (BufferedReader r = Files.newBufferedReader(f.toPath(), StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.trim().isEmpty()) {
                    continue;
                }
                if (line.trim().startsWith("-r ")) {
                    throw new UnsupportedOperationException("registered bitstreams (-r) are not reproduced by the "
                        + "look-alike");
                }
                int tab = line.indexOf('\t');
                if (tab == -1) {
                    contentEntry(conn, item, dir, line, null, false);
                    info("\tBitstream: " + line);
                    continue;
                }
                String bitstream = line.substring(0, tab);
                String bundle = marker(line, "\tbundle:");
                boolean primary = line.contains("\tprimary:true");
                contentEntry(conn, item, dir, bitstream, bundle == null ? null : bundle.trim(), primary);
                info("\tBitstream: " + bitstream + (bundle != null ? "\tBundle: " + bundle.trim() : "")
                    + (primary ? "\t **Setting as primary bitstream**" : ""));
                String perm = marker(line, "\tpermissions:");
                String desc = marker(line, "\tdescription:");
                if (perm != null || desc != null) {
                    info("Gathering options.");
                    options.add(bitstream + (perm != null ? "\tpermissions:" + perm : "")
                        + (desc != null ? "\tdescription:" + desc : ""));
                }
            }
        }
        return options;
    }

    /** The text after a tab-led marker up to the next tab (null when absent or at the line's start). */
    private static String marker(String line, String m) {
        int i = line.indexOf(m);
        if (i <= 0) {
            return null;
        }
        int end = line.indexOf('\t', i + 1);
        return line.substring(i + m.length(), end == -1 ? line.length() : end);
    }

    private void contentEntry(Connection conn, UUID item, String dir, String file, String bundle, boolean primary)
        throws Exception {
        if (excludeContent) {
            return;
        }
        Path p = Path.of(dir, file).normalize();
        if (!p.startsWith(Path.of(dir).normalize())) {
            throw new IOException("Illegal file path '" + file + "' detected. This file is not in the parent "
                + "directory.");
        }
        if (!Files.isRegularFile(p)) {
            throw new FileNotFoundException(p + " (No such file or directory)");
        }
        String name = bundle != null ? bundle : "license.txt".equals(file) ? "LICENSE" : "ORIGINAL";
        if (isTest) {
            return;
        }
        UUID b = Content.bundle(conn, item, name);
        UUID bs = Content.storeBitstream(conn, b, p, file);
        if (primary) {
            Db.exec(conn, "UPDATE bundle SET primary_bitstream_id = ? WHERE uuid = ?", bs, b);
        }
    }

    private static String handleFile(String dir) throws IOException {
        File f = new File(dir + "handle");
        info("Processing handle file: handle");
        if (!f.exists()) {
            System.out.println("It appears there is no handle file -- generating one");
            return null;
        }
        try (BufferedReader r = Files.newBufferedReader(f.toPath(), StandardCharsets.UTF_8)) {
            String h = r.readLine();
            info("read handle: '" + h + "'");
            return h;
        }
    }

    /** InstallItemServiceImpl.installItem: handle (a given one must be free), dates, URI, provenance,
     *  archive flags, the owning collection, and the collection's default READ policies. */
    private static void install(Connection conn, UUID user, UUID item, UUID owning, String handle) throws Exception {
        if (handle != null) {
            try (PreparedStatement ps = conn.prepareStatement("SELECT resource_id FROM handle WHERE handle = ?")) {
                ps.setString(1, handle);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && rs.getObject(1) != null) {
                        throw new IllegalStateException("Attempted to create a handle which is already in use: "
                            + handle);
                    }
                }
            }
            if (Db.exec(conn, "UPDATE handle SET resource_id = ?, resource_type_id = 2 WHERE handle = ?", item,
                handle) == 0) {
                Content.createHandle(conn, item, Content.ITEM, handle);
            }
        } else {
            Content.createHandle(conn, item, Content.ITEM, null);
        }
        String h = Content.handleOf(conn, item);
        String now = Content.now();
        String email = null;
        try (PreparedStatement ps = conn.prepareStatement("SELECT email FROM eperson WHERE uuid = ?")) {
            ps.setObject(1, user);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    email = rs.getString(1);
                }
            }
        }
        String first = Content.first(conn, user, "eperson", "firstname", null);
        String last = Content.first(conn, user, "eperson", "lastname", null);
        String full = ((first == null ? "" : first) + " " + (last == null ? "" : last)).trim();
        Content.addMetadata(conn, item, "dc", "description", "provenance", "en", "Submitted by "
            + (full.isEmpty() ? email : full) + " (" + email + ") on " + now + "\n" + bitstreamProvenance(conn, item));
        Content.addMetadata(conn, item, "dc", "date", "accessioned", null, now);
        Content.addMetadata(conn, item, "dc", "date", "available", null, now);
        if (Content.first(conn, item, "dc", "date", "issued") == null) {
            Content.addMetadata(conn, item, "dc", "date", "issued", null, now.substring(0, 10));
        }
        String canonical = Config.get().get("handle.canonical.prefix",
            Config.get().get("dspace.ui.url", "http://localhost:4000") + "/handle/");
        Content.addMetadata(conn, item, "dc", "identifier", "uri", null, canonical + h);
        Content.addMetadata(conn, item, "dc", "description", "provenance", "en", "Made available in DSpace on " + now
            + " (GMT). " + bitstreamProvenance(conn, item));
        Db.exec(conn, "UPDATE item SET in_archive = true, owning_collection = ?, last_modified = now() WHERE uuid = ?",
            owning, item);
        Db.exec(conn, "INSERT INTO collection2item (collection_id, item_id) VALUES (?, ?)", owning, item);
        UUID anonymous = Db.groupId(conn, "Anonymous");
        boolean defaultRead;
        try (PreparedStatement ps = conn.prepareStatement("SELECT 1 FROM resourcepolicy WHERE dspace_object = ? "
            + "AND action_id = 0 AND epersongroup_id = ?")) {
            ps.setObject(1, owning);
            ps.setObject(2, anonymous);
            try (ResultSet rs = ps.executeQuery()) {
                defaultRead = rs.next();
            }
        }
        if (defaultRead) {
            Content.policy(conn, item, Content.ITEM, Content.READ, anonymous);
            try (PreparedStatement ps = conn.prepareStatement("SELECT b.bundle_id, bb.bitstream_id FROM item2bundle b "
                + "LEFT JOIN bundle2bitstream bb ON bb.bundle_id = b.bundle_id WHERE b.item_id = ?")) {
                ps.setObject(1, item);
                try (ResultSet rs = ps.executeQuery()) {
                    List<UUID[]> rows = new ArrayList<>();
                    while (rs.next()) {
                        rows.add(new UUID[] {(UUID) rs.getObject(1), (UUID) rs.getObject(2)});
                    }
                    java.util.Set<UUID> bundles = new java.util.HashSet<>();
                    for (UUID[] r : rows) {
                        if (bundles.add(r[0])) {
                            Content.policy(conn, r[0], Content.BUNDLE, Content.READ, anonymous);
                        }
                        if (r[1] != null) {
                            Content.policy(conn, r[1], Content.BITSTREAM, Content.READ, anonymous);
                        }
                    }
                }
            }
        }
    }

    private static String bitstreamProvenance(Connection conn, UUID item) throws Exception {
        StringBuilder sb = new StringBuilder();
        List<String> lines = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT bs.uuid, bs.size_bytes, bs.checksum FROM item2bundle b "
            + "JOIN bundle2bitstream bb ON bb.bundle_id = b.bundle_id JOIN bitstream bs ON bs.uuid = bb.bitstream_id "
            + "WHERE b.item_id = ? ORDER BY bb.bitstream_order")) {
            ps.setObject(1, item);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    lines.add(rs.getObject(1) + "|" + rs.getLong(2) + "|" + rs.getString(3));
                }
            }
        }
        sb.append("No. of bitstreams: ").append(lines.size()).append('\n');
        for (String l : lines) {
            String[] p = l.split("\\|");
            String name = Content.first(conn, UUID.fromString(p[0]), "dc", "title", null);
            sb.append(name).append(": ").append(p[1]).append(" bytes, checksum: ").append(p[2]).append(" (MD5)\n");
        }
        return sb.toString();
    }

    /** Permissions (`-r 'Group'` / `-w 'Group'`) replace a bitstream's policies; an unknown group leaves
     *  the defaults with a message; descriptions go to dc.description. */
    private static void processOptions(Connection conn, UUID item, List<String> options) throws Exception {
        info("Processing options.");
        for (String line : options) {
            info("\tprocessing " + line);
            String name = line.substring(0, line.indexOf('\t'));
            UUID bs = null;
            try (PreparedStatement ps = conn.prepareStatement("SELECT bb.bitstream_id FROM item2bundle b "
                + "JOIN bundle2bitstream bb ON bb.bundle_id = b.bundle_id WHERE b.item_id = ?")) {
                ps.setObject(1, item);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next() && bs == null) {
                        UUID id = (UUID) rs.getObject(1);
                        if (name.equals(Content.first(conn, id, "dc", "title", null))) {
                            bs = id;
                        }
                    }
                }
            }
            if (bs == null) {
                info("\tdefault permissions set for " + name);
                continue;
            }
            String perm = marker(line, "\tpermissions:");
            if (perm != null) {
                int type = perm.indexOf('-');
                int g0 = perm.indexOf('\'', type);
                int g1 = perm.indexOf('\'', g0 + 1);
                if (g0 == -1) {
                    g0 = perm.indexOf(' ', type);
                    g1 = perm.length();
                }
                String group = perm.substring(g0 + 1, g1);
                char flag = Character.toLowerCase(perm.charAt(type + 1));
                int action = flag == 'r' ? Content.READ : flag == 'w' ? Content.WRITE : -1;
                UUID g = Db.groupId(conn, group);
                if (g == null) {
                    info("\t" + group + " not found, permissions set to default");
                } else if (action == -1) {
                    info("\tinvalid permissions flag, permissions set to default");
                } else {
                    info("\tSetting special permissions for " + name);
                    Db.exec(conn, "DELETE FROM resourcepolicy WHERE dspace_object = ?", bs);
                    Content.policy(conn, bs, Content.BITSTREAM, action, g);
                }
            }
            String desc = marker(line, "\tdescription:");
            if (desc != null) {
                info("\tSetting description for " + name);
                Content.setSingle(conn, bs, "description", null, desc.trim());
            }
        }
    }

    /** ItemImportServiceImpl.deleteItems (:695-719): an item already gone is only an error line. */
    private void deleteItems(Connection conn) throws Exception {
        info("Deleting items listed in mapfile: " + mapfile);
        for (Map.Entry<String, String> e : readMapFile(mapfile).entrySet()) {
            String id = e.getValue();
            UUID item = null;
            info("Deleting item " + id);
            if (id.indexOf('/') != -1) {
                Object[] dso = Content.resolve(conn, id);
                item = dso != null && (int) dso[1] == Content.ITEM ? (UUID) dso[0] : null;
                if (item == null) {
                    error("Error - cannot locate item - already deleted?");
                    continue;
                }
            } else {
                item = UUID.fromString(id);
            }
            Content.deleteItem(conn, item);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    /** Registry lookups of the validate (-v) path. */
    static final class Registry {
        private Registry() {
        }

        static boolean hasSchemaOrField(String schema, String element, String qualifier, boolean schemaOnly) {
            if (schemaOnly) {
                return org.dspace.lookalike.Registry.hasSchema(schema);
            }
            return org.dspace.lookalike.Registry.has(schema, element, qualifier);
        }
    }
}
