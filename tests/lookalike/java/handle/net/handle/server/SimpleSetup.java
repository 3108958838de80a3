/*
 * dspace-deploy test look-alike (not Handle.Net code). Reads the answers that DSpace's
 * bin/make-handle-config feeds on stdin (release contract 4.9) and writes a handle-server
 * directory: config.dct (with the YOUR_PREFIX placeholder and a "server_config" = { block),
 * admpub.bin, admpriv.bin, pubkey.bin, privkey.bin, siteinfo.json, sitebndl.zip, contactdata.dct.
 */
package net.handle.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

public final class SimpleSetup {
    private final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    private SimpleSetup() {
    }

    private String ask(String prompt, String def) throws IOException {
        System.out.print(prompt + (def.isEmpty() ? "" : " [" + def + "]") + ": ");
        System.out.flush();
        String line = in.readLine();
        if (line == null || line.trim().isEmpty()) {
            return def;
        }
        return line.trim();
    }

    private static String localAddress() {
        try {
            return java.net.InetAddress.getLocalHost().getHostAddress();
        } catch (java.io.IOException e) {
            return "127.0.0.1";
        }
    }

    private static boolean yes(String s) {
        return s.toLowerCase(java.util.Locale.ROOT).startsWith("y");
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length < 1) {
            System.err.println("usage: java net.handle.server.SimpleSetup <serverdir>");
            System.exit(1);
        }
        new SimpleSetup().run(Paths.get(argv[0]));
    }

    private void run(Path dir) throws Exception {
        Files.createDirectories(dir);
        System.out.println("------------------------------------------------------------");
        System.out.println(" dspace-deploy look-alike of the Handle server setup program");
        System.out.println("------------------------------------------------------------");
        boolean primary = yes(ask("Will this be a \"primary\" server (y/n)?", "y"));
        boolean dualStack = yes(ask("Will this be a dual-stack server (accessible on both IPv6 and IPv4) (y/n)?",
            "n"));
        String ip = ask("Through what network-accessible IP address should clients connect to this server?",
            localAddress());
        String bind = ask("If different, enter the IP address to which the server should bind.", "");
        String port = ask("Enter the (TCP and UDP) port number this server will listen to", "2641");
        String httpPort = ask("What port number will the HTTP interface be listening to?", "8000");
        boolean logAll = yes(ask("Would you like to log all accesses to this server (y/n)?", "y"));
        String serial = ask("Please indicate whether this server will be a part of a multi-server service "
            + "(enter its serial number)", "1");
        String desc = ask("Enter a description of this server:", "Handle server");
        String org = ask("Enter the name of your organization:", "");
        String contactName = org;
        String email = ask("Enter the contact email address for this server:", "");
        boolean noUdp = yes(ask("Disable UDP resolution (y/n)?", "n"));
        boolean encServer = yes(ask("Would you like to encrypt your private key (server key) (y/n)?", "y"));
        boolean encAdmin = yes(ask("Would you like to encrypt your private key (admin key) (y/n)?", "y"));
        if (encServer || encAdmin) {
            System.err.println("Encrypted private keys are not reproduced by the dspace-deploy look-alike.");
        }

        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair server = g.generateKeyPair();
        KeyPair admin = g.generateKeyPair();
        Files.write(dir.resolve("pubkey.bin"), server.getPublic().getEncoded());
        Files.write(dir.resolve("privkey.bin"), server.getPrivate().getEncoded());
        Files.write(dir.resolve("admpub.bin"), admin.getPublic().getEncoded());
        Files.write(dir.resolve("admpriv.bin"), admin.getPrivate().getEncoded());

        String bindAddr = bind.isEmpty() ? "0.0.0.0" : bind;
        StringBuilder dct = new StringBuilder();
        dct.append("{\n");
        dct.append("  \"hdl_http_config\" = {\n");
        dct.append("    \"bind_address\" = \"").append(bindAddr).append("\"\n");
        dct.append("    \"bind_port\" = \"").append(httpPort).append("\"\n");
        dct.append("    \"num_threads\" = \"15\"\n");
        dct.append("    \"backlog\" = \"5\"\n");
        dct.append("    \"log_accesses\" = \"").append(logAll ? "yes" : "no").append("\"\n");
        dct.append("  }\n\n");
        dct.append("  \"server_type\" = \"server\"\n");
        dct.append("  \"hdl_udp_config\" = {\n");
        dct.append("    \"bind_address\" = \"").append(bindAddr).append("\"\n");
        dct.append("    \"bind_port\" = \"").append(port).append("\"\n");
        dct.append("    \"num_threads\" = \"15\"\n");
        dct.append("    \"log_accesses\" = \"").append(logAll ? "yes" : "no").append("\"\n");
        dct.append("  }\n\n");
        dct.append("  \"hdl_tcp_config\" = {\n");
        dct.append("    \"bind_address\" = \"").append(bindAddr).append("\"\n");
        dct.append("    \"bind_port\" = \"").append(port).append("\"\n");
        dct.append("    \"num_threads\" = \"15\"\n");
        dct.append("    \"backlog\" = \"5\"\n");
        dct.append("    \"log_accesses\" = \"").append(logAll ? "yes" : "no").append("\"\n");
        dct.append("  }\n\n");
        dct.append("  \"log_save_config\" = {\n");
        dct.append("    \"log_save_interval\" = \"Monthly\"\n");
        dct.append("  }\n\n");
        dct.append("  \"no_udp_resolution\" = \"").append(noUdp ? "y" : "n").append("\"\n");
        dct.append("  \"interfaces\" = (\n");
        if (!noUdp) {
            dct.append("    \"hdl_udp\"\n");
        }
        dct.append("    \"hdl_tcp\"\n");
        dct.append("    \"hdl_http\"\n");
        dct.append("  )\n\n");
        dct.append("  \"server_config\" = {\n");
        dct.append("    \"server_admins\" = (\n");
        dct.append("      \"300:0.NA/YOUR_PREFIX\"\n");
        dct.append("    )\n\n");
        dct.append("    \"replication_admins\" = (\n");
        dct.append("      \"300:0.NA/YOUR_PREFIX\"\n");
        dct.append("    )\n\n");
        dct.append("    \"max_session_time\" = \"86400000\"\n");
        dct.append("    \"this_server_id\" = \"").append(serial).append("\"\n");
        dct.append("    \"max_auth_time\" = \"60000\"\n");
        dct.append("    \"server_admin_full_access\" = \"yes\"\n");
        dct.append("    \"case_sensitive\" = \"no\"\n");
        dct.append("    \"auto_homed_prefixes\" = (\n");
        dct.append("      \"0.NA/YOUR_PREFIX\"\n");
        dct.append("    )\n");
        dct.append("  }\n");
        dct.append("}\n");
        Files.writeString(dir.resolve("config.dct"), dct.toString());

        String contact = "{\n  \"org_name\" = \"" + org + "\"\n  \"contact_name\" = \"" + contactName
            + "\"\n  \"contact_email\" = \"" + email + "\"\n}\n";
        Files.writeString(dir.resolve("contactdata.dct"), contact);
        String siteinfo = "{\n  \"version\": 1,\n  \"protocolVersion\": \"2.10\",\n  \"serialNumber\": " + serial
            + ",\n  \"primarySite\": " + primary + ",\n  \"multiPrimary\": false,\n  \"attributes\": [\n"
            + "    {\"name\": \"desc\", \"value\": \"" + desc.replace("\"", "'") + "\"}\n  ],\n"
            + "  \"servers\": [\n    {\"serverId\": 1, \"address\": \"" + ip + "\", \"dualStack\": " + dualStack
            + ", \"interfaces\": [\n      {\"type\": \"TCP\", \"port\": " + port + "},\n"
            + "      {\"type\": \"UDP\", \"port\": " + port + "},\n"
            + "      {\"type\": \"HTTP\", \"port\": " + httpPort + "}\n    ]}\n  ]\n}\n";
        Files.writeString(dir.resolve("siteinfo.json"), siteinfo);
        try (OutputStream os = Files.newOutputStream(dir.resolve("sitebndl.zip"));
             ZipOutputStream zip = new ZipOutputStream(os)) {
            for (String f : new String[] {"siteinfo.json", "contactdata.dct"}) {
                zip.putNextEntry(new ZipEntry(f));
                zip.write(Files.readAllBytes(dir.resolve(f)));
                zip.closeEntry();
            }
        }
        System.out.println("Setup complete. Send the file sitebndl.zip to the Handle registration service.");
    }
}
