/*
 * dspace-deploy test look-alike (not DSpace code): the REST endpoints and root links that the real
 * dspace-angular UI calls to render its home page server-side, answered for an anonymous user in
 * the HAL shapes of DSpace's REST API. Field names, link rels and the rules below were read in
 * DSpace/DSpace@dspace-9.3, dspace-server-webapp/src/main/java/org/dspace/app/rest/ (cited per
 * method); docs/lookalike.md lists what is imitated and what is not.
 */
package org.dspace.app.rest;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

import lookalike.common.Json;
import org.dspace.lookalike.Config;
import org.dspace.lookalike.Db;

public final class RestApi {
    private static final String HAL = "application/hal+json;charset=UTF-8";

    /**
     * The endpoints DSpace 9.3 registers with its DiscoverableEndpointsService (rel, path): every
     * DSpaceRestRepository bean (RestResourceController.afterPropertiesSet: rel = plural model
     * name) and the controllers that register links of their own (AuthenticationRestController,
     * DiscoveryRestController, StatisticsRestController, ContentReportRestController,
     * AltchaCaptchaRestController, OidcRestController, UUIDLookupRestController,
     * IdentifierRestRepository, ActuatorConfiguration, the "-search" links of some repositories).
     */
    private static final String[][] ENDPOINTS = {
        {"authorizations", "/api/authz/authorizations"}, {"features", "/api/authz/features"},
        {"resourcepolicies", "/api/authz/resourcepolicies"},
        {"resourcepolicies-search", "/api/authz/resourcepolicies/search"},
        {"bulkaccessconditionoptions", "/api/config/bulkaccessconditionoptions"},
        {"correctiontypes", "/api/config/correctiontypes"}, {"itemfilters", "/api/config/itemfilters"},
        {"properties", "/api/config/properties"},
        {"submissionaccessoptions", "/api/config/submissionaccessoptions"},
        {"submissioncclicenseUrls", "/api/config/submissioncclicenseUrls"},
        {"submissioncclicenseUrls-search", "/api/config/submissioncclicenseUrls/search"},
        {"submissioncclicenses", "/api/config/submissioncclicenses"},
        {"submissioncoarnotifyconfigs", "/api/config/submissioncoarnotifyconfigs"},
        {"submissiondefinitions", "/api/config/submissiondefinitions"},
        {"submissionforms", "/api/config/submissionforms"},
        {"submissionsections", "/api/config/submissionsections"},
        {"submissionuploads", "/api/config/submissionuploads"},
        {"workflowactions", "/api/config/workflowactions"},
        {"workflowdefinitions", "/api/config/workflowdefinitions"},
        {"workflowsteps", "/api/config/workflowsteps"},
        {"bitstreamformats", "/api/core/bitstreamformats"}, {"bitstreams", "/api/core/bitstreams"},
        {"bundles", "/api/core/bundles"}, {"collections", "/api/core/collections"},
        {"communities", "/api/core/communities"}, {"entitytypes", "/api/core/entitytypes"},
        {"items", "/api/core/items"}, {"itemtemplates", "/api/core/itemtemplates"},
        {"metadatafields", "/api/core/metadatafields"}, {"metadataschemas", "/api/core/metadataschemas"},
        {"relationships", "/api/core/relationships"}, {"relationshiptypes", "/api/core/relationshiptypes"},
        {"sites", "/api/core/sites"}, {"subscriptions", "/api/core/subscriptions"},
        {"subscriptions-search", "/api/core/subscriptions/search"},
        {"supervisionorders", "/api/core/supervisionorders"},
        {"browses", "/api/discover/browses"}, {"discover", "/api/discover"},
        {"epersons", "/api/eperson/epersons"}, {"groups", "/api/eperson/groups"},
        {"registrations", "/api/eperson/registrations"},
        {"eperson-registration", "/api/eperson/registrations"},
        {"externalsources", "/api/integration/externalsources"},
        {"qualityassuranceevents", "/api/integration/qualityassuranceevents"},
        {"qualityassurancesources", "/api/integration/qualityassurancesources"},
        {"qualityassurancetopics", "/api/integration/qualityassurancetopics"},
        {"suggestions", "/api/integration/suggestions"},
        {"suggestionsources", "/api/integration/suggestionsources"},
        {"suggestiontargets", "/api/integration/suggestiontargets"},
        {"ldnservices", "/api/ldn/ldnservices"}, {"messages", "/api/ldn/messages"},
        {"enqueueretry", "/api/ldn/messages/{id}/enqueueretry"},
        {"notifyrequests", "/api/ldn/notifyrequests"},
        {"identifiers", "/api/pid/identifiers"}, {"pid", "/api/pid/find{?id}"},
        {"dso", "/api/dso/find{?uuid}"},
        {"statistics", "/api/statistics"}, {"usagereports", "/api/statistics/usagereports"},
        {"vocabularies", "/api/submission/vocabularies"},
        {"vocabularyEntryDetails", "/api/submission/vocabularyEntryDetails"},
        {"vocabularyEntryDetails-search", "/api/submission/vocabularyEntryDetails/search"},
        {"workspaceitems", "/api/submission/workspaceitems"},
        {"processes", "/api/system/processes"}, {"scripts", "/api/system/scripts"},
        {"systemwidealerts", "/api/system/systemwidealerts"}, {"feedbacks", "/api/tools/feedbacks"},
        {"versionhistories", "/api/versioning/versionhistories"}, {"versions", "/api/versioning/versions"},
        {"claimedtasks", "/api/workflow/claimedtasks"},
        {"claimedtasks-search", "/api/workflow/claimedtasks/search"},
        {"pooltasks", "/api/workflow/pooltasks"}, {"pooltasks-search", "/api/workflow/pooltasks/search"},
        {"workflowitems", "/api/workflow/workflowitems"},
        {"authn", "/api/authn"}, {"oidc", "/api/authn"}, {"contentreport", "/api/contentreport"},
        {"captcha", "/api/captcha"}, {"actuator", "/actuator"},
    };

    /**
     * Repositories DSpace creates only when a property is set (@ConditionalOnProperty:
     * OrcidHistoryRestRepository, OrcidQueueRestRepository, ResearcherProfileRestRepository,
     * DuplicateRestRepository): property, rel, path.
     */
    private static final String[][] CONDITIONAL_ENDPOINTS = {
        {"orcid.synchronization-enabled", "orcidhistories", "/api/eperson/orcidhistories"},
        {"orcid.synchronization-enabled", "orcidqueues", "/api/eperson/orcidqueues"},
        {"researcher-profile.entity-type", "profiles", "/api/eperson/profiles"},
        {"duplicate.enable", "duplicates", "/api/submission/duplicates"},
        {"duplicate.enable", "duplicates-search", "/api/submission/duplicates/search"},
    };

    private final Config config;
    private final String contextPath;
    private final GroupsApi groups;

    public RestApi(Config config, String contextPath) {
        this.config = config;
        this.contextPath = contextPath;
        this.groups = new GroupsApi(config, this);
    }

    // ----------------------------------------------------------------------------------- root

    /**
     * The root document with DSpace's links: each endpoint under the root's dspaceServer
     * (RootHalLinkFactory), self from the request, sorted by rel (HalLinkService.addLinks).
     */
    public Map<String, Object> withRootLinks(Map<String, Object> root, HttpExchange ex) {
        String server = String.valueOf(root.get("dspaceServer"));
        Map<String, Object> links = new TreeMap<>();
        for (String[] e : ENDPOINTS) {
            links.put(e[0], link(server + e[1]));
        }
        for (String[] e : CONDITIONAL_ENDPOINTS) {
            String value = config.get(e[0]);
            if (value != null && !value.isBlank() && !value.equalsIgnoreCase("false")) {
                links.put(e[1], link(server + e[2]));
            }
        }
        links.put("self", link(requestBase(ex) + "/api"));
        Map<String, Object> out = new LinkedHashMap<>(root);
        out.put("_links", links);
        return out;
    }

    // ------------------------------------------------------------------------------ routing

    /** Answers `path` (below the context path) when it is one of these endpoints; false otherwise. */
    public boolean handle(HttpExchange ex, String path) throws IOException {
        if (path.equals("/api/authn/login")) {
            try {
                login(ex);
            } catch (SQLException e) {
                error(ex, 500, "Internal Server Error", e.getMessage());
            }
            return true;
        }
        if (path.startsWith("/api/eperson/")) {
            try {
                if (groups.handle(ex, path)) {
                    return true;
                }
            } catch (SQLException e) {
                // DSpaceApiExceptionControllerAdvice.handleGenericException (a unique name taken
                // again is Hibernate's ConstraintViolationException there: no status of its own)
                error(ex, 500, "Internal Server Error", "An exception has occurred");
                return true;
            }
        }
        if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
            return false;
        }
        Map<String, List<String>> q = query(ex.getRequestURI().getRawQuery());
        try {
            if (path.equals("/api/authn/status")) {
                csrfToken(ex);
                authnStatus(ex);
            } else if (path.equals("/api/core/sites")) {
                page(ex, "sites", q, sites());
            } else if (path.startsWith("/api/system/scripts/")) {
                // ScriptRestRepository.findOne: @PreAuthorize("hasAuthority('AUTHENTICATED')")
                error(ex, 401, "Unauthorized", "Authentication is required");
            } else if (path.startsWith("/api/config/properties/")) {
                property(ex, path.substring("/api/config/properties/".length()));
            } else if (path.equals("/api/discover/browses")) {
                page(ex, "browses", q, browses());
            } else if (path.equals("/api/discover")) {
                discover(ex);
            } else if (path.equals("/api/discover/search")) {
                searchConfiguration(ex, q);
            } else if (path.equals("/api/discover/search/objects")) {
                searchObjects(ex, q);
            } else if (path.equals("/api/system/systemwidealerts/search/active")) {
                page(ex, "systemwidealerts", q, List.of());
            } else if (path.equals("/api/core/communities/search/top")) {
                page(ex, "communities", q, topCommunities(q));
            } else if (path.equals("/api/authz/authorizations/search/object")) {
                authorizations(ex, q);
            } else if (path.matches("/api/core/items/[0-9a-f-]{36}/thumbnail")) {
                thumbnail(ex, path.split("/")[4]);
            } else {
                return false;
            }
        } catch (SQLException e) {
            error(ex, 500, "Internal Server Error", e.getMessage());
        }
        return true;
    }

    // ---------------------------------------------------------------------------- endpoints

    // --------------------------------------------------------------- CSRF and password login

    static final String CSRF_COOKIE = "DSPACE-XSRF-COOKIE";
    static final String CSRF_RESPONSE_HEADER = "DSPACE-XSRF-TOKEN";
    static final String CSRF_REQUEST_HEADER = "X-XSRF-TOKEN";

    /**
     * DSpaceCsrfTokenRepository (dspace-server-webapp, security/DSpaceCsrfTokenRepository.java@dspace-9.3):
     * the token lives in the server-side cookie DSPACE-XSRF-COOKIE (HttpOnly) and is sent to the client in
     * the DSPACE-XSRF-TOKEN header when it is made; mutating requests must send it back in X-XSRF-TOKEN.
     * A request without the cookie gets a new token.
     */
    private String csrfToken(HttpExchange ex) {
        String have = cookie(ex, CSRF_COOKIE);
        return have != null ? have : newCsrfToken(ex);
    }

    String newCsrfToken(HttpExchange ex) {
        String token = java.util.UUID.randomUUID().toString();
        ex.getResponseHeaders().add("Set-Cookie", CSRF_COOKIE + "=" + token + "; Path="
            + (contextPath.isEmpty() ? "/" : contextPath) + "; HttpOnly; SameSite=Lax");
        ex.getResponseHeaders().set(CSRF_RESPONSE_HEADER, token);
        return token;
    }

    static String cookie(HttpExchange ex, String name) {
        for (String header : ex.getRequestHeaders().getOrDefault("Cookie", List.of())) {
            for (String part : header.split(";")) {
                String[] kv = part.trim().split("=", 2);
                if (kv.length == 2 && kv[0].equals(name) && !kv[1].isEmpty()) {
                    return kv[1];
                }
            }
        }
        return null;
    }

    /**
     * POST /api/authn/login (StatelessLoginFilter@dspace-9.3: parameters `user` and `password`, form or
     * query): the CSRF check first (Spring Security's CsrfFilter: 403 and a fresh token when the
     * X-XSRF-TOKEN header does not match the cookie), then the password of an e-person who can log in
     * (PasswordAuthentication: salted SHA-512, as the look-alike's create-administrator stores it).
     * Success: 200 and the JWT in `Authorization: Bearer`; failure: 401 "Authentication failed!".
     */
    private void login(HttpExchange ex) throws IOException, SQLException {
        if (!ex.getRequestMethod().equals("POST")) {
            error(ex, 405, "Method Not Allowed", "Request method '" + ex.getRequestMethod()
                + "' is not supported");
            return;
        }
        if (!csrfChecked(ex)) {
            return;
        }
        Map<String, List<String>> params = query(ex.getRequestURI().getRawQuery());
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type != null && type.startsWith("application/x-www-form-urlencoded")) {
            query(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8))
                .forEach((k, v) -> params.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
        }
        String user = first(params, "user", null);
        String password = first(params, "password", null);
        String eperson = user == null || password == null ? null : passwordUser(user, password);
        if (eperson == null) {
            error(ex, 401, "Unauthorized", "Authentication failed!");
            return;
        }
        // JWTTokenRestAuthenticationServiceImpl.addTokenToResponse@dspace-9.3: a login by header
        // resets the CSRF token (DSpaceCsrfAuthenticationStrategy.resetCSRFToken: an emptied
        // cookie, then the new one, also in DSPACE-XSRF-TOKEN); the client must use the new one.
        ex.getResponseHeaders().add("Set-Cookie", CSRF_COOKIE + "=; Max-Age=0; Path="
            + (contextPath.isEmpty() ? "/" : contextPath) + "; HttpOnly; SameSite=Lax");
        newCsrfToken(ex);
        ex.getResponseHeaders().set("Authorization", "Bearer " + Jwt.issue(config, eperson));
        send(ex, 200, "application/json;charset=UTF-8", "");
    }

    /** The e-person (UUID) whose password this is, or null (PasswordAuthentication). */
    private String passwordUser(String user, String password) throws SQLException {
        try (Connection conn = Db.connect(config);
             PreparedStatement ps = conn.prepareStatement("SELECT password, salt, uuid FROM eperson "
                 + "WHERE lower(email) = lower(?) AND can_log_in AND password IS NOT NULL")) {
            ps.setString(1, user);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && Db.checkPassword(password, rs.getString(1), rs.getString(2))
                    ? rs.getString(3) : null;
            }
        }
    }

    /**
     * Spring Security's CsrfFilter, which runs before authentication for every request that is
     * not GET, HEAD, TRACE or OPTIONS: the X-XSRF-TOKEN header must equal the DSPACE-XSRF-COOKIE,
     * else 403 "Invalid CSRF token" (DSpaceApiExceptionControllerAdvice.csrfTokenException) with
     * a fresh token. True when the request may go on.
     */
    boolean csrfChecked(HttpExchange ex) throws IOException {
        String expected = cookie(ex, CSRF_COOKIE);
        String sent = ex.getRequestHeaders().getFirst(CSRF_REQUEST_HEADER);
        if (expected == null || sent == null || !expected.equals(sent)) {
            newCsrfToken(ex);
            error(ex, 403, "Forbidden", "Access is denied. Invalid CSRF token.");
            return false;
        }
        return true;
    }

    /**
     * The e-person of the request's `Authorization: Bearer` token (StatelessAuthenticationFilter:
     * a token that does not verify, has expired or names no e-person who can log in leaves the
     * request anonymous), or null.
     */
    java.util.UUID currentUser(HttpExchange ex) throws SQLException {
        String header = ex.getRequestHeaders().getFirst("Authorization");
        if (header == null || !header.startsWith("Bearer ")) {
            return null;
        }
        String eid = Jwt.eperson(config, header.substring("Bearer ".length()).trim());
        if (eid == null) {
            return null;
        }
        try (Connection conn = Db.connect(config);
             PreparedStatement ps = conn.prepareStatement(
                 "SELECT uuid FROM eperson WHERE uuid = ?::uuid AND can_log_in")) {
            ps.setString(1, eid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? (java.util.UUID) rs.getObject(1) : null;
            }
        }
    }

    /** AuthenticationRestController.status and AuthenticationStatusRest, anonymous. */
    private void authnStatus(HttpExchange ex) throws IOException {
        String base = requestBase(ex) + "/api/authn/status";
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", null);
        m.put("okay", true);
        m.put("authenticated", false);
        m.put("authenticationMethod", null);
        m.put("type", "status");
        Map<String, Object> links = new TreeMap<>();
        links.put("eperson", link(base + "/eperson"));
        links.put("self", link(base));
        links.put("specialGroups", link(base + "/specialGroups"));
        m.put("_links", links);
        // Sent to anonymous callers, so that a client learns the authentication methods.
        ex.getResponseHeaders().set("WWW-Authenticate", "password realm=\"DSpace REST API\"");
        send(ex, 200, HAL, Json.write(m));
    }

    /** SiteRestRepository.findAll: the one Site object (DSpaceObjectRest fields). */
    private List<Map<String, Object>> sites() throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (Connection conn = Db.connect(config);
             PreparedStatement ps = conn.prepareStatement("SELECT s.uuid, h.handle FROM site s "
                 + "LEFT JOIN handle h ON h.resource_id = s.uuid");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Map<String, Object> site = dso(rs.getString(1), config.get("dspace.name"), rs.getString(2),
                    new LinkedHashMap<>());
                site.put("type", "site");
                site.put("_links", Map.of("self", link("{base}/api/core/sites/" + rs.getString(1))));
                out.add(site);
            }
        }
        return out;
    }

    /**
     * CommunityRestRepository.findAllTop: communities without a parent, sorted by title (the
     * look-alike's schema has no community hierarchy, so every community is a top one).
     */
    private List<Map<String, Object>> topCommunities(Map<String, List<String>> q) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        String order = first(q, "sort", "dc.title,ASC").toUpperCase(java.util.Locale.ROOT).endsWith(",DESC")
            ? "DESC" : "ASC";
        try (Connection conn = Db.connect(config);
             PreparedStatement ps = conn.prepareStatement("SELECT c.uuid, h.handle, "
                 + "(SELECT v.text_value FROM metadatavalue v JOIN metadatafieldregistry f "
                 + "ON f.metadata_field_id = v.metadata_field_id WHERE v.dspace_object_id = c.uuid "
                 + "AND f.element = 'title' AND f.qualifier IS NULL ORDER BY v.place LIMIT 1) AS title "
                 + "FROM community c LEFT JOIN handle h ON h.resource_id = c.uuid ORDER BY title " + order);
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String uuid = rs.getString(1);
                String title = rs.getString(3);
                Map<String, Object> metadata = new LinkedHashMap<>();
                if (title != null) {
                    metadata.put("dc.title", List.of(metadataValue(title)));
                }
                Map<String, Object> c = dso(uuid, title == null ? "" : title, rs.getString(2), metadata);
                c.put("archivedItemsCount", 0);
                c.put("type", "community");
                Map<String, Object> links = new TreeMap<>();
                String self = "{base}/api/core/communities/" + uuid;
                for (String rel : new String[] {"adminGroup", "collections", "logo", "parentCommunity",
                    "subcommunities"}) {
                    links.put(rel, link(self + "/" + rel));
                }
                links.put("self", link(self));
                c.put("_links", links);
                out.add(c);
            }
        }
        return out;
    }

    /**
     * ConfigurationRestRepository.findOne: only properties listed in rest.properties.exposed and
     * set in the configuration; anything else is 404.
     */
    private void property(HttpExchange ex, String name) throws IOException {
        name = URLDecoder.decode(name, StandardCharsets.UTF_8);
        if (!config.values("rest.properties.exposed").contains(name) || !config.has(name)) {
            error(ex, 404, "Not Found", "No such configuration property: " + name);
            return;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("values", config.values(name));
        m.put("type", "property");
        m.put("_links", Map.of("self", link(requestBase(ex) + "/api/config/properties/" + name)));
        send(ex, 200, HAL, Json.write(m));
    }

    /**
     * BrowseIndexRestRepository.findAll with BrowseIndexConverter: webui.browse.index.N =
     * name:item:sort-option[:order] (flatBrowse) or name:metadata:fields:dataType[:order]
     * (valueList); sort options from webui.itemlist.sort-option.N = name:metadata:type.
     */
    private List<Map<String, Object>> browses() {
        List<Map<String, Object>> sortOptions = new ArrayList<>();
        Map<String, String[]> sortByName = new LinkedHashMap<>();
        for (int i = 1; config.has("webui.itemlist.sort-option." + i); i++) {
            String[] p = config.get("webui.itemlist.sort-option." + i).split(":");
            sortByName.put(p[0], p);
            Map<String, Object> so = new LinkedHashMap<>();
            so.put("name", p[0]);
            so.put("metadata", p.length > 1 ? p[1] : "");
            sortOptions.add(so);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 1; config.has("webui.browse.index." + i); i++) {
            String[] p = config.get("webui.browse.index." + i).split(":");
            if (p.length < 3) {
                continue;
            }
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("id", p[0]);
            List<String> metadata = new ArrayList<>();
            String dataType;
            String order;
            if (p[1].equals("metadata")) {
                b.put("browseType", "valueList");
                for (String f : p[2].split(",")) {
                    metadata.add(f.trim());
                }
                dataType = p.length > 3 ? p[3] : "text";
                order = p.length > 4 ? p[4].toUpperCase(java.util.Locale.ROOT) : "ASC";
            } else {
                b.put("browseType", "flatBrowse");
                String[] so = sortByName.getOrDefault(p[2], new String[] {p[2], "", "text"});
                metadata.add(so.length > 1 ? so[1] : "");
                dataType = so.length > 2 ? so[2] : "text";
                order = p.length > 3 ? p[3].toUpperCase(java.util.Locale.ROOT) : "ASC";
            }
            b.put("metadata", metadata);
            b.put("dataType", dataType);
            b.put("sortOptions", sortOptions);
            b.put("order", order);
            b.put("type", "browse");
            String self = "{base}/api/discover/browses/" + p[0];
            Map<String, Object> links = new TreeMap<>();
            links.put("entries", link(self + "/entries"));
            links.put("items", link(self + "/items"));
            links.put("self", link(self));
            b.put("_links", links);
            out.add(b);
        }
        return out;
    }

    /** DiscoveryRestController.getSearchSupport with SearchSupportHalLinkFactory. */
    private void discover(HttpExchange ex) throws IOException {
        String base = requestBase(ex) + "/api/discover";
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", null);
        m.put("type", "discover");
        Map<String, Object> links = new TreeMap<>();
        links.put("facets", link(base + "/facets"));
        links.put("search", link(base + "/search"));
        links.put("self", link(base));
        m.put("_links", links);
        send(ex, 200, HAL, Json.write(m));
    }

    /**
     * Sort fields of discovery.xml's default configuration (sortScore, sortTitle, sortDateIssued,
     * sortDateAccessioned): name, Solr field, default order.
     */
    private static final String[][] SORT_FIELDS = {
        {"score", "score", "desc"}, {"dc.title", "dc.title_sort", "asc"},
        {"dc.date.issued", "dc.date.issued_dt", "desc"}, {"dc.date.accessioned", "dc.date.accessioned_dt", "desc"},
    };

    /**
     * DiscoveryRestController.getSearchConfiguration (SearchConfigurationRest from
     * DiscoverConfigurationConverter; links facets, objects, self). The look-alike has no
     * search filters.
     */
    private void searchConfiguration(HttpExchange ex, Map<String, List<String>> q) throws IOException {
        String base = requestBase(ex) + "/api/discover";
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", null);
        m.put("scope", first(q, "scope", null));
        m.put("configuration", first(q, "configuration", null));
        m.put("filters", List.of());
        List<Map<String, Object>> sorts = new ArrayList<>();
        for (String[] s : SORT_FIELDS) {
            Map<String, Object> so = new LinkedHashMap<>();
            so.put("actualName", s[1]);
            so.put("name", s[0]);
            so.put("sortOrder", s[2]);
            sorts.add(so);
        }
        m.put("sortOptions", sorts);
        m.put("defaultSortOption", sorts.get(0));
        m.put("type", "discover");
        Map<String, Object> links = new TreeMap<>();
        links.put("facets", link(base + "/search/facets"));
        links.put("objects", link(base + "/search/objects"));
        Map<String, List<String>> selfParams = new LinkedHashMap<>();
        for (String k : new String[] {"scope", "configuration"}) {
            if (q.containsKey(k)) {
                selfParams.put(k, List.of(first(q, k, "")));
            }
        }
        links.put("self", link(base + "/search" + selfQuery(selfParams)));
        m.put("_links", links);
        send(ex, 200, HAL, Json.write(m));
    }

    /**
     * DiscoveryRestController.getSearchObjects (SearchResultsRest, SearchResultsResource): the
     * archived, discoverable items of the database, newest first, as search result entries
     * embedding their item, in `_embedded.searchResult` (an EmbeddedPage of "objects") with
     * empty facets. The query and filters are not applied (the look-alike has no index).
     */
    private void searchObjects(HttpExchange ex, Map<String, List<String>> q) throws IOException, SQLException {
        int size = Math.max(1, intParam(q, "size", 20));
        int number = Math.max(0, intParam(q, "page", 0));
        String base = requestBase(ex);
        List<Map<String, Object>> entries = new ArrayList<>();
        int total;
        try (Connection conn = Db.connect(config)) {
            try (PreparedStatement ps = conn.prepareStatement(
                "SELECT count(*) FROM item WHERE in_archive AND discoverable AND NOT withdrawn");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                total = rs.getInt(1);
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT i.uuid, h.handle, i.last_modified, "
                + "(SELECT v.text_value FROM metadatavalue v JOIN metadatafieldregistry f "
                + "ON f.metadata_field_id = v.metadata_field_id WHERE v.dspace_object_id = i.uuid "
                + "AND f.element = 'title' AND f.qualifier IS NULL ORDER BY v.place LIMIT 1) "
                + "FROM item i LEFT JOIN handle h ON h.resource_id = i.uuid "
                + "WHERE i.in_archive AND i.discoverable AND NOT i.withdrawn "
                + "ORDER BY i.last_modified DESC NULLS LAST, i.uuid LIMIT ? OFFSET ?")) {
                ps.setInt(1, size);
                ps.setInt(2, number * size);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        entries.add(searchResultEntry(base, rs.getString(1), rs.getString(2),
                            rs.getString(3), rs.getString(4)));
                    }
                }
            }
        }
        Map<String, List<String>> params = new LinkedHashMap<>();
        for (String k : new String[] {"query", "dsoType", "scope", "configuration"}) {
            if (q.containsKey(k)) {
                params.put(k, q.get(k));
            }
        }
        for (Map.Entry<String, List<String>> e : q.entrySet()) {
            if (e.getKey().startsWith("f.")) {
                params.put(e.getKey(), e.getValue());
            }
        }
        String searchBase = base + "/api/discover/search/objects" + selfQuery(params);
        String sort = first(q, "sort", null);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", null);
        m.put("scope", first(q, "scope", null));
        m.put("query", first(q, "query", null));
        m.put("appliedFilters", List.of());
        Map<String, Object> sorting = new LinkedHashMap<>();
        sorting.put("by", sort == null ? "score" : sort.split(",")[0]);
        sorting.put("order", sort == null || !sort.contains(",") ? "DESC"
            : sort.substring(sort.indexOf(',') + 1).toUpperCase(java.util.Locale.ROOT));
        m.put("sort", sorting);
        m.put("configuration", first(q, "configuration", "default"));
        m.put("type", "discover");
        Map<String, Object> searchResult = embeddedPage("objects", entries, searchBase, sort, number, size,
            total);
        Map<String, Object> embedded = new LinkedHashMap<>();
        embedded.put("searchResult", searchResult);
        embedded.put("facets", List.of());
        m.put("_embedded", embedded);
        m.put("_links", Map.of("self", link(searchBase)));
        send(ex, 200, HAL, Json.write(m));
    }

    /** EmbeddedPage: `_embedded.<rel>` (also when empty), the header's links and `page`. */
    static Map<String, Object> embeddedPage(String rel, List<?> content, String base, String sort, int number,
                                            int size, int total) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_embedded", Map.of(rel, content));
        m.put("_links", embeddedPageLinks(base, sort, number, size, total));
        Map<String, Object> page = new LinkedHashMap<>();
        page.put("number", number);
        page.put("size", size);
        page.put("totalPages", (total + size - 1) / size);
        page.put("totalElements", total);
        m.put("page", page);
        return m;
    }

    /** EmbeddedPageHeader.getLinks: self (with page only past the first), first/last/prev/next. */
    static Map<String, Object> embeddedPageLinks(String base, String sort, int number, int size, int total) {
        int pages = (total + size - 1) / size;
        Map<String, Object> links = new TreeMap<>();
        java.util.function.IntFunction<Map<String, Object>> at = n -> {
            StringBuilder sb = new StringBuilder(base);
            if (sort != null) {
                sb.append(sb.indexOf("?") < 0 ? '?' : '&').append("sort=").append(encode(sort));
            }
            if (n >= 0) {
                sb.append(sb.indexOf("?") < 0 ? '?' : '&').append("page=").append(n);
            }
            if (size != 20) {
                sb.append(sb.indexOf("?") < 0 ? '?' : '&').append("size=").append(size);
            }
            return link(sb.toString());
        };
        links.put("self", at.apply(number == 0 ? -1 : number));
        if (number > 0) {
            links.put("first", at.apply(0));
            links.put("prev", at.apply(number - 1));
        }
        if (number + 1 < pages) {
            links.put("last", at.apply(pages - 1));
            links.put("next", at.apply(number + 1));
        }
        return links;
    }

    /** SearchResultEntryRest with its item (ItemRest fields of DSpaceObjectRest and ItemRest). */
    private static Map<String, Object> searchResultEntry(String base, String uuid, String handle, String modified,
        String title) {
        Map<String, Object> metadata = new LinkedHashMap<>();
        if (title != null) {
            metadata.put("dc.title", List.of(metadataValue(title)));
        }
        Map<String, Object> item = dso(uuid, title == null ? "" : title, handle, metadata);
        item.put("inArchive", true);
        item.put("discoverable", true);
        item.put("withdrawn", false);
        item.put("lastModified", modified);
        item.put("entityType", null);
        item.put("type", "item");
        String self = base + "/api/core/items/" + uuid;
        Map<String, Object> links = new TreeMap<>();
        for (String rel : new String[] {"accessStatus", "bundles", "identifiers", "mappedCollections",
            "owningCollection", "relationships", "templateItemOf", "thumbnail", "version"}) {
            links.put(rel, link(self + "/" + rel));
        }
        links.put("self", link(self));
        item.put("_links", links);
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("hitHighlights", Map.of());
        entry.put("_links", Map.of("indexableObject", link(self)));
        entry.put("_embedded", Map.of("indexableObject", item));
        return entry;
    }

    /**
     * The thumbnail link of an item (RestResourceController.findRelInternal): 204 No Content when
     * the item has none (the look-alike's items have no bitstreams), 404 for an unknown item.
     */
    private void thumbnail(HttpExchange ex, String uuid) throws IOException, SQLException {
        try (Connection conn = Db.connect(config);
             PreparedStatement ps = conn.prepareStatement("SELECT 1 FROM item WHERE uuid = ?::uuid")) {
            ps.setString(1, uuid);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    ex.sendResponseHeaders(204, -1);
                } else {
                    error(ex, 404, "Not Found", "No such item: " + uuid);
                }
            }
        }
    }

    /** Features the UI asks about for the site, with their documentation and anonymous answer. */
    private static final class Feature {
        final String description;
        final List<String> resourceTypes;
        final Predicate<Config> anonymous;

        Feature(String description, List<String> resourceTypes, Predicate<Config> anonymous) {
            this.description = description;
            this.resourceTypes = resourceTypes;
            this.anonymous = anonymous;
        }
    }

    private static final Map<String, Feature> FEATURES = new LinkedHashMap<>();

    static {
        List<String> site = List.of("core.site");
        List<String> dsos = List.of("core.site", "core.community", "core.collection", "core.item");
        Predicate<Config> never = c -> false;
        FEATURES.put("canViewUsageStatistics", new Feature(
            "It can be used to verify if statistics can be viewed", dsos,
            c -> !c.getBool("usage-statistics.authorization.admin.usage", true)));
        FEATURES.put("isCollectionAdmin", new Feature(
            "It can be used to verify if the current user is admin of any collection in the site", site, never));
        FEATURES.put("isCommunityAdmin", new Feature(
            "It can be used to verify if the current user is admin of any community in the site", site, never));
        FEATURES.put("administratorOf", new Feature("It can be used for verify that an user has access to the "
            + "administrative features of the repository or of a specific community and collection", dsos, never));
        FEATURES.put("canSubmit", new Feature("It can be used to verify if a user has rights to submit anything.",
            List.of("core.collection", "core.site"), never));
        FEATURES.put("coarNotifyEnabled", new Feature(
            "It can be used to verify if the user can see the coar notify protocol is enabled", site,
            c -> c.getBool("ldn.enabled", true)));
        FEATURES.put("canEditItem", new Feature("It can be used to verify if a user has rights to edit any item.",
            List.of("core.item", "core.site"), never));
        FEATURES.put("canSeeQA", new Feature(
            "It can be used to verify if the user can manage Quality Assurance events", site, never));
        FEATURES.put("canManageGroups", new Feature("It can be used to verify if the current user can manage "
            + "groups in any community or collection in the site", site, never));
        FEATURES.put("canSendFeedback", new Feature(
            "It can be used to verify if the parameter that contain recipient e-mail is configured.", site,
            c -> !c.get("feedback.recipient", "").isBlank()));
        FEATURES.put("epersonRegistration", new Feature("It can be used to register an eperson", site,
            c -> c.getBool("user.registration", true)));
        FEATURES.put("epersonForgotPassword", new Feature("It can be used to check password reset for an eperson",
            List.of("core.site", "eperson.eperson"), c -> c.getBool("user.forgot-password", true)));
    }

    /**
     * AuthorizationRestRepository.findByObject for the anonymous user: one authorization per
     * granted feature (AuthorizationRest id "<feature>_<type>_<object id>", links eperson,
     * feature, object, self; `embed=feature` embeds the AuthorizationFeatureRest).
     */
    private void authorizations(HttpExchange ex, Map<String, List<String>> q) throws IOException, SQLException {
        String uri = first(q, "uri", "");
        if (uri.isEmpty()) {
            error(ex, 400, "Bad Request", "Required parameter 'uri' is not present");
            return;
        }
        String siteId = null;
        for (Map<String, Object> s : sites()) {
            if (uri.endsWith("/api/core/sites/" + s.get("id"))) {
                siteId = String.valueOf(s.get("id"));
            }
        }
        List<Map<String, Object>> found = new ArrayList<>();
        String wanted = first(q, "feature", null);
        boolean embedFeature = q.getOrDefault("embed", List.of()).contains("feature");
        for (Map.Entry<String, Feature> e : FEATURES.entrySet()) {
            Feature f = e.getValue();
            if (siteId == null || (wanted != null && !wanted.equals(e.getKey()))
                || !f.resourceTypes.contains("core.site") || !f.anonymous.test(config)) {
                continue;
            }
            String id = e.getKey() + "_core.site_" + siteId;
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("id", id);
            a.put("type", "authorization");
            String self = "{base}/api/authz/authorizations/" + id;
            Map<String, Object> links = new TreeMap<>();
            links.put("eperson", link(self + "/eperson"));
            links.put("feature", link(self + "/feature"));
            links.put("object", link(self + "/object"));
            links.put("self", link(self));
            a.put("_links", links);
            if (embedFeature) {
                Map<String, Object> feature = new LinkedHashMap<>();
                feature.put("id", e.getKey());
                feature.put("description", f.description);
                feature.put("resourcetypes", f.resourceTypes);
                feature.put("type", "feature");
                feature.put("_links", Map.of("self", link("{base}/api/authz/features/" + e.getKey())));
                a.put("_embedded", Map.of("feature", feature));
            }
            found.add(a);
        }
        page(ex, "authorizations", q, found);
    }

    // ------------------------------------------------------------------------------ helpers

    static Map<String, Object> dso(String uuid, String name, String handle, Map<String, Object> metadata) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", uuid);
        m.put("uuid", uuid);
        m.put("name", name);
        m.put("handle", handle);
        m.put("metadata", metadata);
        return m;
    }

    static Map<String, Object> metadataValue(String value) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("value", value);
        v.put("language", null);
        v.put("authority", null);
        v.put("confidence", -1);
        v.put("place", 0);
        return v;
    }

    /**
     * A page of resources as RestResourceController returns it through Spring's
     * PagedResourcesAssembler: `_embedded.<rel>` only when there is content, self link with the
     * request's parameters except `embed` (getEncodedParameterStringFromRequestParams),
     * first/prev/next/last only when there is more than one page, and `page`.
     */
    void page(HttpExchange ex, String rel, Map<String, List<String>> q, List<Map<String, Object>> all)
        throws IOException {
        int size = Math.max(1, intParam(q, "size", 20));
        int number = Math.max(0, intParam(q, "page", 0));
        int total = all.size();
        int pages = (total + size - 1) / size;
        List<Map<String, Object>> content = all.subList(Math.min(total, number * size),
            Math.min(total, (number + 1) * size));
        String base = requestBase(ex);
        Map<String, Object> m = new LinkedHashMap<>();
        if (!content.isEmpty()) {
            m.put("_embedded", Map.of(rel, withBase(content, base)));
        }
        String path = ex.getRequestURI().getRawPath();
        String self = base + path.substring(contextPath.length()) + selfQuery(q);
        Map<String, Object> links = new TreeMap<>();
        if (pages > 1) {
            links.put("first", link(pageUrl(base, path, q, 0, size)));
            links.put("last", link(pageUrl(base, path, q, pages - 1, size)));
            if (number > 0) {
                links.put("prev", link(pageUrl(base, path, q, number - 1, size)));
            }
            if (number + 1 < pages) {
                links.put("next", link(pageUrl(base, path, q, number + 1, size)));
            }
        }
        links.put("self", link(self));
        m.put("_links", links);
        Map<String, Object> page = new LinkedHashMap<>();
        page.put("size", size);
        page.put("totalElements", total);
        page.put("totalPages", pages);
        page.put("number", number);
        m.put("page", page);
        send(ex, 200, HAL, Json.write(m));
    }

    private String pageUrl(String base, String path, Map<String, List<String>> q, int number, int size) {
        Map<String, List<String>> p = new LinkedHashMap<>(q);
        p.put("page", List.of(String.valueOf(number)));
        p.put("size", List.of(String.valueOf(size)));
        return base + path.substring(contextPath.length()) + selfQuery(p);
    }

    /** The request's parameters without `embed` and `embed.*`, in their order. */
    private static String selfQuery(Map<String, List<String>> q) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, List<String>> e : q.entrySet()) {
            if (e.getKey().equals("embed") || e.getKey().startsWith("embed.")) {
                continue;
            }
            for (String v : e.getValue()) {
                sb.append(sb.length() == 0 ? '?' : '&').append(encode(e.getKey())).append('=').append(encode(v));
            }
        }
        return sb.toString();
    }

    /** Query encoding as UriComponentsBuilder.encode(): only what a query may not hold. */
    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%2C", ",")
            .replace("%3A", ":").replace("%2F", "/").replace("%40", "@").replace("%24", "$")
            .replace("%21", "!").replace("%27", "'").replace("%28", "(").replace("%29", ")")
            .replace("%2A", "*").replace("%3B", ";").replace("%3F", "?");
    }

    /** Resources are built with "{base}" in their links; replaced by the request's base. */
    @SuppressWarnings("unchecked")
    private static List<Object> withBase(List<Map<String, Object>> content, String base) {
        return (List<Object>) Json.parse(Json.write(content).replace("{base}", base));
    }

    static Map<String, Object> link(String href) {
        Map<String, Object> l = new LinkedHashMap<>();
        l.put("href", href);
        if (href.contains("{?") || href.contains("/{")) {
            l.put("templated", true);
        }
        return l;
    }

    /**
     * The server URL as the request saw it (Spring builds resource links from the request,
     * honouring X-Forwarded-* with server.forward-headers-strategy=FRAMEWORK).
     */
    String requestBase(HttpExchange ex) {
        String proto = ex.getRequestHeaders().getFirst("X-Forwarded-Proto");
        String host = ex.getRequestHeaders().getFirst("X-Forwarded-Host");
        if (host == null) {
            host = ex.getRequestHeaders().getFirst("Host");
        }
        return (proto == null ? "http" : proto) + "://" + host + contextPath;
    }

    static Map<String, List<String>> query(String raw) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return m;
        }
        for (String p : raw.split("&")) {
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? p : p.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8);
            m.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return m;
    }

    static String first(Map<String, List<String>> q, String key, String def) {
        List<String> v = q.get(key);
        return v == null || v.isEmpty() ? def : v.get(0);
    }

    static int intParam(Map<String, List<String>> q, String key, int def) {
        try {
            return Integer.parseInt(first(q, key, String.valueOf(def)));
        } catch (NumberFormatException e) {
            return def;
        }
    }

    /** DSpaceApiExceptionControllerAdvice's error document. */
    public static void error(HttpExchange ex, int code, String err, String message) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timestamp", new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSSZ").format(new Date()));
        m.put("status", code);
        m.put("error", err);
        m.put("message", message);
        m.put("path", ex.getRequestURI().getPath());
        send(ex, code, "application/json;charset=UTF-8", Json.write(m));
    }

    static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(code, head || b.length == 0 ? -1 : b.length);
        if (!head && b.length > 0) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(b);
            }
        }
    }
}
