/*
 * dspace-deploy test look-alike (not DSpace code): "index-discovery" (contract 4.8); talks HTTP
 * to the search core and indexes the communities, collections and items found in the database.
 * As DSpace's SolrServiceImpl at dspace-9.3 (dspace-api/.../discovery/SolrServiceImpl.java:163-165,
 * 364-366, 379-381), a Solr failure while indexing or deleting is only logged: the
 * script still prints "Done with indexing" and completes with exit 0. Items: the "regular" ones,
 * in the archive or withdrawn (ItemDAOImpl.findAllRegularItems, line 95; older versions of
 * items, also indexed there, have no table in the look-alike).
 */
package org.dspace.discovery;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.dspace.lookalike.Config;
import lookalike.common.Json;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Http;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Release;
import org.dspace.lookalike.Script;
import org.dspace.lookalike.Solr;

public class IndexClient implements Script {
    @Override
    public Opts options() {
        Opts o = new Opts()
            .add("r", "remove", true, "remove an Item, Collection or Community from index based on its handle")
            .add("i", "index", true, "add or update an Item, Collection or Community based on its handle or uuid")
            .add("c", "clean", false, "clean existing index removing any documents that no longer exist in the db")
            .add("d", "delete", false, "delete all records from existing index")
            .add("b", "build", false, "(re)build index, wiping out current one if it exists")
            .add("s", "spellchecker", false, "Rebuild the spellchecker, can be combined with -b and -f.")
            .add("f", "force", false, "if updating existing index, force each handle to be reindexed even if "
                + "uptodate")
            .add("h", "help", false, "print this help message");
        if (Release.atLeast(8)) {
            o.add("t", "type", true, "reindex only specific type of (re)indexable objects");
        }
        return o;
    }

    /**
     * The action, in the order of IndexClientOptions.getIndexClientOption (dspace-9.3:
     * IndexClientOptions.java:45-76): -r, -c, -d, -b, -o, -s, -i, else update. Plain
     * index-discovery only adds and updates (UPDATE, line 74): documents of deleted objects stay
     * in the index until -c removes them; -c only cleans.
     */
    @Override
    public int run(Opts o) throws Exception {
        Config c = Config.get();
        String url = Solr.core(c, "search");
        if (o.has("r")) {
            System.out.println("Removing " + o.get("r") + " from Index");
            logged(() -> Solr.update(url, "{\"delete\":{\"query\":\"handle:\\\"" + o.get("r") + "\\\"\"}}"),
                "Error removing from the index");
            System.out.println("Done with indexing");
            return 0;
        }
        if (o.has("c")) {
            System.out.println("Cleaning Index");
            logged(() -> clean(url), "Error cleaning discovery index");
            System.out.println("Done with indexing");
            return 0;
        }
        if (o.has("d")) {
            System.out.println("Deleting Index");
            logged(() -> Solr.deleteAll(url), "Error cleaning discovery index");
            System.out.println("Done with indexing");
            return 0;
        }
        if (o.has("b")) {
            System.out.println("(Re)building index from scratch.");
            logged(() -> Solr.deleteAll(url), "Error cleaning discovery index");
        } else {
            System.out.println("Updating Index");
        }
        indexAll(url, o.has("t") ? o.get("t") : null);
        Path flag = c.home().resolve("solr/search/conf/reindex.flag");
        Files.deleteIfExists(flag);
        if (o.has("s")) {
            System.out.println("Rebuilding spell checker.");
        }
        System.out.println("Done with indexing");
        return 0;
    }

    /** Index the communities, collections and items of the database (only `type` when set). */
    public static void indexAll(String url, String type) throws Exception {
        List<Map<String, Object>> docs = new ArrayList<>();
        try (Connection conn = Db.context(); Statement st = conn.createStatement()) {
            for (String[] t : TYPES) {
                if (type != null && !type.equalsIgnoreCase(t[1])) {
                    continue;
                }
                try (ResultSet rs = st.executeQuery("SELECT o.uuid, h.handle FROM " + t[0]
                    + " o LEFT JOIN handle h ON h.resource_id = o.uuid" + t[3])) {
                    while (rs.next()) {
                        Map<String, Object> d = new LinkedHashMap<>();
                        d.put("id", t[1] + "-" + rs.getString(1));
                        d.put("search.uniqueid", t[2] + "-" + rs.getString(1));
                        d.put("search.resourcetype", t[1]);
                        d.put("search.resourceid", rs.getString(1));
                        if (rs.getString(2) != null) {
                            d.put("handle", rs.getString(2));
                        }
                        docs.add(d);
                    }
                }
            }
        }
        if (!docs.isEmpty()) {
            logged(() -> Solr.add(url, docs), "Error indexing");
        } else {
            logged(() -> Solr.update(url, "{\"commit\":{}}"), "Error committing");
        }
    }

    /**
     * What DatabaseUtils.checkReindexDiscovery@dspace-9.3 (called when Discovery first reaches the
     * search core, SolrSearchCore.java:102) does: when discovery.autoReindex is on and the reindex flag
     * exists, a background thread deletes the index, rebuilds it and removes the flag.
     */
    public static synchronized void checkReindexDiscovery() {
        if (!Db.getReindexDiscovery()) {
            return;
        }
        String url = Solr.core(Config.get(), "search");
        Thread t = new Thread(() -> {
            synchronized (IndexClient.class) {
                if (!Db.getReindexDiscovery()) {
                    return;
                }
                try {
                    Log.info("Post database migration, reindexing all content in Discovery search and browse engine");
                    Solr.deleteAll(url);
                    indexAll(url, null);
                    Log.info("Reindexing is complete");
                } catch (Exception e) {
                    Log.error("Error attempting to reindex all contents for search/browse", e);
                } finally {
                    Db.setReindexDiscovery(false);
                }
            }
        }, "ReindexerThread");
        t.start();
    }

    /** table, resource type, unique-id prefix, row filter. */
    private static final String[][] TYPES = {{"community", "Community", "4", ""}, {"collection", "Collection", "3", ""},
        {"item", "Item", "2", " WHERE o.in_archive OR o.withdrawn"}};

    private static List<String> resourceIds(String url) throws Exception {
        Http.Response r = Http.get(url + "/select?wt=json&rows=1000000&fl=search.resourceid&q="
            + Http.enc("search.resourceid:*"));
        if (r.status != 200) {
            throw new java.io.IOException("Solr query failed on " + url + ": HTTP " + r.status);
        }
        List<String> ids = new ArrayList<>();
        Map<?, ?> m = (Map<?, ?>) Json.parse(r.body);
        for (Object d : (List<?>) ((Map<?, ?>) m.get("response")).get("docs")) {
            Object id = ((Map<?, ?>) d).get("search.resourceid");
            if (id != null) {
                ids.add(id instanceof List ? String.valueOf(((List<?>) id).get(0)) : String.valueOf(id));
            }
        }
        return ids;
    }

    /** -c: remove the documents whose object no longer exists in the database. */
    private static void clean(String url) throws Exception {
        Set<String> live = new HashSet<>();
        try (Connection conn = Db.context(); Statement st = conn.createStatement()) {
            for (String[] t : TYPES) {
                try (ResultSet rs = st.executeQuery("SELECT uuid FROM " + t[0])) {
                    while (rs.next()) {
                        live.add(rs.getString(1));
                    }
                }
            }
        }
        for (String id : resourceIds(url)) {
            if (!live.contains(id)) {
                Solr.update(url, "{\"delete\":{\"query\":\"search.resourceid:\\\"" + id + "\\\"\"}}");
            }
        }
        Solr.update(url, "{\"commit\":{}}");
    }

    private interface SolrCall {
        void run() throws Exception;
    }

    /** A Solr failure is logged, never raised (see the header). */
    private static void logged(SolrCall call, String what) {
        try {
            call.run();
        } catch (java.io.IOException e) {
            Log.error(what + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
