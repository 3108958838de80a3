/*
 * dspace-deploy test look-alike (not DSpace code): the OAI-PMH contexts of DSpace's default
 * [dspace]/config/crosswalks/oai/xoai.xml (DSpace/DSpace@dspace-9.3; 10.0 adds the datacite format to
 * "request"): their filters, static sets, metadata formats and transformers, list sizes of 100.
 * Each filter is evaluated two ways, as in DSpace: over the oai core's fields for the list verbs
 * (the Solr query BaseDSpaceFilterResolver builds) and over the compiled metadata plus the database
 * for GetRecord and ListMetadataFormats (the filters' isShown).
 */
package org.dspace.xoai.lookalike;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.dspace.lookalike.Release;

public final class Contexts {
    /** maxListIdentifiersSize, maxListRecordsSize and maxListSetsSize of xoai.xml. */
    public static final int PAGE = 100;

    private Contexts() {
    }

    /** A filter (xoai.xml <Filter>/<CustomCondition>). */
    public interface Condition {
        /** As the oai core's query selects the record. */
        boolean query(Repository.Record r);

        /** As isShown decides it for one item. */
        boolean shown(Repository.Record r, Repository repo);
    }

    static Condition and(Condition a, Condition b) {
        return new Condition() {
            public boolean query(Repository.Record r) {
                return a.query(r) && b.query(r);
            }

            public boolean shown(Repository.Record r, Repository repo) {
                return a.shown(r, repo) && b.shown(r, repo);
            }
        };
    }

    static Condition or(Condition a, Condition b) {
        return new Condition() {
            public boolean query(Repository.Record r) {
                return a.query(r) || b.query(r);
            }

            public boolean shown(Repository.Record r, Repository repo) {
                return a.shown(r, repo) || b.shown(r, repo);
            }
        };
    }

    static Condition not(Condition a) {
        return new Condition() {
            public boolean query(Repository.Record r) {
                return !a.query(r);
            }

            public boolean shown(Repository.Record r, Repository repo) {
                return !a.shown(r, repo);
            }
        };
    }

    /** DSpaceAuthorizationFilter: item.public in the core; anonymous READ in the database for one item. */
    static final Condition ITEM_ACCESS = new Condition() {
        public boolean query(Repository.Record r) {
            return r.isPublic;
        }

        public boolean shown(Repository.Record r, Repository repo) {
            return repo.readable(r.handle);
        }
    };

    /** DSpaceWithdrawnFilter: item.deleted (withdrawn, not discoverable, or made private). */
    static final Condition ITEM_WITHDRAWN = new Condition() {
        public boolean query(Repository.Record r) {
            return r.deleted;
        }

        public boolean shown(Repository.Record r, Repository repo) {
            return r.deleted;
        }
    };

    /** DSpaceMetadataExistsFilter. */
    static Condition exists(String... fields) {
        return new Condition() {
            public boolean query(Repository.Record r) {
                for (String f : fields) {
                    if (!r.indexedValues(f).isEmpty()) {
                        return true;
                    }
                }
                return false;
            }

            public boolean shown(Repository.Record r, Repository repo) {
                for (String f : fields) {
                    if (!r.metadata().firstChildValues(f).isEmpty()) {
                        return true;
                    }
                }
                return false;
            }
        };
    }

    enum Op { CONTAINS, EQUAL, ENDS_WITH, STARTS_WITH }

    /** DSpaceAtLeastOneMetadataFilter (case-sensitive: the oai core's metadata fields are not lower-cased). */
    static Condition atLeastOne(String field, Op op, String... values) {
        return new Condition() {
            boolean any(List<String> actual) {
                for (String a : actual) {
                    for (String v : values) {
                        boolean hit = switch (op) {
                            case EQUAL -> a.equals(v);
                            case ENDS_WITH -> a.endsWith(v);
                            case STARTS_WITH -> a.startsWith(v);
                            case CONTAINS -> a.contains(v);
                        };
                        if (hit) {
                            return true;
                        }
                    }
                }
                return false;
            }

            public boolean query(Repository.Record r) {
                return any(r.indexedValues(field));
            }

            public boolean shown(Repository.Record r, Repository repo) {
                return any(r.metadata().firstChildValues(field));
            }
        };
    }

    // the custom conditions of xoai.xml
    static final Condition TITLE = exists("dc.title");
    static final Condition AUTHOR = exists("dc.contributor.author");
    static final Condition DRIVER_TYPE = atLeastOne("dc.type", Op.ENDS_WITH, "article", "bachelorThesis",
        "masterThesis", "doctoralThesis", "book", "bookPart", "review", "conferenceObject", "lecture", "workingPaper",
        "preprint", "report", "annotation", "contributionToPeriodical", "patent", "dataset", "other");
    static final Condition DRIVER_ACCESS = atLeastOne("dc.rights", Op.CONTAINS, "openAccess");
    static final Condition OPENAIRE_RELATION = atLeastOne("dc.relation", Op.STARTS_WITH,
        "info:eu-repo/grantAgreement/");
    static final Condition PUBLICATION = or(not(exists("dspace.entity.type")),
        atLeastOne("dspace.entity.type", Op.EQUAL, "Publication", "publication"));
    static final Condition VISIBLE = or(ITEM_ACCESS, ITEM_WITHDRAWN);

    // the filters of xoai.xml
    static final Condition DEFAULT_FILTER = and(VISIBLE, PUBLICATION);
    static final Condition DRIVER_FILTER = and(and(TITLE, AUTHOR), and(DRIVER_TYPE, and(VISIBLE, DRIVER_ACCESS)));
    static final Condition OPENAIRE_FILTER = and(and(and(TITLE, AUTHOR), DRIVER_TYPE),
        or(and(VISIBLE, DRIVER_ACCESS), OPENAIRE_RELATION));
    static final Condition RIOXX_FILTER = and(VISIBLE, and(and(TITLE, AUTHOR),
        and(exists("dc.language.iso"), or(exists("dc.type"), atLeastOne("dspace.entity.type", Op.EQUAL,
            "Publication", "publication")))));
    static final Condition THESIS = atLeastOne("dc.type", Op.CONTAINS, "Thesis");

    /** A metadata format; `crosswalk` is null where the look-alike does not produce the format. */
    public record Format(String prefix, String namespace, String schema, Condition filter, Crosswalk crosswalk) {
        /** MetadataFormat.isApplicable (deleted records always are). */
        boolean applicable(Repository.Record r, Repository repo) {
            return r.deleted || filter == null || filter.shown(r, repo);
        }

        /** The format filter in a list query: "(item.deleted:true OR (filter))". */
        boolean query(Repository.Record r) {
            return filter == null || r.deleted || filter.query(r);
        }
    }

    /** How a format's XML is made from an item's (transformed) compiled metadata. */
    public interface Crosswalk {
        String apply(Metadata m);
    }

    /** A static set of xoai.xml (an alias of the whole context: no filter). */
    public record StaticSet(String spec, String name) {
    }

    /** One <Context>. `formats` iterate in XOAIContext's order (a HashMap keyed by prefix). */
    public record Context(String baseUrl, String name, String description, Condition filter,
                          UnaryOperator<Metadata> transformer, List<Format> formats, List<StaticSet> sets) {
        Format format(String prefix) {
            for (Format f : formats) {
                if (f.prefix().equals(prefix)) {
                    return f;
                }
            }
            return null;
        }

        StaticSet staticSet(String spec) {
            for (StaticSet s : sets) {
                if (s.spec().equals(spec)) {
                    return s;
                }
            }
            return null;
        }

        /** The item's setSpecs: its communities and collections, then the context's static sets. */
        List<String> setSpecs(Repository.Record r) {
            List<String> out = r.sets();
            for (StaticSet s : sets) {
                out.add(s.spec());
            }
            return out;
        }
    }

    private static final Map<String, Format> FORMATS = new HashMap<>();

    private static void format(String prefix, String ns, String schema, Condition filter, Crosswalk cw) {
        FORMATS.put(prefix, new Format(prefix, ns, schema, filter, cw));
    }

    static {
        format("oai_dc", Metadata.OAI_DC_NS, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", null, Metadata::oaiDc);
        format("mets", "http://www.loc.gov/METS/", "http://www.loc.gov/standards/mets/mets.xsd", null, null);
        format("xoai", "http://www.lyncode.com/xoai", "http://www.lyncode.com/schemas/xoai.xsd", null, Metadata::xoai);
        format("didl", "urn:mpeg:mpeg21:2002:02-DIDL-NS",
            "http://standards.iso.org/ittf/PubliclyAvailableStandards/MPEG-21_schema_files/did/didl.xsd", null, null);
        format("dim", "http://www.dspace.org/xmlns/dspace/dim", "http://www.dspace.org/schema/dim.xsd", null, null);
        format("ore", "http://www.w3.org/2005/Atom", "http://tweety.lanl.gov/public/schemas/2008-06/atom-tron.sch",
            null, null);
        format("rdf", "http://www.openarchives.org/OAI/2.0/rdf/", "http://www.openarchives.org/OAI/2.0/rdf.xsd",
            null, null);
        format("etdms", "http://www.ndltd.org/standards/metadata/etdms/1.0/",
            "http://www.ndltd.org/standards/metadata/etdms/1.0/etdms.xsd", null, null);
        format("mods", "http://www.loc.gov/mods/v3", "http://www.loc.gov/standards/mods/v3/mods-3-1.xsd", null, null);
        format("qdc", "http://purl.org/dc/terms/", "http://dublincore.org/schemas/xmls/qdc/2006/01/06/dcterms.xsd",
            null, null);
        format("marc", "http://www.loc.gov/MARC21/slim", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
            null, null);
        format("uketd_dc", "http://naca.central.cranfield.ac.uk/ethos-oai/2.0/",
            "http://naca.central.cranfield.ac.uk/ethos-oai/2.0/uketd_dc.xsd", THESIS, null);
        format("oai_openaire", "http://namespace.openaire.eu/schema/oaire/",
            "https://www.openaire.eu/schema/repo-lit/4.0/openaire.xsd", null, null);
        format("rioxx", "http://www.rioxx.net/schema/v3.0/rioxx/",
            "http://www.rioxx.net/schema/v3.0/rioxx/ http://www.rioxx.net/schema/v3.0/rioxx/rioxx.xsd", RIOXX_FILTER,
            null);
        format("datacite", "http://datacite.org/schema/kernel-4", "http://schema.datacite.org/meta/kernel-4/metadata.xsd",
            null, null);
    }

    /** The context's formats in the order XOAIContext.getFormats() returns them (HashMap value order). */
    private static List<Format> formats(String... prefixes) {
        Map<String, Format> byPrefix = new HashMap<>();
        for (String p : prefixes) {
            byPrefix.put(p, FORMATS.get(p));
        }
        return new ArrayList<>(byPrefix.values());
    }

    private static final UnaryOperator<Metadata> NONE = m -> m;

    /** The context named by the URL path segment, or null (the real answer is then the index page, HTTP 400). */
    public static Context get(String baseUrl) {
        switch (baseUrl) {
            case "request": {
                List<String> p = new ArrayList<>(List.of("oai_dc", "mets", "xoai", "didl", "dim", "ore", "rdf",
                    "etdms", "mods", "qdc", "marc", "uketd_dc", "rioxx"));
                if (Release.lineMajor() >= 10) {
                    p.add("datacite");
                }
                return new Context("request", "Default Context",
                    "This is the default context of the DSpace OAI-PMH data provider.", DEFAULT_FILTER, NONE,
                    formats(p.toArray(new String[0])), List.of());
            }
            case "driver":
                return new Context("driver", "Driver Context", "This context complies with Driver rules.",
                    DRIVER_FILTER, m -> Metadata.transform(m, Metadata::driverRights), formats("oai_dc", "mets", "didl"),
                    List.of(new StaticSet("driver", "Open Access DRIVERset")));
            case "openaire":
                return new Context("openaire", "Openaire Context",
                    "This context complies with OpenAIRE Guidelines for Literature Repositories v3.0.", OPENAIRE_FILTER,
                    m -> Metadata.transform(m, Metadata::openaireRights), formats("oai_dc", "mets"),
                    List.of(new StaticSet("openaire", "OpenAIRE")));
            case "openaire4":
                // its transformer (openaire4.xsl) is not imitated: only oai_openaire, which is not produced
                return new Context("openaire4", "Openaire 4 Context", "This contexts complies with OpenAIRE "
                    + "Guidelines for Institutional and Thematic Repository Managers v4.0.", DEFAULT_FILTER, NONE,
                    formats("oai_openaire"), List.of());
            case "rioxx":
                // rioxx.xsl is not imitated, so no format of this context is produced
                return new Context("rioxx", "Rioxx Context",
                    "This context complies with the Rioxx metadata profile version 3", RIOXX_FILTER, NONE,
                    formats("oai_dc", "rioxx", "qdc").stream().map(f -> new Format(f.prefix(), f.namespace(),
                        f.schema(), f.filter(), null)).toList(), List.of());
            default:
                return null;
        }
    }

    /** The contexts of xoai.xml, in its order (the index page lists them). */
    public static List<Context> all() {
        List<Context> out = new ArrayList<>();
        for (String n : new String[] {"request", "driver", "openaire", "openaire4", "rioxx"}) {
            out.add(get(n));
        }
        return out;
    }
}
