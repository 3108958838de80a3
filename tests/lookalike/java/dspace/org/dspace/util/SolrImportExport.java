/*
 * dspace-deploy test look-alike (not DSpace code): solr-export-statistics / solr-import-statistics /
 * solr-reindex-statistics (contract 4.8), with the behaviour of DSpace's SolrImportExport at
 * dspace-9.3 (dspace-api/src/main/java/org/dspace/util/SolrImportExport.java; the same at 8.x and
 * 10.0) where a backup depends on it:
 * - failures are printed and the command still exits 0: the checked exceptions are caught per
 *   index (lines 120-123 import, 150-153 export, 161-163 reindex: "Problem encountered while
 *   trying to export index X." and a stack trace), an unwritable export directory is reported and
 *   skipped (129-134), and an export directory that does not exist is created and then skipped
 *   without exporting anything (136-143); only an HTTP error answer from Solr (SolrJ's unchecked
 *   RemoteSolrException) escapes main, so ScriptLauncher prints "Exception: ..." and exits 1;
 * - the export covers the documents that have the index's time field (statistics: time,
 *   authority: last_modified_date; others: none, nothing is exported), found by the field's
 *   minimum (stats) and a monthly range facet from that month to NOW/MONTH+1MONTH; each month is
 *   written in batches of 10,000 rows (CSV from Solr, fl=*) to <index>_export_<yyyy-MM>.csv,
 *   <index>_export_<yyyy-MM>_<n>.csv when the month has more than 10,000 (lines 497-601, 649-660);
 *   a batch file is created before Solr is asked for it, so a failed batch leaves an empty file;
 * - the Solr URL is solr-statistics.server (statistics*) or solr.authority.server (authority),
 *   anything else http://localhost:8080/solr/<index> (line 678);
 * - import: files named <index>_export_*.csv, sorted, posted to /update/csv; -c clears first.
 * Not reproduced: the multi-valued field split on import (Luke request), -l's filter on the
 * stats query only, and reindex's temporary core swap (here: export, clear, import).
 */
package org.dspace.util;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.time.YearMonth;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Http;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.SolrJ;
import org.dspace.lookalike.SolrJ.SolrServerException;

public final class SolrImportExport {
    private static final String EXPORT_SEP = "_export_";
    public static final int ROWS_PER_FILE = 10_000;

    private SolrImportExport() {
    }

    private static Opts options() {
        return new Opts()
            .add("a", "action", true, "The action to perform: import, export or reindex. Default: export.")
            .add("c", "clear", false, "When importing, also clear the index first. Ignored when action is export "
                + "or reindex.")
            .add("f", "force-overwrite", false, "When exporting or re-indexing, allow overwrite of existing export "
                + "files")
            .add("d", "directory", true, "The absolute path for the directory to use for import or export. If "
                + "omitted, [dspace]/solr-export is used.")
            .add("h", "help", false, "Get help on options for this command.")
            .add("i", "index-name", true, "The names of the indexes to process. At least one is required. "
                + "Available indexes are: authority, statistics.")
            .add("k", "keep", false, "When reindexing, keep the contents of the data export directory.")
            .add("l", "last", true, "When exporting, export records from the last [timeperiod] only.");
    }

    public static void main(String[] args) {
        Opts o = options();
        try {
            o.parse(args);
        } catch (Opts.ParseException e) {
            System.err.println("Cannot read command options");
            printHelpAndExit(o, 1);
        }
        if (o.has("h")) {
            printHelpAndExit(o, 0);
        }
        List<String> indexNames = o.all("i");
        if (indexNames.isEmpty()) {
            System.err.println("No index name provided, defaulting to \"statistics\".");
            indexNames = List.of("statistics");
        }
        Config c = Config.get();
        String directoryName = o.get("d");
        if (directoryName == null || directoryName.isBlank()) {
            directoryName = c.get("dspace.dir", c.home().toString()) + File.separator + "solr-export" + File.separator;
        }
        String action = o.get("a", "export");
        if ("import".equals(action)) {
            for (String indexName : indexNames) {
                File importDir = new File(directoryName);
                if (!importDir.exists() || !importDir.canRead()) {
                    System.err.println("Import directory " + directoryName
                        + " doesn't exist or is not readable by the current user. Not importing index " + indexName);
                    continue;
                }
                try {
                    importIndex(indexName, importDir, makeSolrUrl(c, indexName), o.has("c"));
                } catch (IOException | SolrServerException | SolrImportExportException e) {
                    System.err.println("Problem encountered while trying to import index " + indexName + ".");
                    e.printStackTrace(System.err);
                }
            }
        } else if ("export".equals(action)) {
            for (String indexName : indexNames) {
                File exportDir = new File(directoryName);
                if (exportDir.exists() && !exportDir.canWrite()) {
                    System.err.println("Export directory " + directoryName
                        + " is not writable by the current user. Not exporting index " + indexName);
                    continue;
                }
                if (!exportDir.exists()) {
                    boolean created = exportDir.mkdirs();
                    if (!created) {
                        System.err.println("Export directory " + directoryName
                            + " could not be created. Not exporting index " + indexName);
                    }
                    // DSpace skips the index also when it created the directory (line 142).
                    continue;
                }
                try {
                    exportIndex(indexName, exportDir, makeSolrUrl(c, indexName), makeTimeField(indexName),
                        o.get("l"), o.has("f"));
                } catch (SolrServerException | IOException | SolrImportExportException e) {
                    System.err.println("Problem encountered while trying to export index " + indexName + ".");
                    e.printStackTrace(System.err);
                }
            }
        } else if ("reindex".equals(action)) {
            for (String indexName : indexNames) {
                try {
                    reindex(c, indexName, directoryName, o.has("k"));
                } catch (IOException | SolrServerException | SolrImportExportException e) {
                    e.printStackTrace();
                }
            }
        } else {
            System.err.println("Unknown action " + action + "; must be import, export or reindex.");
            printHelpAndExit(o, 1);
        }
    }

    private static void printHelpAndExit(Opts o, int code) {
        System.out.print(o.help("SolrImportExport\n"));
        System.out.println("\n\nCommand Defaults");
        System.out.println("\tsolr-export-statistics  [-a export]  [-i statistics]");
        System.out.println("\tsolr-import-statistics  [-a import]  [-i statistics]");
        System.out.println("\tsolr-reindex-statistics [-a reindex] [-i statistics]");
        System.exit(code);
    }

    static String makeSolrUrl(Config c, String indexName) {
        if (indexName.startsWith("statistics")) {
            return c.get("solr-statistics.server", "") + indexName.replaceFirst("statistics", "");
        } else if ("authority".equals(indexName)) {
            return c.get("solr.authority.server");
        }
        return "http://localhost:8080/solr/" + indexName;
    }

    static String makeTimeField(String indexName) {
        if (indexName.startsWith("statistics")) {
            return "time";
        } else if ("authority".equals(indexName)) {
            return "last_modified_date";
        }
        return null;
    }

    private static String enc(String s) {
        return Http.enc(s);
    }

    private static String filterQuery(String timeField, String lastValue) {
        if ("m".equals(lastValue)) {
            return timeField + ":[NOW/MONTH-1MONTH TO NOW/MONTH]";
        }
        int days = "d".equals(lastValue) ? 1 : Integer.parseInt(lastValue);
        return timeField + ":[NOW/DAY-" + days + "DAYS TO " + Instant.now() + "]";
    }

    @SuppressWarnings("unchecked")
    static void exportIndex(String indexName, File toDir, String solrUrl, String timeField, String fromWhen,
                            boolean overwrite) throws SolrServerException, IOException, SolrImportExportException {
        Log.info(String.format("Export Index [%s] to [%s] using [%s] Time Field[%s] FromWhen[%s]", indexName, toDir,
            solrUrl, timeField, fromWhen));
        if (solrUrl == null || solrUrl.isBlank()) {
            throw new SolrImportExportException("Could not construct solr URL for index" + indexName
                + ", aborting export.");
        }
        if (!toDir.exists() || !toDir.canWrite()) {
            throw new SolrImportExportException("Target directory " + toDir
                + " doesn't exist or is not writable, aborting export of index " + indexName);
        }
        String fq = "";
        if (fromWhen != null && !fromWhen.isBlank()) {
            fq = "&fq=" + enc(filterQuery(timeField, fromWhen));
        }
        Map<String, Object> statsAnswer = SolrJ.query(solrUrl, "q=*:*&rows=0&stats=true&stats.field="
            + enc(String.valueOf(timeField)) + fq);
        Map<String, Object> stats = (Map<String, Object>) statsAnswer.get("stats");
        Map<String, Object> fields = stats == null ? null : (Map<String, Object>) stats.get("stats_fields");
        if (fields == null || !fields.containsKey(timeField)) {
            Log.warn(String.format("Queried [%s].  No fieldInfo found while exporting index [%s] time field [%s] "
                + "from [%s]. Export cancelled.", solrUrl, indexName, timeField, fromWhen));
            return;
        }
        Object min = ((Map<String, Object>) fields.get(timeField)).get("min");
        if (min == null) {
            Log.warn(String.format("Queried [%s].  No earliest date found while exporting index [%s] time field [%s] "
                + "from [%s]. Export cancelled.", solrUrl, indexName, timeField, fromWhen));
            return;
        }
        Instant earliest = Instant.parse(String.valueOf(min));
        Map<String, Object> facetAnswer = SolrJ.query(solrUrl, "q=*:*&rows=0&facet=true&facet.mincount=1"
            + "&facet.range=" + enc(timeField) + "&facet.range.start=" + enc(earliest + "/MONTH")
            + "&facet.range.end=" + enc("NOW/MONTH+1MONTH") + "&facet.range.gap=" + enc("+1MONTH") + fq);
        Map<String, Object> ranges = (Map<String, Object>) ((Map<String, Object>) facetAnswer.get("facet_counts"))
            .get("facet_ranges");
        List<Object> counts = (List<Object>) ((Map<String, Object>) ranges.get(timeField)).get("counts");
        for (int k = 0; k + 1 < counts.size(); k += 2) {
            String monthStart = String.valueOf(counts.get(k));
            YearMonth monthStartDate;
            try {
                monthStartDate = YearMonth.parse(monthStart, DateTimeFormatter.ISO_OFFSET_DATE_TIME);
            } catch (DateTimeParseException e) {
                throw new SolrImportExportException("Could not read start of month batch as date: " + monthStart, e);
            }
            int docsThisMonth = ((Number) counts.get(k + 1)).intValue();
            String monthFilter = timeField + ":[" + monthStart + " TO " + monthStart + "+1MONTH]";
            for (int i = 0; i < docsThisMonth; i += ROWS_PER_FILE) {
                String url = solrUrl + "/select?q=" + enc("*:*") + "&rows=" + ROWS_PER_FILE + "&wt=csv&fl=" + enc("*")
                    + "&csv.mv.separator=" + enc(",") + "&fq=" + enc(monthFilter) + "&start=" + i;
                File file = new File(toDir.getCanonicalPath(),
                    makeExportFilename(indexName, monthStartDate, docsThisMonth, i));
                if (file.createNewFile() || overwrite) {
                    copyUrlToFile(url, file);
                    Log.info(String.format("Solr export to file [%s] complete.  Export for Index [%s] Month [%s] "
                        + "Batch [%d] Num Docs [%d]", file.getCanonicalPath(), indexName, monthStart, i,
                        docsThisMonth));
                } else if (file.exists()) {
                    throw new SolrImportExportException(String.format("Solr export file [%s] already exists.  Export "
                        + "failed for Index [%s] Month [%s] Batch [%d] Num Docs [%d]", file.getCanonicalPath(),
                        indexName, monthStart, i, docsThisMonth));
                } else {
                    throw new SolrImportExportException(String.format("Cannot create solr export file [%s].  Export "
                        + "failed for Index [%s] Month [%s] Batch [%d] Num Docs [%d]", file.getCanonicalPath(),
                        indexName, monthStart, i, docsThisMonth));
                }
            }
        }
    }

    /** commons-io FileUtils.copyURLToFile: an HTTP error status is an IOException; the file stays
     *  as it was (empty when it was just created). */
    private static void copyUrlToFile(String url, File file) throws IOException {
        HttpURLConnection conn = (HttpURLConnection) new URL(url).openConnection();
        conn.setConnectTimeout(5000);
        try (InputStream in = conn.getInputStream(); OutputStream out = Files.newOutputStream(file.toPath())) {
            in.transferTo(out);
        }
    }

    static String makeExportFilename(String indexName, YearMonth exportStart, long totalRecords, int index) {
        String number = "";
        if (totalRecords > ROWS_PER_FILE) {
            number = String.valueOf(index / ROWS_PER_FILE);
            int width = (int) Math.ceil(Math.log10(totalRecords / ROWS_PER_FILE));
            while (number.length() < width) {
                number = "0" + number;
            }
        }
        return indexName + EXPORT_SEP + DateTimeFormatter.ofPattern("yyyy-MM").format(exportStart)
            + (number.isEmpty() ? "" : "_" + number) + ".csv";
    }

    static void importIndex(String indexName, File fromDir, String solrUrl, boolean clear)
        throws IOException, SolrServerException, SolrImportExportException {
        if (solrUrl == null || solrUrl.isBlank()) {
            throw new SolrImportExportException("Could not construct solr URL for index" + indexName
                + ", aborting export.");
        }
        if (!fromDir.exists() || !fromDir.canRead()) {
            throw new SolrImportExportException("Source directory " + fromDir
                + " doesn't exist or isn't readable, aborting export of index " + indexName);
        }
        if (clear) {
            SolrJ.post(solrUrl, "update?commit=true", "application/json", "{\"delete\":{\"query\":\"*:*\"}}");
            SolrJ.post(solrUrl, "update?optimize=true", "application/json", "{\"commit\":{}}");
        }
        File[] files = fromDir.listFiles((dir, name) -> name.startsWith(indexName + EXPORT_SEP)
            && name.endsWith(".csv"));
        if (files == null || files.length == 0) {
            Log.warn("No export files found in directory " + fromDir.getCanonicalPath() + " for index " + indexName);
            return;
        }
        Arrays.sort(files);
        for (File file : files) {
            Log.info("Importing file " + file.getCanonicalPath());
            SolrJ.post(solrUrl, "update/csv?skip=_version_&commit=true", "text/csv;charset=utf-8",
                Files.readString(file.toPath(), StandardCharsets.UTF_8));
        }
        SolrJ.post(solrUrl, "update?commit=true", "application/json", "{\"commit\":{}}");
    }

    private static void reindex(Config c, String indexName, String exportDirName, boolean keep)
        throws IOException, SolrServerException, SolrImportExportException {
        File exportDir = new File(exportDirName);
        boolean created = exportDir.mkdirs();
        if (!created && !exportDir.exists()) {
            throw new SolrImportExportException("Could not create export directory " + exportDirName);
        }
        if (!exportDir.canWrite()) {
            throw new SolrImportExportException("Can't write to export directory " + exportDirName);
        }
        String url = makeSolrUrl(c, indexName);
        try {
            exportIndex(indexName, exportDir, url, makeTimeField(indexName), null, true);
            importIndex(indexName, exportDir, url, true);
        } finally {
            if (!keep && created) {
                File[] left = exportDir.listFiles();
                for (File f : left == null ? new File[0] : left) {
                    Files.deleteIfExists(f.toPath());
                }
                Files.deleteIfExists(exportDir.toPath());
            }
        }
    }
}
