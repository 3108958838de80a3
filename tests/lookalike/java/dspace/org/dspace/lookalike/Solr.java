/*
 * dspace-deploy test look-alike (not DSpace code): the Solr core URLs DSpace uses (contract 6.4)
 * and a few HTTP calls against them.
 */
package org.dspace.lookalike;

import lookalike.common.Json;

import java.io.IOException;
import java.util.List;
import java.util.Map;

public final class Solr {
    private Solr() {
    }

    public static String base(Config c) {
        String s = c.get("solr.server", "http://localhost:8983/solr");
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    /** URL of a core, from its module key when set (e.g. discovery.search.server). */
    public static String core(Config c, String core) {
        String key;
        switch (core) {
            case "search": key = "discovery.search.server"; break;
            case "statistics": key = "solr-statistics.server"; break;
            case "oai": key = "oai.solr.url"; break;
            case "authority": key = "solr.authority.server"; break;
            case "qaevent": key = "qaevents.solr.server"; break;
            case "suggestion": key = "suggestion.solr.server"; break;
            case "audit": key = "audit.solr.server"; break;
            default: key = null;
        }
        String v = key == null ? null : c.get(key);
        if (v == null || v.isBlank()) {
            v = base(c) + "/" + c.get("solr.multicorePrefix", "") + core;
        }
        return v;
    }

    public static boolean ping(String coreUrl) {
        try {
            Http.Response r = Http.get(coreUrl + "/admin/ping?wt=json");
            if (r.status != 200) {
                return false;
            }
            Object o = Json.parse(r.body);
            return o instanceof Map && "OK".equals(((Map<?, ?>) o).get("status"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    public static void update(String coreUrl, String jsonBody) throws IOException {
        Http.Response r = Http.post(coreUrl + "/update?commit=true&wt=json", "application/json", jsonBody);
        if (r.status != 200) {
            throw new IOException("Solr update failed on " + coreUrl + ": HTTP " + r.status + " " + r.body);
        }
    }

    public static void add(String coreUrl, List<Map<String, Object>> docs) throws IOException {
        update(coreUrl, Json.write(docs));
    }

    public static void deleteAll(String coreUrl) throws IOException {
        update(coreUrl, "{\"delete\":{\"query\":\"*:*\"}}");
    }

    public static long numFound(String coreUrl, String q) throws IOException {
        Http.Response r = Http.get(coreUrl + "/select?wt=json&rows=0&q=" + Http.enc(q));
        if (r.status != 200) {
            throw new IOException("Solr query failed on " + coreUrl + ": HTTP " + r.status);
        }
        Map<?, ?> m = (Map<?, ?>) Json.parse(r.body);
        return ((Number) ((Map<?, ?>) m.get("response")).get("numFound")).longValue();
    }
}
