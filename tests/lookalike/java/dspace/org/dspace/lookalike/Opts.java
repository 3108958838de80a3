/*
 * dspace-deploy test look-alike (not DSpace code): a small commons-cli-like option parser.
 *
 * DSpace's command line tools parse with commons-cli's DefaultParser (DSpace/DSpace@dspace-9.3
 * pom.xml: commons-cli 1.11.0; e.g. dspace-api/.../eperson/EPersonCLITool.java,
 * dspace-api/.../scripts/DSpaceRunnable.java:121). parse() follows
 * apache/commons-cli@rel/commons-cli-1.11.0 src/main/java/org/apache/commons/cli/DefaultParser.java
 * (handleToken, isArgument, isShortOption, isLongOption, handleShortAndLongOption, ...) for what
 * the look-alike's tools use: short and long options with one argument, options with several
 * comma separated arguments (multi: hasArgs().valueSeparator(',')), option groups, required
 * options, unique prefixes of long options, "--long=value", "-sVALUE", "-s=value", "--" and
 * stopAtNonOption. A value that starts with "-" is taken as an option's argument unless it looks
 * like an option: its name, or its first letter, is a known short option ("-abc" when there is an
 * -a), or it is a known long option or a prefix of one ("--pass", "-pass"); a negative number is
 * always an argument. The messages are commons-cli's.
 */
package org.dspace.lookalike;

import java.util.ArrayList;
import java.util.HashMap;
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
        List<String> group;

        String key() {
            return shortName != null ? shortName : longName;
        }
    }

    private final List<Def> defs = new ArrayList<>();
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final List<String> rest = new ArrayList<>();

    // parser state (DefaultParser's currentOption, skipParsing, OptionGroup.selected)
    private Def current;
    private int currentValues;
    private boolean skipParsing;
    private boolean stopAtNonOption;
    private String currentToken;
    private final Map<List<String>, String> selected = new HashMap<>();

    public Opts add(String s, String l, boolean hasArg, String help) {
        Def d = new Def();
        d.shortName = s;
        d.longName = l;
        d.hasArg = hasArg;
        d.help = help;
        defs.add(d);
        return this;
    }

    /** An option with any number of arguments, separated by spaces or commas
     *  (Option.builder(s).hasArgs().valueSeparator(',')). */
    public Opts multi(String s, String l, String help) {
        add(s, l, true, help);
        defs.get(defs.size() - 1).multi = true;
        return this;
    }

    public Opts required() {
        defs.get(defs.size() - 1).required = true;
        return this;
    }

    /** An OptionGroup: at most one of these options (by key) may be given. */
    public Opts group(String... keys) {
        List<String> g = List.of(keys);
        for (String k : keys) {
            Def d = byKey(k);
            d.group = g;
            d.required = false; // Options.addOptionGroup: an option of a group is never required
        }
        return this;
    }

    private static String stripLeadingHyphens(String s) {
        if (s.startsWith("--")) {
            return s.substring(2);
        }
        return s.startsWith("-") ? s.substring(1) : s;
    }

    private Def byKey(String name) {
        for (Def d : defs) {
            if (name.equals(d.key())) {
                return d;
            }
        }
        return null;
    }

    private Def byLong(String name) {
        for (Def d : defs) {
            if (name.equals(d.longName)) {
                return d;
            }
        }
        return null;
    }

    /** Options.getOption: a short option (key) first, then a long one. */
    private Def getOption(String opt) {
        String clean = stripLeadingHyphens(opt);
        Def d = byKey(clean);
        return d != null ? d : byLong(clean);
    }

    private boolean hasShortOption(String opt) {
        return byKey(stripLeadingHyphens(opt)) != null;
    }

    private boolean hasLongOption(String opt) {
        return byLong(stripLeadingHyphens(opt)) != null;
    }

    private boolean hasOption(String opt) {
        return hasShortOption(opt) || hasLongOption(opt);
    }

    /** Options.getMatchingOptions: the long option itself, or every long option it begins. */
    private List<String> getMatchingOptions(String opt) {
        String clean = stripLeadingHyphens(opt);
        if (hasLongOption(clean)) {
            return List.of(clean);
        }
        List<String> out = new ArrayList<>();
        for (Def d : defs) {
            if (d.longName != null && d.longName.startsWith(clean)) {
                out.add(d.longName);
            }
        }
        return out;
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
        return parse(args, false);
    }

    /** DefaultParser.parse(options, arguments, stopAtNonOption). */
    public Opts parse(String[] args, boolean stopAtNonOption) throws ParseException {
        values.clear();
        rest.clear();
        selected.clear();
        current = null;
        skipParsing = false;
        this.stopAtNonOption = stopAtNonOption;
        for (String a : args) {
            handleToken(a);
        }
        checkRequiredArgs();
        List<String> missing = new ArrayList<>();
        for (Def d : defs) {
            if (d.required && !values.containsKey(d.key())) {
                missing.add(d.key());
            }
        }
        if (!missing.isEmpty()) {
            throw new ParseException("Missing required option" + (missing.size() == 1 ? "" : "s") + ": "
                + String.join(", ", missing));
        }
        return this;
    }

    private void handleToken(String token) throws ParseException {
        currentToken = token;
        if (skipParsing) {
            rest.add(token);
        } else if ("--".equals(token)) {
            skipParsing = true;
        } else if (current != null && acceptsArg() && isArgument(token)) {
            processValue(stripLeadingAndTrailingQuotes(token));
        } else if (token.startsWith("--")) {
            if (token.indexOf('=') == -1) {
                handleLongOptionWithoutEqual(token);
            } else {
                handleLongOptionWithEqual(token);
            }
        } else if (token.startsWith("-") && !"-".equals(token)) {
            handleShortAndLongOption(token);
        } else {
            handleUnknownToken(token);
        }
        if (current != null && !acceptsArg()) {
            current = null;
        }
    }

    private boolean acceptsArg() {
        return current.hasArg && (current.multi || currentValues < 1);
    }

    private boolean requiresArg() {
        return current.multi ? currentValues == 0 : acceptsArg();
    }

    private void processValue(String value) {
        List<String> vs = values.get(current.key());
        if (current.multi) { // valueSeparator(',')
            for (String v : value.split(",", -1)) {
                vs.add(v);
                currentValues++;
            }
        } else {
            vs.add(value);
            currentValues++;
        }
    }

    private void checkRequiredArgs() throws ParseException {
        if (current != null && requiresArg()) {
            throw new ParseException("Missing argument for option: " + current.key());
        }
    }

    private void handleOption(Def d) throws ParseException {
        checkRequiredArgs();
        if (d.group != null) {
            String sel = selected.get(d.group);
            if (sel != null && !sel.equals(d.key())) {
                throw new ParseException(String.format("The option '%s' was specified but an option from this group "
                    + "has already been selected: '%s'", d.key(), sel));
            }
            selected.put(d.group, d.key());
        }
        values.computeIfAbsent(d.key(), k -> new ArrayList<>());
        current = d.hasArg ? d : null;
        currentValues = 0;
    }

    private void handleUnknownToken(String token) throws ParseException {
        if (token.startsWith("-") && token.length() > 1 && !stopAtNonOption) {
            throw new ParseException("Unrecognized option: " + token);
        }
        rest.add(token);
        if (stopAtNonOption) {
            skipParsing = true;
        }
    }

    /** The long option a token names, itself or by a unique prefix; null for none. */
    private Def longOption(String opt) throws ParseException {
        List<String> matching = getMatchingOptions(opt);
        if (matching.isEmpty()) {
            return null;
        }
        if (matching.size() > 1 && !hasLongOption(opt)) {
            throw new ParseException("Ambiguous option: '" + opt + "'  (could be: '" + String.join("', '", matching)
                + "')");
        }
        return getOption(hasLongOption(opt) ? opt : matching.get(0));
    }

    /** --L=V, -L=V, --l=V, -l=V */
    private void handleLongOptionWithEqual(String token) throws ParseException {
        int pos = token.indexOf('=');
        Def d = longOption(token.substring(0, pos));
        if (d != null && d.hasArg) {
            handleOption(d);
            processValue(token.substring(pos + 1));
            current = null;
        } else {
            handleUnknownToken(currentToken);
        }
    }

    /** --L, -L, --l, -l */
    private void handleLongOptionWithoutEqual(String token) throws ParseException {
        Def d = longOption(token);
        if (d == null) {
            handleUnknownToken(currentToken);
        } else {
            handleOption(d);
        }
    }

    private void handleShortAndLongOption(String hyphenToken) throws ParseException {
        String token = stripLeadingHyphens(hyphenToken);
        int pos = token.indexOf('=');
        if (token.length() == 1) {
            if (hasShortOption(token)) { // -S
                handleOption(getOption(token));
            } else {
                handleUnknownToken(hyphenToken);
            }
        } else if (pos == -1) {
            if (hasShortOption(token)) {
                handleOption(getOption(token));
            } else if (!getMatchingOptions(token).isEmpty()) { // -L or -l
                handleLongOptionWithoutEqual(hyphenToken);
            } else {
                String opt = getLongPrefix(token);
                if (opt != null && getOption(opt).hasArg) { // -LV
                    handleOption(getOption(opt));
                    processValue(token.substring(opt.length()));
                    current = null;
                } else if (isJavaProperty(token)) { // -SV1
                    handleOption(getOption(token.substring(0, 1)));
                    processValue(token.substring(1));
                    current = null;
                } else { // -S1S2S3 or -S1S2V
                    handleConcatenatedOptions(hyphenToken);
                }
            }
        } else {
            String opt = token.substring(0, pos);
            String value = token.substring(pos + 1);
            if (opt.length() == 1) { // -S=V
                Def d = getOption(opt);
                if (d != null && d.hasArg) {
                    handleOption(d);
                    processValue(value);
                    current = null;
                } else {
                    handleUnknownToken(hyphenToken);
                }
            } else if (isJavaProperty(opt)) { // -SV1=V2
                handleOption(getOption(opt.substring(0, 1)));
                processValue(opt.substring(1));
                processValue(value);
                current = null;
            } else { // -L=V or -l=V
                handleLongOptionWithEqual(hyphenToken);
            }
        }
    }

    private void handleConcatenatedOptions(String token) throws ParseException {
        for (int i = 1; i < token.length(); i++) {
            String ch = String.valueOf(token.charAt(i));
            if (!hasOption(ch)) {
                handleUnknownToken(stopAtNonOption && i > 1 ? token.substring(i) : token);
                break;
            }
            handleOption(getOption(ch));
            if (current != null && token.length() != i + 1) {
                processValue(token.substring(i + 1)); // the rest is the option's argument
                break;
            }
        }
    }

    /** A long option that begins the token, leaving at least one character (-Xmx512m). */
    private String getLongPrefix(String token) {
        String t = stripLeadingHyphens(token);
        for (int i = t.length() - 2; i > 1; i--) {
            String prefix = t.substring(0, i);
            if (hasLongOption(prefix)) {
                return prefix;
            }
        }
        return null;
    }

    private boolean isJavaProperty(String token) {
        Def d = token.isEmpty() ? null : getOption(token.substring(0, 1));
        return d != null && d.multi;
    }

    private boolean isArgument(String token) {
        return !isLongOption(token) && !isShortOption(token) || isNegativeNumber(token);
    }

    private static boolean isNegativeNumber(String token) {
        try {
            Double.parseDouble(token);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private boolean isLongOption(String token) {
        if (!token.startsWith("-") || token.length() == 1) {
            return false;
        }
        int pos = token.indexOf('=');
        String t = pos == -1 ? token : token.substring(0, pos);
        if (!getMatchingOptions(t).isEmpty()) {
            return true; // --L, -L, --L=V, -L=V, --l, --l=V
        }
        return getLongPrefix(token) != null && !token.startsWith("--"); // -LV
    }

    private boolean isShortOption(String token) {
        if (!token.startsWith("-") || token.length() == 1) {
            return false;
        }
        int pos = token.indexOf('=');
        String optName = pos == -1 ? token.substring(1) : token.substring(1, pos);
        if (hasShortOption(optName)) {
            return true;
        }
        return !optName.isEmpty() && hasShortOption(String.valueOf(optName.charAt(0)));
    }

    private static String stripLeadingAndTrailingQuotes(String s) {
        int n = s.length();
        if (n > 1 && s.startsWith("\"") && s.endsWith("\"") && s.substring(1, n - 1).indexOf('"') == -1) {
            return s.substring(1, n - 1);
        }
        return s;
    }

    /** CommandLine.resolveOption: an option by its short or long name. */
    private List<String> valuesOf(String s) {
        Def d = getOption(s);
        return d == null ? null : values.get(d.key());
    }

    public boolean has(String s) {
        return valuesOf(s) != null;
    }

    public String get(String s) {
        List<String> v = valuesOf(s);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    public String get(String s, String def) {
        String v = get(s);
        return v == null ? def : v;
    }

    public List<String> all(String s) {
        List<String> v = valuesOf(s);
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
