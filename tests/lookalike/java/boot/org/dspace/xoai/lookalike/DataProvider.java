/*
 * dspace-deploy test look-alike (not DSpace code): the OAI-PMH 2.0 protocol as the XOAI library
 * (org.dspace:xoai 3.4.1, com.lyncode.xoai.dataprovider: OAIRequestParameters, OAIParameters,
 * OAIDataProvider, handlers/*, ErrorHandler) answers it inside DSpace, with DSpace's resumption token
 * format (DSpaceResumptionTokenFormatter, dspace-9.3): argument checks in XOAI's order and with its
 * messages, the six verbs, pages of 100 with stateless tokens "prefix/from/until/set/offset", and
 * XOAI's quirks (cursor = page number, lenient dates, no token expiry).
 */
package org.dspace.xoai.lookalike;

import java.text.ParseException;
import java.text.SimpleDateFormat;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.OaiIndex;

public final class DataProvider {
    private static final List<String> KNOWN = List.of("verb", "from", "until", "set", "identifier",
        "metadataPrefix", "resumptionToken");

    private final Config config;
    private final Repository repo;
    private final Contexts.Context context;
    private final String baseUrl;

    public DataProvider(Config config, Repository repo, Contexts.Context context, String baseUrl) {
        this.config = config;
        this.repo = repo;
        this.context = context;
        this.baseUrl = baseUrl;
    }

    /** An OAI-PMH error (ErrorHandler: code and message). */
    static final class OaiError extends Exception {
        private static final long serialVersionUID = 1L;
        final String code;

        OaiError(String code, String message) {
            super(message);
            this.code = code;
        }
    }

    /** What XOAI cannot write: the servlet answers HTTP 500. */
    public static final class WritingException extends Exception {
        private static final long serialVersionUID = 1L;

        WritingException(String message) {
            super(message);
        }
    }

    static OaiError badArgument(String m) {
        return new OaiError("badArgument", m);
    }

    static OaiError noRecordsMatch() {
        return new OaiError("noRecordsMatch", "No matches for the query");
    }

    static OaiError unknownFormat() {
        return new OaiError("cannotDisseminateFormat", "Unknown metadata format");
    }

    static OaiError idDoesNotExist() {
        return new OaiError("idDoesNotExist", "The given id does not exist");
    }

    // ------------------------------------------------------------------------------------ arguments

    /** OAIRequestParameters + OAIParameters: the request's arguments, checked in XOAI's order. */
    static final class Params {
        final Map<String, List<String>> raw;
        String verb;
        Date from;
        Date until;
        String metadataPrefix;
        String set;
        String identifier;
        Token token = Token.EMPTY;

        Params(Map<String, List<String>> raw) {
            this.raw = raw;
        }

        private boolean checked;

        String get(String name) throws OaiError {
            if (!checked) {
                if (!raw.containsKey("verb")) {
                    throw new OaiError("badVerb", "Illegal verb");
                }
                for (String k : raw.keySet()) {
                    if (!KNOWN.contains(k)) {
                        throw badArgument("Unknown parameter '" + k + "'");
                    }
                }
                checked = true;
            }
            List<String> v = raw.get(name);
            if (v == null || v.isEmpty()) {
                return null;
            }
            if (v.size() > 1) {
                throw badArgument("Duplicate definition of parameter '" + name + "'");
            }
            return v.get(0);
        }

        void parse() throws OaiError {
            String u = get("until");
            if (u != null && !u.isEmpty()) {
                String f = get("from");
                if (f != null && !f.isEmpty() && f.length() != u.length()) {
                    throw badArgument("Distinct granularities provided for until and from parameters");
                }
            }
            String v;
            try {
                v = get("verb");
            } catch (OaiError e) {
                throw e.code.equals("badArgument") && e.getMessage().startsWith("Duplicate")
                    ? new OaiError("badVerb", "Illegal verb") : e;
            }
            if (!List.of("Identify", "GetRecord", "ListIdentifiers", "ListMetadataFormats", "ListRecords",
                "ListSets").contains(v)) {
                throw new OaiError("badVerb", "Illegal verb");
            }
            verb = v;
            from = date(get("from"), "from");
            until = date(get("until"), "until");
            metadataPrefix = get("metadataPrefix");
            set = get("set");
            identifier = get("identifier");
            token = Token.parse(get("resumptionToken"));
            validate();
            if (token.prefix != null) {
                metadataPrefix = token.prefix;
            }
            if (token.from != null) {
                from = token.from;
            }
            if (token.until != null) {
                until = token.until;
            }
            if (token.set != null) {
                set = token.set;
            }
        }

        private static Date date(String s, String name) throws OaiError {
            if (s == null) {
                return null;
            }
            try {
                return parseDate(s);
            } catch (ParseException e) {
                throw badArgument("The " + name + " parameter given is not valid");
            }
        }

        private void validate() throws OaiError {
            boolean hasToken = !token.empty;
            if (hasToken && (from != null || set != null || until != null || metadataPrefix != null)) {
                throw badArgument("ResumptionToken cannot be sent together with from, until, metadataPrefix or set "
                    + "parameters");
            }
            switch (verb) {
                case "Identify":
                    if (identifier != null || hasToken || set != null || metadataPrefix != null || from != null
                        || until != null) {
                        throw badArgument("Identify verb does not accept any extra parameter");
                    }
                    break;
                case "ListMetadataFormats":
                    if (hasToken || set != null || metadataPrefix != null || from != null || until != null) {
                        throw badArgument("ListMetadataFormats verb only accepts one optional parameter - identifier");
                    }
                    break;
                case "ListSets":
                    if (identifier != null || set != null || metadataPrefix != null || from != null || until != null) {
                        throw badArgument("ListSets verb only accepts one optional parameter - resumptionToken");
                    }
                    break;
                case "GetRecord":
                    if (identifier == null || metadataPrefix == null || set != null || from != null || until != null) {
                        throw badArgument("GetRecord verb requires the use of the parameters - identifier and "
                            + "metadataPrefix");
                    }
                    if (hasToken) {
                        throw badArgument("GetRecord verb does not accept the resumptionToken parameter. It requires "
                            + "the use of the parameters - identifier and metadataPrefix");
                    }
                    break;
                default: // ListIdentifiers, ListRecords
                    if (!hasToken && metadataPrefix == null) {
                        throw badArgument(verb + " verb must receive the metadataPrefix parameter");
                    }
                    if (identifier != null) {
                        throw badArgument(verb + " verb does not accept the identifier parameter");
                    }
                    if (from != null && until != null && from.after(until)) {
                        throw badArgument("The 'from' date must be less then the 'until' one");
                    }
            }
        }
    }

    /** BaseDateProvider.parse: second granularity, else day; SimpleDateFormat (lenient, trailing text ignored). */
    static Date parseDate(String s) throws ParseException {
        try {
            return utc("yyyy-MM-dd'T'HH:mm:ss'Z'").parse(s);
        } catch (ParseException e) {
            return utc("yyyy-MM-dd").parse(s);
        }
    }

    private static SimpleDateFormat utc(String pattern) {
        SimpleDateFormat f = new SimpleDateFormat(pattern);
        f.setTimeZone(TimeZone.getTimeZone("UTC"));
        return f;
    }

    static String second(Date d) {
        return utc("yyyy-MM-dd'T'HH:mm:ss'Z'").format(d);
    }

    /** DSpaceResumptionTokenFormatter: "metadataPrefix/from/until/set/offset". */
    static final class Token {
        static final Token EMPTY = new Token(true, 0, null, null, null, null);
        final boolean empty;
        final int offset;
        final String prefix;
        final Date from;
        final Date until;
        final String set;

        Token(boolean empty, int offset, String prefix, Date from, Date until, String set) {
            this.empty = empty;
            this.offset = offset;
            this.prefix = prefix;
            this.from = from;
            this.until = until;
            this.set = set;
        }

        static Token parse(String s) throws OaiError {
            if (s == null) {
                return EMPTY;
            }
            String[] p = s.split("/", -1);
            if (p.length != 5) {
                throw new OaiError("badResumptionToken", "The resumption token is invalid");
            }
            try {
                int offset = Integer.parseInt(p[4]);
                return new Token(false, offset, p[0].isEmpty() ? null : p[0], p[1].isEmpty() ? null : tokenDate(p[1]),
                    p[2].isEmpty() ? null : tokenDate(p[2]), p[3].isEmpty() ? null : p[3]);
            } catch (NumberFormatException e) {
                throw new OaiError("badResumptionToken", "The resumption token is invalid");
            }
        }

        /** DateUtils.parse of 9.x: an ISO instant, anything else silently becomes "now". */
        private static Date tokenDate(String s) {
            try {
                return Date.from(DateTimeFormatter.ISO_INSTANT.parse(s, Instant::from));
            } catch (DateTimeParseException e) {
                return new Date();
            }
        }

        String format() {
            return (prefix == null ? "" : prefix) + "/" + (from == null ? "" : iso(from)) + "/"
                + (until == null ? "" : iso(until)) + "/" + (set == null ? "" : set) + "/" + offset;
        }

        private static String iso(Date d) {
            return DateTimeFormatter.ISO_INSTANT.format(d.toInstant().truncatedTo(ChronoUnit.SECONDS));
        }
    }

    // ---------------------------------------------------------------------------------------- verbs

    /** The response after </responseDate>: the request element, the verb's answer or errors, </OAI-PMH>. */
    public String handle(Map<String, List<String>> raw) throws WritingException {
        Params p = new Params(raw);
        StringBuilder request = new StringBuilder("<request");
        StringBuilder body = new StringBuilder();
        try {
            p.parse();
            attr(request, "verb", p.verb);
            attr(request, "identifier", p.get("identifier"));
            attr(request, "metadataPrefix", p.get("metadataPrefix"));
            attrDate(request, "from", p.get("from"));
            attrDate(request, "until", p.get("until"));
            attr(request, "set", p.get("set"));
            attr(request, "resumptionToken", p.get("resumptionToken"));
            switch (p.verb) {
                case "Identify" -> identify(body);
                case "ListMetadataFormats" -> listMetadataFormats(p, body);
                case "ListSets" -> listSets(p, body);
                case "GetRecord" -> getRecord(p, body);
                default -> list(p, body);
            }
        } catch (OaiError e) {
            body.setLength(0);
            body.append("<error code=\"").append(e.code).append("\">").append(OaiIndex.esc(e.getMessage()))
                .append("</error>");
        }
        request.append('>').append(OaiIndex.esc(baseUrl)).append("</request>");
        return request + body.toString() + "</OAI-PMH>";
    }

    private static void attr(StringBuilder x, String name, String value) {
        if (value != null) {
            x.append(' ').append(name).append("=\"").append(OaiIndex.esc(value)).append('"');
        }
    }

    private static void attrDate(StringBuilder x, String name, String value) throws OaiError {
        if (value != null) {
            try {
                attr(x, name, second(parseDate(value)));
            } catch (ParseException e) {
                throw badArgument("Invalid date given in " + name + " parameter");
            }
        }
    }

    private void identify(StringBuilder x) throws WritingException {
        String mail = config.get("mail.admin");
        if (mail == null) {
            throw new WritingException("List of admin emails cannot be null or empty");
        }
        x.append("<Identify>");
        value(x, "repositoryName", config.get("dspace.name", "OAI Repository"));
        value(x, "baseURL", baseUrl);
        value(x, "protocolVersion", "2.0");
        value(x, "adminEmail", mail);
        value(x, "earliestDatestamp", second(Date.from(repo.earliestDate())));
        value(x, "deletedRecord", "transient");
        value(x, "granularity", "YYYY-MM-DDThh:mm:ssZ");
        for (String d : descriptions()) {
            x.append("<description>").append(d).append("</description>");
        }
        x.append("</Identify>");
    }

    /** DSpaceRepositoryConfiguration.getDescription: oai.description.file (or .0, .1, ...), ${...} resolved. */
    private List<String> descriptions() {
        List<String> files = new ArrayList<>();
        if (config.has("oai.description.file")) {
            files.add(config.get("oai.description.file"));
        } else {
            for (int i = 0; config.has("oai.description.file." + i); i++) {
                files.add(config.get("oai.description.file." + i));
            }
        }
        if (!config.has("oai.identifier.prefix") && OaiIndex.identifierPrefix(config) != null) {
            config.setDefault("oai.identifier.prefix", OaiIndex.identifierPrefix(config));
        }
        List<String> out = new ArrayList<>();
        for (String f : files) {
            try {
                String text = config.interpolate(java.nio.file.Files.readString(java.nio.file.Path.of(f)));
                out.add(text.replaceFirst("^\\s*<\\?xml[^>]*\\?>", "").trim());
            } catch (java.io.IOException e) {
                // a missing file adds no description, as in DSpace
            }
        }
        return out;
    }

    private void listMetadataFormats(Params p, StringBuilder x) throws OaiError {
        List<Contexts.Format> formats = new ArrayList<>();
        if (p.identifier != null) {
            Repository.Record r = item(p.identifier);
            if (context.filter().shown(r, repo)) {
                for (Contexts.Format f : context.formats()) {
                    if (r.deleted || f.applicable(r, repo)) {
                        formats.add(f);
                    }
                }
            }
            if (formats.isEmpty()) {
                throw new OaiError("noMetadataFormats",
                    "The item does not have any metadata format available for dissemination");
            }
        } else {
            formats.addAll(context.formats());
        }
        x.append("<ListMetadataFormats>");
        for (Contexts.Format f : formats) {
            x.append("<metadataFormat>");
            value(x, "metadataPrefix", f.prefix());
            value(x, "schema", f.schema());
            value(x, "metadataNamespace", f.namespace());
            x.append("</metadataFormat>");
        }
        x.append("</ListMetadataFormats>");
    }

    private void listSets(Params p, StringBuilder x) throws OaiError {
        List<String[]> all = new ArrayList<>();
        for (Contexts.StaticSet s : context.sets()) {
            all.add(new String[] {s.spec(), s.name()});
        }
        try {
            all.addAll(repo.databaseSets());
        } catch (java.sql.SQLException e) {
            org.dspace.lookalike.Log.error("OAI: cannot list sets", e);
        }
        int offset = p.token.offset;
        List<String[]> page = offset < 0 || offset >= all.size() ? List.of()
            : all.subList(offset, Math.min(all.size(), offset + Contexts.PAGE));
        if (page.isEmpty() && p.token.empty) {
            throw noRecordsMatch();
        }
        x.append("<ListSets>");
        for (String[] s : page) {
            x.append("<set>");
            value(x, "setSpec", s[0]);
            value(x, "setName", s[1]);
            x.append("</set>");
        }
        boolean more = offset + Contexts.PAGE < all.size();
        if (!p.token.empty || more) {
            Token next = more ? new Token(false, offset + Contexts.PAGE, null, null, null, null) : null;
            token(x, offset, all.size(), next);
        }
        x.append("</ListSets>");
    }

    private void getRecord(Params p, StringBuilder x) throws OaiError {
        Contexts.Format format = context.format(p.metadataPrefix);
        if (format == null) {
            throw unknownFormat();
        }
        Repository.Record r = item(p.identifier);
        if (!context.filter().shown(r, repo)) {
            throw idDoesNotExist();
        }
        if (!format.applicable(r, repo)) {
            throw new OaiError("cannotDisseminateFormat", "Cannot disseminate item with the given format");
        }
        x.append("<GetRecord><record>");
        header(x, r);
        metadata(x, r, format);
        x.append("</record></GetRecord>");
    }

    /** ListIdentifiers and ListRecords. */
    private void list(Params p, StringBuilder x) throws OaiError {
        boolean records = p.verb.equals("ListRecords");
        Contexts.StaticSet staticSet = p.set == null ? null : context.staticSet(p.set);
        if (p.set != null && staticSet == null && !repo.setExists(p.set)) {
            throw noRecordsMatch();
        }
        Contexts.Format format = context.format(p.metadataPrefix);
        if (format == null) {
            throw unknownFormat();
        }
        Instant from = p.from == null ? null : p.from.toInstant().with(ChronoField.MILLI_OF_SECOND, 0);
        Instant until = p.until == null ? null : endOfUntil(p.until.toInstant());
        List<Repository.Record> hits = new ArrayList<>();
        for (Repository.Record r : repo.records()) {
            if (context.filter().query(r) && format.query(r)
                && (p.set == null || staticSet != null || r.sets().contains(p.set))
                && (from == null || (r.lastModified != null && !r.lastModified.isBefore(from)))
                && (until == null || (r.lastModified != null && !r.lastModified.isAfter(until)))) {
                hits.add(r);
            }
        }
        int offset = p.token.offset;
        List<Repository.Record> page = offset < 0 || offset >= hits.size() ? List.of()
            : hits.subList(offset, Math.min(hits.size(), offset + Contexts.PAGE));
        if (page.isEmpty()) {
            throw noRecordsMatch();
        }
        boolean more = hits.size() > offset + Contexts.PAGE;
        for (Repository.Record r : page) {
            r.item();
        }
        StringBuilder items = new StringBuilder();
        for (Repository.Record r : page) {
            if (records) {
                items.append("<record>");
                header(items, r);
                metadata(items, r, format);
                items.append("</record>");
            } else {
                if (!r.deleted && !format.applicable(r, repo)) {
                    throw new OaiError("cannotDisseminateFormat", "Cannot disseminate item with the given format");
                }
                header(items, r);
            }
        }
        x.append(records ? "<ListRecords>" : "<ListIdentifiers>").append(items);
        if (!p.token.empty || more) {
            Token next = more ? new Token(false, offset + Contexts.PAGE, p.metadataPrefix, p.from, p.until, p.set)
                : null;
            token(x, offset, hits.size(), next);
        }
        x.append(records ? "</ListRecords>" : "</ListIdentifiers>");
    }

    /** DateUntilFilter: up to .999 of the second; a time of 00:00:00 means the end of that day. */
    private static Instant endOfUntil(Instant until) {
        Instant t = until.with(ChronoField.MILLI_OF_SECOND, 999);
        if (t.atZone(java.time.ZoneOffset.UTC).toLocalTime().truncatedTo(ChronoUnit.SECONDS)
            .equals(java.time.LocalTime.MIDNIGHT)) {
            t = t.plus(1, ChronoUnit.DAYS).minusSeconds(1);
        }
        return t;
    }

    private static void token(StringBuilder x, int offset, int total, Token next) {
        x.append("<resumptionToken completeListSize=\"").append(total).append("\" cursor=\"")
            .append(offset / Contexts.PAGE).append("\">");
        if (next != null) {
            x.append(OaiIndex.esc(next.format()));
        }
        x.append("</resumptionToken>");
    }

    /** DSpaceItemSolrRepository.getItem: "a:b:handle" (three parts, any scheme and host), first by item.id. */
    private Repository.Record item(String identifier) throws OaiError {
        String[] parts = identifier.split(":", -1);
        if (parts.length == 3) {
            for (Repository.Record r : repo.records()) {
                if (r.handle.equals(parts[2])) {
                    return r.item();
                }
            }
        }
        throw idDoesNotExist();
    }

    private void header(StringBuilder x, Repository.Record r) {
        x.append(r.deleted ? "<header status=\"deleted\">" : "<header>");
        value(x, "identifier", OaiIndex.identifier(config, r.handle));
        value(x, "datestamp", second(Date.from(r.lastModified)));
        for (String s : context.setSpecs(r)) {
            value(x, "setSpec", s);
        }
        x.append("</header>");
    }

    private void metadata(StringBuilder x, Repository.Record r, Contexts.Format format) throws OaiError {
        if (r.deleted) {
            return;
        }
        if (format.crosswalk() == null) {
            throw new OaiError("cannotDisseminateFormat", "The dspace-deploy look-alike does not produce the "
                + format.prefix() + " format of the " + context.baseUrl() + " context");
        }
        x.append("<metadata>").append(format.crosswalk().apply(context.transformer().apply(r.metadata())))
            .append("</metadata>");
    }

    private static void value(StringBuilder x, String tag, String v) {
        x.append('<').append(tag).append('>').append(OaiIndex.esc(v)).append("</").append(tag).append('>');
    }
}
