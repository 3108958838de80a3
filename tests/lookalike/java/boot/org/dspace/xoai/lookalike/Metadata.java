/*
 * dspace-deploy test look-alike (not DSpace code): an item's compiled XOAI metadata (the
 * item.compile field of the oai core: <element name=...> trees with <field name=...> leaves), the
 * context transformers of DSpace's xoai.xml (driver, openaire) and the oai_dc and xoai crosswalks.
 * Behaviour read in DSpace/DSpace@dspace-9.3: dspace/config/crosswalks/oai/metadataFormats/oai_dc.xsl,
 * xoai.xsl, transformers/driver.xsl, transformers/openaire.xsl.
 */
package org.dspace.xoai.lookalike;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import javax.xml.parsers.DocumentBuilderFactory;

import org.dspace.lookalike.OaiIndex;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.InputSource;

public final class Metadata {
    static final String OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/";
    static final String DC_NS = "http://purl.org/dc/elements/1.1/";
    static final String XSI_NS = "http://www.w3.org/2001/XMLSchema-instance";
    static final String OPEN_ACCESS = "info:eu-repo/semantics/openAccess";
    static final String SEMANTICS = "info:eu-repo/semantics/";

    final String name;
    final List<String[]> fields = new ArrayList<>();
    final List<Metadata> children = new ArrayList<>();

    private Metadata(String name) {
        this.name = name;
    }

    /** Parses item.compile (a <metadata xmlns="http://www.lyncode.com/xoai"> document). */
    static Metadata parse(String xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setExpandEntityReferences(false);
            Element root = f.newDocumentBuilder().parse(new InputSource(new StringReader(xml))).getDocumentElement();
            return read(root, null);
        } catch (Exception e) {
            throw new IllegalStateException("item.compile is not XOAI metadata: " + e.getMessage(), e);
        }
    }

    private static Metadata read(Element e, String name) {
        Metadata m = new Metadata(name);
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c) {
                if (c.getLocalName().equals("field")) {
                    m.fields.add(new String[] {c.getAttribute("name"), c.getTextContent()});
                } else if (c.getLocalName().equals("element")) {
                    m.children.add(read(c, c.getAttribute("name")));
                }
            }
        }
        return m;
    }

    Metadata copy() {
        Metadata m = new Metadata(name);
        for (String[] f : fields) {
            m.fields.add(f.clone());
        }
        for (Metadata c : children) {
            m.children.add(c.copy());
        }
        return m;
    }

    private Metadata get(String n) {
        for (Metadata c : children) {
            if (n.equals(c.name)) {
                return c;
            }
        }
        return null;
    }

    private List<String> values() {
        List<String> out = new ArrayList<>();
        for (String[] f : fields) {
            if (f[0].equals("value")) {
                out.add(f[1]);
            }
        }
        return out;
    }

    /**
     * DSpaceItem.getMetadata("schema.element[.qualifier]") as the in-memory filters of GetRecord see
     * it: the values of the FIRST child (language or qualifier element) of the matched element only.
     */
    List<String> firstChildValues(String field) {
        String[] p = field.split("\\.");
        if (p.length < 2 || p.length > 3) {
            return List.of();
        }
        List<Metadata> level = new ArrayList<>(List.of(this));
        for (String part : p) {
            List<Metadata> next = new ArrayList<>();
            for (Metadata m : level) {
                for (Metadata c : m.children) {
                    if (c.name != null && c.name.equalsIgnoreCase(part)) {
                        next.add(c);
                    }
                }
            }
            level = next;
        }
        List<String> out = new ArrayList<>();
        for (Metadata m : level) {
            if (!m.children.isEmpty()) {
                out.addAll(m.children.get(0).values());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------------------------- transformers

    /** transformers/driver.xsl and openaire.xsl on a copy; `rights` maps each dc.rights value. */
    static Metadata transform(Metadata item, UnaryOperator<String> rights) {
        Metadata m = item.copy();
        Metadata dc = m.get("dc");
        if (dc == null) {
            return m;
        }
        Metadata date = dc.get("date");
        if (date != null) {
            // every dc.date except dc.date.issued goes (the unqualified one too: its language
            // element is a child of "date" whose name is not "issued"); issued keeps YYYY-MM-DD
            date.children.removeIf(c -> !"issued".equals(c.name));
            for (Metadata issued : date.children) {
                for (Metadata lang : issued.children) {
                    lang.fields.replaceAll(f -> new String[] {f[0], f[1].length() > 10 ? f[1].substring(0, 10) : f[1]});
                }
            }
        }
        Metadata type = dc.get("type");
        if (type != null) {
            for (Metadata lang : type.children) {
                lang.fields.replaceAll(f -> new String[] {f[0], f[1].isEmpty() || f[1].startsWith(SEMANTICS) ? f[1]
                    : SEMANTICS + f[1]});
            }
        }
        Metadata r = dc.get("rights");
        if (r != null) {
            for (Metadata c : r.children) {
                c.children.clear();
                c.fields.replaceAll(f -> new String[] {f[0], f[1].isEmpty() ? f[1] : rights.apply(f[1])});
            }
        }
        return m;
    }

    static String driverRights(String value) {
        return OPEN_ACCESS;
    }

    static String openaireRights(String value) {
        if (value.contains("open access") || value.contains("openAccess")) {
            return OPEN_ACCESS;
        } else if (value.contains("restrictedAccess")) {
            return SEMANTICS + "restrictedAccess";
        } else if (value.contains("embargoedAccess")) {
            return SEMANTICS + "embargoedAccess";
        }
        return SEMANTICS + "restrictedAccess";
    }

    // ------------------------------------------------------------------------------------ crosswalks

    /** The xoai format: the compiled metadata itself (metadataFormats/xoai.xsl is an identity copy). */
    String xoai() {
        StringBuilder x = new StringBuilder("<metadata xmlns=\"").append(OaiIndex.XOAI_NS)
            .append("\" xmlns:xsi=\"").append(XSI_NS).append("\" xsi:schemaLocation=\"").append(OaiIndex.XOAI_NS)
            .append(" http://www.lyncode.com/xsd/xoai.xsd\">");
        for (Metadata c : children) {
            c.writeElement(x);
        }
        return x.append("</metadata>").toString();
    }

    private void writeElement(StringBuilder x) {
        x.append("<element name=\"").append(OaiIndex.esc(name)).append("\">");
        for (String[] f : fields) {
            x.append("<field name=\"").append(OaiIndex.esc(f[0])).append("\">").append(OaiIndex.esc(f[1]))
                .append("</field>");
        }
        for (Metadata c : children) {
            c.writeElement(x);
        }
        x.append("</element>");
    }

    /** metadataFormats/oai_dc.xsl: Simple Dublin Core from the dc schema, in the stylesheet's order. */
    String oaiDc() {
        StringBuilder x = new StringBuilder("<oai_dc:dc xmlns:oai_dc=\"").append(OAI_DC_NS)
            .append("\" xmlns:dc=\"").append(DC_NS).append("\" xmlns:xsi=\"").append(XSI_NS)
            .append("\" xsi:schemaLocation=\"").append(OAI_DC_NS).append(" http://www.openarchives.org/OAI/2.0/oai_dc.xsd\">");
        Metadata dc = get("dc");
        if (dc == null) {
            dc = new Metadata("dc");
        }
        both(x, dc, "title", "title");
        dc(x, "creator", dc.unqualified("creator"));
        Metadata contributor = dc.get("contributor");
        Metadata author = contributor == null ? null : contributor.get("author");
        dc(x, "creator", author == null ? List.of() : author.unqualifiedOf());
        dc(x, "contributor", dc.qualifiedExcept("contributor", "author"));
        dc(x, "contributor", dc.unqualified("contributor"));
        both(x, dc, "subject", "subject");
        dc(x, "description", dc.unqualified("description"));
        dc(x, "description", dc.qualifiedExcept("description", "provenance"));
        for (String e : new String[] {"date", "type", "identifier", "language", "relation", "rights", "format"}) {
            both(x, dc, e, e);
        }
        // ORIGINAL bitstream formats would follow: the look-alike has no bundles
        for (String e : new String[] {"coverage", "publisher", "source"}) {
            both(x, dc, e, e);
        }
        return x.append("</oai_dc:dc>").toString();
    }

    private static void both(StringBuilder x, Metadata dc, String element, String tag) {
        dc(x, tag, dc.unqualified(element));
        dc(x, tag, dc.qualifiedExcept(element, null));
    }

    private static void dc(StringBuilder x, String tag, List<String> values) {
        for (String v : values) {
            x.append("<dc:").append(tag).append('>').append(OaiIndex.esc(v)).append("</dc:").append(tag).append('>');
        }
    }

    /** dc/element/(any child)/field[@name='value']: the unqualified values. */
    private List<String> unqualified(String element) {
        Metadata e = get(element);
        return e == null ? List.of() : e.unqualifiedOf();
    }

    private List<String> unqualifiedOf() {
        List<String> out = new ArrayList<>();
        for (Metadata c : children) {
            out.addAll(c.values());
        }
        return out;
    }

    /** dc/element/(child not named `except`)/(grandchild)/field[@name='value']: the qualified values. */
    private List<String> qualifiedExcept(String element, String except) {
        Metadata e = get(element);
        List<String> out = new ArrayList<>();
        if (e != null) {
            for (Metadata q : e.children) {
                if (except == null || !except.equals(q.name)) {
                    for (Metadata lang : q.children) {
                        out.addAll(lang.values());
                    }
                }
            }
        }
        return out;
    }
}
