/*
 * dspace-deploy test look-alike (not DSpace code): "generate-sitemaps" (contract 4.8 and 7.4).
 */
package org.dspace.app.sitemap;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;

public final class GenerateSitemaps {
    private GenerateSitemaps() {
    }

    public static void main(String[] argv) throws Exception {
        Opts o = new Opts()
            .add("h", "help", false, "help")
            .add("s", "no_sitemaps", false, "do not generate sitemaps.org protocol sitemap")
            .add("b", "no_htmlmap", false, "do not generate a basic HTML sitemap")
            .add("d", "delete", false, "delete sitemaps dir and its contents");
        o.parseOrExit(argv, "generate-sitemaps");
        Config c = Config.get();
        Path dir = Path.of(c.get("sitemap.dir", c.home().resolve("sitemaps").toString()));
        if (o.has("d")) {
            if (Files.isDirectory(dir)) {
                try (var s = Files.walk(dir)) {
                    s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
            return;
        }
        generate(c, !o.has("s"), !o.has("b"));
    }

    /** What the webapp's sitemap.cron job runs (both kinds of sitemap). */
    public static void generateSitemapsScheduled() throws Exception {
        generate(Config.get(), true, true);
    }

    private static void generate(Config c, boolean sitemaps, boolean html) throws Exception {
        Path dir = Path.of(c.get("sitemap.dir", c.home().resolve("sitemaps").toString()));
        Files.createDirectories(dir);
        String ui = c.get("dspace.ui.url", "http://localhost:4000");
        List<String> urls = new ArrayList<>();
        urls.add(ui + "/home");
        try (Connection conn = Db.context(); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT uuid FROM item WHERE in_archive AND discoverable")) {
            while (rs.next()) {
                urls.add(ui + "/items/" + rs.getString(1));
            }
        }
        String server = c.get("dspace.server.url", "http://localhost:8080/server");
        if (sitemaps) {
            StringBuilder x = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
            for (String u : urls) {
                x.append("<url><loc>").append(u).append("</loc></url>\n");
            }
            x.append("</urlset>\n");
            Files.writeString(dir.resolve("sitemap0.xml"), x);
            Files.writeString(dir.resolve("sitemap_index.xml"), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n<sitemap><loc>" + server
                + "/sitemaps/sitemap0.xml</loc></sitemap>\n</sitemapindex>\n");
        }
        if (html) {
            StringBuilder h = new StringBuilder("<html><head><title>URL List</title></head><body><ul>\n");
            for (String u : urls) {
                h.append("<li><a href=\"").append(u).append("\">").append(u).append("</a></li>\n");
            }
            h.append("</ul></body></html>\n");
            Files.writeString(dir.resolve("sitemap0.html"), h);
            Files.writeString(dir.resolve("sitemap_index.html"), "<html><head><title>Site Map</title></head>"
                + "<body><ul><li><a href=\"" + server + "/sitemaps/sitemap0.html\">sitemap0.html</a></li></ul>"
                + "</body></html>\n");
        }
    }
}
