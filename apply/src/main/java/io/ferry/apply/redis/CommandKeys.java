package io.ferry.apply.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The keys of a write as it arrives from a peer, for routing it to a Redis Cluster node. Propagated writes
 * are few and well known: most take their key first; the multi-key ones are listed here (the same rules a
 * cluster client such as Lettuce uses). A command not listed is taken to have its first argument as key.
 */
public final class CommandKeys {

    /** Commands whose arguments are all keys. */
    private static final Set<String> ALL_KEYS = Set.of("DEL", "UNLINK", "TOUCH", "SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE",
            "PFMERGE", "WATCH");
    /** Commands whose first two arguments are keys (source and destination). */
    private static final Set<String> TWO_KEYS = Set.of("RENAME", "RENAMENX", "SMOVE", "LMOVE", "BLMOVE", "RPOPLPUSH",
            "BRPOPLPUSH", "COPY", "ZRANGESTORE", "GEOSEARCHSTORE");
    /** Commands whose keys follow a count: name, [destination,] numkeys, keys… */
    private static final Set<String> COUNTED_AFTER_DESTINATION = Set.of("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE");
    private static final Set<String> COUNTED_AFTER_SCRIPT = Set.of("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO");
    /** Commands without any key: they cannot be routed to one node of a cluster. */
    private static final Set<String> KEYLESS = Set.of("SELECT", "MULTI", "EXEC", "DISCARD", "PING", "FLUSHALL", "FLUSHDB",
            "SWAPDB", "FUNCTION", "SCRIPT", "PUBLISH", "SPUBLISH", "CLIENT", "INFO", "SCAN", "KEYS", "DBSIZE", "ASKING");

    private CommandKeys() {
    }

    /** The keys {@code command} touches, in argument order; empty for a command without keys. */
    public static List<byte[]> of(RawCommand command) {
        String name = command.name().toUpperCase(Locale.ROOT);
        List<byte[]> args = command.args();
        if (KEYLESS.contains(name) || args.isEmpty()) {
            return List.of();
        }
        if (ALL_KEYS.contains(name)) {
            return args;
        }
        if (TWO_KEYS.contains(name)) {
            return args.subList(0, Math.min(2, args.size()));
        }
        if (name.equals("MSET") || name.equals("MSETNX")) {
            List<byte[]> keys = new ArrayList<>(args.size() / 2);
            for (int i = 0; i < args.size(); i += 2) {
                keys.add(args.get(i));
            }
            return keys;
        }
        if (name.equals("XGROUP")) {
            return args.size() > 1 ? List.of(args.get(1)) : List.of(); // XGROUP CREATE <key> …
        }
        if (name.equals("BITOP")) {
            return args.subList(Math.min(1, args.size()), args.size());
        }
        if (COUNTED_AFTER_DESTINATION.contains(name)) {
            List<byte[]> keys = new ArrayList<>(counted(args, 1));
            keys.add(0, args.get(0));
            return keys;
        }
        if (COUNTED_AFTER_SCRIPT.contains(name)) {
            return counted(args, 1);
        }
        if (name.equals("SORT") || name.startsWith("GEORADIUS")) {
            List<byte[]> keys = new ArrayList<>(2);
            keys.add(args.get(0));
            for (int i = 1; i + 1 < args.size(); i++) {
                String option = new String(args.get(i), StandardCharsets.US_ASCII).toUpperCase(Locale.ROOT);
                if (option.equals("STORE") || option.equals("STOREDIST")) {
                    keys.add(args.get(i + 1));
                }
            }
            return keys;
        }
        return List.of(args.get(0));
    }

    /** Keys after the count at {@code countAt}; none when the count is not a number within the arguments. */
    private static List<byte[]> counted(List<byte[]> args, int countAt) {
        if (args.size() <= countAt) {
            return List.of();
        }
        try {
            int n = Integer.parseInt(new String(args.get(countAt), StandardCharsets.US_ASCII));
            return n < 0 || countAt + 1 + n > args.size() ? List.of() : args.subList(countAt + 1, countAt + 1 + n);
        } catch (NumberFormatException e) {
            return List.of();
        }
    }
}
