/*
 * dspace-deploy test look-alike (not Apache Solr code): a single-node search server that behaves
 * like a standalone Solr for what a DSpace deployment touches: core discovery under the Solr
 * home (directories holding core.properties), <lib> directives resolved against the install dir
 * (and refused on 9.8+ unless -Dsolr.config.lib.enabled=true), core admin STATUS/RELOAD/CREATE/UNLOAD,
 * ping, select, update (JSON, XML, CSV), documents persisted under each core's data dir.
 */
package lookalike.solr;

import lookalike.common.Json;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

public final class SolrServer {
    static final String VERSION = System.getProperty("lookalike.solr.version", "9.8.1");
    static final int MAJOR = Integer.parseInt(VERSION.split("\\.")[0]);
    static final int MINOR = Integer.parseInt(VERSION.split("\\.")[1]);
    static final Pattern ICU = Pattern.compile("class=\"(solr\\.ICU\\w+|org\\.apache\\.lucene\\.analysis\\.icu\\.[\\w.]+)\"");

    final Path home;
    final Path installDir;
    final Path logFile;
    final long started = System.currentTimeMillis();
    final Map<String, Core> cores = Collections.synchronizedMap(new TreeMap<>());
    final Map<String, String> initFailures = Collections.synchronizedMap(new TreeMap<>());

    SolrServer(Path home, Path installDir, Path logDir) {
        this.home = home;
        this.installDir = installDir;
        this.logFile = logDir.resolve("solr.log");
    }

    void log(String level, String msg) {
        try {
            Files.createDirectories(logFile.getParent());
            Files.writeString(logFile, Instant.now() + " " + level + " " + msg + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // ignore
        }
    }

    // ------------------------------------------------------------------ cores

    final class Core {
        final String name;
        final Path instanceDir;
        final Path dataDir;
        final String configName;
        final String schemaName;
        final long startTime = System.currentTimeMillis();
        String uniqueKey = "id";
        final List<Map<String, Object>> docs = new ArrayList<>();
        long version = 1;

        Core(String name, Path instanceDir, Properties props) throws CoreException {
            this.name = name;
            this.instanceDir = instanceDir;
            this.configName = props.getProperty("config", "solrconfig.xml");
            this.schemaName = props.getProperty("schema", "schema.xml");
            Path conf = instanceDir.resolve("conf");
            Path solrconfig = conf.resolve(configName);
            if (!Files.isRegularFile(solrconfig)) {
                throw new CoreException("Could not load conf for core " + name + ": Error loading solr config from "
                    + solrconfig);
            }
            Document cfg = parse(solrconfig, "Error loading solr config from " + solrconfig);
            String lmv = text(cfg.getDocumentElement(), "luceneMatchVersion");
            if (lmv == null || !lmv.matches("\\d+\\.\\d+(\\.\\d+)?")) {
                throw new CoreException("Could not load conf for core " + name
                    + ": Invalid luceneMatchVersion '" + lmv + "'");
            }
            int libJars = loadLibs(cfg);
            Path schemaFile = conf.resolve(schemaName);
            if (!Files.isRegularFile(schemaFile)) {
                schemaFile = conf.resolve("managed-schema" + (MAJOR >= 9 ? ".xml" : ""));
            }
            if (!Files.isRegularFile(schemaFile)) {
                throw new CoreException("Could not load conf for core " + name + ": Can't find resource '"
                    + schemaName + "' in classpath or '" + conf + "'");
            }
            Document schema = parse(schemaFile, "Error loading schema " + schemaFile);
            String uk = text(schema.getDocumentElement(), "uniqueKey");
            if (uk != null && !uk.isBlank()) {
                uniqueKey = uk.trim();
            }
            try {
                String all = Files.readString(solrconfig) + Files.readString(schemaFile);
                Matcher m = ICU.matcher(all);
                if (m.find() && libJars == 0) {
                    throw new CoreException("Could not load conf for core " + name + ": Plugin init failure for "
                        + "[schema.xml] fieldType: Error loading class '" + m.group(1) + "'. Schema file is "
                        + schemaFile);
                }
            } catch (IOException e) {
                throw new CoreException(e.getMessage());
            }
            String dd = props.getProperty("dataDir");
            String cfgDataDir = text(cfg.getDocumentElement(), "dataDir");
            if ((dd == null || dd.isBlank()) && cfgDataDir != null) {
                dd = substitute(cfgDataDir.trim(), instanceDir);
            }
            String dataHome = System.getProperty("solr.data.home");
            if (dd != null && !dd.isBlank()) {
                Path p = Paths.get(dd);
                dataDir = p.isAbsolute() ? p : instanceDir.resolve(p);
            } else if (dataHome != null && !dataHome.isBlank()) {
                dataDir = Paths.get(dataHome).resolve(instanceDir.getFileName()).resolve("data");
            } else {
                dataDir = instanceDir.resolve("data");
            }
            load();
        }

        /** Returns the number of jars added to the core classloader by <lib> directives. */
        int loadLibs(Document cfg) throws CoreException {
            NodeList libs = cfg.getElementsByTagName("lib");
            if (libs.getLength() == 0) {
                return 0;
            }
            boolean enabled = MAJOR < 9 || (MAJOR == 9 && MINOR < 8)
                || Boolean.parseBoolean(System.getProperty("solr.config.lib.enabled", "false"));
            if (!enabled) {
                log("WARN", "Core " + name + ": configuration uses <lib> directives, which are disabled. "
                    + "Start Solr with -Dsolr.config.lib.enabled=true to enable them. Ignoring "
                    + libs.getLength() + " <lib> directive(s).");
                return 0;
            }
            int jars = 0;
            for (int i = 0; i < libs.getLength(); i++) {
                Element lib = (Element) libs.item(i);
                String dir = lib.getAttribute("dir");
                String path = lib.getAttribute("path");
                if (!path.isEmpty()) {
                    Path p = instanceDir.resolve(substitute(path, instanceDir));
                    if (Files.isRegularFile(p)) {
                        jars++;
                    }
                    continue;
                }
                Path d = instanceDir.resolve(substitute(dir, instanceDir)).normalize();
                String regex = lib.getAttribute("regex");
                if (!Files.isDirectory(d)) {
                    log("WARN", "Core " + name + ": Can't find (or read) directory to add to classloader: " + dir
                        + " (resolved as: " + d + ").");
                    continue;
                }
                try (var s = Files.list(d)) {
                    for (Path f : (Iterable<Path>) s::iterator) {
                        String n = f.getFileName().toString();
                        if (regex.isEmpty() ? n.endsWith(".jar") : n.matches(regex)) {
                            jars++;
                        }
                    }
                } catch (IOException e) {
                    throw new CoreException(e.getMessage());
                }
            }
            return jars;
        }

        String substitute(String v, Path base) {
            Matcher m = Pattern.compile("\\$\\{([^}:]+)(?::([^}]*))?}").matcher(v);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                String key = m.group(1);
                String val = System.getProperty(key);
                if (val == null && key.equals("solr.install.dir")) {
                    val = installDir.toString();
                }
                if (val == null) {
                    val = m.group(2) == null ? "" : m.group(2);
                }
                m.appendReplacement(sb, Matcher.quoteReplacement(val));
            }
            m.appendTail(sb);
            return sb.toString();
        }

        Path store() {
            return dataDir.resolve("index").resolve("lookalike-docs.json");
        }

        @SuppressWarnings("unchecked")
        void load() throws CoreException {
            try {
                Files.createDirectories(dataDir.resolve("index"));
                Files.createDirectories(dataDir.resolve("tlog"));
                Path f = store();
                if (Files.isRegularFile(f)) {
                    Object o = Json.parse(Files.readString(f, StandardCharsets.UTF_8));
                    for (Object d : (List<Object>) o) {
                        docs.add((Map<String, Object>) d);
                    }
                }
            } catch (IOException | RuntimeException e) {
                throw new CoreException("Error opening new searcher: " + e.getMessage());
            }
        }

        synchronized void persist() throws IOException {
            Path tmp = store().resolveSibling("lookalike-docs.json.tmp");
            Files.writeString(tmp, Json.write(docs), StandardCharsets.UTF_8);
            Files.move(tmp, store(), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }

        synchronized void add(Map<String, Object> doc) {
            Object key = doc.get(uniqueKey);
            if (key == null) {
                key = UUID.randomUUID().toString();
                doc.put(uniqueKey, key);
            }
            final Object k = key;
            docs.removeIf(d -> String.valueOf(d.get(uniqueKey)).equals(String.valueOf(k)));
            doc.put("_version_", version++);
            docs.add(doc);
        }

        synchronized void deleteByQuery(String q) {
            docs.removeIf(d -> matches(d, q));
        }

        synchronized void deleteById(String id) {
            docs.removeIf(d -> String.valueOf(d.get(uniqueKey)).equals(id));
        }

        synchronized List<Map<String, Object>> query(String q, List<String> fqs) {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Map<String, Object> d : docs) {
                boolean ok = matches(d, q);
                for (String fq : fqs) {
                    ok = ok && matches(d, fq);
                }
                if (ok) {
                    out.add(d);
                }
            }
            return out;
        }

        Map<String, Object> status(boolean indexInfo) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("instanceDir", instanceDir.toString());
            m.put("dataDir", dataDir.toString() + "/");
            m.put("config", configName);
            m.put("schema", schemaName);
            m.put("startTime", Instant.ofEpochMilli(startTime).toString());
            m.put("uptime", System.currentTimeMillis() - startTime);
            if (indexInfo) {
                Map<String, Object> idx = new LinkedHashMap<>();
                int n;
                synchronized (this) {
                    n = docs.size();
                }
                long size = 0;
                try {
                    size = Files.isRegularFile(store()) ? Files.size(store()) : 0;
                } catch (IOException e) {
                    // ignore
                }
                idx.put("numDocs", n);
                idx.put("maxDoc", n);
                idx.put("deletedDocs", 0);
                idx.put("version", version);
                idx.put("segmentCount", n == 0 ? 0 : 1);
                idx.put("current", true);
                idx.put("hasDeletions", false);
                idx.put("directory", "org.apache.lucene.store.NRTCachingDirectory:" + dataDir.resolve("index"));
                idx.put("segmentsFile", "segments_1");
                idx.put("segmentsFileSizeInBytes", 69);
                idx.put("userData", new LinkedHashMap<>());
                idx.put("sizeInBytes", size);
                idx.put("size", size + " bytes");
                m.put("index", idx);
            }
            return m;
        }
    }

    static final class CoreException extends Exception {
        private static final long serialVersionUID = 1L;

        CoreException(String m) {
            super(m);
        }
    }

    static Document parse(Path f, String err) throws CoreException {
        try {
            DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
            dbf.setXIncludeAware(false);
            dbf.setExpandEntityReferences(false);
            return dbf.newDocumentBuilder().parse(f.toFile());
        } catch (Exception e) {
            throw new CoreException(err + ": " + e.getMessage());
        }
    }

    static String text(Element root, String tag) {
        NodeList nl = root.getElementsByTagName(tag);
        if (nl.getLength() == 0) {
            return null;
        }
        return nl.item(0).getTextContent();
    }

    /** Very small query language: *:*, field:value, field:"value", field:*, field:[a TO b], AND between terms. */
    static boolean matches(Map<String, Object> d, String q) {
        if (q == null || q.isBlank() || q.trim().equals("*:*") || q.trim().equals("*")) {
            return true;
        }
        String s = q.trim();
        if (s.startsWith("{!")) {
            s = s.substring(s.indexOf('}') + 1).trim();
            if (s.isEmpty() || s.equals("*:*")) {
                return true;
            }
        }
        List<String> terms = new ArrayList<>();
        Matcher m = Pattern.compile("([^\\s:]+):(\"[^\"]*\"|\\[[^\\]]*\\]|\\S+)").matcher(s);
        while (m.find()) {
            terms.add(m.group(0));
        }
        if (terms.isEmpty()) {
            for (Object v : d.values()) {
                if (String.valueOf(v).contains(s)) {
                    return true;
                }
            }
            return false;
        }
        for (String t : terms) {
            int c = t.indexOf(':');
            String field = t.substring(0, c);
            String val = t.substring(c + 1);
            boolean neg = field.startsWith("-");
            if (neg) {
                field = field.substring(1);
            }
            boolean ok = termMatches(d.get(field), val);
            if (ok == neg) {
                return false;
            }
        }
        return true;
    }

    static boolean termMatches(Object fieldValue, String val) {
        if (fieldValue == null) {
            return false;
        }
        List<String> values = new ArrayList<>();
        if (fieldValue instanceof List) {
            for (Object o : (List<?>) fieldValue) {
                values.add(String.valueOf(o));
            }
        } else {
            values.add(String.valueOf(fieldValue));
        }
        if (val.equals("*")) {
            return true;
        }
        if (val.startsWith("[") && val.endsWith("]")) {
            String[] r = val.substring(1, val.length() - 1).split("\\s+TO\\s+");
            for (String v : values) {
                boolean lo = r[0].equals("*") || v.compareTo(r[0]) >= 0;
                boolean hi = r.length < 2 || r[1].equals("*") || r[1].startsWith("NOW") || v.compareTo(r[1]) <= 0;
                if (lo && hi) {
                    return true;
                }
            }
            return false;
        }
        if (val.startsWith("\"") && val.endsWith("\"")) {
            val = val.substring(1, val.length() - 1);
        }
        val = val.replace("\\", "");
        for (String v : values) {
            if (v.equals(val)) {
                return true;
            }
        }
        return false;
    }

    void discover() throws IOException {
        if (!Files.isDirectory(home)) {
            return;
        }
        List<Path> found = new ArrayList<>();
        Files.walkFileTree(home, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                if (Files.isRegularFile(dir.resolve("core.properties"))) {
                    found.add(dir);
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }
        });
        for (Path dir : found) {
            loadCore(dir);
        }
    }

    String loadCore(Path dir) {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve("core.properties"))) {
            p.load(in);
        } catch (IOException e) {
            initFailures.put(dir.getFileName().toString(), "org.apache.solr.common.SolrException:"
                + e.getMessage());
            return dir.getFileName().toString();
        }
        String name = p.getProperty("name", dir.getFileName().toString());
        try {
            cores.put(name, new Core(name, dir, p));
            initFailures.remove(name);
            log("INFO", "Loaded core " + name + " from " + dir);
        } catch (CoreException e) {
            cores.remove(name);
            String msg = "org.apache.solr.common.SolrException:org.apache.solr.common.SolrException: "
                + e.getMessage();
            initFailures.put(name, msg);
            log("ERROR", "Error creating core [" + name + "]: " + e.getMessage());
        }
        return name;
    }

    // ------------------------------------------------------------------ HTTP

    void handle(HttpExchange ex) throws IOException {
        long t0 = System.currentTimeMillis();
        try {
            String path = ex.getRequestURI().getPath();
            Map<String, List<String>> params = params(ex);
            if (path.equals("/") || path.equals("/solr")) {
                ex.getResponseHeaders().set("Location", "/solr/");
                send(ex, 302, "text/plain", "");
                return;
            }
            if (!path.startsWith("/solr/")) {
                send(ex, 404, "text/html", "<html><body><h2>HTTP ERROR 404 Not Found</h2></body></html>");
                return;
            }
            String rest = path.substring("/solr/".length());
            if (rest.isEmpty() || rest.equals("index.html")) {
                send(ex, 200, "text/html;charset=utf-8", "<html><head><title>Solr Admin</title></head><body>"
                    + "<h1>Solr Admin</h1><p>dspace-deploy test look-alike of Solr " + VERSION + ".</p></body></html>");
                return;
            }
            if (rest.startsWith("admin/cores")) {
                coreAdmin(ex, params, t0);
                return;
            }
            if (rest.startsWith("admin/info/system")) {
                Map<String, Object> m = header(0, t0);
                m.put("mode", "std");
                m.put("solr_home", home.toString());
                m.put("core_root", home.toString());
                Map<String, Object> lucene = new LinkedHashMap<>();
                lucene.put("solr-spec-version", VERSION);
                lucene.put("solr-impl-version", VERSION + " dspace-deploy-lookalike");
                lucene.put("lucene-spec-version", VERSION);
                m.put("lucene", lucene);
                Map<String, Object> jvm = new LinkedHashMap<>();
                jvm.put("version", System.getProperty("java.version"));
                jvm.put("name", System.getProperty("java.vm.name"));
                Map<String, Object> mem = new LinkedHashMap<>();
                mem.put("max", Runtime.getRuntime().maxMemory());
                jvm.put("memory", mem);
                m.put("jvm", jvm);
                json(ex, 200, m);
                return;
            }
            int slash = rest.indexOf('/');
            String coreName = slash < 0 ? rest : rest.substring(0, slash);
            String handler = slash < 0 ? "" : rest.substring(slash + 1);
            Core core = cores.get(coreName);
            if (core == null) {
                String failure = initFailures.get(coreName);
                if (failure != null) {
                    error(ex, 500, "SolrCore '" + coreName + "' is not available due to init failure: "
                        + failure.substring(failure.lastIndexOf("SolrException: ") + 15), t0);
                } else {
                    send(ex, 404, "text/html;charset=iso-8859-1", "<html><head><title>Error 404 Not Found</title>"
                        + "</head><body><h2>HTTP ERROR 404 Not Found</h2><table><tr><th>URI:</th><td>" + path
                        + "</td></tr></table></body></html>");
                }
                return;
            }
            switch (handler) {
                case "admin/ping": {
                    Map<String, Object> m = header(0, t0);
                    Map<String, Object> rh = cast(m.get("responseHeader"));
                    Map<String, Object> p = new LinkedHashMap<>();
                    p.put("q", "{!lucene}*:*");
                    p.put("distrib", "false");
                    p.put("df", "_text_");
                    p.put("rows", "10");
                    p.put("echoParams", "all");
                    rh.put("params", p);
                    m.put("status", "OK");
                    json(ex, 200, m);
                    return;
                }
                case "select":
                case "query":
                    select(ex, core, params, t0);
                    return;
                case "get": {
                    String id = first(params, "id", "");
                    Map<String, Object> m = new LinkedHashMap<>();
                    Map<String, Object> doc = null;
                    synchronized (core) {
                        for (Map<String, Object> d : core.docs) {
                            if (String.valueOf(d.get(core.uniqueKey)).equals(id)) {
                                doc = d;
                            }
                        }
                    }
                    m.put("doc", doc);
                    json(ex, 200, m);
                    return;
                }
                case "update":
                case "update/json":
                case "update/json/docs":
                case "update/csv":
                case "update/xml":
                    update(ex, core, handler, params, t0);
                    return;
                default:
                    send(ex, 404, "text/html", "<html><body><h2>HTTP ERROR 404 Not Found</h2></body></html>");
            }
        } catch (Exception e) {
            log("ERROR", "Request failed: " + e);
            error(ex, 500, String.valueOf(e.getMessage()), t0);
        } finally {
            ex.close();
        }
    }

    void coreAdmin(HttpExchange ex, Map<String, List<String>> params, long t0) throws IOException {
        String action = first(params, "action", "STATUS").toUpperCase(java.util.Locale.ROOT);
        String core = first(params, "core", null);
        Map<String, Object> m = header(0, t0);
        switch (action) {
            case "STATUS": {
                boolean indexInfo = !"false".equals(first(params, "indexInfo", "true"));
                Map<String, Object> failures = new LinkedHashMap<>();
                Map<String, Object> status = new LinkedHashMap<>();
                synchronized (cores) {
                    for (Map.Entry<String, String> e : initFailures.entrySet()) {
                        if (core == null || core.equals(e.getKey())) {
                            failures.put(e.getKey(), e.getValue());
                        }
                    }
                    if (core == null) {
                        for (Core c : cores.values()) {
                            status.put(c.name, c.status(indexInfo));
                        }
                    } else {
                        Core c = cores.get(core);
                        status.put(core, c == null ? new LinkedHashMap<>() : c.status(indexInfo));
                    }
                }
                m.put("initFailures", failures);
                m.put("status", status);
                json(ex, 200, m);
                return;
            }
            case "RELOAD": {
                Core c = cores.get(core);
                if (c == null) {
                    error(ex, 400, "No such core: " + core, t0);
                    return;
                }
                loadCore(c.instanceDir);
                if (!cores.containsKey(core)) {
                    error(ex, 500, "Unable to reload core [" + core + "]", t0);
                    return;
                }
                json(ex, 200, m);
                return;
            }
            case "UNLOAD": {
                if (cores.remove(core) == null) {
                    error(ex, 400, "Cannot unload non-existent core [" + core + "]", t0);
                    return;
                }
                json(ex, 200, m);
                return;
            }
            case "CREATE": {
                String name = first(params, "name", null);
                if (name == null) {
                    error(ex, 400, "Missing parameter [name]", t0);
                    return;
                }
                if (cores.containsKey(name)) {
                    error(ex, 500, "Core with name '" + name + "' already exists.", t0);
                    return;
                }
                Path dir = home.resolve(first(params, "instanceDir", name));
                if (!Files.isDirectory(dir.resolve("conf"))) {
                    error(ex, 400, "Error CREATEing SolrCore '" + name + "': Unable to create core [" + name
                        + "] Caused by: Can't find resource 'solrconfig.xml' in classpath or '" + dir.resolve("conf")
                        + "'", t0);
                    return;
                }
                Path props = dir.resolve("core.properties");
                if (!Files.exists(props)) {
                    Files.writeString(props, "name=" + name + "\n");
                }
                loadCore(dir);
                if (!cores.containsKey(name)) {
                    error(ex, 400, "Error CREATEing SolrCore '" + name + "': " + initFailures.get(name), t0);
                    return;
                }
                m.put("core", name);
                json(ex, 200, m);
                return;
            }
            default:
                error(ex, 400, "Unsupported operation: " + action, t0);
        }
    }

    void select(HttpExchange ex, Core core, Map<String, List<String>> params, long t0) throws IOException {
        String q = first(params, "q", "*:*");
        List<String> fqs = params.getOrDefault("fq", List.of());
        int start = Integer.parseInt(first(params, "start", "0"));
        int rows = Integer.parseInt(first(params, "rows", "10"));
        List<Map<String, Object>> found = core.query(q, fqs);
        List<Map<String, Object>> page = new ArrayList<>();
        for (int i = start; i < Math.min(found.size(), (long) start + rows); i++) {
            page.add(found.get(i));
        }
        String wt = first(params, "wt", "json");
        if (wt.equals("csv")) {
            StringBuilder sb = new StringBuilder();
            List<String> fields = new ArrayList<>();
            for (Map<String, Object> d : page) {
                for (String k : d.keySet()) {
                    if (!fields.contains(k)) {
                        fields.add(k);
                    }
                }
            }
            sb.append(String.join(",", fields)).append('\n');
            for (Map<String, Object> d : page) {
                List<String> cells = new ArrayList<>();
                for (String f : fields) {
                    Object v = d.get(f);
                    String s = v == null ? "" : v instanceof List ? String.join(",", strings((List<?>) v))
                        : String.valueOf(v);
                    if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
                        s = "\"" + s.replace("\"", "\"\"") + "\"";
                    }
                    cells.add(s);
                }
                sb.append(String.join(",", cells)).append('\n');
            }
            send(ex, 200, "text/plain;charset=utf-8", sb.toString());
            return;
        }
        Map<String, Object> m = header(0, t0);
        Map<String, Object> resp = new LinkedHashMap<>();
        resp.put("numFound", found.size());
        resp.put("start", start);
        resp.put("numFoundExact", true);
        resp.put("docs", page);
        m.put("response", resp);
        json(ex, 200, m);
    }

    static List<String> strings(List<?> l) {
        List<String> out = new ArrayList<>();
        for (Object o : l) {
            out.add(String.valueOf(o));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    void update(HttpExchange ex, Core core, String handler, Map<String, List<String>> params, long t0)
        throws IOException {
        String ct = String.valueOf(ex.getRequestHeaders().getFirst("Content-Type")).toLowerCase(java.util.Locale.ROOT);
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String trimmed = body.trim();
        try {
            if (handler.equals("update/csv") || ct.contains("csv")) {
                for (Map<String, Object> d : Csv.parse(body)) {
                    core.add(d);
                }
            } else if (handler.equals("update/xml") || ct.contains("xml") || trimmed.startsWith("<")) {
                updateXml(core, trimmed);
            } else if (!trimmed.isEmpty()) {
                Object o = Json.parse(trimmed);
                if (o instanceof List) {
                    for (Object d : (List<Object>) o) {
                        core.add(new LinkedHashMap<>((Map<String, Object>) d));
                    }
                } else if (o instanceof Map) {
                    Map<String, Object> cmd = (Map<String, Object>) o;
                    if (handler.equals("update/json/docs")) {
                        core.add(new LinkedHashMap<>(cmd));
                    }
                    for (Map.Entry<String, Object> e : cmd.entrySet()) {
                        if (handler.equals("update/json/docs")) {
                            break;
                        }
                        if (e.getKey().equals("add")) {
                            Object a = e.getValue();
                            Map<String, Object> am = (Map<String, Object>) a;
                            Object doc = am.containsKey("doc") ? am.get("doc") : am;
                            core.add(new LinkedHashMap<>((Map<String, Object>) doc));
                        } else if (e.getKey().equals("delete")) {
                            Object dv = e.getValue();
                            if (dv instanceof Map) {
                                Map<String, Object> dm = (Map<String, Object>) dv;
                                if (dm.containsKey("query")) {
                                    core.deleteByQuery(String.valueOf(dm.get("query")));
                                }
                                if (dm.containsKey("id")) {
                                    core.deleteById(String.valueOf(dm.get("id")));
                                }
                            } else if (dv instanceof List) {
                                for (Object id : (List<Object>) dv) {
                                    core.deleteById(String.valueOf(id));
                                }
                            } else {
                                core.deleteById(String.valueOf(dv));
                            }
                        }
                    }
                }
            }
            core.persist();
        } catch (RuntimeException e) {
            error(ex, 400, "Error parsing update: " + e.getMessage(), t0);
            return;
        }
        json(ex, 200, header(0, t0));
    }

    void updateXml(Core core, String body) {
        try {
            Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new java.io.ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)));
            NodeList docs = d.getElementsByTagName("doc");
            for (int i = 0; i < docs.getLength(); i++) {
                Map<String, Object> doc = new LinkedHashMap<>();
                NodeList fields = ((Element) docs.item(i)).getElementsByTagName("field");
                for (int j = 0; j < fields.getLength(); j++) {
                    Element f = (Element) fields.item(j);
                    doc.merge(f.getAttribute("name"), f.getTextContent(), (a, b) -> {
                        List<Object> l = a instanceof List ? new ArrayList<>((List<?>) a) : new ArrayList<>(List.of(a));
                        l.add(b);
                        return l;
                    });
                }
                core.add(doc);
            }
            NodeList dels = d.getElementsByTagName("delete");
            for (int i = 0; i < dels.getLength(); i++) {
                for (Node n = dels.item(i).getFirstChild(); n != null; n = n.getNextSibling()) {
                    if (n instanceof Element && ((Element) n).getTagName().equals("query")) {
                        core.deleteByQuery(n.getTextContent());
                    } else if (n instanceof Element && ((Element) n).getTagName().equals("id")) {
                        core.deleteById(n.getTextContent());
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> cast(Object o) {
        return (Map<String, Object>) o;
    }

    Map<String, Object> header(int status, long t0) {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> rh = new LinkedHashMap<>();
        rh.put("status", status);
        rh.put("QTime", System.currentTimeMillis() - t0);
        m.put("responseHeader", rh);
        return m;
    }

    void error(HttpExchange ex, int code, String msg, long t0) throws IOException {
        Map<String, Object> m = header(code, t0);
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("metadata", List.of("error-class", "org.apache.solr.common.SolrException",
            "root-error-class", "org.apache.solr.common.SolrException"));
        err.put("msg", msg);
        err.put("code", code);
        m.put("error", err);
        json(ex, code, m);
    }

    static Map<String, List<String>> params(HttpExchange ex) throws IOException {
        Map<String, List<String>> m = new LinkedHashMap<>();
        parseQuery(ex.getRequestURI().getRawQuery(), m);
        String ct = ex.getRequestHeaders().getFirst("Content-Type");
        if ("POST".equals(ex.getRequestMethod()) && ct != null
            && ct.startsWith("application/x-www-form-urlencoded")) {
            parseQuery(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8), m);
        }
        return m;
    }

    static void parseQuery(String q, Map<String, List<String>> m) {
        if (q == null || q.isEmpty()) {
            return;
        }
        for (String p : q.split("&")) {
            int eq = p.indexOf('=');
            String k = java.net.URLDecoder.decode(eq < 0 ? p : p.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : java.net.URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8);
            m.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
    }

    static String first(Map<String, List<String>> p, String k, String def) {
        List<String> v = p.get(k);
        return v == null || v.isEmpty() ? def : v.get(0);
    }

    static void json(HttpExchange ex, int code, Object o) throws IOException {
        send(ex, code, "application/json;charset=utf-8", Json.write(o) + "\n");
    }

    static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        if (b.length == 0 || "HEAD".equals(ex.getRequestMethod())) {
            ex.sendResponseHeaders(code, -1);
            return;
        }
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }

    public static void main(String[] args) throws Exception {
        String homeS = System.getProperty("solr.solr.home", System.getProperty("solr.home"));
        String installS = System.getProperty("solr.install.dir", ".");
        int port = Integer.parseInt(System.getProperty("jetty.port", System.getProperty("solr.port.listen", "8983")));
        String host = MAJOR >= 9 ? System.getProperty("solr.jetty.host", System.getProperty("jetty.host", "127.0.0.1"))
            : System.getProperty("jetty.host", "0.0.0.0");
        String logDir = System.getProperty("solr.log.dir", Paths.get(installS, "server", "logs").toString());
        if (homeS == null) {
            System.err.println("solr.solr.home is not set");
            System.exit(1);
        }
        Path home = Paths.get(homeS).toAbsolutePath().normalize();
        if (!Files.isRegularFile(home.resolve("solr.xml"))) {
            System.err.println("solr.xml does not exist in " + home + " cannot start Solr");
            System.exit(1);
        }
        SolrServer s = new SolrServer(home, Paths.get(installS).toAbsolutePath().normalize(), Paths.get(logDir));
        s.log("INFO", "Starting dspace-deploy look-alike of Solr " + VERSION + " with solr.solr.home=" + home);
        s.discover();
        HttpServer hs = HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), port), 100);
        hs.createContext("/", s::handle);
        hs.setExecutor(Executors.newFixedThreadPool(8));
        hs.start();
        s.log("INFO", "Started on " + host + ":" + port + "; cores " + s.cores.keySet() + "; init failures "
            + s.initFailures.keySet());
        System.out.println("Solr (dspace-deploy look-alike) " + VERSION + " listening on " + host + ":" + port);
    }
}
