/*
 * dspace-deploy test look-alike: CSV documents (header line = field names) for /update/csv.
 */
package lookalike.solr;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

final class Csv {
    private Csv() {
    }

    static List<List<String>> rows(String text) {
        List<List<String>> out = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
                        cell.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    cell.append(c);
                }
                continue;
            }
            if (c == '"') {
                quoted = true;
                any = true;
            } else if (c == ',') {
                row.add(cell.toString());
                cell.setLength(0);
                any = true;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
                if (any || cell.length() > 0) {
                    row.add(cell.toString());
                    out.add(row);
                }
                row = new ArrayList<>();
                cell.setLength(0);
                any = false;
            } else {
                cell.append(c);
                any = true;
            }
        }
        if (any || cell.length() > 0) {
            row.add(cell.toString());
            out.add(row);
        }
        return out;
    }

    static List<Map<String, Object>> parse(String text) {
        List<List<String>> rows = rows(text);
        List<Map<String, Object>> docs = new ArrayList<>();
        if (rows.isEmpty()) {
            return docs;
        }
        List<String> head = rows.get(0);
        for (int r = 1; r < rows.size(); r++) {
            Map<String, Object> d = new LinkedHashMap<>();
            List<String> row = rows.get(r);
            for (int i = 0; i < head.size() && i < row.size(); i++) {
                if (!row.get(i).isEmpty() && !head.get(i).equals("_version_")) {
                    d.put(head.get(i), row.get(i));
                }
            }
            docs.add(d);
        }
        return docs;
    }
}
