/*
 * dspace-deploy test look-alike (not DSpace code): "oai" (contract 4.8), with the behaviour of
 * DSpace's XOAI at dspace-9.3 (dspace-oai/src/main/java/org/dspace/xoai/app/XOAI.java; the same
 * at 8.x and 10.0) where a deployment depends on it:
 * - main() catches every Throwable (line 664): a Solr that cannot be reached prints "Solr server
 *   (<oai.solr.url>) is down, turn it on." (getKnownExplanation, line 548), any other failure its
 *   stack trace, and the command exits 0 (ScriptLauncher.java:301) having indexed nothing;
 * - with Solr storage the actions are import and clean-cache (line 607); others print the usage;
 * - import indexes the items that are in the archive or withdrawn (findInArchiveOrWithdrawn...,
 *   lines 265-268), skips items without a handle (line 321), prints "Total: N items" (N counts the
 *   skipped ones too) and clears the response cache only when N > 0 (line 640); -c clears the
 *   index first; without -c an empty index gets a full import, otherwise the items modified after
 *   the newest item.lastmodified in the index (lines 162-172).
 */
package org.dspace.xoai.app;

import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import lookalike.common.Json;
import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Http;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Solr;

public final class XOAI {
    private static final int BATCH = 1000;

    private XOAI() {
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
                int imported = index(c, Solr.core(c, "oai"), o.has("c"));
                if (imported > 0) {
                    clean(c);
                }
            } else {
                clean(c);
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

    private static int index(Config c, String url, boolean clear) throws Exception {
        Instant since = null;
        if (clear) {
            System.out.println("Clearing index");
            Solr.deleteAll(url);
            System.out.println("Index cleared");
            System.out.println("Using full import.");
        } else if (Solr.numFound(url, "*:*") == 0) {
            System.out.println("There are no indexed documents, using full import.");
        } else {
            since = newest(url);
            System.out.println("Incremental import. Searching for documents modified after: " + since);
        }
        if (since == null) {
            System.out.println("Full import");
        }
        String sql = "SELECT i.uuid, h.handle, i.last_modified, i.withdrawn FROM item i LEFT JOIN handle h "
            + "ON h.resource_id = i.uuid WHERE (i.in_archive OR i.withdrawn)"
            + (since == null ? "" : " AND i.last_modified > ?") + " ORDER BY i.uuid";
        int total = 0;
        List<Map<String, Object>> batch = new ArrayList<>();
        try (Connection conn = Db.context(); PreparedStatement st = conn.prepareStatement(sql)) {
            if (since != null) {
                st.setTimestamp(1, Timestamp.from(since));
            }
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    total++;
                    if (rs.getString(2) == null) {
                        Log.warn("Skipped item without handle: " + rs.getString(1));
                    } else {
                        Map<String, Object> d = new LinkedHashMap<>();
                        Timestamp lm = rs.getTimestamp(3);
                        d.put("item.id", rs.getString(1));
                        d.put("item.handle", rs.getString(2));
                        d.put("item.lastmodified", (lm == null ? Instant.now() : lm.toInstant()).toString());
                        d.put("item.deleted", rs.getBoolean(4));
                        batch.add(d);
                    }
                    if (total % BATCH == 0) {
                        System.out.println(total + " items imported so far...");
                        Solr.add(url, batch);
                        batch.clear();
                    }
                }
            }
        }
        System.out.println("Total: " + total + " items");
        if (total > 0 && !batch.isEmpty()) {
            Solr.add(url, batch);
        }
        return total;
    }

    /** The newest item.lastmodified of the index (the real query sorts on it). */
    @SuppressWarnings("unchecked")
    private static Instant newest(String url) throws Exception {
        Http.Response r = Http.get(url + "/select?wt=json&q=*:*&rows=1000000&fl=item.lastmodified");
        if (r.status != 200) {
            throw new java.io.IOException("Solr query failed on " + url + ": HTTP " + r.status);
        }
        Instant best = null;
        Map<String, Object> body = (Map<String, Object>) Json.parse(r.body);
        for (Object d : (List<Object>) ((Map<String, Object>) body.get("response")).get("docs")) {
            Object lm = ((Map<String, Object>) d).get("item.lastmodified");
            if (lm != null) {
                Instant t = Instant.parse(String.valueOf(lm));
                best = best == null || t.isAfter(best) ? t : best;
            }
        }
        return best;
    }

    private static void clean(Config c) throws Exception {
        System.out.println("Purging cached OAI responses.");
        Path dir = Path.of(c.get("oai.cache.dir", c.home().resolve("var/oai").toString()));
        if (Files.isDirectory(dir)) {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> {
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
