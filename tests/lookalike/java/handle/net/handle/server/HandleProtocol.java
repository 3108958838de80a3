/*
 * dspace-deploy test look-alike (not Handle.Net code): the Handle protocol answers of a handle
 * server, for resolution requests over UDP and TCP (RFC 3652, protocol 2.1; facts of the
 * Handle.Net 9 server, docs/lookalike.md "Handle server"):
 * - the envelope of an answer carries the request's version (its suggested version, else the
 *   envelope's; 2.11 at most), suggests 2.11, echoes the session and request ids, sequence 0;
 * - the header echoes the op code and the request's flags, sets AT (a primary server), carries the
 *   site record's serial number, the request's recursion count and an expiration twelve hours on;
 *   with RD (2.1 and later) the body starts with a digest of the request's header and body
 *   (SHA-1; SHA-256 from 2.7);
 * - a resolution of a handle whose prefix the storage does not serve: 301 "That prefix doesn't
 *   live here"; unknown handle: 100; else 1 with the values DSpace's HandlePlugin returns (one URL
 *   value: index 100, timestamp 100, relative TTL 100, admin and public read);
 * - a message shorter than a header: 4 "Invalid message length"; op code 0: 4 "Unknown opCode in
 *   message: 0"; anything that cannot be decoded: 2 "Server error processing request, see server
 *   logs"; every answer ends with an empty credential (no signature).
 * Not reproduced: other operations (answered 5, operation not supported), signed (CT), encrypted
 * and multi-datagram messages, sessions.
 */
package net.handle.server;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

public final class HandleProtocol {
    static final int ENVELOPE = 20;
    static final int HEADER = 24;
    static final int OC_RESOLUTION = 1;
    static final int RC_SUCCESS = 1;
    static final int RC_ERROR = 2;
    static final int RC_PROTOCOL_ERROR = 4;
    static final int RC_OPERATION_NOT_SUPPORTED = 5;
    static final int RC_HANDLE_NOT_FOUND = 100;
    static final int RC_SERVER_NOT_RESP = 301;
    static final int FLAG_AUTH = 0x80000000;
    static final int FLAG_RRDG = 0x00800000;
    // the request's flags an answer takes over (AbstractMessage.takeValuesFrom): AT, CT, ENC, CA, PO, DNRF
    static final int FLAG_ECHOED = FLAG_AUTH | 0x40000000 | 0x20000000 | 0x08000000 | 0x01000000 | 0x00100000;
    static final byte MAJOR = 2;
    static final byte MINOR = 11;

    private final Main.HandleLookup lookup;
    private final int serial;

    public HandleProtocol(Main.HandleLookup lookup, int siteSerial) {
        this.lookup = lookup;
        this.serial = siteSerial;
    }

    /** The answer to one request (envelope, message, credential): never null. */
    public byte[] answer(byte[] packet, int length) {
        if (length < ENVELOPE) {
            return error(new Request(), 0, RC_ERROR, "Server error processing request, see server logs");
        }
        ByteBuffer in = ByteBuffer.wrap(packet, 0, length);
        Request req = new Request();
        req.major = in.get();
        req.minor = in.get();
        int flags = in.get() & 0xff;
        byte suggestMinor = in.get();
        if ((flags & 0x03) != 0) { // the envelope's suggested version
            req.major = (byte) (flags & 0x03);
            req.minor = suggestMinor;
        }
        req.session = in.getInt();
        req.id = in.getInt();
        in.getInt(); // sequence number
        int messageLength = in.getInt();
        if (messageLength < HEADER) {
            return error(req, 0, RC_PROTOCOL_ERROR, "Invalid message length");
        }
        if (messageLength > length - ENVELOPE) {
            return error(req, 0, RC_ERROR, "Server error processing request, see server logs");
        }
        int opCode = in.getInt();
        if (opCode == 0) {
            return error(req, 0, RC_PROTOCOL_ERROR, "Unknown opCode in message: 0");
        }
        try {
            in.getInt(); // response code (0 in a request)
            req.opFlags = in.getInt();
            in.getShort(); // the site serial the client used
            req.recursion = in.get();
            in.get();
            in.getInt(); // expiration
            int bodyLength = in.getInt();
            byte[] headerAndBody = Arrays.copyOfRange(packet, ENVELOPE, ENVELOPE + HEADER + bodyLength);
            req.digestOf = headerAndBody;
            if (opCode != OC_RESOLUTION) {
                return error(req, opCode, RC_OPERATION_NOT_SUPPORTED, null);
            }
            String handle = new String(bytes(in), StandardCharsets.UTF_8);
            return resolve(req, handle);
        } catch (RuntimeException e) {
            return error(req, opCode, RC_ERROR, "Server error processing request, see server logs");
        }
    }

    private byte[] resolve(Request req, String handle) {
        int slash = handle.indexOf('/');
        String prefix = slash < 0 ? handle : handle.substring(0, slash);
        String url;
        try {
            if (lookup == null || !lookup.haveNA("0.NA/" + prefix)) {
                return error(req, OC_RESOLUTION, RC_SERVER_NOT_RESP, "That prefix doesn't live here");
            }
            url = lookup.resolve(handle);
        } catch (Exception e) {
            return error(req, OC_RESOLUTION, RC_ERROR, "Internal Error");
        }
        if (url == null) {
            return error(req, OC_RESOLUTION, RC_HANDLE_NOT_FOUND, null);
        }
        byte[] name = handle.getBytes(StandardCharsets.UTF_8);
        byte[] type = "URL".getBytes(StandardCharsets.UTF_8);
        byte[] data = url.getBytes(StandardCharsets.UTF_8);
        ByteBuffer value = ByteBuffer.allocate(4 + 4 + 1 + 4 + 1 + 4 + type.length + 4 + data.length + 4);
        value.putInt(100).putInt(100).put((byte) 0).putInt(100).put((byte) 0x0a);
        value.putInt(type.length).put(type).putInt(data.length).put(data).putInt(0);
        ByteBuffer body = ByteBuffer.allocate(4 + name.length + 4 + value.capacity());
        body.putInt(name.length).put(name).putInt(1).put(value.array());
        return message(req, OC_RESOLUTION, RC_SUCCESS, body.array());
    }

    private byte[] error(Request req, int opCode, int code, String text) {
        byte[] t = text == null ? new byte[0] : text.getBytes(StandardCharsets.UTF_8);
        return message(req, opCode, code, ByteBuffer.allocate(4 + t.length).putInt(t.length).put(t).array());
    }

    private byte[] message(Request req, int opCode, int code, byte[] body) {
        byte major = req.major;
        byte minor = req.minor;
        if (major > MAJOR || major == MAJOR && minor >= MINOR) {
            major = MAJOR;
            minor = MINOR;
        }
        byte[] digest = new byte[0];
        boolean rd = (req.opFlags & FLAG_RRDG) != 0 && req.digestOf != null && (major > 2 || minor >= 1);
        if (rd) {
            String algorithm = minor >= 7 ? "SHA-256" : "SHA-1";
            byte hashCode = (byte) (minor >= 7 ? 3 : 2);
            try {
                byte[] d = MessageDigest.getInstance(algorithm).digest(req.digestOf);
                digest = ByteBuffer.allocate(1 + d.length).put(hashCode).put(d).array();
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        int flags = (req.opFlags & FLAG_ECHOED) | FLAG_AUTH | (rd ? FLAG_RRDG : 0);
        int bodyLength = digest.length + body.length;
        int messageLength = HEADER + bodyLength + 4;
        ByteBuffer out = ByteBuffer.allocate(ENVELOPE + messageLength);
        out.put(major).put(minor).put(MAJOR).put(MINOR);
        out.putInt(req.session).putInt(req.id).putInt(0).putInt(messageLength);
        out.putInt(opCode).putInt(code).putInt(flags).putShort((short) serial).put(req.recursion).put((byte) 0);
        out.putInt((int) (System.currentTimeMillis() / 1000) + 43200).putInt(bodyLength);
        out.put(digest).put(body).putInt(0);
        return out.array();
    }

    private static byte[] bytes(ByteBuffer in) {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("bad length");
        }
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private static final class Request {
        byte major = MAJOR;
        byte minor = MINOR;
        int session;
        int id;
        int opFlags;
        byte recursion;
        byte[] digestOf;
    }
}
