/*
 * dspace-deploy test look-alike (not DSpace code): a small commons-cli-like option parser.
 */
package org.dspace.lookalike;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class Opts {
    public static final class ParseException extends Exception {
        private static final long serialVersionUID = 1L;

        public ParseException(String m) {
            super(m);
        }
    }

    private static final class Def {
        String shortName;
        String longName;
        boolean hasArg;
        boolean multi;
        boolean required;
        String help;
    }

    private final List<Def> defs = new ArrayList<>();
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final List<String> rest = new ArrayList<>();

    public Opts add(String s, String l, boolean hasArg, String help) {
        Def d = new Def();
        d.shortName = s;
        d.longName = l;
        d.hasArg = hasArg;
        d.help = help;
        defs.add(d);
        return this;
    }

    public Opts multi(String s, String l, String help) {
        add(s, l, true, help);
        defs.get(defs.size() - 1).multi = true;
        return this;
    }

    public Opts required() {
        defs.get(defs.size() - 1).required = true;
        return this;
    }

    private Def find(String name) {
        for (Def d : defs) {
            if (name.equals(d.shortName) || name.equals(d.longName)) {
                return d;
            }
        }
        return null;
    }

    /** Parse like a DSpace command line tool: a bad option prints the error and exits 1,
     *  -h prints the help and exits 0. */
    public Opts parseOrExit(String[] args, String title) {
        try {
            parse(args);
        } catch (ParseException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
        if (has("h")) {
            System.out.print(help(title));
            System.exit(0);
        }
        return this;
    }

    public Opts parse(String[] args) throws ParseException {
        values.clear();
        rest.clear();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("-") && a.length() > 1) {
                String name = a.startsWith("--") ? a.substring(2) : a.substring(1);
                String inline = null;
                int eq = name.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    inline = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                Def d = find(name);
                if (d == null) {
                    throw new ParseException("Unrecognized option: " + a);
                }
                String key = d.shortName != null ? d.shortName : d.longName;
                List<String> vs = values.computeIfAbsent(key, k -> new ArrayList<>());
                if (d.hasArg) {
                    if (inline != null) {
                        vs.add(inline);
                    } else if (i + 1 < args.length && !args[i + 1].startsWith("-")) {
                        vs.add(args[++i]);
                        while (d.multi && i + 1 < args.length && !args[i + 1].startsWith("-")) {
                            vs.add(args[++i]);
                        }
                    } else {
                        throw new ParseException("Missing argument for option: " + name);
                    }
                }
            } else {
                rest.add(a);
            }
        }
        for (Def d : defs) {
            String key = d.shortName != null ? d.shortName : d.longName;
            if (d.required && !values.containsKey(key)) {
                throw new ParseException("Missing required option: " + key);
            }
        }
        return this;
    }

    public boolean has(String s) {
        return values.containsKey(s);
    }

    public String get(String s) {
        List<String> v = values.get(s);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    public String get(String s, String def) {
        String v = get(s);
        return v == null ? def : v;
    }

    public List<String> all(String s) {
        List<String> v = values.get(s);
        return v == null ? List.of() : v;
    }

    public List<String> rest() {
        return rest;
    }

    public String help(String cmd) {
        StringBuilder sb = new StringBuilder("usage: " + cmd + "\n");
        for (Def d : defs) {
            String left = (d.shortName != null ? "-" + d.shortName : "   ")
                + (d.longName != null ? (d.shortName != null ? ",--" : "--") + d.longName : "")
                + (d.hasArg ? " <arg>" : "");
            sb.append(String.format(" %-34s %s%n", left, d.help == null ? "" : d.help));
        }
        return sb.toString();
    }
}
