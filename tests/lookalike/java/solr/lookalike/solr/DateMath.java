/*
 * dspace-deploy test look-alike (not Apache Solr code): Solr's date syntax where DSpace uses it:
 * ISO-8601 instants ("2024-05-01T10:00:00Z", with or without milliseconds), NOW, and date math
 * after either (round "/MONTH", add "+1MONTH", subtract "-7DAYS"), all in UTC, as Solr's
 * DateMathParser reads them (solr/guide "Working with Dates"). Output as Solr writes dates:
 * ISO-8601 in UTC, milliseconds only when not zero.
 */
package lookalike.solr;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

final class DateMath {
    private static final Pattern HEAD = Pattern.compile(
        "^(NOW|\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,9})?Z)");
    private static final Pattern OP = Pattern.compile("^(?:/([A-Z]+)|([+-])(\\d+)([A-Z]+))");

    private DateMath() {
    }

    /** The instant an expression names, or null when it is not a date (expression). */
    static Instant parse(String expr, Instant now) {
        if (expr == null) {
            return null;
        }
        String s = expr.trim();
        Matcher head = HEAD.matcher(s);
        if (!head.find()) {
            return null;
        }
        ZonedDateTime t;
        try {
            t = head.group(1).equals("NOW") ? now.atZone(ZoneOffset.UTC)
                : Instant.parse(head.group(1)).atZone(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            return null;
        }
        String rest = s.substring(head.end());
        while (!rest.isEmpty()) {
            Matcher op = OP.matcher(rest);
            if (!op.find()) {
                return null;
            }
            if (op.group(1) != null) {
                t = round(t, op.group(1));
            } else {
                long n = Long.parseLong(op.group(3)) * (op.group(2).equals("-") ? -1 : 1);
                t = t.plus(n, unit(op.group(4)));
            }
            if (t == null) {
                return null;
            }
            rest = rest.substring(op.end());
        }
        return t.toInstant();
    }

    /** A gap such as "+1MONTH" applied to an instant. */
    static Instant add(Instant start, String gap) {
        return parse(format(start) + gap, start);
    }

    static String format(Instant t) {
        return DateTimeFormatter.ISO_INSTANT.format(t);
    }

    private static ChronoUnit unit(String u) {
        switch (u.endsWith("S") && !u.equals("MILLIS") ? u.substring(0, u.length() - 1) : u) {
            case "YEAR": return ChronoUnit.YEARS;
            case "MONTH": return ChronoUnit.MONTHS;
            case "DAY":
            case "DATE": return ChronoUnit.DAYS;
            case "HOUR": return ChronoUnit.HOURS;
            case "MINUTE": return ChronoUnit.MINUTES;
            case "SECOND": return ChronoUnit.SECONDS;
            case "MILLI":
            case "MILLIS":
            case "MILLISECOND": return ChronoUnit.MILLIS;
            default: throw new IllegalArgumentException("Invalid Date Math String: unit " + u);
        }
    }

    private static ZonedDateTime round(ZonedDateTime t, String u) {
        ChronoUnit unit = unit(u);
        switch (unit) {
            case YEARS: return t.withDayOfYear(1).truncatedTo(ChronoUnit.DAYS);
            case MONTHS: return t.withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS);
            default: return t.truncatedTo(unit);
        }
    }
}
