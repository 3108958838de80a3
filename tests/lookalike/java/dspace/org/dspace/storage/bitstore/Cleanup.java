/*
 * dspace-deploy test look-alike (not DSpace code): "cleanup" (contract 4.8).
 */
package org.dspace.storage.bitstore;

import java.sql.Connection;

import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Release;

public final class Cleanup {
    private Cleanup() {
    }

    public static void main(String[] argv) throws Exception {
        Opts o = new Opts().add("l", "leave", false, "Leave database records but delete file from assetstore")
            .add("v", "verbose", false, "Provide verbose output")
            .add("h", "help", false, "Help");
        if (Release.atLeast(10)) {
            o.add("d", "delete", false, "Delete bitstreams flagged as deleted");
        }
        o.parseOrExit(argv, "Cleanup");
        System.out.println("# Cleanup of deleted bitstreams");
        try (Connection conn = Db.context()) {
            int n = o.has("l") ? 0 : Db.exec(conn, "DELETE FROM bitstream WHERE deleted");
            if (o.has("v")) {
                System.out.println("Deleted " + n + " bitstream records");
            }
        }
        System.exit(0);
    }
}
