package io.ferry.capture.stream;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Finds the keys of a propagated command. Positions come from the source Redis's own metadata
 * ({@code COMMAND}: first key, last key, step), so module commands are covered too; commands whose
 * keys move (numkeys, STORE options) have their own rules here. Without metadata, the first argument
 * is taken as the key.
 */
public final class KeyExtractor {

    record Spec(int first, int last, int step) {
    }

    private final Map<String, Spec> specs;

    private KeyExtractor(Map<String, Spec> specs) {
        this.specs = specs;
    }

    /** Without the server's table: first argument is the key, except for the built-in rules. */
    public static KeyExtractor withoutMetadata() {
        return new KeyExtractor(Map.of());
    }

    /**
     * From the reply to {@code COMMAND}: a list of entries [name, arity, flags, firstKey, lastKey, step, …].
     */
    public static KeyExtractor fromCommandReply(List<Object> entries) {
        Map<String, Spec> specs = new HashMap<>();
        addSpecs(entries, specs);
        return new KeyExtractor(specs);
    }

    /** Entries, and (Redis 7) their subcommands at index 9, named like "XGROUP|CREATE". */
    private static void addSpecs(List<Object> entries, Map<String, Spec> specs) {
        for (Object entry : entries) {
            if (!(entry instanceof List<?> fields) || fields.size() < 6) {
                continue;
            }
            Object name = fields.get(0);
            String text = name instanceof byte[] b ? new String(b, StandardCharsets.ISO_8859_1)
                    : name instanceof String s ? s : null;
            if (text == null || !(fields.get(3) instanceof Long first) || !(fields.get(4) instanceof Long last)
                    || !(fields.get(5) instanceof Long step)) {
                continue;
            }
            specs.put(text.toUpperCase(Locale.ROOT), new Spec(first.intValue(), last.intValue(), step.intValue()));
            if (fields.size() > 9 && fields.get(9) instanceof List<?> subcommands) {
                @SuppressWarnings("unchecked")
                List<Object> nested = (List<Object>) subcommands;
                addSpecs(nested, specs);
            }
        }
    }

    public int knownCommands() {
        return specs.size();
    }

    /** The keys {@code argv} touches, in argument order. */
    public List<byte[]> keys(byte[][] argv) {
        String name = Argv.name(argv);
        List<byte[]> keys = new ArrayList<>(2);
        switch (name) {
            case "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE" -> {
                addIf(keys, argv, 1);
                numkeys(keys, argv, 2);
                return keys;
            }
            case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO" -> {
                numkeys(keys, argv, 2);
                return keys;
            }
            case "LMPOP", "ZMPOP", "SINTERCARD", "ZINTERCARD", "ZUNION", "ZINTER", "ZDIFF" -> {
                numkeys(keys, argv, 1);
                return keys;
            }
            case "BLMPOP", "BZMPOP" -> {
                numkeys(keys, argv, 2);
                return keys;
            }
            case "SORT", "SORT_RO", "GEORADIUS", "GEORADIUSBYMEMBER" -> {
                addIf(keys, argv, 1);
                for (int i = 2; i < argv.length - 1; i++) {
                    if (Argv.is(argv[i], "STORE") || Argv.is(argv[i], "STOREDIST")) {
                        keys.add(argv[i + 1]);
                    }
                }
                return keys;
            }
            case "XREAD", "XREADGROUP" -> {
                for (int i = 1; i < argv.length; i++) {
                    if (Argv.is(argv[i], "STREAMS")) {
                        int count = (argv.length - i - 1) / 2;
                        for (int k = 0; k < count; k++) {
                            keys.add(argv[i + 1 + k]);
                        }
                        break;
                    }
                }
                return keys;
            }
            default -> {
                // positions from the metadata below
            }
        }
        Spec spec = specs.get(name);
        if (spec != null && spec.first() == 0 && argv.length > 1) {
            Spec sub = specs.get(name + "|" + new String(argv[1], StandardCharsets.ISO_8859_1).toUpperCase(Locale.ROOT));
            spec = sub != null ? sub : spec;
        }
        if (spec == null) {
            if (specs.isEmpty()) {
                addIf(keys, argv, 1);
            }
            return keys;
        }
        if (spec.first() <= 0) {
            return keys;
        }
        int last = spec.last() < 0 ? argv.length + spec.last() : spec.last();
        int step = Math.max(1, spec.step());
        for (int i = spec.first(); i <= last && i < argv.length; i += step) {
            keys.add(argv[i]);
        }
        return keys;
    }

    private static void addIf(List<byte[]> keys, byte[][] argv, int index) {
        if (index < argv.length) {
            keys.add(argv[index]);
        }
    }

    private static void numkeys(List<byte[]> keys, byte[][] argv, int countIndex) {
        Long count = countIndex < argv.length ? Argv.number(argv[countIndex]) : null;
        if (count == null) {
            return;
        }
        for (int i = 0; i < count && countIndex + 1 + i < argv.length; i++) {
            keys.add(argv[countIndex + 1 + i]);
        }
    }
}
