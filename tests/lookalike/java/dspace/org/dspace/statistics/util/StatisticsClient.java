/*
 * dspace-deploy test look-alike (not DSpace code): "stats-util" (contract 4.8).
 */
package org.dspace.statistics.util;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Release;
import org.dspace.lookalike.Solr;

public final class StatisticsClient {
    private StatisticsClient() {
    }

    public static void main(String[] argv) throws Exception {
        Opts o = new Opts().add("u", "update-spider-files", false, "Update Spider IP Files from internet")
            .add("m", "mark-spiders", false, "Update isBot Flag in Solr")
            .add("f", "delete-spiders-by-flag", false, "Delete Spiders in Solr By isBot Flag")
            .add("b", "reindex-bitstreams", false, "Reindex the bitstreams to ensure we have the bundle name")
            .add("e", "export", false, "Export SOLR view statistics data to usage-statistics-intermediate-format")
            .add("r", "remove-deleted-bitstreams", false, "While indexing the bundle names remove the statistics "
                + "about deleted bitstreams")
            .add("s", "shard-solr-index", false, "Split the data from the main Solr core into separate Solr "
                + "cores per year")
            .add("h", "help", false, "help");
        if (!Release.atLeast(8)) {
            o.add("i", "delete-spiders-by-ip", false, "Delete Spiders in Solr By IP Address");
        }
        try {
            o.parse(argv);
        } catch (Opts.ParseException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
        if (o.has("h") || argv.length == 0) {
            System.out.print(o.help("StatisticsClient\n"));
            System.exit(0);
        }
        Config c = Config.get();
        String url = Solr.core(c, "statistics");
        if (o.has("m") || o.has("f") || o.has("b") || o.has("r") || o.has("s")) {
            if (!Solr.ping(url)) {
                throw new IllegalStateException("Statistics core is not reachable at " + url);
            }
        }
        if (o.has("u")) {
            System.out.println("Spider files updated");
        }
        System.exit(0);
    }
}
