/*
 * dspace-deploy test look-alike (not DSpace code).
 * Configuration loading as described in the release contract, section 5.1 and 4.1:
 * system properties > environment > "dspaceenv" variables (__P__ = '.', __D__ = '-')
 * > config/local.cfg > config/dspace.cfg (+ include = ... files), with ${key} interpolation.
 */
package org.dspace.lookalike;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public final class Config {
    public static final String HOME_ERROR = "DSpace home directory could not be determined. "
        + "It MUST include a subpath of 'config/config-definition.xml'";

    private final Path home;
    private final Map<String, List<String>> dspaceCfg = new LinkedHashMap<>();
    private final Map<String, List<String>> localCfg = new LinkedHashMap<>();
    private final Map<String, String> extraDefaults = new LinkedHashMap<>();

    private static Config instance;

    private Config(Path home) throws IOException {
        this.home = home;
        Path cfgDir = home.resolve("config");
        Path local = cfgDir.resolve("local.cfg");
        if (Files.isRegularFile(local)) {
            parse(local, localCfg, false);
        }
        Path main = cfgDir.resolve("dspace.cfg");
        if (!Files.isRegularFile(main)) {
            throw new IOException("Configuration file " + main + " does not exist");
        }
        parse(main, dspaceCfg, true);
    }

    /** The configuration of this process (home found as in contract 4.1). */
    public static synchronized Config get() {
        if (instance == null) {
            instance = load(null);
        }
        return instance;
    }

    public static synchronized Config load(String providedHome) {
        Path home = findHome(providedHome);
        if (home == null) {
            throw new IllegalStateException(HOME_ERROR);
        }
        try {
            instance = new Config(home);
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        return instance;
    }

    static boolean valid(String dir) {
        return dir != null && !dir.isEmpty()
            && Files.isRegularFile(Paths.get(dir, "config", "config-definition.xml"));
    }

    /** Home resolution order of DSpaceConfigurationService (contract 4.1). */
    public static Path findHome(String providedHome) {
        List<String> candidates = new ArrayList<>();
        candidates.add(System.getProperty("dspace.dir"));
        candidates.add(providedHome);
        candidates.add(jarGrandParent());
        candidates.add(System.getProperty("catalina.base"));
        candidates.add(System.getProperty("catalina.home"));
        candidates.add(System.getProperty("user.home"));
        candidates.add("/");
        for (String c : candidates) {
            if (valid(c)) {
                return Paths.get(c).toAbsolutePath().normalize();
            }
        }
        return null;
    }

    private static String jarGrandParent() {
        try {
            java.security.CodeSource cs = Config.class.getProtectionDomain().getCodeSource();
            if (cs == null || cs.getLocation() == null) {
                return null;
            }
            Path p = Paths.get(cs.getLocation().toURI());
            if (Files.isRegularFile(p) && p.getParent() != null && p.getParent().getParent() != null) {
                return p.getParent().getParent().toString();
            }
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
        return null;
    }

    public Path home() {
        return home;
    }

    public void setDefault(String key, String value) {
        extraDefaults.put(key, value);
    }

    // ---- parsing (Apache Commons Configuration "properties" syntax, the subset DSpace uses)

    private void parse(Path file, Map<String, List<String>> into, boolean allowInclude) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        StringBuilder logical = new StringBuilder();
        for (String raw : lines) {
            String line = raw;
            if (logical.length() == 0) {
                String t = line.trim();
                if (t.isEmpty() || t.startsWith("#") || t.startsWith("!")) {
                    continue;
                }
            }
            if (endsWithOddBackslashes(line)) {
                logical.append(line, 0, line.length() - 1);
                continue;
            }
            logical.append(line);
            handle(file, logical.toString().trim(), into, allowInclude);
            logical.setLength(0);
        }
        if (logical.length() > 0) {
            handle(file, logical.toString().trim(), into, allowInclude);
        }
    }

    private static boolean endsWithOddBackslashes(String s) {
        int n = 0;
        for (int i = s.length() - 1; i >= 0 && s.charAt(i) == '\\'; i--) {
            n++;
        }
        return n % 2 == 1;
    }

    private void handle(Path file, String line, Map<String, List<String>> into, boolean allowInclude)
        throws IOException {
        int sep = -1;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\') {
                i++;
                continue;
            }
            if (c == '=' || c == ':' || Character.isWhitespace(c)) {
                sep = i;
                break;
            }
        }
        String key;
        String value;
        if (sep < 0) {
            key = line;
            value = "";
        } else {
            key = line.substring(0, sep).trim();
            String rest = line.substring(sep).trim();
            if (rest.startsWith("=") || rest.startsWith(":")) {
                rest = rest.substring(1).trim();
            }
            value = rest;
        }
        if (allowInclude && key.equals("include")) {
            for (String inc : splitList(value)) {
                String resolved = interpolateWith(inc, into);
                Path p = file.getParent().resolve(resolved);
                if (Files.isRegularFile(p)) {
                    parse(p, into, true);
                } else {
                    throw new IOException("Cannot resolve include file " + p);
                }
            }
            return;
        }
        List<String> values = into.computeIfAbsent(key, k -> new ArrayList<>());
        values.addAll(splitList(value));
    }

    private String interpolateWith(String v, Map<String, List<String>> map) {
        // used only for include paths, which may reference e.g. ${module_dir}
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < v.length()) {
            int st = v.indexOf("${", i);
            if (st < 0) {
                out.append(v.substring(i));
                break;
            }
            int en = v.indexOf('}', st);
            if (en < 0) {
                out.append(v.substring(i));
                break;
            }
            out.append(v, i, st);
            String k = v.substring(st + 2, en);
            List<String> vals = map.get(k);
            out.append(vals != null && !vals.isEmpty() ? vals.get(0) : v.substring(st, en + 1));
            i = en + 1;
        }
        return out.toString();
    }

    /** Commons-Configuration list splitting on unescaped commas; "\," is a literal comma. */
    static List<String> splitList(String value) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\\' && i + 1 < value.length()) {
                char n = value.charAt(i + 1);
                if (n == ',' || n == '\\') {
                    cur.append(n);
                    i++;
                    continue;
                }
                cur.append(c);
                continue;
            }
            if (c == ',') {
                out.add(cur.toString().trim());
                cur.setLength(0);
                continue;
            }
            cur.append(c);
        }
        out.add(cur.toString().trim());
        return out;
    }

    // ---- lookup

    /** Raw (un-interpolated) values of a key, honouring the precedence of contract 5.1. */
    public List<String> rawValues(String key) {
        String v = System.getProperty(key);
        if (v != null) {
            return splitList(v);
        }
        v = System.getenv(key);
        if (v != null) {
            return splitList(v);
        }
        v = System.getenv(key.replace(".", "__P__").replace("-", "__D__"));
        if (v != null) {
            return splitList(v);
        }
        if (localCfg.containsKey(key)) {
            return localCfg.get(key);
        }
        if (dspaceCfg.containsKey(key)) {
            return dspaceCfg.get(key);
        }
        if (key.equals("dspace.dir")) {
            return List.of(home.toString());
        }
        if (extraDefaults.containsKey(key)) {
            return List.of(extraDefaults.get(key));
        }
        return null;
    }

    public boolean has(String key) {
        return rawValues(key) != null;
    }

    /** Interpolated values (one per list element). */
    public List<String> values(String key) {
        List<String> raw = rawValues(key);
        if (raw == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String r : raw) {
            out.add(interpolate(r, 0));
        }
        return out;
    }

    /** Interpolated value; list values are joined with ", ". */
    public String get(String key) {
        List<String> v = values(key);
        if (v.isEmpty()) {
            return null;
        }
        return String.join(", ", v);
    }

    public String get(String key, String def) {
        String v = get(key);
        return v == null ? def : v;
    }

    public boolean getBool(String key, boolean def) {
        String v = get(key);
        if (v == null || v.isBlank()) {
            return def;
        }
        return v.trim().equalsIgnoreCase("true") || v.trim().equalsIgnoreCase("yes")
            || v.trim().equalsIgnoreCase("on");
    }

    public String interpolate(String v) {
        return interpolate(v, 0);
    }

    private String interpolate(String v, int depth) {
        if (v == null || depth > 20 || !v.contains("${")) {
            return v;
        }
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < v.length()) {
            int st = v.indexOf("${", i);
            if (st < 0) {
                out.append(v.substring(i));
                break;
            }
            int en = v.indexOf('}', st);
            if (en < 0) {
                out.append(v.substring(i));
                break;
            }
            out.append(v, i, st);
            String k = v.substring(st + 2, en);
            List<String> raw = rawValues(k);
            if (raw == null || raw.isEmpty()) {
                out.append(v, st, en + 1);
            } else {
                out.append(interpolate(raw.get(0), depth + 1));
            }
            i = en + 1;
        }
        return out.toString();
    }

    /** Properties of the webapp/jar itself (application.properties inside the jar). */
    public static Properties classpathProperties(String resource) {
        Properties p = new Properties();
        try (var in = Config.class.getClassLoader().getResourceAsStream(resource)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // ignore
        }
        return p;
    }

    public Path dir(String key, String def) {
        String v = get(key);
        if (v == null || v.isBlank()) {
            v = def;
        }
        return Paths.get(v);
    }
}
