/*
 * dspace-deploy test look-alike (not DSpace code): "oai" (contract 4.8). Exit code is always 0,
 * errors are printed, as in the real command.
 */
package org.dspace.xoai.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Solr;

public final class XOAI {
    private XOAI() {
    }

    public static void main(String[] argv) {
        Opts o = new Opts()
            .add("c", "clear", false, "Clear index before indexing")
            .add("v", "verbose", false, "Verbose output")
            .add("h", "help", false, "Shows some help");
        long t0 = System.currentTimeMillis();
        try {
            o.parse(argv);
            if (o.has("h") || o.rest().isEmpty()) {
                usage();
                return;
            }
            Config c = Config.get();
            String action = o.rest().get(0);
            System.out.println("OAI 2.0 manager action started");
            if (action.equals("import")) {
                String url = Solr.core(c, "oai");
                if (o.has("c")) {
                    System.out.println("Clearing index");
                    Solr.deleteAll(url);
                    System.out.println("Index cleared");
                    System.out.println("Using full import.");
                    System.out.println("Full import");
                } else {
                    System.out.println("Incremental import");
                }
                List<Map<String, Object>> docs = new ArrayList<>();
                try (Connection conn = Db.context(); Statement st = conn.createStatement();
                     ResultSet rs = st.executeQuery("SELECT i.uuid, h.handle FROM item i LEFT JOIN handle h "
                         + "ON h.resource_id = i.uuid WHERE i.in_archive")) {
                    while (rs.next()) {
                        Map<String, Object> d = new LinkedHashMap<>();
                        d.put("item.id", rs.getString(1));
                        d.put("item.handle", rs.getString(2));
                        docs.add(d);
                    }
                }
                if (!docs.isEmpty()) {
                    Solr.add(url, docs);
                }
                System.out.println("Total: " + docs.size() + " items");
                clean(c);
            } else if (action.equals("clean-cache")) {
                clean(c);
            } else if (action.equals("compile-items") || action.equals("erase-compiled-items")) {
                System.out.println("Action " + action + " done");
            } else {
                usage();
            }
            System.out.println("OAI 2.0 manager action ended. It took "
                + ((System.currentTimeMillis() - t0) / 1000) + " seconds.");
        } catch (Exception e) {
            // the real XOAI prints the exception and still exits 0
            e.printStackTrace();
        }
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
