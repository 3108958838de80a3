/*
 * dspace-deploy test look-alike (not DSpace code): "dsprop" per release contract 4.8.
 */
package org.dspace.app.util;

import java.util.List;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Opts;

public final class Configuration {
    private Configuration() {
    }

    public static void main(String[] argv) {
        Opts o = new Opts()
            .add("p", "property", true, "name of the desired property").required()
            .add("m", "module", true, "optional name of the module in which 'property' exists")
            .add("r", "raw", false, "do not do property substitution on the value")
            .add("f", "first", false, "display only the first value of an array property")
            .add("?", "help", false, "describe the options");
        try {
            o.parse(argv);
        } catch (Opts.ParseException e) {
            System.err.println("Error in command line: " + e.getMessage());
            System.err.print(o.help("dsprop"));
            System.exit(1);
        }
        Config c = Config.get();
        String key = o.get("p");
        if (o.has("m")) {
            key = o.get("m") + "." + key;
        }
        List<String> values = o.has("r") ? c.rawValues(key) : c.values(key);
        if (values == null || values.isEmpty()) {
            System.out.println();
        } else if (o.has("f")) {
            System.out.println(values.get(0));
        } else {
            for (String v : values) {
                System.out.println(v);
            }
        }
        System.exit(0);
    }
}
