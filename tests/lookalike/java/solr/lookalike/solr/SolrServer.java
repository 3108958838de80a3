/*
 * dspace-deploy test look-alike (not Apache Solr code): a single-node search server that behaves
 * like a standalone Solr for what a DSpace deployment touches: core discovery under the Solr
 * home (directories holding core.properties), <lib> directives resolved against the install dir
 * (and refused on 9.8+ unless -Dsolr.config.lib.enabled=true), core admin STATUS/RELOAD/CREATE/UNLOAD,
 * ping, select (with stats and range facets on dates), update (JSON, XML, CSV; required fields of
 * the schema enforced), the schema's uniqueKey, the replication handler's backup/restore (inside
 * the paths Solr allows), documents persisted under each core's data dir.
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
        /** Fields the schema marks required="true", with their default value (null: none). */
        final Map<String, String> required = new LinkedHashMap<>();
        /** The core's update chain fills in the uniqueKey (UUIDUpdateProcessorFactory). */
        boolean generatesKey;
        final List<Map<String, Object>> docs = new ArrayList<>();
        long version = 1;
        /** The replication handler's state (command=details / restorestatus). */
        volatile Map<String, Object> backupDetails;
        volatile Map<String, Object> restoreStatus;

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
            List<String> libJars = loadLibs(cfg);
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
            NodeList fields = schema.getElementsByTagName("field");
            for (int i = 0; i < fields.getLength(); i++) {
                Element f = (Element) fields.item(i);
                if ("true".equals(f.getAttribute("required"))) {
                    required.put(f.getAttribute("name"), f.hasAttribute("default") ? f.getAttribute("default") : null);
                }
            }
            try {
                String all = Files.readString(solrconfig) + Files.readString(schemaFile);
                generatesKey = Files.readString(solrconfig).contains("UUIDUpdateProcessorFactory");
                Matcher m = ICU.matcher(all);
                if (m.find() && !icuLoadable(libJars)) {
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

        /**
         * The ICU analysis classes load when the core's classloader has ICU4J and the Lucene ICU module
         * of this Solr's Lucene: lucene-analysis-icu (Lucene 9, Solr 9) or lucene-analyzers-icu (Lucene 8,
         * Solr 8); the other major's jar does not provide them.
         */
        static boolean icuLoadable(List<String> jars) {
            String lucene = MAJOR >= 9 ? "lucene-analysis-icu-" : "lucene-analyzers-icu-";
            return jars.stream().anyMatch(j -> j.startsWith("icu4j-"))
                && jars.stream().anyMatch(j -> j.startsWith(lucene));
        }

        /** The jar file names added to the core classloader by <lib> directives. */
        List<String> loadLibs(Document cfg) throws CoreException {
            List<String> jars = new ArrayList<>();
            NodeList libs = cfg.getElementsByTagName("lib");
            if (libs.getLength() == 0) {
                return jars;
            }
            boolean enabled = MAJOR < 9 || (MAJOR == 9 && MINOR < 8)
                || Boolean.parseBoolean(System.getProperty("solr.config.lib.enabled", "false"));
            if (!enabled) {
                log("WARN", "Core " + name + ": configuration uses <lib> directives, which are disabled. "
                    + "Start Solr with -Dsolr.config.lib.enabled=true to enable them. Ignoring "
                    + libs.getLength() + " <lib> directive(s).");
                return jars;
            }
            for (int i = 0; i < libs.getLength(); i++) {
                Element lib = (Element) libs.item(i);
                String dir = lib.getAttribute("dir");
                String path = lib.getAttribute("path");
                if (!path.isEmpty()) {
                    Path p = instanceDir.resolve(substitute(path, instanceDir));
                    if (Files.isRegularFile(p)) {
                        jars.add(p.getFileName().toString());
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
                            jars.add(n);
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
                // Solr's DocumentBuilder/AddUpdateCommand: only an update chain with a
                // UUIDUpdateProcessorFactory (DSpace's statistics and audit cores) fills it in.
                if (!generatesKey) {
                    throw new BadRequest("Document is missing mandatory uniqueKey field: " + uniqueKey);
                }
                key = UUID.randomUUID().toString();
                doc.put(uniqueKey, key);
            }
            for (Map.Entry<String, String> f : required.entrySet()) {
                Object v = doc.get(f.getKey());
                if (v == null || (v instanceof String && ((String) v).isEmpty())) {
                    if (f.getValue() == null) {
                        throw new BadRequest("[doc=" + key + "] missing required field: " + f.getKey());
                    }
                    doc.put(f.getKey(), f.getValue());
                }
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

    /** An update Solr refuses with HTTP 400 and this message. */
    static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String m) {
            super(m);
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

    /** Very small query language: *:*, field:value, field:"value", field:*, field:[a TO b] (also
     *  {a TO b}, [a TO b}, bounds quoted or not, dates with date math), field:(a OR b),
     *  -field:..., +field:... (required), AND between terms; a bare term beside field terms (the
     *  `*` of `* +time:[...]`) is an optional clause, which Lucene only scores. */
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
        Matcher m = Pattern.compile("([^\\s:]+):(\"[^\"]*\"|\\([^)]*\\)|[\\[{][^\\]}]*[\\]}]|\\S+)").matcher(s);
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
            if (neg || field.startsWith("+")) {
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
        if (val.startsWith("(") && val.endsWith(")")) {
            for (String alternative : val.substring(1, val.length() - 1).trim().split("\\s+OR\\s+")) {
                if (termMatches(fieldValue, alternative.trim())) {
                    return true;
                }
            }
            return false;
        }
        if ((val.startsWith("[") || val.startsWith("{")) && (val.endsWith("]") || val.endsWith("}"))) {
            boolean loIncl = val.startsWith("[");
            boolean hiIncl = val.endsWith("]");
            String[] r = val.substring(1, val.length() - 1).trim().split("\\s+TO\\s+");
            String lo = unquote(r[0]);
            String hi = r.length < 2 ? "*" : unquote(r[1]);
            Instant now = Instant.now();
            Instant loDate = lo.equals("*") ? null : DateMath.parse(lo, now);
            Instant hiDate = hi.equals("*") ? null : DateMath.parse(hi, now);
            for (String v : values) {
                Instant vDate = DateMath.parse(v, now);
                int cLo;
                int cHi;
                if (vDate != null && (lo.equals("*") || loDate != null) && (hi.equals("*") || hiDate != null)) {
                    cLo = lo.equals("*") ? 1 : vDate.compareTo(loDate);
                    cHi = hi.equals("*") ? -1 : vDate.compareTo(hiDate);
                } else {
                    cLo = lo.equals("*") ? 1 : v.compareTo(lo);
                    cHi = hi.equals("*") ? -1 : v.compareTo(hi);
                }
                if ((loIncl ? cLo >= 0 : cLo > 0) && (hiIncl ? cHi <= 0 : cHi < 0)) {
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

    static String unquote(String v) {
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    /** sort=field asc|desc[, ...]: dates by instant, numbers by value, else text; documents
     *  without the field last (Solr's sortMissingLast of DSpace's schemas). */
    static void sortDocs(List<Map<String, Object>> docs, String sort) {
        if (sort == null || sort.isBlank()) {
            return;
        }
        java.util.Comparator<Map<String, Object>> order = null;
        for (String clause : sort.split(",")) {
            String[] parts = clause.trim().split("\\s+");
            if (parts.length != 2 || !(parts[1].equals("asc") || parts[1].equals("desc"))) {
                throw new BadRequest("Can't determine a Sort Order (asc or desc) in sort spec '" + clause.trim() + "'");
            }
            String field = parts[0];
            boolean desc = parts[1].equals("desc");
            java.util.Comparator<Map<String, Object>> c = (a, b) -> {
                Object x = a.get(field);
                Object y = b.get(field);
                if (x == null || y == null) {
                    return x == null ? (y == null ? 0 : 1) : -1;
                }
                int cmp = compareValues(String.valueOf(x), String.valueOf(y));
                return desc ? -cmp : cmp;
            };
            order = order == null ? c : order.thenComparing(c);
        }
        docs.sort(order);
    }

    static int compareValues(String x, String y) {
        Instant now = Instant.now();
        Instant dx = DateMath.parse(x, now);
        Instant dy = DateMath.parse(y, now);
        if (dx != null && dy != null) {
            return dx.compareTo(dy);
        }
        try {
            return Double.compare(Double.parseDouble(x), Double.parseDouble(y));
        } catch (NumberFormatException e) {
            return x.compareTo(y);
        }
    }

    /** fl: the listed fields of a document (score, which the look-alike does not compute,
     *  and * keep everything). */
    static Map<String, Object> project(Map<String, Object> doc, String fl) {
        if (fl == null || fl.isBlank()) {
            return doc;
        }
        List<String> fields = new ArrayList<>(List.of(fl.trim().split("[,\\s]+")));
        if (fields.contains("*")) {
            return doc;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (String f : fields) {
            if (doc.containsKey(f)) {
                out.put(f, doc.get(f));
            }
        }
        return out;
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
            // Solr serves /select/ as /select (pysolr, hence LA Referencia's collector, asks so).
            while (handler.endsWith("/")) {
                handler = handler.substring(0, handler.length() - 1);
            }
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
                case "schema/uniquekey": {
                    Map<String, Object> m = header(0, t0);
                    m.put("uniqueKey", core.uniqueKey);
                    json(ex, 200, m);
                    return;
                }
                case "replication":
                    replication(ex, core, params, t0);
                    return;
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
        } catch (BadRequest e) {
            error(ex, 400, e.getMessage(), t0);
        } catch (Exception e) {
            log("ERROR", "Request failed: " + e);
            error(ex, 500, String.valueOf(e.getMessage()), t0);
        } finally {
            ex.close();
        }
    }

    // ------------------------------------------------------------------ replication handler

    /**
     * CoreContainer.assertPathAllowed (Solr 8.6+, SOLR-14561): an absolute path must lie under the
     * Solr home (also the core root here), the data home, or a path of -Dsolr.allowPaths ("*" or
     * "_ALL_": any); relative paths pass.
     */
    void assertPathAllowed(Path p) {
        Path path = p.normalize();
        if (path.startsWith("..")) {
            throw new BadRequest("Path " + p + " disallowed due to path traversal..");
        }
        if (!path.isAbsolute()) {
            return;
        }
        List<Path> allowed = new ArrayList<>(List.of(home));
        String dataHome = System.getProperty("solr.data.home");
        if (dataHome != null && !dataHome.isBlank()) {
            allowed.add(Paths.get(dataHome).toAbsolutePath().normalize());
        }
        for (String e : System.getProperty("solr.allowPaths", "").split(",")) {
            String entry = e.trim();
            if (entry.equals("*") || entry.equals("_ALL_")) {
                return;
            }
            if (!entry.isEmpty()) {
                allowed.add(Paths.get(entry).toAbsolutePath().normalize());
            }
        }
        for (Path a : allowed) {
            if (path.startsWith(a)) {
                return;
            }
        }
        throw new BadRequest("Path " + path + " must be relative to SOLR_HOME, SOLR_DATA_HOME coreRootDirectory. "
            + "Set system property 'solr.allowPaths' to add other allowed paths.");
    }

    /** /replication: backup, details, restore, restorestatus, deletebackup (standalone Solr). */
    void replication(HttpExchange ex, Core core, Map<String, List<String>> params, long t0) throws IOException {
        String command = first(params, "command", null);
        if (command == null) {
            error(ex, 400, "Missing required parameter: command", t0);
            return;
        }
        Map<String, Object> m = header(0, t0);
        switch (command.toLowerCase(java.util.Locale.ROOT)) {
            case "backup":
                snapshot(core, params);
                m.put("status", "OK");
                break;
            case "details":
                m.put("details", details(core));
                m.put("status", "OK");
                break;
            case "restore":
                restore(core, params);
                m.put("status", "OK");
                break;
            case "restorestatus": {
                Map<String, Object> st = core.restoreStatus;
                if (st == null) {
                    m.put("restorestatus", Map.of("status", "No restore actions in progress"));
                    m.put("status", "OK");
                } else {
                    m.put("restorestatus", st);
                    if (st.containsKey("exception")) {
                        m.put("status", "ERROR");
                        m.put("message", "Unable to read restorestatus");
                        m.put("exception", st.get("exception"));
                    } else {
                        m.put("status", "OK");
                    }
                }
                break;
            }
            case "deletebackup": {
                String name = first(params, "name", null);
                if (name == null) {
                    error(ex, 400, "Missing required parameter: name", t0);
                    return;
                }
                Path base = backupLocation(core, first(params, "location", null), true);
                Path dir = base.resolve("snapshot." + name);
                if (!Files.isDirectory(dir)) {
                    error(ex, 400, "Snapshot " + name + " cannot be found in directory: " + base.toUri(), t0);
                    return;
                }
                deleteTree(dir);
                m.put("status", "OK");
                break;
            }
            default:
                // the real handler answers an unknown command with nothing but the header
                break;
        }
        json(ex, 200, m);
    }

    /** The backup location: the core's data dir by default; for a backup a relative location is
     *  resolved against the instance dir (ReplicationHandler.doSnapShoot). Must be allowed. */
    Path backupLocation(Core core, String location, boolean forBackup) {
        Path p;
        if (location == null) {
            p = core.dataDir;
        } else if (forBackup) {
            p = core.instanceDir.resolve(location).normalize();
        } else {
            p = Paths.get(location).toAbsolutePath();
        }
        assertPathAllowed(p);
        return p;
    }

    void snapshot(Core core, Map<String, List<String>> params) {
        Path base = backupLocation(core, first(params, "location", null), true);
        String name = first(params, "name", null);
        String dirName = "snapshot." + (name != null ? name
            : new java.text.SimpleDateFormat("yyyyMMddHHmmssSSS", java.util.Locale.ROOT).format(new java.util.Date()));
        Path dir = base.resolve(dirName);
        if (!Files.isDirectory(base)) {
            throw new BadRequest(" Directory does not exist: " + dir.toUri());
        }
        if (Files.exists(dir)) {
            throw new BadRequest("Snapshot directory already exists: " + dir.toUri());
        }
        final String docs;
        synchronized (core) {
            docs = Json.write(core.docs);
        }
        Thread t = new Thread(() -> {
            Instant start = Instant.now();
            Map<String, Object> d = new LinkedHashMap<>();
            try {
                Files.createDirectories(dir);
                Files.writeString(dir.resolve("lookalike-docs.json"), docs, StandardCharsets.UTF_8);
                Instant done = Instant.now();
                d.put("startTime", MAJOR >= 9 ? start.toString() : new java.util.Date(start.toEpochMilli()).toString());
                d.put("fileCount", 1);
                if (MAJOR >= 9) {
                    d.put("indexFileCount", 1);
                }
                d.put("status", "success");
                d.put("snapshotCompletedAt", MAJOR >= 9 ? done.toString() : new java.util.Date(done.toEpochMilli()).toString());
                if (MAJOR >= 9) {
                    d.put("endTime", done.toString());
                }
                d.put("snapshotName", name);
                d.put("directoryName", dirName);
                log("INFO", "Done creating backup snapshot: " + (name == null ? "<not named>" : name) + " into " + dir);
            } catch (IOException | RuntimeException e) {
                log("ERROR", "Exception while creating snapshot " + e);
                deleteTree(dir);
                d.clear();
                d.put("exception", String.valueOf(e.getMessage()));
            }
            core.backupDetails = d;
        }, "CreateSnapshot");
        t.start();
    }

    /** command=details; Solr 8 writes the backup's NamedList flat ([k1, v1, k2, v2...]). */
    Map<String, Object> details(Core core) {
        Map<String, Object> d = new LinkedHashMap<>();
        long size;
        try {
            size = Files.isRegularFile(core.store()) ? Files.size(core.store()) : 0;
        } catch (IOException e) {
            size = 0;
        }
        d.put("indexSize", size + " bytes");
        d.put("indexPath", core.dataDir.resolve("index").toString() + "/");
        d.put("commits", new ArrayList<>());
        d.put(MAJOR >= 9 ? "isLeader" : "isMaster", "false");
        d.put(MAJOR >= 9 ? "isFollower" : "isSlave", "false");
        d.put("indexVersion", core.version);
        d.put("generation", 1);
        Map<String, Object> b = core.backupDetails;
        if (b != null) {
            if (MAJOR >= 9) {
                d.put("backup", b);
            } else {
                List<Object> flat = new ArrayList<>();
                for (Map.Entry<String, Object> e : b.entrySet()) {
                    flat.add(e.getKey());
                    flat.add(e.getValue());
                }
                d.put("backup", flat);
            }
        }
        return d;
    }

    void restore(Core core, Map<String, List<String>> params) throws IOException {
        Map<String, Object> running = core.restoreStatus;
        if (running != null && "In Progress".equals(running.get("status"))) {
            throw new BadRequest("Restore in progress. Cannot run multiple restore operationsfor the same core");
        }
        Path base = backupLocation(core, first(params, "location", null), false);
        String name = first(params, "name", null);
        String dirName;
        if (name == null) {
            List<String> stamped = new ArrayList<>();
            if (Files.isDirectory(base)) {
                try (var s = Files.list(base)) {
                    s.map(x -> x.getFileName().toString()).filter(n -> n.matches("snapshot\\.\\d{17}"))
                        .forEach(stamped::add);
                }
            }
            if (stamped.isEmpty()) {
                throw new BadRequest("No backup name specified and none found in " + core.dataDir + "/");
            }
            Collections.sort(stamped);
            dirName = stamped.get(stamped.size() - 1);
        } else {
            dirName = "snapshot." + name;
        }
        Path dir = base.resolve(dirName);
        Map<String, Object> st = new LinkedHashMap<>();
        st.put("snapshotName", dirName);
        st.put("status", "In Progress");
        core.restoreStatus = st;
        Thread t = new Thread(() -> {
            Map<String, Object> done = new LinkedHashMap<>();
            done.put("snapshotName", dirName);
            try {
                if (!Files.isDirectory(dir)) {
                    throw new java.nio.file.NoSuchFileException(dir.toString());
                }
                @SuppressWarnings("unchecked")
                List<Object> restored = (List<Object>) Json.parse(
                    Files.readString(dir.resolve("lookalike-docs.json"), StandardCharsets.UTF_8));
                synchronized (core) {
                    core.docs.clear();
                    for (Object o : restored) {
                        core.docs.add(cast(o));
                    }
                    core.persist();
                }
                done.put("status", "success");
                log("INFO", "Successfully restored to the backup index " + dir);
            } catch (IOException | RuntimeException e) {
                log("WARN", "Exception while restoring the backup index " + e);
                done.put("status", "failed");
                done.put("exception", e.getClass().getName() + ": " + e.getMessage());
            }
            core.restoreStatus = done;
        }, "restoreExecutor");
        t.start();
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> {
                try {
                    Files.delete(x);
                } catch (IOException e) {
                    // best effort, as Solr's own cleanup
                }
            });
        } catch (IOException e) {
            // ignore
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
                // CoreContainer.unload: a core that failed to load only leaves initFailures; a
                // loaded one is closed and its core.properties deleted (CorePropertiesLocator
                // .delete), so it is not discovered again at the next start.
                if (core != null && initFailures.remove(core) != null) {
                    json(ex, 200, m);
                    return;
                }
                Core gone = cores.remove(core);
                if (gone == null) {
                    error(ex, 400, "Cannot unload non-existent core [" + core + "]", t0);
                    return;
                }
                Files.deleteIfExists(gone.instanceDir.resolve("core.properties"));
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
                // CorePropertiesLocator.create refuses a directory that holds a core already and
                // writes core.properties itself; a core that then fails to load loses it again
                // (CoreContainer.create: coresLocator.delete).
                Path props = dir.resolve("core.properties");
                if (Files.exists(props)) {
                    error(ex, 400, "Error CREATEing SolrCore '" + name + "': Could not create a new core in "
                        + dir + " as another core is already defined there", t0);
                    return;
                }
                Files.writeString(props, "#Written by CorePropertiesLocator\n#" + new java.util.Date()
                    + "\nname=" + name + "\n");
                loadCore(dir);
                if (!cores.containsKey(name)) {
                    Files.deleteIfExists(props);
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
        sortDocs(found, first(params, "sort", ""));
        String fl = first(params, "fl", "");
        List<Map<String, Object>> page = new ArrayList<>();
        for (int i = start; i < Math.min(found.size(), (long) start + rows); i++) {
            page.add(project(found.get(i), fl));
        }
        String wt = first(params, "wt", "json");
        String mvSeparator = first(params, "csv.mv.separator", ",");
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
                    String s = v == null ? "" : v instanceof List ? String.join(mvSeparator, strings((List<?>) v))
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
        if ("true".equals(first(params, "stats", "false"))) {
            Map<String, Object> fields = new LinkedHashMap<>();
            for (String f : params.getOrDefault("stats.field", List.of())) {
                fields.put(f, stats(found, f));
            }
            m.put("stats", Map.of("stats_fields", fields));
        }
        if ("true".equals(first(params, "facet", "false"))) {
            Map<String, Object> ranges = new LinkedHashMap<>();
            for (String f : params.getOrDefault("facet.range", List.of())) {
                ranges.put(f, rangeFacet(found, f, params));
            }
            Map<String, Object> counts = new LinkedHashMap<>();
            counts.put("facet_queries", new LinkedHashMap<>());
            counts.put("facet_fields", new LinkedHashMap<>());
            counts.put("facet_ranges", ranges);
            counts.put("facet_intervals", new LinkedHashMap<>());
            counts.put("facet_heatmaps", new LinkedHashMap<>());
            m.put("facet_counts", counts);
        }
        json(ex, 200, m);
    }

    /** stats.field of a date field: min, max, count, missing (min/max null without values). */
    static Map<String, Object> stats(List<Map<String, Object>> found, String field) {
        Instant min = null;
        Instant max = null;
        long count = 0;
        long missing = 0;
        for (Map<String, Object> d : found) {
            Object v = d.get(field);
            Instant t = v == null ? null : DateMath.parse(String.valueOf(v instanceof List && !((List<?>) v).isEmpty()
                ? ((List<?>) v).get(0) : v), Instant.now());
            if (t == null) {
                missing++;
                continue;
            }
            count++;
            min = min == null || t.isBefore(min) ? t : min;
            max = max == null || t.isAfter(max) ? t : max;
        }
        Map<String, Object> st = new LinkedHashMap<>();
        st.put("min", min == null ? null : DateMath.format(min));
        st.put("max", max == null ? null : DateMath.format(max));
        st.put("count", count);
        st.put("missing", missing);
        return st;
    }

    /** facet.range over a date field: buckets [start, start+gap) up to end, facet.mincount. */
    static Map<String, Object> rangeFacet(List<Map<String, Object>> found, String field,
                                          Map<String, List<String>> params) {
        Instant now = Instant.now();
        Instant start = DateMath.parse(first(params, "facet.range.start", ""), now);
        Instant end = DateMath.parse(first(params, "facet.range.end", ""), now);
        String gap = first(params, "facet.range.gap", "");
        if (start == null || end == null || gap.isEmpty()) {
            throw new BadRequest("Missing required parameter: f." + field + ".facet.range.start/end/gap");
        }
        int minCount = Integer.parseInt(first(params, "facet.mincount", "0"));
        List<Object> counts = new ArrayList<>();
        for (Instant lo = start; lo.isBefore(end);) {
            Instant hi = DateMath.add(lo, gap);
            if (!hi.isAfter(lo)) {
                throw new BadRequest("range facet infinite loop (is gap negative? did the math overflow?)");
            }
            int n = 0;
            for (Map<String, Object> d : found) {
                Object v = d.get(field);
                Instant t = v == null ? null : DateMath.parse(String.valueOf(v), now);
                if (t != null && !t.isBefore(lo) && t.isBefore(hi)) {
                    n++;
                }
            }
            if (n >= minCount) {
                counts.add(DateMath.format(lo));
                counts.add(n);
            }
            lo = hi;
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("counts", counts);
        r.put("gap", gap);
        r.put("start", DateMath.format(start));
        r.put("end", DateMath.format(end));
        return r;
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
        } catch (BadRequest e) {
            // Documents before the refused one stay added, as in Solr (no rollback).
            core.persist();
            error(ex, 400, e.getMessage(), t0);
            return;
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
