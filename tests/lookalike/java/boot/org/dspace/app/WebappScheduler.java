/*
 * dspace-deploy test look-alike (not DSpace or Spring code): the jobs the DSpace webapp schedules
 * itself (WebApplication.java:65,86 at dspace-9.3: @Scheduled(cron = "${sitemap.cron:-}") and
 * "${solr-database-resync.cron:-}"), on Spring's six-field cron syntax (second minute hour
 * day-of-month month day-of-week; "-" disables a job). dspace.cfg sets both keys, so a deployment
 * that also runs these commands from timers runs them twice unless it sets the keys to "-".
 * An expression Spring would refuse stops the application, as Spring does at start.
 */
package org.dspace.app;

import java.time.DayOfWeek;
import java.time.LocalDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.dspace.app.sitemap.GenerateSitemaps;
import org.dspace.app.solrdatabaseresync.SolrDatabaseResyncCli;
import org.dspace.lookalike.Config;
import org.dspace.lookalike.Log;

final class WebappScheduler {
    private static final String[] MONTHS = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
        "NOV", "DEC"};
    private static final String[] DAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

    private WebappScheduler() {
    }

    /** A parsed cron expression: one bit set per field. */
    static final class Cron {
        final BitSet seconds;
        final BitSet minutes;
        final BitSet hours;
        final BitSet days;
        final BitSet months;
        final BitSet weekdays; // 0 = Sunday

        Cron(String expression) {
            String[] f = expression.trim().split("\\s+");
            if (f.length != 6) {
                throw new IllegalArgumentException("Cron expression must consist of 6 fields (found " + f.length
                    + " in \"" + expression + "\")");
            }
            seconds = field(f[0], 0, 59, null, expression);
            minutes = field(f[1], 0, 59, null, expression);
            hours = field(f[2], 0, 23, null, expression);
            days = field(f[3], 1, 31, null, expression);
            months = field(f[4], 1, 12, MONTHS, expression);
            BitSet w = field(f[5], 0, 7, DAYS, expression);
            if (w.get(7)) {
                w.set(0);
                w.clear(7);
            }
            weekdays = w;
        }

        boolean matches(LocalDateTime t) {
            DayOfWeek dow = t.getDayOfWeek();
            return seconds.get(t.getSecond()) && minutes.get(t.getMinute()) && hours.get(t.getHour())
                && days.get(t.getDayOfMonth()) && months.get(t.getMonthValue())
                && weekdays.get(dow.getValue() % 7);
        }

        private static BitSet field(String text, int min, int max, String[] names, String expression) {
            BitSet bits = new BitSet();
            for (String part : text.split(",")) {
                String range = part;
                int step = 1;
                int slash = part.indexOf('/');
                if (slash >= 0) {
                    range = part.substring(0, slash);
                    step = number(part.substring(slash + 1), 1, max, null, expression);
                }
                int lo;
                int hi;
                if (range.equals("*") || range.equals("?")) {
                    lo = min;
                    hi = max;
                } else if (range.contains("-")) {
                    String[] ends = range.split("-", 2);
                    lo = number(ends[0], min, max, names, expression);
                    hi = number(ends[1], min, max, names, expression);
                } else {
                    lo = number(range, min, max, names, expression);
                    hi = slash >= 0 ? max : lo;
                }
                if (lo > hi) {
                    throw new IllegalArgumentException("Invalid range '" + range + "' in \"" + expression + "\"");
                }
                for (int v = lo; v <= hi; v += step) {
                    bits.set(v);
                }
            }
            return bits;
        }

        private static int number(String s, int min, int max, String[] names, String expression) {
            if (names != null) {
                for (int i = 0; i < names.length; i++) {
                    if (names[i].equals(s.toUpperCase(Locale.ROOT))) {
                        return names == MONTHS ? i + 1 : i;
                    }
                }
            }
            try {
                int v = Integer.parseInt(s);
                if (v < min || v > max) {
                    throw new IllegalArgumentException("Value " + v + " out of range [" + min + ", " + max
                        + "] in \"" + expression + "\"");
                }
                return v;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Unsupported cron field value '" + s + "' in \"" + expression
                    + "\" (the look-alike knows *, ?, numbers, names, lists, ranges and steps)");
            }
        }
    }

    private static final class Job {
        final String key;
        final String method;
        final Cron cron;
        final Runnable body;

        Job(String key, String method, Cron cron, Runnable body) {
            this.key = key;
            this.method = method;
            this.cron = cron;
            this.body = body;
        }
    }

    /** The webapp's own jobs, keyed by their configuration key, with what each runs. */
    private static Map<String, Object[]> jobs() {
        Map<String, Object[]> m = new LinkedHashMap<>();
        m.put("sitemap.cron", new Object[] {"generateSitemap", (Runnable) () -> {
            try {
                GenerateSitemaps.generateSitemapsScheduled();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }});
        m.put("solr-database-resync.cron", new Object[] {"solrDatabaseResync", (Runnable) () -> {
            try {
                SolrDatabaseResyncCli.runScheduled();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }});
        return m;
    }

    /**
     * Parses the cron keys (an invalid one stops the application, as Spring does at start) and
     * runs each enabled job on its schedule in one scheduler thread, logging to dspace.log.
     */
    static void start(Config config) {
        List<Job> enabled = new ArrayList<>();
        for (Map.Entry<String, Object[]> e : jobs().entrySet()) {
            String key = e.getKey();
            String method = (String) e.getValue()[0];
            String expression = config.get(key, "-").trim();
            if (expression.equals("-") || expression.isEmpty()) {
                Log.info("Scheduled job " + method + " is disabled (" + key + " = -)");
                continue;
            }
            Cron cron;
            try {
                cron = new Cron(expression);
            } catch (IllegalArgumentException ex) {
                String msg = "Encountered invalid @Scheduled method '" + method + "': " + ex.getMessage();
                Log.error(msg, null);
                System.err.println("APPLICATION FAILED TO START: " + msg);
                System.exit(1);
                return;
            }
            Log.info("Scheduled job " + method + " with cron '" + expression + "' (" + key + ")");
            enabled.add(new Job(key, method, cron, (Runnable) e.getValue()[1]));
        }
        if (enabled.isEmpty()) {
            return;
        }
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "scheduling-1");
            t.setDaemon(true);
            return t;
        });
        final LocalDateTime[] last = {LocalDateTime.now().truncatedTo(ChronoUnit.SECONDS)};
        timer.scheduleAtFixedRate(() -> {
            LocalDateTime now = LocalDateTime.now().truncatedTo(ChronoUnit.SECONDS);
            for (LocalDateTime t = last[0].plusSeconds(1); !t.isAfter(now); t = t.plusSeconds(1)) {
                for (Job job : enabled) {
                    if (job.cron.matches(t)) {
                        run(job);
                    }
                }
            }
            last[0] = now;
        }, 1000 - (System.currentTimeMillis() % 1000), 250, TimeUnit.MILLISECONDS);
    }

    private static void run(Job job) {
        Log.info("Running scheduled job " + job.method + " (" + job.key + ")");
        try {
            job.body.run();
            Log.info("Scheduled job " + job.method + " finished");
        } catch (RuntimeException e) {
            Log.error("Scheduled job " + job.method + " failed", e);
        }
    }
}
