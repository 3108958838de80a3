/*
 * dspace-deploy test look-alike (not DSpace code): the e-person group endpoints of DSpace's REST API
 * that an administrator uses to make groups and fill them (the Angular UI's "Access Control" pages
 * call the same), with the e-person look-ups they need. Read in DSpace/DSpace@dspace-9.3,
 * dspace-server-webapp/src/main/java/org/dspace/app/rest/: repository/GroupRestRepository.java
 * (create, findOne, findAll, search byMetadata), GroupRestController.java (POST .../epersons),
 * repository/GroupEPersonLinkRepository.java (GET .../epersons), repository/EPersonRestRepository.java
 * (findOne, search byEmail), RestResourceController.java (statuses), exception/
 * DSpaceApiExceptionControllerAdvice.java (401/403/422/500); cited per method. docs/lookalike.md
 * lists what is imitated and what is not.
 */
package org.dspace.app.rest;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import lookalike.common.Json;
import org.dspace.lookalike.Config;
import org.dspace.lookalike.Content;
import org.dspace.lookalike.Db;

final class GroupsApi {
    private static final String HAL = "application/hal+json;charset=UTF-8";
    /** RegexUtils.REGEX_UUID@dspace-9.3 (the request mappings' UUID). */
    private static final String REGEX_UUID =
        "[0-9a-fxA-FX]{8}-[0-9a-fxA-FX]{4}-[0-9a-fxA-FX]{4}-[0-9a-fxA-FX]{4}-[0-9a-fxA-FX]{12}";
    /** GroupRestController.findEPerson: any link whose last segment is a UUID. */
    private static final Pattern MEMBER_LINK = Pattern.compile("^.*/(" + REGEX_UUID + ")/?$");
    private static final String GROUP_COLUMNS = "SELECT uuid, name, permanent FROM epersongroup ";

    private final Config config;
    private final RestApi rest;

    GroupsApi(Config config, RestApi rest) {
        this.config = config;
        this.rest = rest;
    }

    /** Answers `path` (below the context path, starting /api/eperson/) when it is one of these endpoints. */
    boolean handle(HttpExchange ex, String path) throws IOException, SQLException {
        String method = ex.getRequestMethod();
        boolean read = method.equals("GET") || method.equals("HEAD");
        if (!read && !method.equals("POST")) {
            return false;
        }
        String[] p = path.substring("/api/eperson/".length()).split("/", -1);
        boolean groups = p[0].equals("groups");
        boolean epersons = p[0].equals("epersons");
        String route;
        if (groups && p.length == 1) {
            route = read ? "groups" : "create";
        } else if (groups && p.length == 3 && read && p[1].equals("search") && p[2].equals("byMetadata")) {
            route = "byMetadata";
        } else if (groups && p.length == 2 && read && p[1].matches(REGEX_UUID)) {
            route = "group";
        } else if (groups && p.length == 3 && p[1].matches(REGEX_UUID) && p[2].equals("epersons")) {
            route = read ? "members" : "addMembers";
        } else if (epersons && p.length == 3 && read && p[1].equals("search") && p[2].equals("byEmail")) {
            route = "byEmail";
        } else if (epersons && p.length == 2 && read && p[1].matches(REGEX_UUID)) {
            route = "eperson";
        } else {
            return false;
        }
        if (!read && !rest.csrfChecked(ex)) {
            return true;
        }
        Map<String, List<String>> q = RestApi.query(ex.getRequestURI().getRawQuery());
        UUID user = rest.currentUser(ex);
        try (Connection conn = Db.connect(config)) {
            boolean admin = Content.isAdmin(conn, user);
            switch (route) {
                case "groups" -> findAll(ex, conn, q, user, admin);
                case "create" -> create(ex, conn, user, admin);
                case "byMetadata" -> byMetadata(ex, conn, q, user, admin);
                case "group" -> findOne(ex, conn, UUID.fromString(p[1]), user, admin);
                case "members" -> members(ex, conn, q, UUID.fromString(p[1]), user, admin);
                case "addMembers" -> addMembers(ex, conn, UUID.fromString(p[1]), user, admin);
                case "byEmail" -> byEmail(ex, conn, q, user, admin);
                default -> eperson(ex, conn, UUID.fromString(p[1]), user, admin);
            }
        }
        return true;
    }

    /** DSpaceApiExceptionControllerAdvice.handleAuthorizeException: 401 anonymous, 403 otherwise. */
    private static void denied(HttpExchange ex, UUID user) throws IOException {
        if (user == null) {
            RestApi.error(ex, 401, "Unauthorized", "Authentication is required");
        } else {
            RestApi.error(ex, 403, "Forbidden", "Access is denied");
        }
    }

    // ------------------------------------------------------------------------------ groups

    /** GroupRestRepository.findAll: @PreAuthorize ADMIN; GroupDAOImpl.findAll orders by name. */
    private void findAll(HttpExchange ex, Connection conn, Map<String, List<String>> q, UUID user, boolean admin)
        throws IOException, SQLException {
        if (!admin) {
            denied(ex, user);
            return;
        }
        rest.page(ex, "groups", q, groups(ex, conn, GROUP_COLUMNS + "ORDER BY name", null));
    }

    /**
     * GroupRestRepository.findByMetadata: @PreAuthorize ADMIN (or MANAGE_ACCESS_GROUP, the community
     * and collection administrators, not imitated); `query` is required (400 without it);
     * GroupServiceImpl.search: a UUID finds that group, anything else the groups whose name
     * contains it, case-insensitively (GroupDAOImpl.findByNameLike: LIKE, so `%` and `_` in the
     * query are wildcards; no order in the real query, by name here).
     */
    private void byMetadata(HttpExchange ex, Connection conn, Map<String, List<String>> q, UUID user,
                            boolean admin) throws IOException, SQLException {
        if (!admin) {
            denied(ex, user);
            return;
        }
        String query = RestApi.first(q, "query", null);
        if (query == null) {
            RestApi.error(ex, 400, "Bad Request", "Parameter query is required");
            return;
        }
        List<Map<String, Object>> found;
        if (query.trim().matches(REGEX_UUID)) {
            found = groups(ex, conn, GROUP_COLUMNS + "WHERE uuid = ?::uuid", query.trim());
        } else {
            found = groups(ex, conn, GROUP_COLUMNS + "WHERE lower(name) LIKE lower(?) ORDER BY name",
                "%" + query.trim() + "%");
        }
        rest.page(ex, "groups", q, found);
    }

    /**
     * GroupRestRepository.findOne: @PreAuthorize hasPermission(#id, 'GROUP', 'READ')
     * (GroupRestPermissionEvaluatorPlugin: administrators and the group's members); 404 for a
     * group that does not exist.
     */
    private void findOne(HttpExchange ex, Connection conn, UUID id, UUID user, boolean admin)
        throws IOException, SQLException {
        if (!admin && !isMember(conn, id, user)) {
            denied(ex, user);
            return;
        }
        List<Map<String, Object>> found = groups(ex, conn, GROUP_COLUMNS + "WHERE uuid = ?", id);
        if (found.isEmpty()) {
            RestApi.error(ex, 404, "Not Found", "eperson.group with id: " + id + " not found");
            return;
        }
        RestApi.send(ex, 200, HAL, Json.write(found.get(0)));
    }

    /**
     * GroupRestRepository.createAndReturn: @PreAuthorize ADMIN, then the JSON body (GroupRest:
     * `name`, `metadata`); a body that is no JSON object is 422 "error parsing the body", a
     * missing or blank name 422 GroupNameNotProvidedException (Messages.properties). The group,
     * its name and its metadata in one transaction; a metadata field the registry lacks is an
     * SQLException (500), and so is a name that exists already (the unique index
     * epersongroup_unique_idx_name, V6.0_2016.02.25: nothing checks it before the commit).
     * 201 with the group (RestResourceController.postJsonInternal). The media type must be JSON
     * (the mapping consumes application/json and application/hal+json; else 415).
     */
    @SuppressWarnings("unchecked")
    private void create(HttpExchange ex, Connection conn, UUID user, boolean admin)
        throws IOException, SQLException {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !(type.startsWith("application/json") || type.startsWith("application/hal+json"))) {
            RestApi.error(ex, 415, "Unsupported Media Type", "Content-Type '" + type + "' is not supported");
            return;
        }
        if (!admin) {
            denied(ex, user);
            return;
        }
        Object body;
        try {
            body = Json.parse(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            body = null;
        }
        Object name = body instanceof Map ? ((Map<String, Object>) body).get("name") : null;
        Object metadata = body instanceof Map ? ((Map<String, Object>) body).get("metadata") : null;
        if (!(body instanceof Map) || name instanceof Map || name instanceof List
            || (metadata != null && !(metadata instanceof Map))) {
            RestApi.error(ex, 422, "Unprocessable Entity", "error parsing the body ...");
            return;
        }
        if (name == null || String.valueOf(name).isBlank()) {
            RestApi.error(ex, 422, "Unprocessable Entity", "Cannot create group, no group name is provided");
            return;
        }
        UUID id;
        conn.setAutoCommit(false);
        try {
            id = Content.newObject(conn);
            Db.exec(conn, "INSERT INTO epersongroup (uuid, permanent, name) VALUES (?, false, ?)", id,
                String.valueOf(name));
            if (metadata != null) {
                for (Map.Entry<String, Object> e : ((Map<String, Object>) metadata).entrySet()) {
                    addMetadata(conn, id, e.getKey(), e.getValue());
                }
            }
            conn.commit();
        } catch (SQLException e) {
            conn.rollback();
            throw e;
        }
        RestApi.send(ex, 201, HAL, Json.write(groups(ex, conn, GROUP_COLUMNS + "WHERE uuid = ?", id).get(0)));
    }

    /** MetadataConverter.persistMetadataRest: "schema.element[.qualifier]" -> values, in order. */
    private static void addMetadata(Connection conn, UUID id, String key, Object values) throws SQLException {
        String[] seq = key.split("\\.");
        if (seq.length < 2 || !(values instanceof List)) {
            throw new SQLException("metadata " + key + " cannot be stored"); // an exception there too
        }
        for (Object v : (List<?>) values) {
            Map<?, ?> value = v instanceof Map ? (Map<?, ?>) v : Map.of();
            Object text = value.get("value");
            Object lang = value.get("language");
            Content.addMetadata(conn, id, seq[0], seq[1], seq.length == 3 ? seq[2] : null,
                lang == null ? null : String.valueOf(lang), text == null ? null : String.valueOf(text));
        }
    }

    /**
     * GroupEPersonLinkRepository.getMembers: READ on the group (as findOne), 404 for a group that
     * does not exist, the direct members as an EmbeddedPage (`_embedded.epersons`, even empty;
     * EPersonDAOImpl.findByGroups has no order, by e-mail here).
     */
    private void members(HttpExchange ex, Connection conn, Map<String, List<String>> q, UUID id, UUID user,
                         boolean admin) throws IOException, SQLException {
        if (!admin && !isMember(conn, id, user)) {
            denied(ex, user);
            return;
        }
        if (!Content.exists(conn, "epersongroup", id)) {
            RestApi.error(ex, 404, "Not Found", "No such group: " + id);
            return;
        }
        List<Map<String, Object>> all = epersons(ex, conn, "SELECT e.uuid FROM eperson e "
            + "JOIN epersongroup2eperson m ON m.eperson_id = e.uuid WHERE m.eperson_group_id = ? "
            + "ORDER BY e.email", id);
        int size = Math.max(1, RestApi.intParam(q, "size", 20));
        int number = Math.max(0, RestApi.intParam(q, "page", 0));
        int total = all.size();
        String self = rest.requestBase(ex) + "/api/eperson/groups/" + id + "/epersons";
        RestApi.send(ex, 200, HAL, Json.write(RestApi.embeddedPage("epersons",
            all.subList(Math.min(total, number * size), Math.min(total, (number + 1) * size)),
            self, null, number, size, total)));
    }

    /**
     * GroupRestController.addMembers: consumes text/uri-list (else 415); AUTHENTICATED (401),
     * the group (404), AuthorizeUtil.authorizeManageGroup (403 for whoever is no administrator:
     * community and collection administrators are not imitated), then every line of the body
     * (Utils.getStringListFromRequest: non-blank lines, URL-decoded) must end in the UUID of an
     * e-person, else 422 and nobody is added; members already there stay (addMember skips them).
     * 204 No Content.
     */
    private void addMembers(HttpExchange ex, Connection conn, UUID id, UUID user, boolean admin)
        throws IOException, SQLException {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.startsWith("text/uri-list")) {
            RestApi.error(ex, 415, "Unsupported Media Type", "Content-Type '" + type + "' is not supported");
            return;
        }
        if (user == null) {
            denied(ex, null);
            return;
        }
        if (!Content.exists(conn, "epersongroup", id)) {
            RestApi.error(ex, 404, "Not Found", "parent group is not found for uuid: " + id);
            return;
        }
        if (!admin) {
            denied(ex, user);
            return;
        }
        List<UUID> members = new ArrayList<>();
        for (String line : new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("\r?\n")) {
            if (line.isBlank()) {
                continue;
            }
            String link = java.net.URLDecoder.decode(line, StandardCharsets.UTF_8);
            Matcher matcher = MEMBER_LINK.matcher(link);
            UUID member = matcher.matches() ? UUID.fromString(matcher.group(1)) : null;
            if (member == null || !Content.exists(conn, "eperson", member)) {
                RestApi.error(ex, 422, "Unprocessable Entity", "cannot add child group: " + link);
                return;
            }
            members.add(member);
        }
        conn.setAutoCommit(false); // one context, one commit
        for (UUID member : members) {
            Db.exec(conn, "INSERT INTO epersongroup2eperson (eperson_group_id, eperson_id) VALUES (?, ?) "
                + "ON CONFLICT DO NOTHING", id, member);
        }
        conn.commit();
        ex.sendResponseHeaders(204, -1);
    }

    private static boolean isMember(Connection conn, UUID group, UUID eperson) throws SQLException {
        if (eperson == null) {
            return false;
        }
        try (PreparedStatement ps = conn.prepareStatement(
            "SELECT 1 FROM epersongroup2eperson WHERE eperson_group_id = ? AND eperson_id = ?")) {
            ps.setObject(1, group);
            ps.setObject(2, eperson);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** GroupRest (GroupConverter, DSpaceObjectConverter) of each row of `sql`. */
    private List<Map<String, Object>> groups(HttpExchange ex, Connection conn, String sql, Object arg)
        throws SQLException {
        String base = rest.requestBase(ex);
        List<Map<String, Object>> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            if (arg != null) {
                ps.setObject(1, arg);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    UUID id = (UUID) rs.getObject(1);
                    Map<String, Object> g = RestApi.dso(id.toString(), rs.getString(2), null, metadata(conn, id));
                    g.put("permanent", rs.getBoolean(3));
                    g.put("type", "group");
                    String self = base + "/api/eperson/groups/" + id;
                    Map<String, Object> links = new TreeMap<>();
                    for (String rel : new String[] {"epersons", "object", "subgroups"}) {
                        links.put(rel, RestApi.link(self + "/" + rel));
                    }
                    links.put("self", RestApi.link(self));
                    g.put("_links", links);
                    out.add(g);
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------------------- e-persons

    /**
     * EPersonRestRepository.findByEmail: no @PreAuthorize of its own, but ConverterService.toRest
     * drops an object the caller may not READ (administrators, the e-person itself), and a
     * search method's null is 204 No Content; `email` is required (400).
     */
    private void byEmail(HttpExchange ex, Connection conn, Map<String, List<String>> q, UUID user, boolean admin)
        throws IOException, SQLException {
        String email = RestApi.first(q, "email", null);
        if (email == null) {
            RestApi.error(ex, 400, "Bad Request", "Parameter email is required");
            return;
        }
        UUID id = Content.epersonByEmail(conn, email);
        if (id == null || !(admin || id.equals(user))) {
            ex.sendResponseHeaders(204, -1);
            return;
        }
        RestApi.send(ex, 200, HAL, Json.write(epersons(ex, conn, "SELECT uuid FROM eperson WHERE uuid = ?", id)
            .get(0)));
    }

    /** EPersonRestRepository.findOne: hasPermission(#id, 'EPERSON', 'READ'); 404 when there is none. */
    private void eperson(HttpExchange ex, Connection conn, UUID id, UUID user, boolean admin)
        throws IOException, SQLException {
        if (!admin && !id.equals(user)) {
            denied(ex, user);
            return;
        }
        List<Map<String, Object>> found = epersons(ex, conn, "SELECT uuid FROM eperson WHERE uuid = ?", id);
        if (found.isEmpty()) {
            RestApi.error(ex, 404, "Not Found", "eperson.eperson with id: " + id + " not found");
            return;
        }
        RestApi.send(ex, 200, HAL, Json.write(found.get(0)));
    }

    /** EPersonRest (EPersonConverter) of each e-person `sql` selects (its first column, a UUID). */
    private List<Map<String, Object>> epersons(HttpExchange ex, Connection conn, String sql, UUID arg)
        throws SQLException {
        String base = rest.requestBase(ex);
        List<Map<String, Object>> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT e.uuid, e.email, e.netid, e.last_active, "
            + "e.can_log_in, e.require_certificate, e.self_registered FROM eperson e WHERE e.uuid IN (" + sql
            + ") ORDER BY e.email")) {
            ps.setObject(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    UUID id = (UUID) rs.getObject(1);
                    Map<String, Object> e = RestApi.dso(id.toString(), rs.getString(2), null, metadata(conn, id));
                    Timestamp active = rs.getTimestamp(4);
                    e.put("netid", rs.getString(3));
                    e.put("lastActive", active == null ? null : active.toInstant().toString());
                    e.put("canLogIn", rs.getBoolean(5));
                    e.put("email", rs.getString(2));
                    e.put("requireCertificate", rs.getBoolean(6));
                    e.put("selfRegistered", rs.getBoolean(7));
                    e.put("type", "eperson");
                    String self = base + "/api/eperson/epersons/" + id;
                    Map<String, Object> links = new TreeMap<>();
                    links.put("groups", RestApi.link(self + "/groups"));
                    links.put("self", RestApi.link(self));
                    e.put("_links", links);
                    out.add(e);
                }
            }
        }
        return out;
    }

    /** MetadataRest of an object: "schema.element[.qualifier]" (sorted) -> values by place. */
    private static Map<String, Object> metadata(Connection conn, UUID id) throws SQLException {
        Map<String, Object> out = new TreeMap<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT s.short_id, f.element, f.qualifier, "
            + "v.text_value, v.text_lang, v.authority, v.confidence, v.place " + Content.METADATA_FROM
            + "WHERE v.dspace_object_id = ? ORDER BY v.place")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String key = rs.getString(1) + "." + rs.getString(2)
                        + (rs.getString(3) == null ? "" : "." + rs.getString(3));
                    Map<String, Object> v = RestApi.metadataValue(rs.getString(4));
                    v.put("language", rs.getString(5));
                    v.put("authority", rs.getString(6));
                    v.put("confidence", rs.getInt(7));
                    v.put("place", rs.getInt(8));
                    @SuppressWarnings("unchecked")
                    List<Object> values = (List<Object>) out.computeIfAbsent(key, k -> new ArrayList<>());
                    values.add(v);
                }
            }
        }
        return out;
    }
}
