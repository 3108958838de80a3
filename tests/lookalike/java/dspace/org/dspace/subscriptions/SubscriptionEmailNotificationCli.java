/*
 * dspace-deploy test look-alike (not DSpace code): "subscription-send -f D|W|M" (contract 4.8).
 */
package org.dspace.subscriptions;

import java.sql.Connection;

import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Script;

public class SubscriptionEmailNotificationCli implements Script {
    @Override
    public Opts options() {
        return new Opts().add("f", "frequency", true, "Subscription frequency. Valid values include: D (Day), "
            + "W (Week) and M (Month)").required().add("h", "help", false, "help");
    }

    @Override
    public int run(Opts o) throws Exception {
        String f = o.get("f");
        if (!f.equals("D") && !f.equals("W") && !f.equals("M")) {
            throw new Opts.ParseException("Option frequency (-f) must be set. Valid values include: D (Day), "
                + "W (Week) and M (Month)");
        }
        try (Connection conn = Db.context()) {
            // nothing to send in the look-alike
        }
        return 0;
    }
}
