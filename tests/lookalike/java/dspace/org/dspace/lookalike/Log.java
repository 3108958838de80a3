/*
 * dspace-deploy test look-alike (not DSpace code): appends to [dspace]/log/<file>
 * (log4j2-cli.xml / log4j2.xml put the logs in the config dir's sibling "log").
 */
package org.dspace.lookalike;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

public final class Log {
    private static Path file;
    private static final DateTimeFormatter FMT = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss,SSS");

    private Log() {
    }

    public static synchronized void init(Path home, String name) {
        if (System.getProperty("dspace.log.init.disable") != null && name.equals("dspace-cli.log")) {
            file = null;
            return;
        }
        file = home.resolve("log").resolve(name);
    }

    /** Log into `dir` (e.g. the log4j2.xml's own ${log4j:configParentLocation}/../log). */
    public static synchronized void initDir(Path dir, String name) {
        file = dir.resolve(name);
    }

    public static void info(String msg) {
        write("INFO", msg);
    }

    public static void warn(String msg) {
        write("WARN", msg);
    }

    public static void error(String msg, Throwable t) {
        StringBuilder sb = new StringBuilder(msg);
        if (t != null) {
            java.io.StringWriter sw = new java.io.StringWriter();
            t.printStackTrace(new java.io.PrintWriter(sw));
            sb.append('\n').append(sw);
        }
        write("ERROR", sb.toString());
    }

    public static synchronized void write(String level, String msg) {
        if (file == null) {
            return;
        }
        try {
            Files.createDirectories(file.getParent());
            String line = LocalDateTime.now().format(FMT) + " " + level + " " + Thread.currentThread().getName()
                + " " + msg + "\n";
            Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        } catch (IOException e) {
            // logging must never break the command
        }
    }
}
