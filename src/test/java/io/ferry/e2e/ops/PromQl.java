package io.ferry.e2e.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough PromQL reading for the checks: the metric names an expression selects and its vector
 * selectors ({@code name{matchers}}). Not a parser: it relies on the expressions being well formed,
 * which promtool (rules) and a real Prometheus (dashboard queries, PrometheusQueriesTest) check.
 */
final class PromQl {

    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan", "Inf", "NaN");
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
    private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
    private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
    private static final Pattern GROUPING = Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![\\w$.:])([a-zA-Z_:][a-zA-Z0-9_:]*+)(?!\\s*\\()");
    private static final Pattern SELECTOR = Pattern.compile("(?<![\\w$.:])([a-zA-Z_:][a-zA-Z0-9_:]*+)\\s*(\\{(?:[^}\"]|\"(?:[^\"\\\\]|\\\\.)*\")*})?(?!\\s*\\()");
    /** Grafana's {@code label_values(<selector>, <label>)} variable query. */
    private static final Pattern LABEL_VALUES = Pattern.compile("^\\s*label_values\\((.*),\\s*\\w+\\s*\\)\\s*$", Pattern.DOTALL);

    private PromQl() {
    }

    /** Metric names an expression (or a Grafana label_values query) selects. */
    static Set<String> metricNames(String expression) {
        String text = unwrapLabelValues(expression);
        text = STRING.matcher(text).replaceAll("\"\"");
        text = MATCHERS.matcher(text).replaceAll(" ");
        text = RANGE.matcher(text).replaceAll(" ");
        text = GROUPING.matcher(text).replaceAll(" ");
        Set<String> names = new TreeSet<>();
        Matcher m = IDENTIFIER.matcher(text);
        while (m.find()) {
            if (!KEYWORDS.contains(m.group(1))) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** The vector selectors of an expression, e.g. {@code up{role="capture"}}, each with its metric name. */
    static List<String> selectors(String expression) {
        String text = unwrapLabelValues(expression);
        // blank out ranges and grouping label lists, keep the strings inside matchers
        text = RANGE.matcher(text).replaceAll(" ");
        text = GROUPING.matcher(text).replaceAll(" ");
        Set<String> names = metricNames(expression);
        List<String> selectors = new ArrayList<>();
        Matcher m = SELECTOR.matcher(text);
        while (m.find()) {
            if (names.contains(m.group(1)) && !insideString(text, m.start())) {
                selectors.add(m.group(1) + (m.group(2) == null ? "" : m.group(2)));
            }
        }
        return selectors;
    }

    static String unwrapLabelValues(String expression) {
        Matcher m = LABEL_VALUES.matcher(expression);
        return m.matches() ? m.group(1) : expression;
    }

    private static boolean insideString(String text, int position) {
        boolean inside = false;
        for (int i = 0; i < position; i++) {
            char c = text.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                inside = !inside;
            }
        }
        return inside;
    }
}
