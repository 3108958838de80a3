/*
 * dspace-deploy test look-alike (not DSpace code): what a "script service" command
 * (config/spring/api/scripts.xml, contract 4.2 step 4) implements here.
 */
package org.dspace.lookalike;

public interface Script {
    /** Option definitions (for parsing and help). */
    Opts options();

    /** Run with parsed options; return the exit status (0 = completed). */
    int run(Opts parsed) throws Exception;
}
