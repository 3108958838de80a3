/*
 * dspace-deploy test look-alike (not Handle.Net code): a handle server that listens on the
 * TCP, UDP and HTTP ports of <handle.dir>/config.dct and, with
 * storage_class = org.dspace.handle.HandlePlugin, answers from the DSpace database's handle table:
 * Handle protocol resolution requests on TCP and UDP (HandleProtocol), the JSON API on HTTP.
 * Like Handle.Net 9 (HandleServer.java, initThisSiteAndServerNum) it reads its own site record
 * from siteinfo.json at start and refuses to start without it; that record, not config.dct's
 * bind ports, is what the server advertises (GET /api/site, the site-info request).
 */
package net.handle.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class Main {
    private Main() {
    }

    static String block(String dct, String name) {
        int i = dct.indexOf("\"" + name + "\"");
        if (i < 0) {
            return null;
        }
        int open = dct.indexOf('{', i);
        int depth = 0;
        for (int j = open; j < dct.length(); j++) {
            char c = dct.charAt(j);
            if (c == '{') {
                depth++;
            } else if (c == '}') {
                depth--;
                if (depth == 0) {
                    return dct.substring(open, j + 1);
                }
            }
        }
        return null;
    }

    static String value(String block, String key, String def) {
        if (block == null) {
            return def;
        }
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*=\\s*\"([^\"]*)\"").matcher(block);
        return m.find() ? m.group(1) : def;
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length < 1) {
            System.err.println("usage: java net.handle.server.Main <serverdir>");
            System.exit(1);
        }
        Path dir = Paths.get(argv[0]);
        Path cfg = dir.resolve("config.dct");
        if (!Files.isRegularFile(cfg)) {
            System.err.println("Error: configuration file " + cfg + " not found");
            System.exit(1);
        }
        String dct = Files.readString(cfg);
        Path siteInfo = dir.resolve("siteinfo.json");
        if (!Files.isReadable(siteInfo)) {
            String msg = "Missing or inaccessible site info file: " + dir.resolve("siteinfo.bin").toAbsolutePath()
                + "/" + siteInfo.getFileName();
            System.err.println(msg);
            throw new IOException(msg);
        }
        final String site = Files.readString(siteInfo).trim();
        String serverCfg = block(dct, "server_config");
        String storage = value(serverCfg, "storage_class", null);
        HandleLookup lookup = null;
        if ("org.dspace.handle.HandlePlugin".equals(storage)) {
            lookup = (HandleLookup) Class.forName("org.dspace.lookalike.HandleResolver").getDeclaredConstructor()
                .newInstance();
        }
        Files.createDirectories(dir.resolve("txns"));
        Path lock = dir.resolve("txns").resolve("lock");
        if (Files.exists(lock)) {
            System.err.println("Error: lock file " + lock + " exists; is another server running?");
            System.exit(1);
        }
        Files.writeString(lock, String.valueOf(ProcessHandle.current().pid()));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Files.deleteIfExists(lock);
            } catch (IOException e) {
                // ignore
            }
        }));

        String tcp = block(dct, "hdl_tcp_config");
        String udp = block(dct, "hdl_udp_config");
        String http = block(dct, "hdl_http_config");
        boolean noUdp = "y".equalsIgnoreCase(value(dct, "no_udp_resolution", "n"))
            || "yes".equalsIgnoreCase(value(dct, "no_udp_resolution", "n"));
        InetAddress tcpAddr = InetAddress.getByName(value(tcp, "bind_address", "0.0.0.0"));
        int tcpPort = Integer.parseInt(value(tcp, "bind_port", "2641"));
        ServerSocket ss = new ServerSocket(tcpPort, 50, tcpAddr);
        System.out.println("TCP handle Request Listener: address " + tcpAddr.getHostAddress() + " port " + tcpPort);
        Matcher serialNumber = Pattern.compile("\"serialNumber\"\\s*:\\s*(\\d+)").matcher(site);
        final HandleProtocol protocol = new HandleProtocol(lookup,
            serialNumber.find() ? Integer.parseInt(serialNumber.group(1)) : 1);
        Thread t = new Thread(() -> {
            while (true) {
                try (Socket s = ss.accept()) {
                    s.setSoTimeout(30000);
                    answerTcp(s, protocol);
                } catch (SocketException e) {
                    if (ss.isClosed()) {
                        return;
                    }
                } catch (IOException e) {
                    // a client that went away or sent a short message: the next one
                }
            }
        }, "hdl-tcp");
        t.setDaemon(true);
        t.start();
        if (!noUdp && udp != null) {
            InetAddress udpAddr = InetAddress.getByName(value(udp, "bind_address", "0.0.0.0"));
            int udpPort = Integer.parseInt(value(udp, "bind_port", "2641"));
            DatagramSocket ds = new DatagramSocket(new InetSocketAddress(udpAddr, udpPort));
            System.out.println("UDP handle Request Listener: address " + udpAddr.getHostAddress() + " port "
                + udpPort);
            Thread u = new Thread(() -> {
                byte[] buf = new byte[65535];
                while (true) {
                    try {
                        DatagramPacket request = new DatagramPacket(buf, buf.length);
                        ds.receive(request);
                        byte[] answer = protocol.answer(request.getData(), request.getLength());
                        ds.send(new DatagramPacket(answer, answer.length, request.getSocketAddress()));
                    } catch (IOException e) {
                        if (ds.isClosed()) {
                            return;
                        }
                    }
                }
            }, "hdl-udp");
            u.setDaemon(true);
            u.start();
        }
        if (http != null) {
            InetAddress httpAddr = InetAddress.getByName(value(http, "bind_address", "0.0.0.0"));
            int httpPort = Integer.parseInt(value(http, "bind_port", "8000"));
            HttpServer hs = HttpServer.create(new InetSocketAddress(httpAddr, httpPort), 50);
            final HandleLookup lk = lookup;
            hs.createContext("/", ex -> handleHttp(ex, lk, site));
            hs.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
            hs.start();
            System.out.println("HTTP handle Request Listener: address " + httpAddr.getHostAddress() + " port "
                + httpPort);
        }
        System.out.println("Handle server (dspace-deploy look-alike) ready; storage "
            + (storage == null ? "built-in" : storage));
        Thread.currentThread().join();
    }

    /** What the DSpace handle plugin resolves. */
    public interface HandleLookup {
        /** URL a handle resolves to, or null if unknown. */
        String resolve(String handle) throws Exception;

        /** Whether the storage serves the prefix of this naming authority handle (0.NA/prefix). */
        boolean haveNA(String naHandle) throws Exception;
    }

    /** One Handle protocol request on a TCP connection (envelope, then its message), answered. */
    static void answerTcp(Socket s, HandleProtocol protocol) throws IOException {
        java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
        byte[] envelope = new byte[HandleProtocol.ENVELOPE];
        in.readFully(envelope);
        int length = java.nio.ByteBuffer.wrap(envelope, 16, 4).getInt();
        if (length < 0 || length > 256 * 1024) {
            length = 0;
        }
        byte[] request = java.util.Arrays.copyOf(envelope, HandleProtocol.ENVELOPE + length);
        in.readFully(request, HandleProtocol.ENVELOPE, length);
        s.getOutputStream().write(protocol.answer(request, request.length));
        s.getOutputStream().flush();
    }

    static void handleHttp(HttpExchange ex, HandleLookup lookup, String site) throws IOException {
        String path = ex.getRequestURI().getPath();
        int code;
        String type;
        String body;
        if (path.startsWith("/api/handles/")) {
            String handle = path.substring("/api/handles/".length());
            type = "application/json;charset=UTF-8";
            String url = null;
            try {
                url = lookup == null ? null : lookup.resolve(handle);
            } catch (Exception e) {
                code = 500;
                body = "{\"responseCode\":2,\"handle\":\"" + handle + "\",\"message\":\"" + e.getMessage()
                    .replace("\"", "'") + "\"}";
                send(ex, code, type, body);
                return;
            }
            if (url == null) {
                code = 404;
                body = "{\"responseCode\":100,\"handle\":\"" + handle + "\"}";
            } else {
                code = 200;
                // the value DSpace's HandlePlugin makes: index 100, TTL 100, timestamp 100 (seconds)
                body = "{\"responseCode\":1,\"handle\":\"" + handle + "\",\"values\":[{\"index\":100,\"type\":\"URL\","
                    + "\"data\":{\"format\":\"string\",\"value\":\"" + url + "\"},\"ttl\":100,"
                    + "\"timestamp\":\"1970-01-01T00:01:40Z\"}]}";
            }
        } else if (path.equals("/api/site") || path.equals("/api/site/")) {
            code = 200;
            type = "application/json;charset=UTF-8";
            body = "{\"responseCode\":1,\"site\":" + site + "}";
        } else if (path.equals("/") || path.isEmpty()) {
            code = 200;
            type = "text/html;charset=UTF-8";
            body = "<html><head><title>Handle Server</title></head><body><h1>Handle Server</h1>"
                + "<p>dspace-deploy test look-alike of a handle server HTTP interface.</p></body></html>";
        } else {
            code = 404;
            type = "text/plain;charset=UTF-8";
            body = "Not found";
        }
        send(ex, code, type, body);
    }

    static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }
}
