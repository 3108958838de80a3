/*
 * dspace-deploy test look-alike (not SolrJ code): how DSpace's commands see Solr failures through
 * SolrJ's HttpSolrClient, which decides their exit codes. A server that cannot be reached raises
 * the checked SolrServerException ("IOException occurred when talking to server at: <url>"),
 * which DSpace's tools catch and print; an HTTP error answer raises the unchecked
 * RemoteSolrException ("Error from server at <url>: <msg>"), which escapes them (SolrJ 8.11
 * HttpSolrClient.executeMethod). The class names differ from SolrJ's; the checked/unchecked
 * split and the messages are what the commands' behaviour depends on.
 */
package org.dspace.lookalike;

import java.io.IOException;
import java.util.Map;

import lookalike.common.Json;

public final class SolrJ {
    private SolrJ() {
    }

    /** SolrJ's SolrServerException: the server did not answer (checked). */
    public static final class SolrServerException extends Exception {
        private static final long serialVersionUID = 1L;

        public SolrServerException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** SolrJ's RemoteSolrException: the server answered with an error status (unchecked). */
    public static final class RemoteSolrException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final int code;

        public RemoteSolrException(String url, int code, String message) {
            super("Error from server at " + url + ": " + message);
            this.code = code;
        }
    }

    /** GET <core>/select?<params> as JSON (HttpSolrClient.query). */
    public static Map<String, Object> query(String coreUrl, String params) throws SolrServerException {
        return answer(coreUrl, call(coreUrl, () -> Http.get(coreUrl + "/select?wt=json&" + params)));
    }

    /** POST a body to <core>/<path?params> (HttpSolrClient.request of an update). */
    public static Map<String, Object> post(String coreUrl, String pathAndParams, String contentType, String body)
        throws SolrServerException {
        String sep = pathAndParams.contains("?") ? "&" : "?";
        return answer(coreUrl, call(coreUrl,
            () -> Http.post(coreUrl + "/" + pathAndParams + sep + "wt=json", contentType, body)));
    }

    private interface Call {
        Http.Response run() throws IOException;
    }

    private static Http.Response call(String coreUrl, Call call) throws SolrServerException {
        try {
            return call.run();
        } catch (IOException e) {
            throw new SolrServerException("IOException occurred when talking to server at: " + coreUrl, e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> answer(String coreUrl, Http.Response r) {
        Object parsed = null;
        try {
            parsed = Json.parse(r.body);
        } catch (RuntimeException e) {
            parsed = null;
        }
        if (r.status != 200) {
            String msg;
            if (parsed instanceof Map && ((Map<String, Object>) parsed).get("error") instanceof Map) {
                msg = String.valueOf(((Map<String, Object>) ((Map<String, Object>) parsed).get("error")).get("msg"));
            } else {
                msg = "Expected mime type application/octet-stream but got text/html. " + r.body;
            }
            throw new RemoteSolrException(coreUrl, r.status, msg);
        }
        if (!(parsed instanceof Map)) {
            throw new RemoteSolrException(coreUrl, r.status, "Expected mime type application/octet-stream but got "
                + "text/html. " + r.body);
        }
        return (Map<String, Object>) parsed;
    }
}
