/*
 * dspace-deploy test look-alike (not DSpace code): "solr-database-resync" (contract 4.8).
 */
package org.dspace.app.solrdatabaseresync;

import java.sql.Connection;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Script;
import org.dspace.lookalike.Solr;

public class SolrDatabaseResyncCli implements Script {
    @Override
    public Opts options() {
        return new Opts().add("h", "help", false, "help");
    }

    @Override
    public int run(Opts o) throws Exception {
        System.out.println(resync());
        return 0;
    }

    /** What the webapp's solr-database-resync.cron job runs. */
    public static void runScheduled() throws Exception {
        org.dspace.lookalike.Log.info(resync());
    }

    private static String resync() throws Exception {
        Config c = Config.get();
        try (Connection conn = Db.context()) {
            long n = Solr.numFound(Solr.core(c, "search"), "*:*");
            return "Found " + n + " documents in the search core to check";
        }
    }
}
