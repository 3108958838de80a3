/*
 * dspace-deploy test look-alike (not DSpace code): "checker" (contract 4.8); writes [dspace]/log/checker.log.
 */
package org.dspace.app.checker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;

public final class ChecksumChecker {
    private ChecksumChecker() {
    }

    public static void main(String[] argv) throws Exception {
        Opts o = new Opts().add("L", "continuous", false, "Loop continuously through bitstreams")
            .add("a", "handle", true, "Specify a handle to check")
            .add("b", null, true, "Space separated list of bitstream ids")
            .add("c", "count", true, "Check count")
            .add("d", "duration", true, "Checking duration")
            .add("h", "help", false, "Help")
            .add("l", "looping", false, "Loop once through bitstreams")
            .add("p", "prune", false, "Prune configuration file")
            .add("v", "verbose", false, "Report all processing");
        o.parseOrExit(argv, "Checksum Checker");
        Config c = Config.get();
        long n;
        try (Connection conn = Db.context()) {
            n = Db.count(conn, "bitstream");
        }
        Path log = c.home().resolve("log").resolve("checker.log");
        Files.createDirectories(log.getParent());
        Files.writeString(log, java.time.LocalDateTime.now() + " INFO Checked " + n + " bitstreams\n",
            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
