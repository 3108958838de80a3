/*
 * dspace-deploy test look-alike (not DSpace code): solr-export-statistics / solr-import-statistics /
 * solr-reindex-statistics (contract 4.8). Documents travel as CSV files named
 * <index>_export_<yyyy-MM>_<n>.csv in [dspace]/solr-export (or -d).
 */
package org.dspace.util;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Http;
import lookalike.common.Json;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Solr;

public final class SolrImportExport {
    private SolrImportExport() {
    }

    public static void main(String[] argv) throws Exception {
        Opts o = new Opts()
            .add("a", "action", true, "The action to perform: import, export or reindex. Default: export.")
            .add("c", "clear", false, "Clear the main index before importing")
            .add("d", "directory", true, "The absolute path for the directory to use for import or export")
            .add("f", "force-overwrite", false, "Overwrite export file if it exists")
            .add("i", "index-name", true, "The names of the indexes to process")
            .add("k", "keep", false, "When reindexing, keep the contents of the data export directory")
            .add("l", "last", true, "When exporting, export records from the last [timeperiod] only")
            .add("h", "help", false, "Get help on options for this command");
        o.parseOrExit(argv, "solr-import-export");
        Config c = Config.get();
        String action = o.get("a", "export");
        Path dir = Path.of(o.get("d", c.home().resolve("solr-export").toString()));
        String index = o.get("i", "statistics");
        String url = Solr.core(c, index);
        if (action.equals("export")) {
            export(url, index, dir, o.has("f"));
        } else if (action.equals("import")) {
            importDir(url, index, dir, o.has("c"));
        } else if (action.equals("reindex")) {
            Path tmp = dir;
            export(url, index, tmp, true);
            importDir(url, index, tmp, true);
            if (!o.has("k")) {
                try (var s = Files.list(tmp)) {
                    for (Path p : (Iterable<Path>) s::iterator) {
                        if (p.getFileName().toString().startsWith(index + "_export")) {
                            Files.delete(p);
                        }
                    }
                }
            }
        } else {
            System.err.println("Unknown action " + action + "; must be import, export or reindex.");
            System.exit(1);
        }
        System.exit(0);
    }

    @SuppressWarnings("unchecked")
    static void export(String url, String index, Path dir, boolean force) throws Exception {
        Files.createDirectories(dir);
        Http.Response r = Http.get(url + "/select?wt=json&q=*:*&rows=1000000");
        if (r.status != 200) {
            throw new IllegalStateException("Export failed: HTTP " + r.status + " from " + url);
        }
        Map<String, Object> body = (Map<String, Object>) Json.parse(r.body);
        List<Map<String, Object>> docs = (List<Map<String, Object>>) ((Map<String, Object>) body.get("response"))
            .get("docs");
        Map<String, List<Map<String, Object>>> byMonth = new TreeMap<>();
        for (Map<String, Object> d : docs) {
            Object t = d.get("time");
            String month = t != null && t.toString().length() >= 7 ? t.toString().substring(0, 7)
                : java.time.YearMonth.now().toString();
            byMonth.computeIfAbsent(month, k -> new ArrayList<>()).add(d);
        }
        for (Map.Entry<String, List<Map<String, Object>>> e : byMonth.entrySet()) {
            Path f = dir.resolve(index + "_export_" + e.getKey() + "_0.csv");
            if (Files.exists(f) && !force) {
                System.err.println("File " + f + " already exists; use -f to overwrite");
                continue;
            }
            Files.writeString(f, toCsv(e.getValue()), StandardCharsets.UTF_8);
            System.out.println("Exported " + e.getValue().size() + " documents to " + f);
        }
    }

    static void importDir(String url, String index, Path dir, boolean clear) throws Exception {
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("Import directory " + dir + " does not exist");
        }
        if (clear) {
            Solr.deleteAll(url);
        }
        List<Path> files = new ArrayList<>();
        try (var s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().startsWith(index + "_export")
                && p.getFileName().toString().endsWith(".csv")).sorted().forEach(files::add);
        }
        for (Path f : files) {
            Http.Response r = Http.post(url + "/update?commit=true&wt=json", "text/csv",
                Files.readString(f, StandardCharsets.UTF_8));
            if (r.status != 200) {
                throw new IllegalStateException("Import of " + f + " failed: HTTP " + r.status + " " + r.body);
            }
            System.out.println("Imported " + f);
        }
    }

    static String toCsv(List<Map<String, Object>> docs) {
        Set<String> fields = new LinkedHashSet<>();
        for (Map<String, Object> d : docs) {
            for (String k : d.keySet()) {
                if (!k.equals("_version_")) {
                    fields.add(k);
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.join(",", fields)).append('\n');
        for (Map<String, Object> d : docs) {
            List<String> cells = new ArrayList<>();
            for (String f : fields) {
                Object v = d.get(f);
                String s;
                if (v == null) {
                    s = "";
                } else if (v instanceof List) {
                    List<String> parts = new ArrayList<>();
                    for (Object x : (List<?>) v) {
                        parts.add(String.valueOf(x));
                    }
                    s = String.join(",", parts);
                } else {
                    s = String.valueOf(v);
                }
                if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
                    s = "\"" + s.replace("\"", "\"\"") + "\"";
                }
                cells.add(s);
            }
            sb.append(String.join(",", cells)).append('\n');
        }
        return sb.toString();
    }

}
