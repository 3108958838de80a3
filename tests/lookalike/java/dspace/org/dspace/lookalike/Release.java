/*
 * dspace-deploy test look-alike (not DSpace code): facts of the release this jar was built for,
 * read from org/dspace/lookalike/release.properties (written by the Python generator).
 */
package org.dspace.lookalike;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public final class Release {
    private static Properties props;

    private Release() {
    }

    public static synchronized Properties props() {
        if (props == null) {
            props = new Properties();
            try (InputStream in = Release.class.getResourceAsStream("/org/dspace/lookalike/release.properties")) {
                if (in != null) {
                    props.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // leave empty
            }
        }
        return props;
    }

    public static String get(String k, String def) {
        return props().getProperty(k, def);
    }

    public static String version() {
        return get("dspace.version", "0.0");
    }

    public static String line() {
        return get("line", "9");
    }

    public static String flavor() {
        return get("flavor", "dspace");
    }

    public static boolean pgcrypto() {
        return Boolean.parseBoolean(get("pgcrypto", "false"));
    }

    public static int lineMajor() {
        String l = line();
        int dot = l.indexOf('.');
        return Integer.parseInt(dot < 0 ? l : l.substring(0, dot));
    }

    public static boolean atLeast(int major) {
        return lineMajor() >= major;
    }

    public static List<String> list(String k) {
        List<String> out = new ArrayList<>();
        for (String s : get(k, "").split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    public static String resource(String path) {
        try (InputStream in = Release.class.getResourceAsStream(path)) {
            if (in == null) {
                return null;
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
    }
}
