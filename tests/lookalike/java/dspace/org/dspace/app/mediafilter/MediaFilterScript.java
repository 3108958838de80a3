/*
 * dspace-deploy test look-alike (not DSpace code): "filter-media" (contract 4.8).
 */
package org.dspace.app.mediafilter;

import java.sql.Connection;

import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Release;
import org.dspace.lookalike.Script;

public class MediaFilterScript implements Script {
    @Override
    public Opts options() {
        Opts o = new Opts().add("v", "verbose", false, "print all extracted text and other details to STDOUT")
            .add("q", "quiet", false, "do not print anything except in the event of errors.")
            .add("f", "force", false, "force all bitstreams to be processed")
            .add("i", "identifier", true, "ONLY process bitstreams belonging to identifier")
            .add("m", "maximum", true, "process no more than maximum items")
            .add("h", "help", false, "help")
            .multi("p", "plugins", "ONLY run the specified Media Filter plugin(s)")
            .multi("s", "skip", "SKIP the bitstreams belonging to identifier");
        if (Release.atLeast(8)) {
            o.add("d", "fromdate", true, "Process only item from specified last modified date");
        }
        return o;
    }

    @Override
    public int run(Opts o) throws Exception {
        try (Connection conn = Db.context()) {
            long n = Db.count(conn, "bitstream");
            if (!o.has("q")) {
                System.out.println("Processed " + n + " bitstreams");
            }
        }
        return 0;
    }
}
