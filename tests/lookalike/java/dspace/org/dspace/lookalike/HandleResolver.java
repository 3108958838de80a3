/*
 * dspace-deploy test look-alike (not DSpace code): what org.dspace.handle.HandlePlugin answers,
 * read from the DSpace database's handle table.
 */
package org.dspace.lookalike;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

public class HandleResolver implements net.handle.server.Main.HandleLookup {
    @Override
    public String resolve(String handle) throws Exception {
        Config c = Config.get();
        try (Connection conn = Db.connect(c);
             PreparedStatement ps = conn.prepareStatement("SELECT resource_id FROM handle WHERE handle = ?")) {
            ps.setString(1, handle);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
            }
        }
        String ui = c.get("dspace.ui.url", "http://localhost:4000");
        return ui + "/handle/" + handle;
    }

    /** HandlePlugin.haveNA: with handle.plugin.checknameauthority (true by default) the request's
     * naming authority must be 0.NA/ + handle.prefix; without it every prefix is served. */
    @Override
    public boolean haveNA(String naHandle) {
        Config c = Config.get();
        String check = c.get("handle.plugin.checknameauthority", "true").trim().toLowerCase();
        if (!check.equals("false") && !check.equals("no") && !check.equals("off")) {
            return ("0.NA/" + c.get("handle.prefix", "123456789")).equals(naHandle);
        }
        return true;
    }
}
