/*
 * dspace-deploy test look-alike (not Handle.Net code) of the handle server setup program, run by
 * DSpace's bin/make-handle-config with answers on stdin. It asks what the Handle.Net 9 setup asks,
 * in the same order and with the same defaults (read from the Handle.Net 9 source:
 * net/handle/server/SimpleSetup.java): primary server, dual-stack, client address, bind address,
 * TCP/UDP port [2641], HTTP port [8000], log accesses (and when yes the rotation interval), the
 * site's serial number [1], description, organisation (repeated until not empty), contact name,
 * telephone and e-mail (repeated until valid), disable UDP, then for the server and the
 * administrator keys either "keys already exist, create new ones? [n]" or "encrypt? [y]".
 * An answer missing at the end of stdin fails the setup ("Error setting up the server").
 *
 * It writes config.dct (an existing one is moved to config.dct.before_setup) with the
 * YOUR_PREFIX placeholder and a "server_config" = { block, the RSA key pairs (kept when they
 * exist and the answer is n), siteinfo.json (Handle.Net's JSON site record: the advertised
 * address and the TCP, UDP and HTTP ports the answers gave), contactdata.dct, webapps/ and
 * sitebndl.zip (repl_admin, admpub.bin, siteinfo.bin in the binary HS_SITE encoding of RFC 3652
 * section 3.2.2, contactdata.dct): what a prefix registration sends to handle.net.
 */
package net.handle.server;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

public final class SimpleSetup {
    private final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    private SimpleSetup() {
    }

    private String respond(String prompt) throws IOException {
        System.out.print("\n" + prompt + ": ");
        System.out.flush();
        String line = in.readLine();
        if (line == null) {
            throw new IOException("no answer to \"" + prompt + "\" (end of input)");
        }
        return line.trim();
    }

    private boolean bool(String prompt, boolean def) throws IOException {
        while (true) {
            String a = respond(prompt + "(y/n) [" + (def ? "y" : "n") + "]").toUpperCase(Locale.ROOT);
            if (a.isEmpty()) {
                return def;
            }
            if (a.equals("Y") || a.equals("YES")) {
                return true;
            }
            if (a.equals("N") || a.equals("NO")) {
                return false;
            }
            System.out.println("\nUnrecognized response, try again.");
        }
    }

    private int integer(String prompt, int def, int min, int max) throws IOException {
        while (true) {
            String a = respond(prompt + " [" + def + "]");
            if (a.isEmpty()) {
                return def;
            }
            try {
                int n = Integer.parseInt(a);
                if (n >= min && n <= max) {
                    return n;
                }
                System.out.println("ERROR: java.lang.Exception: " + n + " is unacceptable.");
            } catch (NumberFormatException e) {
                System.out.println("ERROR: " + e);
            }
            System.out.println("\nPlease enter a positive number greater than " + (min - 1) + " and less than "
                + (max + 1) + ".");
        }
    }

    private InetAddress address(String prompt, InetAddress def, boolean mustBeAccessible) throws IOException {
        String shown = def == null ? "" : def.getHostAddress();
        String full = shown.isEmpty() ? prompt : prompt + " [" + shown + "]";
        while (true) {
            String a = respond(full);
            if (a.isEmpty() && !shown.isEmpty()) {
                a = shown;
            }
            try {
                InetAddress addr = InetAddress.getByName(a);
                if (mustBeAccessible && addr.getHostAddress().startsWith("127.")) {
                    throw new IOException("you must enter an address that is accessible from the network");
                }
                return addr;
            } catch (IOException e) {
                System.out.println("Invalid address (" + e + "), please try again.");
            }
        }
    }

    private static boolean badEmail(String e) {
        int at = e.indexOf('@');
        return e.isEmpty() || at < 0 || e.indexOf('@', at + 1) >= 0 || e.indexOf('.', at + 2) < 0;
    }

    public static void main(String[] argv) {
        if (argv.length < 1 || argv[0].isEmpty()) {
            System.err.println("ERROR:  You must specify a configuration directory.");
            return;
        }
        try {
            new SimpleSetup().run(Paths.get(argv[0]));
        } catch (Exception e) {
            System.err.println("Error setting up the server:\n" + e);
            e.printStackTrace();
        }
    }

    private void run(Path dir) throws Exception {
        Files.createDirectories(dir);
        System.out.println("\nTo configure your new Handle server (dspace-deploy look-alike), please answer"
            + "\nthe questions which follow; default answers, shown in [square brackets] when available,"
            + "\ncan be chosen by pressing Enter.\n");
        boolean primary = bool("Will this be a \"primary\" server (ie, not a mirror of another server)?", true);
        boolean dualStack = bool("Will this be a dual-stack server (accessible on both IPv6 and IPv4)?", false);
        if (dualStack || !primary) {
            throw new IOException("dual-stack and mirror servers are not reproduced by the dspace-deploy look-alike");
        }
        InetAddress local;
        try {
            local = InetAddress.getLocalHost();
        } catch (IOException e) {
            local = null;
        }
        InetAddress external = address("Through what network-accessible IP address should clients connect to "
            + "this server?", local, true);
        InetAddress bind = address("If different, enter the IP address to which the server should bind.", external,
            false);
        int port = integer("Enter the (TCP/UDP) port number this server will listen to", 2641, 1, 65535);
        int httpPort = integer("What port number will the HTTP interface be listening to?", 8000, 1, 65535);
        boolean logAccesses = bool("Would you like to log all accesses to this server?", true);
        String interval = "Monthly";
        if (logAccesses) {
            String a = respond("(\"N\" (Never), \"M\" (Monthly), \"W\" (Weekly), or \"D\" (Daily))? [Monthly] ");
            interval = a.isEmpty() ? "Monthly" : switch (a.toUpperCase(Locale.ROOT).substring(0, 1)) {
                case "N" -> "Never";
                case "W" -> "Weekly";
                case "D" -> "Daily";
                default -> "Monthly";
            };
        }
        int serial;
        while (true) {
            serial = integer("Enter the version/serial number of this site", 1, 1, Integer.MAX_VALUE);
            if ((serial & 0xffff0000) == 0) {
                break;
            }
            System.out.println("Invalid input: \"" + serial + "\" (value out of 2-byte range).");
        }
        String desc = respond("Please enter a short description of this server/site");
        String org = "";
        while (org.isEmpty()) {
            org = respond("Please enter the name of your organization");
        }
        String contactName = "";
        String contactPhone = "";
        String contactEmail = "";
        if (!org.equalsIgnoreCase("cnri")) {
            contactName = respond("Please enter the name of a contact person\nfor " + org + " (optional) [(none)]");
            contactPhone = respond("Please enter the telephone number of " + org + " (optional) [(none)]");
            do {
                contactEmail = respond("Please enter the email address of " + org);
            } while (badEmail(contactEmail));
        }
        boolean disableUdp = bool("  Do you need to disable UDP services?", false);

        Path pub = dir.resolve("pubkey.bin");
        Path priv = dir.resolve("privkey.bin");
        keys(pub, priv, "Server keys already exist, do you want to create new ones? ");
        Path admPub = dir.resolve("admpub.bin");
        Path admPriv = dir.resolve("admpriv.bin");
        keys(admPub, admPriv, "Administrator keys already exist, do you want to create new ones? ");

        String siteinfo = siteInfoJson(serial, desc, external, port, httpPort, disableUdp, pub);
        Files.writeString(dir.resolve("siteinfo.json"), siteinfo);
        String contact = "{\n  \"org_name\" = \"" + org + "\"\n"
            + (contactName.isEmpty() ? "" : "  \"contact_name\" = \"" + contactName + "\"\n")
            + (contactPhone.isEmpty() ? "" : "  \"contact_phone\" = \"" + contactPhone + "\"\n")
            + "  \"contact_email\" = \"" + contactEmail + "\"\n}\n";
        Files.writeString(dir.resolve("contactdata.dct"), contact);

        Path cfg = dir.resolve("config.dct");
        if (Files.exists(cfg)) {
            System.out.println("\nYour pre-existing config.dct has been moved to config.dct.before_setup.");
            System.out.println("Please ensure that any manual changes you had made are preserved.");
            Files.move(cfg, dir.resolve("config.dct.before_setup"), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.writeString(cfg, configDct(bind, port, httpPort, logAccesses, interval, disableUdp));

        Files.createDirectories(dir.resolve("webapps"));
        System.out.println("\n\n\nWARNING: Error adding admin.war to server:\njava.io.FileNotFoundException: "
            + "admin.war (the look-alike has none)\nYou will have to add admin.war to the webapps subdirectory "
            + "manually.\n\n");

        try (OutputStream os = Files.newOutputStream(dir.resolve("sitebndl.zip"));
             ZipOutputStream zip = new ZipOutputStream(os)) {
            entry(zip, "repl_admin", encodeString("300:0.NA/YOUR_PREFIX\n"));
            entry(zip, "admpub.bin", Files.readAllBytes(admPub));
            entry(zip, "siteinfo.bin", siteInfoBin(serial, desc, external, port, httpPort, disableUdp, pub));
            entry(zip, "contactdata.dct", encodeString(contact));
        }
        System.out.println("\n-------------------------------------------------------\n\nYou have finished configuring "
            + "your (primary) Handle service.\n\nThis service now needs to be registered with your prefix "
            + "\nadministrator: upload your newly created sitebndl.zip file.\n");
    }

    private void keys(Path pub, Path priv, String existsPrompt) throws Exception {
        if (Files.exists(pub) && Files.exists(priv) && !bool(existsPrompt, false)) {
            return;
        }
        boolean encrypt = bool("  Would you like to encrypt your private key?", true);
        if (encrypt) {
            throw new IOException("encrypted private keys are not reproduced by the dspace-deploy look-alike");
        }
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        Files.write(pub, kp.getPublic().getEncoded());
        Files.write(priv, kp.getPrivate().getEncoded());
    }

    private static void entry(ZipOutputStream zip, String name, byte[] data) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(data);
        zip.closeEntry();
    }

    private static byte[] encodeString(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String configDct(InetAddress bind, int port, int httpPort, boolean log, String interval,
                                    boolean noUdp) {
        String b = bind.getHostAddress();
        String yes = log ? "yes" : "no";
        StringBuilder d = new StringBuilder("{\n");
        d.append("  \"hdl_http_config\" = {\n    \"bind_address\" = \"").append(b).append("\"\n    \"bind_port\" = \"")
            .append(httpPort).append("\"\n    \"num_threads\" = \"15\"\n    \"backlog\" = \"5\"\n    \"log_accesses\" = \"")
            .append(yes).append("\"\n  }\n\n");
        d.append("  \"server_type\" = \"server\"\n");
        d.append("  \"hdl_udp_config\" = {\n    \"bind_address\" = \"").append(b).append("\"\n    \"bind_port\" = \"")
            .append(port).append("\"\n    \"num_threads\" = \"15\"\n    \"log_accesses\" = \"").append(yes)
            .append("\"\n  }\n\n");
        d.append("  \"hdl_tcp_config\" = {\n    \"bind_address\" = \"").append(b).append("\"\n    \"bind_port\" = \"")
            .append(port).append("\"\n    \"num_threads\" = \"15\"\n    \"backlog\" = \"5\"\n    \"log_accesses\" = \"")
            .append(yes).append("\"\n  }\n\n");
        d.append("  \"log_save_config\" = {\n    \"log_save_interval\" = \"").append(interval).append("\"\n  }\n\n");
        // ConfigCommon.configuration: "yes"/"no", and hdl_udp listed even when UDP is off; the
        // bind address is the one asked for (default: the client address), never 0.0.0.0
        d.append("  \"no_udp_resolution\" = \"").append(noUdp ? "yes" : "no").append("\"\n");
        d.append("  \"interfaces\" = (\n    \"hdl_udp\"\n")
            .append("    \"hdl_tcp\"\n    \"hdl_http\"\n  )\n\n");
        d.append("  \"server_config\" = {\n");
        d.append("    \"server_admins\" = (\n      \"300:0.NA/YOUR_PREFIX\"\n    )\n\n");
        d.append("    \"replication_admins\" = (\n      \"300:0.NA/YOUR_PREFIX\"\n    )\n\n");
        d.append("    \"max_session_time\" = \"86400000\"\n    \"this_server_id\" = \"1\"\n");
        d.append("    \"max_auth_time\" = \"60000\"\n    \"server_admin_full_access\" = \"yes\"\n");
        d.append("    \"case_sensitive\" = \"no\"\n");
        d.append("    \"auto_homed_prefixes\" = (\n      \"0.NA/YOUR_PREFIX\"\n    )\n  }\n}\n");
        return d.toString();
    }

    /** The interfaces of the site's one server: TCP (admin and query), UDP (query), HTTP. */
    private static int[][] interfaces(int port, int httpPort, boolean noUdp) {
        // {type (1 admin, 2 query, 3 both), protocol (0 UDP, 1 TCP, 2 HTTP), port}
        return noUdp ? new int[][] {{3, 1, port}, {3, 2, httpPort}}
            : new int[][] {{3, 1, port}, {2, 0, port}, {3, 2, httpPort}};
    }

    /** siteinfo.json as Handle.Net writes it (its Gson site record). */
    static String siteInfoJson(int serial, String desc, InetAddress addr, int port, int httpPort, boolean noUdp,
                               Path pubKey) throws Exception {
        RSAPublicKey key = (RSAPublicKey) KeyFactory.getInstance("RSA")
            .generatePublic(new X509EncodedKeySpec(Files.readAllBytes(pubKey)));
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        StringBuilder s = new StringBuilder("{\n");
        s.append("  \"version\": 1,\n  \"protocolVersion\": \"2.11\",\n  \"serialNumber\": ").append(serial)
            .append(",\n  \"primarySite\": true,\n  \"multiPrimary\": false,\n");
        s.append("  \"attributes\": [\n    {\n      \"name\": \"desc\",\n      \"value\": \"")
            .append(desc.replace("\\", "\\\\").replace("\"", "\\\"")).append("\"\n    }\n  ],\n");
        s.append("  \"servers\": [\n    {\n      \"serverId\": 1,\n      \"address\": \"").append(addr.getHostAddress())
            .append("\",\n      \"publicKey\": {\n        \"format\": \"key\",\n        \"value\": {\n")
            .append("          \"kty\": \"RSA\",\n          \"n\": \"").append(b64.encodeToString(unsigned(key.getModulus())))
            .append("\",\n          \"e\": \"").append(b64.encodeToString(unsigned(key.getPublicExponent())))
            .append("\"\n        }\n      },\n      \"interfaces\": [\n");
        int[][] ifs = interfaces(port, httpPort, noUdp);
        for (int i = 0; i < ifs.length; i++) {
            s.append("        {\n          \"query\": ").append((ifs[i][0] & 2) != 0).append(",\n          \"admin\": ")
                .append((ifs[i][0] & 1) != 0).append(",\n          \"protocol\": \"")
                .append(new String[] {"UDP", "TCP", "HTTP"}[ifs[i][1]]).append("\",\n          \"port\": ")
                .append(ifs[i][2]).append("\n        }").append(i + 1 < ifs.length ? "," : "").append("\n");
        }
        s.append("      ]\n    }\n  ]\n}");
        return s.toString();
    }

    private static byte[] unsigned(BigInteger n) {
        byte[] b = n.toByteArray();
        return b.length > 1 && b[0] == 0 ? java.util.Arrays.copyOfRange(b, 1, b.length) : b;
    }

    /**
     * The HS_SITE record (RFC 3652, 3.2.2): version (2 octets), protocol version (major, minor),
     * serial number (2), primary mask (1), hash option (1), hash filter (length-prefixed), the
     * attributes (count, then name/value pairs, each length-prefixed), the servers (count; per
     * server its id (4), a 16-octet address, the length-prefixed public key, the interfaces:
     * count, then type (1), protocol (1) and port (4) each).
     */
    static byte[] siteInfoBin(int serial, String desc, InetAddress addr, int port, int httpPort, boolean noUdp,
                              Path pubKey) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(buf);
        out.writeShort(1);
        out.writeByte(2);
        out.writeByte(11);
        out.writeShort(serial);
        out.writeByte(0x80); // primary site
        out.writeByte(2); // hash by all
        out.writeInt(0); // no hash filter
        out.writeInt(1);
        byte[] name = "desc".getBytes(StandardCharsets.UTF_8);
        byte[] value = desc.getBytes(StandardCharsets.UTF_8);
        out.writeInt(name.length);
        out.write(name);
        out.writeInt(value.length);
        out.write(value);
        out.writeInt(1);
        out.writeInt(1);
        byte[] raw = addr.getAddress();
        out.write(new byte[16 - raw.length]);
        out.write(raw);
        byte[] key = Files.readAllBytes(pubKey);
        out.writeInt(key.length);
        out.write(key);
        int[][] ifs = interfaces(port, httpPort, noUdp);
        out.writeInt(ifs.length);
        for (int[] f : ifs) {
            out.writeByte(f[0]);
            out.writeByte(f[1]);
            out.writeInt(f[2]);
        }
        out.flush();
        return buf.toByteArray();
    }
}
