/*
 * dspace-deploy test look-alike (not DSpace code): "oai" (contract 4.8), with the behaviour of
 * DSpace's XOAI at dspace-9.3 (dspace-oai/src/main/java/org/dspace/xoai/app/XOAI.java; the same
 * at 8.x and 10.0) where a deployment depends on it:
 * - main() catches every Throwable (line 664): a Solr that cannot be reached prints "Solr server
 *   (<oai.solr.url>) is down, turn it on." (getKnownExplanation, line 548), any other failure its
 *   stack trace, and the command exits 0 (ScriptLauncher.java:301) having indexed what it had
 *   sent so far;
 * - with Solr storage the actions are import and clean-cache (line 607); others print the usage;
 * - import stores for each item the whole document of XOAI.index(Item) (lines 399-516), which
 *   org.dspace.lookalike.OaiIndex builds; -c clears the index first; without -c an empty index
 *   gets a full import, otherwise an incremental one from the newest item.lastmodified of the
 *   index (lines 153-183);
 * - a full import walks the items in the archive or withdrawn that are discoverable, then those
 *   that are not (lines 259-273; ItemDAOImpl.findAll: ORDER BY id); an incremental one the same
 *   two lists for items modified after that date, then the indexed items whose
 *   item.willChangeStatus is set and that were modified before it (lines 185-257);
 * - each list is sent in batches of oai.import.batch.size (1000), skips items without a handle
 *   (line 321) and prints "Total: N items" (N counts the skipped ones too, lines 312-362); the
 *   response cache is cleared only when the lists' totals add up to more than 0 (line 640).
 */
package org.dspace.xoai.app;

import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import lookalike.common.Json;
import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Http;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.OaiIndex;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Solr;

public final class XOAI {
    private final Config config;
    private final String url;
    private final Connection conn;
    private final boolean verbose;
    private final int batchSize;
    /** What the index holds before this run: item.id -> item.public (checkIfIndexed, checkIfVisibleInOAI). */
    private final Map<UUID, Boolean> indexed = new HashMap<>();

    private XOAI(Config config, Connection conn, boolean verbose) {
        this.config = config;
        this.url = Solr.core(config, "oai");
        this.conn = conn;
        this.verbose = verbose;
        int size = 1000;
        try {
            size = Integer.parseInt(config.get("oai.import.batch.size", "1000").trim());
        } catch (NumberFormatException e) {
            // getIntProperty: the default
        }
        this.batchSize = size;
    }

    public static void main(String[] argv) {
        Opts o = new Opts()
            .add("c", "clear", false, "Clear index before indexing")
            .add("v", "verbose", false, "Verbose output")
            .add("h", "help", false, "Shows some help")
            .add("n", "number", true, "FOR DEVELOPMENT MUST DELETE");
        Config c = null;
        try {
            c = Config.get();
            o.parse(argv);
            String action = o.rest().isEmpty() ? null : o.rest().get(0);
            boolean run = "import".equals(action) || "clean-cache".equals(action);
            if (o.has("h") || !run) {
                usage();
                return;
            }
            System.out.println("OAI 2.0 manager action started");
            long t0 = System.currentTimeMillis();
            if (action.equals("import")) {
                int imported;
                try (Connection conn = Db.context()) {
                    imported = new XOAI(c, conn, o.has("v")).index(o.has("c"));
                }
                if (imported > 0) {
                    cleanCache(c);
                }
            } else {
                cleanCache(c);
            }
            System.out.println("OAI 2.0 manager action ended. It took "
                + ((System.currentTimeMillis() - t0) / 1000) + " seconds.");
        } catch (Throwable ex) {
            if (!searchForReason(ex, c)) {
                ex.printStackTrace();
            }
            Log.error(String.valueOf(ex.getMessage()), ex);
        }
    }

    private static boolean searchForReason(Throwable t, Config c) {
        for (Throwable x = t; x != null; x = x.getCause()) {
            if (x instanceof ConnectException) {
                System.err.println("Solr server (" + (c == null ? "" : c.get("oai.solr.url", ""))
                    + ") is down, turn it on.");
                return true;
            }
        }
        return false;
    }

    private int index(boolean clear) throws Exception {
        if (clear) {
            System.out.println("Clearing index");
            Solr.deleteAll(url);
            System.out.println("Index cleared");
            System.out.println("Using full import.");
            return indexAll();
        }
        List<Map<String, Object>> stored = storedDocuments();
        if (stored.isEmpty()) {
            System.out.println("There are no indexed documents, using full import.");
            return indexAll();
        }
        return indexSince(stored);
    }

    private int indexAll() throws Exception {
        System.out.println("Full import");
        return index(items(true, null)) + index(items(false, null));
    }

    /** The incremental import: from the newest item.lastmodified of the index. */
    private int indexSince(List<Map<String, Object>> stored) throws Exception {
        remember(stored);
        Instant last = null;
        for (Map<String, Object> d : stored) {
            Object lm = d.get("item.lastmodified");
            if (lm != null) {
                Instant t = Instant.parse(String.valueOf(lm));
                last = last == null || t.isAfter(last) ? t : last;
            }
        }
        if (last == null) {
            // ((Date) results.get(0).getFieldValue("item.lastmodified")).toInstant()
            throw new NullPointerException("No document of " + url + " has an item.lastmodified");
        }
        System.out.println("Incremental import. Searching for documents modified after: " + last);
        int total = index(items(true, last)) + index(items(false, last));
        return total + index(possiblyChangedBefore(stored, last));
    }

    /** findInArchiveOrWithdrawn[Non]DiscoverableModifiedSince: item ids in id order. */
    private List<UUID> items(boolean discoverable, Instant since) throws SQLException {
        String sql = "SELECT uuid FROM item WHERE (in_archive OR withdrawn) AND discoverable = ?"
            + (since == null ? "" : " AND last_modified > ?") + " ORDER BY uuid";
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            ps.setBoolean(1, discoverable);
            if (since != null) {
                ps.setTimestamp(2, Timestamp.from(since));
            }
            List<UUID> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add((UUID) rs.getObject(1));
                }
            }
            return out;
        }
    }

    /**
     * getItemsWithPossibleChangesBefore: the indexed items whose visibility an embargo may change
     * (item.willChangeStatus, by item.handle) that still exist and were modified before `last`.
     */
    private List<UUID> possiblyChangedBefore(List<Map<String, Object>> stored, Instant last) throws SQLException {
        List<Map<String, Object>> changing = new ArrayList<>();
        for (Map<String, Object> d : stored) {
            if (Boolean.parseBoolean(String.valueOf(d.get("item.willChangeStatus")))) {
                changing.add(d);
            }
        }
        changing.sort(Comparator.comparing(d -> String.valueOf(d.get("item.handle"))));
        List<UUID> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT last_modified FROM item WHERE uuid = ?")) {
            for (Map<String, Object> d : changing) {
                UUID id = UUID.fromString(String.valueOf(d.get("item.id")));
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        continue;
                    }
                    Timestamp t = rs.getTimestamp(1);
                    if (t == null) {
                        Log.warn("Skipping item with id " + id);
                    } else if (t.toInstant().isBefore(last)) {
                        out.add(id);
                    }
                }
            }
        }
        return out;
    }

    /** index(Iterator): one list of items, in batches; returns how many items it went through. */
    private int index(List<UUID> items) throws Exception {
        int i = 0;
        List<Map<String, Object>> list = new ArrayList<>();
        for (int from = 0; from < items.size(); from += batchSize) {
            List<UUID> batch = items.subList(from, Math.min(items.size(), from + batchSize));
            Map<UUID, Map<String, Object>> docs = OaiIndex.documents(conn, config, batch, indexed);
            for (UUID id : batch) {
                Map<String, Object> doc = docs.get(id);
                if (doc == null) {
                    Log.warn("Skipped item without handle: " + id);
                } else {
                    if (verbose) {
                        System.out.println(String.format("Item %s with handle %s is about to be indexed", id,
                            doc.get("item.handle")));
                    }
                    list.add(doc);
                    if (verbose) {
                        System.out.println(String.format("Item %s with handle %s indexed", id, doc.get("item.handle")));
                    }
                }
                i++;
                if (i % 1000 == 0 && batchSize != 1000) {
                    System.out.println(i + " items imported so far...");
                }
                if (i % batchSize == 0) {
                    System.out.println(i + " items imported so far...");
                    Solr.add(url, list);
                    list.clear();
                }
            }
        }
        System.out.println("Total: " + i + " items");
        if (i > 0 && !list.isEmpty()) {
            Solr.add(url, list);
        }
        return i;
    }

    /** Every document of the oai core (the real import asks Solr item by item and for the newest date). */
    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> storedDocuments() throws Exception {
        Http.Response r = Http.get(url + "/select?wt=json&q=*:*&rows=2147483647");
        if (r.status != 200) {
            throw new java.io.IOException("Solr query failed on " + url + ": HTTP " + r.status);
        }
        Map<String, Object> body = (Map<String, Object>) Json.parse(r.body);
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object d : (List<Object>) ((Map<String, Object>) body.get("response")).get("docs")) {
            out.add((Map<String, Object>) d);
        }
        return out;
    }

    /** checkIfIndexed / checkIfVisibleInOAI for the items of this run, from the index before it. */
    private void remember(List<Map<String, Object>> stored) {
        for (Map<String, Object> d : stored) {
            try {
                Object pub = d.get("item.public");
                indexed.put(UUID.fromString(String.valueOf(d.get("item.id"))),
                    pub == null ? null : Boolean.parseBoolean(String.valueOf(pub)));
            } catch (IllegalArgumentException e) {
                // not an item id: no item is found by it
            }
        }
    }

    private static void cleanCache(Config c) throws Exception {
        System.out.println("Purging cached OAI responses.");
        Path dir = Path.of(c.get("oai.cache.dir", c.home().resolve("var/oai").toString()));
        if (Files.isDirectory(dir)) {
            try (var s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> {
                    try {
                        Files.delete(p);
                    } catch (Exception e) {
                        // ignore
                    }
                });
            }
        }
    }

    private static void usage() {
        System.out.println("OAI Manager Script");
        System.out.println("Syntax: oai <action> [parameters]");
        System.out.println("> Possible actions:");
        System.out.println("     import - To import DSpace items into OAI index and cache system");
        System.out.println("     clean-cache - Cleans the OAI cached responses");
        System.out.println("> Parameters:");
        System.out.println("     -c Clear index (import only)");
        System.out.println("     -v Verbose output");
        System.out.println("     -h Shows this text");
    }
}
