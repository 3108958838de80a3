/*
 * dspace-deploy test look-alike (not DSpace code): "version" per release contract 4.5.
 */
package org.dspace.app.util;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Release;

public final class Version {
    private Version() {
    }

    public static void main(String[] argv) throws Exception {
        Config c = Config.get();
        String sep = System.getProperty("line.separator");
        List<String> apps = new ArrayList<>();
        try (Connection conn = Db.context(); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT appname, url FROM webapp")) {
            while (rs.next()) {
                apps.add(rs.getString(1) + " at " + rs.getString(2));
            }
        }
        String consumers = c.get("event.dispatcher.default.consumers", "");
        Path ant = c.home().resolve("config/ant.properties");
        String antVersion = Files.isRegularFile(ant) ? Files.readString(ant).trim() : "unknown";
        StringBuilder sb = new StringBuilder();
        sb.append("DSpace version:  ").append(Release.version()).append(sep);
        sb.append("  SCM revision:  ").append(Release.get("scm.revision", "lookalike")).append(sep);
        sb.append("    SCM branch:  ").append(Release.get("scm.branch", "lookalike")).append(sep);
        sb.append("            OS:  ").append(System.getProperty("os.name")).append('(')
            .append(System.getProperty("os.arch")).append(") version ").append(System.getProperty("os.version"))
            .append(sep);
        sb.append("  Applications:  ").append(String.join(sep + "                 ", apps)).append(sep);
        if (consumers.contains("discovery")) {
            sb.append("     Discovery:  enabled.").append(sep);
        }
        sb.append("           JRE:  ").append(System.getProperty("java.vendor")).append(" version ")
            .append(System.getProperty("java.version")).append(sep);
        sb.append("   Ant version:  ").append(antVersion).append(sep);
        sb.append(" Maven version:  ").append(Release.get("maven.version", "3.9.9")).append(sep);
        sb.append("   DSpace home:  ").append(c.get("dspace.dir")).append(sep);
        System.out.print(sb);
    }
}
