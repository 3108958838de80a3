/*
 * dspace-deploy test look-alike (not DSpace code): which metadata fields a fresh DSpace registry has.
 * The names (facts only) are those of dspace/config/registries/dublin-core-types.xml and
 * dcterms-types.xml at dspace-9.3 (loaded into the database when DSpace installs); `local` has no
 * field. A field outside them does not exist, as in a fresh real repository.
 */
package org.dspace.lookalike;

import java.util.Map;
import java.util.Set;

public final class Registry {
    private static final Map<String, String> NAMESPACES = Map.of(
        "dc", "http://dublincore.org/documents/dcmi-terms/",
        "dcterms", "http://purl.org/dc/terms/",
        "local", "http://dspace.org/namespace/local/");

    private static final Set<String> DC = Set.of(("contributor contributor.advisor contributor.author "
        + "contributor.editor contributor.illustrator contributor.other coverage.spatial coverage.temporal creator "
        + "date date.accessioned date.available date.copyright date.created date.issued date.submitted identifier "
        + "identifier.citation identifier.govdoc identifier.isbn identifier.issn identifier.sici identifier.ismn "
        + "identifier.other identifier.doi identifier.scopus identifier.uri description description.abstract "
        + "description.provenance description.sponsorship description.statementofresponsibility "
        + "description.tableofcontents description.uri format format.extent format.medium format.mimetype language "
        + "language.iso publisher relation relation.isformatof relation.ispartof relation.ispartofseries "
        + "relation.haspart relation.isversionof relation.hasversion relation.isbasedon relation.isreferencedby "
        + "relation.requires relation.replaces relation.isreplacedby relation.uri rights rights.uri source "
        + "source.uri subject subject.classification subject.ddc subject.lcc subject.lcsh subject.mesh "
        + "subject.other title title.alternative type provenance rights.license identifier.openalex").split(" "));

    private static final Set<String> DCTERMS = Set.of(("abstract accessRights accrualMethod accrualPeriodicity "
        + "accrualPolicy alternative audience available bibliographicCitation conformsTo contributor coverage "
        + "created creator date dateAccepted dateCopyrighted dateSubmitted description educationLevel extent format "
        + "hasFormat hasPart hasVersion identifier instructionalMethod isFormatOf isPartOf isReferencedBy "
        + "isReplacedBy isRequiredBy issued isVersionOf language license mediator medium modified provenance "
        + "publisher references relation replaces requires rights rightsHolder source spatial subject "
        + "tableOfContents temporal title type valid").split(" "));

    private Registry() {
    }

    public static boolean has(String schema, String element, String qualifier) {
        String name = qualifier == null ? element : element + "." + qualifier;
        if ("dc".equals(schema)) {
            return DC.contains(name);
        }
        if ("dcterms".equals(schema)) {
            return DCTERMS.contains(name);
        }
        return false;
    }

    public static boolean hasSchema(String schema) {
        return NAMESPACES.containsKey(schema);
    }

    public static String namespace(String schema) {
        return NAMESPACES.get(schema);
    }
}
