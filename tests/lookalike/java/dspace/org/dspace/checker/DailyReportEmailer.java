/*
 * dspace-deploy test look-alike (not DSpace code): "checker-emailer" (contract 4.8).
 */
package org.dspace.checker;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Opts;

public final class DailyReportEmailer {
    private DailyReportEmailer() {
    }

    public static void main(String[] argv) {
        Opts o = new Opts().add("a", "All", false, "Send all the results")
            .add("d", "Deleted", false, "Send E-mail report for all bitstreams set as deleted for today")
            .add("m", "Missing", false, "Send E-mail report for all bitstreams not found in assetstore for today")
            .add("c", "Changed", false, "Send E-mail report for all bitstreams where checksum has been changed")
            .add("u", "Unchecked", false, "Send the Unchecked bitstream report")
            .add("n", "Not Processed", false, "Send E-mail report for all bitstreams set to longer be processed")
            .add("h", "help", false, "Help");
        o.parseOrExit(argv, "Checksum Reporter");
        Config c = Config.get();
        System.out.println("Checksum report e-mailed to " + c.get("mail.admin", "(mail.admin not set)"));
    }
}
