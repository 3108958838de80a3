/*
 * dspace-deploy test look-alike (not DSpace code): the login token of DSpace's REST API, as
 * DSpace/DSpace@dspace-9.3 dspace-server-webapp/.../security/jwt/JWTTokenHandler.java makes it: a
 * JWT signed with HMAC-SHA256, claims `eid` (the e-person's UUID), `sg` (special groups, none
 * here), `authenticationMethod` and `exp`; the key is `jwt.login.token.secret`, or a random one
 * made once per process when it is not set (getJwtKey), so a restart invalidates every token;
 * the lifetime is `jwt.login.token.expiration` milliseconds (default 1800000, authentication.cfg).
 * Not imitated: the e-person's session salt in the key (a logout's invalidation).
 */
package org.dspace.app.rest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import lookalike.common.Json;
import org.dspace.lookalike.Config;

final class Jwt {
    private static final byte[] GENERATED_KEY = new byte[32];

    static {
        new SecureRandom().nextBytes(GENERATED_KEY);
    }

    private Jwt() {
    }

    private static byte[] key(Config config) {
        String secret = config.get("jwt.login.token.secret", "");
        return secret.isBlank() ? GENERATED_KEY : secret.getBytes(StandardCharsets.UTF_8);
    }

    private static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static byte[] sign(Config config, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key(config), "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A token for the e-person (UUID) that logged in with a password. */
    static String issue(Config config, String eperson) {
        long lifetime;
        try {
            lifetime = Long.parseLong(config.get("jwt.login.token.expiration", "1800000").trim());
        } catch (NumberFormatException e) {
            lifetime = 1800000;
        }
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("eid", eperson);
        claims.put("sg", List.of());
        claims.put("authenticationMethod", "password");
        claims.put("exp", (System.currentTimeMillis() + lifetime) / 1000);
        String data = b64("{\"alg\":\"HS256\"}".getBytes(StandardCharsets.UTF_8)) + "."
            + b64(Json.write(claims).getBytes(StandardCharsets.UTF_8));
        return data + "." + b64(sign(config, data));
    }

    /** The `eid` of a token this process signed and that has not expired, else null. */
    @SuppressWarnings("unchecked")
    static String eperson(Config config, String token) {
        String[] parts = token.split("\\.");
        if (parts.length != 3) {
            return null;
        }
        byte[] signature;
        Map<String, Object> claims;
        try {
            signature = Base64.getUrlDecoder().decode(parts[2]);
            Object parsed = Json.parse(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
            if (!(parsed instanceof Map)) {
                return null;
            }
            claims = (Map<String, Object>) parsed;
        } catch (RuntimeException e) { // not Base64, not JSON
            return null;
        }
        if (!MessageDigest.isEqual(signature, sign(config, parts[0] + "." + parts[1]))) {
            return null;
        }
        Object exp = claims.get("exp");
        if (!(exp instanceof Number) || ((Number) exp).longValue() * 1000 <= System.currentTimeMillis()) {
            return null;
        }
        Object eid = claims.get("eid");
        return eid instanceof String ? (String) eid : null;
    }
}
