/*
 * dspace-deploy test look-alike (not DSpace or Spring code): what Spring Boot's logging listener
 * does with logging.config before anything else of the webapp starts. The real jar carries
 * logging.config = <build-time dspace.dir>/config/log4j2.xml (application.properties:128 at
 * dspace-9.3, filtered by Maven), and Spring Boot stops when that file does not exist; the
 * look-alike jar carries the same filtered value and stops the same way.
 */
package org.dspace.app;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Properties;

final class BootLogging {
    private BootLogging() {
    }

    /**
     * A property as Spring Boot sees it while its environment is prepared (before DSpace's own
     * configuration joins it): command line --key=value, Java system property, environment
     * variable (KEY_WITH_UNDERSCORES), ./config/application.properties and ./application.properties
     * of the working directory, then the jar's application.properties.
     */
    static String earlyProperty(String[] args, Properties jar, String key) {
        for (String a : args) {
            if (a.startsWith("--" + key + "=")) {
                return a.substring(key.length() + 3);
            }
        }
        String v = System.getProperty(key);
        if (v != null) {
            return v;
        }
        v = System.getenv(key.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace("-", ""));
        if (v != null) {
            return v;
        }
        for (String file : new String[] {"config/application.properties", "application.properties"}) {
            Path p = Paths.get(file);
            if (Files.isRegularFile(p)) {
                Properties props = new Properties();
                try (InputStream in = Files.newInputStream(p)) {
                    props.load(in);
                } catch (IOException e) {
                    continue;
                }
                if (props.getProperty(key) != null) {
                    return props.getProperty(key).trim();
                }
            }
        }
        v = jar.getProperty(key);
        return v == null ? null : v.trim();
    }

    /**
     * Checks logging.config as Spring Boot does: unset, empty or "-D..." means the default
     * logging; otherwise the location must open, or the application stops (stderr message,
     * stack trace, IllegalStateException out of main, exit status 1). Returns the log directory
     * the DSpace log4j2.xml files use (${log4j:configParentLocation}/../log), or null.
     */
    static Path logDirectory(String[] args, Properties jar) {
        String location = earlyProperty(args, jar, "logging.config");
        if (location == null || location.isEmpty() || location.startsWith("-D")) {
            return null;
        }
        try {
            URL url = resolve(location);
            try (InputStream in = url.openStream()) {
                in.read();
            }
            if ("file".equals(url.getProtocol())) {
                Path config = Paths.get(url.toURI()).toAbsolutePath();
                return config.getParent().resolve("../log").normalize();
            }
            return null;
        } catch (Exception e) {
            System.err.println("Logging system failed to initialize using configuration from '" + location + "'");
            e.printStackTrace(System.err);
            throw new IllegalStateException(e);
        }
    }

    private static URL resolve(String location) throws IOException {
        if (location.startsWith("classpath:")) {
            String path = location.substring("classpath:".length()).replaceFirst("^/", "");
            URL url = BootLogging.class.getClassLoader().getResource(path);
            if (url == null) {
                throw new FileNotFoundException("class path resource [" + path
                    + "] cannot be resolved to URL because it does not exist");
            }
            return url;
        }
        try {
            return URI.create(location).toURL();
        } catch (IllegalArgumentException | MalformedURLException e) {
            return Paths.get(location).toFile().toURI().toURL();
        }
    }
}
