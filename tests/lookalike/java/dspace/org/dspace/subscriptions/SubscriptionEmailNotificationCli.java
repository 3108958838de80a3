/*
 * dspace-deploy test look-alike (not DSpace code): "subscription-send -f D|W|M" (contract 4.8);
 * DSpace-CRIS also requires "-t content|statistics" (4Science/DSpace@dspace-cris-2025.02.01:
 * SubscriptionEmailNotificationConfiguration.java:29-31, same at 2024.02.04). A missing required
 * option is a ParseException: ScriptLauncher prints the help and exits 1
 * (ScriptLauncher.java:178-181 at dspace-cris-2025.02.01). A bad value fails inside the run
 * (SubscriptionEmailNotification.java:57-65).
 */
package org.dspace.subscriptions;

import java.sql.Connection;

import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Release;
import org.dspace.lookalike.Script;

public class SubscriptionEmailNotificationCli implements Script {
    @Override
    public Opts options() {
        Opts o = new Opts();
        if (Release.flavor().equals("cris")) {
            o.add("t", "type", true, "Subscription type, Valid values are \"content\" or \"statistics\"").required();
        }
        return o.add("f", "frequency", true, "Subscription frequency. Valid values include: D (Day), "
            + "W (Week) and M (Month)").required().add("h", "help", false, "help");
    }

    @Override
    public int run(Opts o) throws Exception {
        String f = o.get("f");
        if (!f.equals("D") && !f.equals("W") && !f.equals("M")) {
            throw new Opts.ParseException("Option frequency (-f) must be set. Valid values include: D (Day), "
                + "W (Week) and M (Month)");
        }
        if (Release.flavor().equals("cris") && !o.get("t").equals("content") && !o.get("t").equals("statistics")) {
            throw new IllegalArgumentException("Option t (type) must be one of \"content\" or \"statistics\"");
        }
        try (Connection conn = Db.context()) {
            // nothing to send in the look-alike
        }
        return 0;
    }
}
