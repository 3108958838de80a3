/*
 * dspace-deploy test look-alike (not DSpace code): the checked exception of DSpace's Solr
 * export/import tool (org.dspace.util.SolrImportExportException), which its main() catches.
 */
package org.dspace.util;

public class SolrImportExportException extends Exception {
    private static final long serialVersionUID = 1L;

    public SolrImportExportException(String message) {
        super(message);
    }

    public SolrImportExportException(String message, Throwable cause) {
        super(message, cause);
    }
}
