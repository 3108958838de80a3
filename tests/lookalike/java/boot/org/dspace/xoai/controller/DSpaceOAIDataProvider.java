/*
 * dspace-deploy test look-alike (not DSpace code): the OAI-PMH endpoint of the backend under
 * /server/${oai.path} (DSpace/DSpace@dspace-9.3: dspace-oai/.../xoai/controller/DSpaceOAIDataProvider.java
 * and .../services/impl/cache/DSpaceXOAICacheService.java): one URL per context of xoai.xml, every
 * answer kept in the response cache ${oai.cache.dir}/requests/<base64 of the request> (served with a
 * fresh responseDate until `oai import` or `oai clean-cache` empties it), HTTP 400 with an index
 * page for an unknown context, HTTP 500 when XOAI cannot write the answer.
 */
package org.dspace.xoai.controller;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.OaiIndex;
import org.dspace.xoai.lookalike.Contexts;
import org.dspace.xoai.lookalike.DataProvider;
import org.dspace.xoai.lookalike.Repository;

public final class DSpaceOAIDataProvider {
    private static final String STYLESHEET = "static/style.xsl";
    private static final String OAI_NS = "http://www.openarchives.org/OAI/2.0/";
    private static final String HEAD_ATTRS = "xmlns=\"" + OAI_NS + "\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        + "xsi:schemaLocation=\"" + OAI_NS + " http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd\"";

    private final Config config;
    private final Repository repository;

    public DSpaceOAIDataProvider(Config config) {
        this.config = config;
        this.repository = new Repository(config);
    }

    /** What the servlet sends: a JSON error (Spring's) when `error` is set, otherwise `body`. */
    public static final class Reply {
        public final int status;
        public final String contentType;
        public final String body;
        public final String error;
        public final Map<String, String> headers = new LinkedHashMap<>();

        Reply(int status, String contentType, String body, String error) {
            this.status = status;
            this.contentType = contentType;
            this.body = body;
            this.error = error;
        }
    }

    /** @ConditionalOnProperty("oai.enabled"): present and not "false". */
    public boolean enabled() {
        String v = config.get("oai.enabled");
        return v != null && !v.trim().equalsIgnoreCase("false");
    }

    /**
     * @param uri   the request path as the client sent it
     * @param rest  the path after /${oai.path}
     * @param query the raw query string (may be null)
     * @param form  the raw application/x-www-form-urlencoded body of a POST (may be null)
     */
    public Reply handle(String uri, String rest, String query, String form) {
        if (rest.isEmpty()) {
            Reply r = new Reply(302, "text/plain", "", null);
            r.headers.put("Location", uri + "/");
            return r;
        }
        String name = rest.substring(1);
        if (name.contains("/")) {
            return new Reply(404, null, null, "No static resource " + name + ".");
        }
        Contexts.Context context = Contexts.get(name);
        if (context == null) {
            // InvalidContextException: the index page of the OAI webapp, HTTP 400
            return new Reply(400, "text/html;charset=UTF-8", indexPage(), null);
        }
        Path xoaiXml = Path.of(config.get("oai.config.dir", config.home().resolve("config/crosswalks/oai").toString()),
            "xoai.xml");
        if (!Files.isRegularFile(xoaiXml)) {
            return new Reply(500, null, null,
                "OAI 2.0 wasn't correctly initialized, please check the log for previous errors");
        }
        Map<String, List<String>> params = new HashMap<>();
        parse(query, params);
        parse(form, params);
        String baseUrl = config.get("oai.url", config.get("dspace.server.url") + "/" + config.get("oai.path", "oai"))
            + "/" + context.baseUrl();
        DataProvider provider = new DataProvider(config, repository, context, baseUrl);
        String remainder;
        try {
            if (cacheActive()) {
                Path file = cacheFile(context.baseUrl() + requestId(params));
                if (!Files.exists(file)) {
                    Files.createDirectories(file.getParent());
                    Files.writeString(file, provider.handle(params));
                }
                remainder = Files.readString(file);
            } else {
                remainder = provider.handle(params);
            }
        } catch (DataProvider.WritingException | IOException e) {
            Log.error("OAI: cannot write the response", e);
            return new Reply(500, null, null, e.getMessage());
        }
        String head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><?xml-stylesheet type=\"text/xsl\" href=\"" + STYLESHEET
            + "\"?><OAI-PMH " + HEAD_ATTRS + "><responseDate>"
            + java.time.format.DateTimeFormatter.ISO_INSTANT.format(
                java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS))
            + "</responseDate>";
        Reply r = new Reply(200, "text/xml;charset=UTF-8", head + remainder, null);
        r.headers.put("Vary", "Accept");
        return r;
    }

    /** BasicConfiguration: oai.cache.enabled picks the file cache, whose isActive() reads "oai.cache". */
    private boolean cacheActive() {
        return config.getBool("oai.cache.enabled", true) && config.getBool("oai.cache", true);
    }

    private Path cacheFile(String id) {
        String dir = config.get("oai.cache.dir", config.home().resolve("var/oai").toString());
        return Path.of(dir + "/requests/" + Base64.getEncoder().encodeToString(id.getBytes(StandardCharsets.UTF_8)));
    }

    /** OAIRequestParameters.requestID(): the cache key. */
    static String requestId(Map<String, List<String>> params) {
        String pre = "";
        if (!params.containsKey("verb")) {
            pre = "badverb##";
        } else {
            for (String k : params.keySet()) {
                if (!List.of("verb", "from", "until", "set", "identifier", "metadataPrefix", "resumptionToken")
                    .contains(k)) {
                    pre = "extra##";
                    break;
                }
            }
        }
        StringBuilder id = new StringBuilder(pre);
        for (String k : new String[] {"verb", "metadataPrefix", "identifier", "resumptionToken", "set", "from",
            "until"}) {
            List<String> v = params.get(k);
            id.append(v == null || v.isEmpty() ? "null" : v.size() > 1 ? v.get(0) + "#" + v.size() : v.get(0));
        }
        return id.toString();
    }

    private static void parse(String raw, Map<String, List<String>> into) {
        if (raw == null || raw.isEmpty()) {
            return;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            into.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
    }

    private String indexPage() {
        StringBuilder h = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
            + "DSpace OAI-PMH Data Provider</title></head><body><h1>OAI-PMH Data Provider</h1>"
            + "<p>dspace-deploy test look-alike. Contexts:</p><ul>");
        for (Contexts.Context c : Contexts.all()) {
            h.append("<li><a href=\"").append(c.baseUrl()).append("\">").append(OaiIndex.esc(c.name()))
                .append("</a>: ").append(OaiIndex.esc(c.description())).append("</li>");
        }
        return h.append("</ul></body></html>\n").toString();
    }
}
