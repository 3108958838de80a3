/*
 * dspace-deploy test look-alike (not DSpace code): the runnable backend jar of DSpace 8+
 * (webapps/server-boot.jar), serving the HTTP surface of release contract section 7 under
 * server.servlet.context-path (/server) on server.address:server.port (default all interfaces, 8080).
 */
package org.dspace.app;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TimeZone;
import java.util.concurrent.Executors;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import lookalike.common.Json;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.Release;
import org.dspace.lookalike.Solr;
import org.dspace.xoai.controller.DSpaceOAIDataProvider;
import org.dspace.app.rest.RestApi;

public final class ServerBootApplication {
    private static final String[] STATUS_ORDER = {"DOWN", "OUT_OF_SERVICE", "UP_WITH_ISSUES", "UP", "UNKNOWN"};
    private static volatile boolean databaseUpdated;

    private final Config config;
    private final String contextPath;
    private final DSpaceOAIDataProvider oai;
    private final RestApi rest;

    private ServerBootApplication(Config config, String contextPath) {
        this.config = config;
        this.contextPath = contextPath;
        this.oai = new DSpaceOAIDataProvider(config);
        this.rest = new RestApi(config, contextPath);
    }

    /** Spring-style lookup: DSpace configuration (highest), command line --key=value, environment, jar. */
    static String springProperty(Config config, String[] args, Properties app, String key) {
        if (config != null && config.has(key)) {
            return config.get(key);
        }
        for (String a : args) {
            if (a.startsWith("--" + key + "=")) {
                return a.substring(key.length() + 3);
            }
        }
        String env = System.getenv(key.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace("-", ""));
        if (env != null) {
            return env;
        }
        String v = app.getProperty(key);
        return v == null ? null : v.trim();
    }

    public static void main(String[] args) throws Exception {
        Properties app = Config.classpathProperties("application.properties");
        Path logDir = BootLogging.logDirectory(args, app); // Spring Boot's logging comes first
        String provided = springProperty(null, args, app, "dspace.dir");
        Config config;
        try {
            config = Config.load(provided);
        } catch (RuntimeException e) {
            System.err.println("APPLICATION FAILED TO START: " + e.getMessage());
            System.exit(1);
            return;
        }
        if (logDir != null) {
            Log.initDir(logDir, "dspace.log");
        } else {
            Log.init(config.home(), "dspace.log");
        }
        String portS = springProperty(config, args, app, "server.port");
        int port = portS == null || portS.isBlank() ? 8080 : Integer.parseInt(portS.trim());
        String address = springProperty(config, args, app, "server.address");
        String ctx = springProperty(config, args, app, "server.servlet.context-path");
        if (ctx == null || ctx.isBlank() || ctx.equals("/")) {
            ctx = "";
        }
        Log.info("Starting ServerBootApplication (dspace-deploy look-alike of DSpace " + Release.version()
            + ") with dspace.dir=" + config.home());
        updateDatabase(config);
        if ("no-listen".equals(Release.get("failure.backend", ""))) {
            // Failure point of a test bundle (docs/lookalike.md, "Failure points"): the webapp
            // hangs in its startup after the migration and never opens its port.
            Log.info("Look-alike failure point no-listen: the webapp never listens");
            Thread.sleep(Long.MAX_VALUE);
        }
        // No row in the webapp table, as the real server: DSpaceWebappListener (which would
        // register it) is wired into no webapp of 8.3..10.0 (DSpace@dspace-9.2:dspace-api/src/
        // main/java/org/dspace/app/util/DSpaceWebappListener.java:20 is its only occurrence).
        WebappScheduler.start(config); // the webapp's own @Scheduled jobs (sitemap.cron, ...)
        initDiscovery(config);

        InetSocketAddress bind = address == null || address.isBlank() ? new InetSocketAddress(port)
            : new InetSocketAddress(InetAddress.getByName(address.trim()), port);
        HttpServer server = HttpServer.create(bind, 100);
        ServerBootApplication appl = new ServerBootApplication(config, ctx);
        server.createContext("/", appl::handle);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.start();
        String msg = "HTTP listener started on " + (address == null ? "0.0.0.0" : address) + ":" + port
            + " with context path '" + ctx + "'";
        Log.info(msg);
        System.out.println(msg);
        System.out.println("Started ServerBootApplication (dspace-deploy look-alike, DSpace " + Release.version()
            + ")");
    }

    /** Context init runs pending migrations; on failure it is retried by the next Context (contract 9.1). */
    static synchronized boolean updateDatabase(Config config) {
        if (databaseUpdated) {
            return true;
        }
        try (Connection conn = Db.connect(config)) {
            int n = Db.migrate(conn, Db.schema(config), false);
            Log.info(n == 0 ? "DSpace database schema is up to date" : "Migrated " + n + " database migration(s)");
            databaseUpdated = true;
        } catch (Exception e) {
            Log.error("Cannot initialize database via Flyway!", e);
        }
        return databaseUpdated;
    }

    /** Discovery's first contact with the search core runs the post-migration reindex (SolrSearchCore.java:102). */
    static void initDiscovery(Config config) {
        if (databaseUpdated && Solr.ping(Solr.core(config, "search"))) {
            org.dspace.discovery.IndexClient.checkReindexDiscovery();
        }
    }

    void handle(HttpExchange ex) throws IOException {
        try {
            String path = ex.getRequestURI().getPath();
            Log.info("Request " + ex.getRequestMethod() + " " + ex.getRequestURI() + " (Host: "
                + ex.getRequestHeaders().getFirst("Host") + ")");
            if (!contextPath.isEmpty()) {
                if (path.equals(contextPath)) {
                    ex.getResponseHeaders().set("Location", contextPath + "/");
                    send(ex, 302, "text/plain", "");
                    return;
                }
                if (!path.startsWith(contextPath + "/")) {
                    error(ex, 404, "Not Found", "No endpoint " + path);
                    return;
                }
                path = path.substring(contextPath.length());
            }
            String oaiPath = "/" + config.get("oai.path", "oai");
            if (path.equals("/")) {
                send(ex, 200, "text/html;charset=UTF-8", halBrowser());
            } else if (path.equals("/api") || path.equals("/api/")) {
                if (!databaseUpdated) {
                    updateDatabase(config);
                }
                send(ex, 200, "application/hal+json;charset=UTF-8", Json.write(rest.withRootLinks(root(ex), ex)));
            } else if (path.equals("/actuator/health")) {
                send(ex, 200, "application/vnd.spring-boot.actuator.v3+json",
                    Json.write(Map.of("status", health(false).get("status"))));
            } else if (path.equals("/actuator/info")) {
                error(ex, 401, "Unauthorized", "Authentication is required to access this resource");
            } else if ((path.equals(oaiPath) || path.startsWith(oaiPath + "/")) && oai.enabled()) {
                String form = ex.getRequestMethod().equals("POST")
                    ? new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8) : null;
                DSpaceOAIDataProvider.Reply r = oai.handle(ex.getRequestURI().getPath(),
                    path.substring(oaiPath.length()), ex.getRequestURI().getRawQuery(), form);
                r.headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
                if (r.error != null) {
                    error(ex, r.status, r.status == 500 ? "Internal Server Error" : "Not Found", r.error);
                } else {
                    send(ex, r.status, r.contentType, r.body);
                }
            } else if (path.startsWith("/" + config.get("sitemap.path", "sitemaps") + "/")) {
                String name = path.substring(path.lastIndexOf('/') + 1);
                Path f = Path.of(config.get("sitemap.dir", config.home().resolve("sitemaps").toString()), name);
                if (name.isEmpty() || name.contains("..") || !Files.isRegularFile(f)) {
                    error(ex, 404, "Not Found", "Sitemap " + name + " not found");
                } else {
                    send(ex, 200, name.endsWith(".html") ? "text/html;charset=UTF-8" : "application/xml",
                        Files.readString(f));
                }
            } else if (rest.handle(ex, path)) {
                return; // answered by org.dspace.app.rest.RestApi
            } else {
                error(ex, 404, "Not Found", "No handler found for " + ex.getRequestMethod() + " " + path);
            }
        } catch (Exception e) {
            Log.error("Request failed", e);
            error(ex, 500, "Internal Server Error", e.getMessage());
        } finally {
            ex.close();
        }
    }

    private String originUrl(HttpExchange ex) {
        String proto = ex.getRequestHeaders().getFirst("X-Forwarded-Proto");
        String host = ex.getRequestHeaders().getFirst("X-Forwarded-Host");
        if (host == null) {
            host = ex.getRequestHeaders().getFirst("Host");
        }
        return (proto == null ? "http" : proto) + "://" + host + ex.getRequestURI().getPath();
    }

    private Map<String, Object> root(HttpExchange ex) {
        String server = config.get("dspace.server.url", "http://localhost:8080/server");
        String ssr = config.get("dspace.server.ssr.url", server);
        String serverUrl = server.equals(ssr) || originUrl(ex).startsWith(server) ? server : ssr;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dspaceUI", config.get("dspace.ui.url"));
        m.put("dspaceName", config.get("dspace.name"));
        m.put("dspaceServer", serverUrl);
        m.put("dspaceVersion", "DSpace " + Release.version());
        if (!Release.get("cris.version", "").isEmpty()) {
            m.put("crisVersion", Release.get("cris.version", ""));
        }
        m.put("type", "root");
        Map<String, Object> links = new LinkedHashMap<>();
        String[][] endpoints = {{"authn", "authn"}, {"authorizations", "authz/authorizations"},
            {"bitstreams", "core/bitstreams"}, {"collections", "core/collections"},
            {"communities", "core/communities"}, {"epersons", "eperson/epersons"}, {"groups", "eperson/groups"},
            {"items", "core/items"}, {"metadatafields", "core/metadatafields"},
            {"metadataschemas", "core/metadataschemas"}, {"scripts", "system/scripts"}, {"sites", "core/sites"}};
        for (String[] e : endpoints) {
            links.put(e[0], Map.of("href", serverUrl + "/api/" + e[1]));
        }
        links.put("self", Map.of("href", serverUrl + "/api"));
        m.put("_links", links);
        return m;
    }

    /** Health as in contract 7.2 (anonymous callers only see "status"). */
    Map<String, Object> health(boolean details) {
        Map<String, Object> comps = new LinkedHashMap<>();
        String db;
        try (Connection conn = Db.connect(config); Statement st = conn.createStatement()) {
            st.execute("SELECT 1");
            if (!databaseUpdated) {
                updateDatabase(config);
            }
            db = databaseUpdated && Db.pending(conn, Db.schema(config)).isEmpty() ? "UP" : "DOWN";
        } catch (Exception e) {
            db = "DOWN";
        }
        comps.put("db", db);
        comps.put("solrSearchCore", Solr.ping(Solr.core(config, "search")) ? "UP" : "DOWN");
        comps.put("solrStatisticsCore", Solr.ping(Solr.core(config, "statistics")) ? "UP" : "DOWN");
        if (config.has("solr.authority.server")) {
            comps.put("solrAuthorityCore", Solr.ping(Solr.core(config, "authority")) ? "UP" : "DOWN");
        }
        if (config.has("oai.solr.url")) {
            comps.put("solrOaiCore", Solr.ping(Solr.core(config, "oai")) ? "UP" : "DOWN");
        }
        if (Release.flavor().equals("cris")) { // DSpace-CRIS checks its own cores too
            String[][] cris = {{"solrAudit", "audit.solr.server"}, {"solrAudit", "solr.audit.server"},
                {"solrDedup", "deduplication.search.server"}, {"solrQAEvent", "qaevents.solr.server"},
                {"solrSuggestion", "suggestion.solr.server"}};
            for (String[] c : cris) {
                if (config.has(c[1])) {
                    comps.put(c[0], Solr.ping(config.get(c[1])) ? "UP" : "DOWN");
                }
            }
        }
        String dbfile = config.get("usage-statistics.dbfile");
        comps.put("geoIp", dbfile != null && !dbfile.isBlank() && Files.isRegularFile(Path.of(dbfile)) ? "UP"
            : "UP_WITH_ISSUES");
        comps.put("seo", "UP");
        if ("health-down".equals(Release.get("failure.backend", ""))) {
            // Failure point of a test bundle (docs/lookalike.md, "Failure points").
            comps.put("lookalikeFailurePoint", "DOWN");
        }
        if ("UP".equals(comps.get("solrSearchCore"))) {
            initDiscovery(config);
        }
        String status = "UNKNOWN";
        int best = STATUS_ORDER.length - 1;
        for (Object v : comps.values()) {
            for (int i = 0; i < STATUS_ORDER.length; i++) {
                if (STATUS_ORDER[i].equals(v) && i < best) {
                    best = i;
                }
            }
        }
        status = STATUS_ORDER[best];
        Log.info("Health " + status + " " + comps);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("status", status);
        if (details) {
            out.put("components", comps);
        }
        return out;
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> m = new LinkedHashMap<>();
        String q = uri.getRawQuery();
        if (q == null) {
            return m;
        }
        for (String p : q.split("&")) {
            int eq = p.indexOf('=');
            String k = java.net.URLDecoder.decode(eq < 0 ? p : p.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : java.net.URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8);
            m.put(k, v);
        }
        return m;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private String halBrowser() {
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>The HAL Browser (for DSpace)</title>"
            + "</head><body><h1>HAL Browser</h1><p>dspace-deploy test look-alike of the DSpace "
            + esc(Release.version()) + " REST API. Entry point: <a href=\"" + contextPath + "/api\">" + contextPath
            + "/api</a></p></body></html>\n";
    }

    /** DSpaceApiExceptionControllerAdvice's error document (one writer: RestApi's). */
    private void error(HttpExchange ex, int code, String err, String message) throws IOException {
        RestApi.error(ex, code, err, message);
    }

    private static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(code, -1);
            return;
        }
        ex.sendResponseHeaders(code, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(b);
            }
        }
    }

}
