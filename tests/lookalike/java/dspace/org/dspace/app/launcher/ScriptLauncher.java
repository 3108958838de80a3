/*
 * dspace-deploy test look-alike (not DSpace code). Same dispatch contract as DSpace's
 * ScriptLauncher (release contract 4.2): kernel (configuration) first, then
 * config/launcher.xml, script service (config/spring/api/scripts.xml) before launcher.xml,
 * "Command not found: X" with exit 1 for unknown names.
 */
package org.dspace.app.launcher;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.xml.parsers.DocumentBuilderFactory;

import org.dspace.lookalike.Config;
import org.dspace.lookalike.Log;
import org.dspace.lookalike.Opts;
import org.dspace.lookalike.Script;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

public final class ScriptLauncher {
    private ScriptLauncher() {
    }

    static final class Step {
        String className;
        List<String> arguments = new ArrayList<>();
        boolean passUserArgs = true;
    }

    static final class Command {
        String name;
        String description;
        List<Step> steps = new ArrayList<>();
    }

    static final class SpringScript {
        String name;
        String description;
        String runnableClass;
    }

    public static void main(String[] args) {
        Config config;
        try {
            config = Config.get();
        } catch (RuntimeException e) {
            String message = "Failure during kernel init: " + e.getMessage();
            System.err.println(message);
            e.printStackTrace();
            throw new IllegalStateException(message, e);
        }
        Log.init(config.home(), "dspace-cli.log");

        String dspaceDir = config.get("dspace.dir", config.home().toString());
        File launcherFile = new File(dspaceDir + File.separator + "config" + File.separator + "launcher.xml");
        Map<String, Command> commands;
        try {
            commands = readLauncher(launcherFile);
        } catch (Exception e) {
            System.err.println("Unable to load the launcher configuration file: " + dspaceDir
                + "/config/launcher.xml");
            System.exit(1);
            return;
        }
        Map<String, SpringScript> scripts = readScripts(config);

        if (args.length < 1) {
            System.err.println("You must provide at least one command argument");
            display(commands, scripts);
            System.exit(1);
        }

        SpringScript script = scripts.get(args[0]);
        int status;
        if (script != null) {
            status = runScript(script, Arrays.copyOfRange(args, 1, args.length));
        } else {
            Command cmd = null;
            for (Command c : commands.values()) {
                if (c.name.equalsIgnoreCase(args[0])) {
                    cmd = c;
                    break;
                }
            }
            if (cmd == null) {
                System.err.println("Command not found: " + args[0]);
                display(commands, scripts);
                System.exit(1);
                return;
            }
            status = runCommand(cmd, args);
        }
        System.exit(status);
    }

    static void display(Map<String, Command> commands, Map<String, SpringScript> scripts) {
        System.out.println("Usage: dspace [command-name] {parameters}");
        System.out.println("Commands from launcher.xml");
        for (Command c : commands.values()) {
            System.out.println(" - " + c.name + ": " + c.description);
        }
        System.out.println("Commands from script service");
        for (SpringScript s : scripts.values()) {
            System.out.println(" - " + s.name + ": " + s.description);
        }
    }

    static int runCommand(Command cmd, String[] args) {
        if (cmd.name.equalsIgnoreCase("dsrun")) {
            if (args.length < 2) {
                System.err.println("Error in launcher.xml: Missing class name");
                return 1;
            }
            Step s = new Step();
            s.className = args[1];
            return invoke(s, Arrays.copyOfRange(args, 2, args.length));
        }
        int status = 0;
        String[] user = Arrays.copyOfRange(args, 1, args.length);
        for (Step step : cmd.steps) {
            List<String> a = new ArrayList<>(step.arguments);
            if (step.passUserArgs) {
                a.addAll(Arrays.asList(user));
            }
            status = invoke(step, a.toArray(new String[0]));
            if (status != 0) {
                return status;
            }
        }
        return status;
    }

    static int invoke(Step step, String[] args) {
        try {
            Class<?> target = Class.forName(step.className, true, ScriptLauncher.class.getClassLoader());
            Method main = target.getMethod("main", String[].class);
            main.invoke(null, (Object) args);
            return 0;
        } catch (ClassNotFoundException e) {
            System.err.println("Exception: " + e);
            System.err.println("(class " + step.className + " is not part of the dspace-deploy look-alike)");
            return 1;
        } catch (InvocationTargetException e) {
            Throwable t = e.getCause() == null ? e : e.getCause();
            System.err.println("Exception: " + t.getMessage());
            t.printStackTrace();
            Log.error("Exception running " + step.className, t);
            return 1;
        } catch (Exception e) {
            System.err.println("Exception: " + e.getMessage());
            e.printStackTrace();
            return 1;
        }
    }

    static int runScript(SpringScript s, String[] args) {
        Script impl;
        try {
            impl = (Script) Class.forName(s.runnableClass).getDeclaredConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            System.err.println("Exception: " + e);
            System.err.println("(script " + s.name + " is not part of the dspace-deploy look-alike)");
            return 1;
        } catch (ReflectiveOperationException e) {
            System.err.println("Exception: " + e);
            return 1;
        }
        Opts opts = impl.options();
        try {
            opts.parse(args);
        } catch (Opts.ParseException e) {
            System.err.println("Error parsing script parameters: " + e.getMessage());
            System.out.print(opts.help(s.name));
            return 1;
        }
        if (opts.has("h")) {
            System.out.print(opts.help(s.name));
            return 0;
        }
        System.out.println("The script has started");
        Log.info("The script has started: " + s.name + " " + String.join(" ", args));
        try {
            int status = impl.run(opts);
            if (status != 0) {
                System.err.println("The script has failed");
                return status;
            }
        } catch (Opts.ParseException e) {
            System.err.println(e.getMessage());
            System.out.print(opts.help(s.name));
            return 1;
        } catch (Exception e) {
            System.err.println("The script has failed: " + e);
            e.printStackTrace();
            Log.error("The script has failed", e);
            return 1;
        }
        System.out.println("The script has completed");
        Log.info("The script has completed: " + s.name);
        return 0;
    }

    static Map<String, Command> readLauncher(File f) throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(f);
        Map<String, Command> out = new TreeMap<>();
        NodeList cmds = doc.getElementsByTagName("command");
        for (int i = 0; i < cmds.getLength(); i++) {
            Element ce = (Element) cmds.item(i);
            Command c = new Command();
            c.name = text(ce, "name");
            c.description = text(ce, "description");
            NodeList steps = ce.getElementsByTagName("step");
            for (int j = 0; j < steps.getLength(); j++) {
                Element se = (Element) steps.item(j);
                Step s = new Step();
                s.className = text(se, "class");
                s.passUserArgs = !"false".equalsIgnoreCase(se.getAttribute("passuserargs"));
                NodeList as = se.getElementsByTagName("argument");
                for (int k = 0; k < as.getLength(); k++) {
                    s.arguments.add(as.item(k).getTextContent().trim());
                }
                c.steps.add(s);
            }
            out.put(c.name, c);
        }
        return out;
    }

    static Map<String, SpringScript> readScripts(Config config) {
        Map<String, SpringScript> out = new TreeMap<>();
        File f = config.home().resolve("config/spring/api/scripts.xml").toFile();
        if (!f.isFile()) {
            return out;
        }
        try {
            Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(f);
            NodeList beans = doc.getElementsByTagName("bean");
            for (int i = 0; i < beans.getLength(); i++) {
                Element b = (Element) beans.item(i);
                SpringScript s = new SpringScript();
                s.name = b.getAttribute("id").isEmpty() ? b.getAttribute("name") : b.getAttribute("id");
                NodeList props = b.getElementsByTagName("property");
                for (int j = 0; j < props.getLength(); j++) {
                    Element p = (Element) props.item(j);
                    if (p.getAttribute("name").equals("description")) {
                        s.description = p.getAttribute("value");
                    } else if (p.getAttribute("name").equals("dspaceRunnableClass")) {
                        s.runnableClass = p.getAttribute("value");
                    }
                }
                if (s.runnableClass != null) {
                    out.put(s.name, s);
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("Unable to read " + f + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static String text(Element e, String tag) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && ((Element) n).getTagName().equals(tag)) {
                return n.getTextContent().trim();
            }
        }
        return "";
    }
}
