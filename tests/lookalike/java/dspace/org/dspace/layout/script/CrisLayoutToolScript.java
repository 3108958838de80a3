/*
 * dspace-deploy test look-alike (not DSpace code): DSpace-CRIS "cris-layout-tool -f <file>"
 * (see docs/lookalike.md, DSpace-CRIS). Records one import per run in table cris_layout_tab.
 */
package org.dspace.layout.script;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;

import org.dspace.lookalike.Db;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Script;

public class CrisLayoutToolScript implements Script {
    @Override
    public Opts options() {
        return new Opts().add("f", "file", true, "source file").required().add("h", "help", false, "help");
    }

    @Override
    public int run(Opts o) throws Exception {
        Path f = Path.of(o.get("f"));
        if (!Files.isRegularFile(f)) {
            // CrisLayoutToolScript.java (internalRun) at dspace-cris-2025.02.01
            throw new IllegalArgumentException("Error reading file, the file couldn't be found for filename: " + f);
        }
        byte[] data = Files.readAllBytes(f);
        if (data.length == 0) {
            throw new IllegalArgumentException("The given file is empty: " + f);
        }
        try (Connection conn = Db.context()) {
            Db.exec(conn, "DELETE FROM cris_layout_tab");
            Db.exec(conn, "INSERT INTO cris_layout_tab (entity_type, shortname, source) VALUES (?, ?, ?)",
                "Person", "details", f.getFileName().toString());
        }
        System.out.println("CRIS layout configuration imported from " + f);
        return 0;
    }
}
