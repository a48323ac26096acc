package io.ferry.apply.convergence;

import io.ferry.apply.conflict.ConflictType;
import io.ferry.schemas.Command;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Pure: the class of a concurrent pair from the two commands that wrote the key, and whether their
 * effects commute (then every instance ends with both, whatever the order, and nothing is repaired).
 */
public final class ConflictClassifier {

    /** A pair's class and whether applying the two in either order gives the same value. */
    public record Verdict(ConflictType type, boolean commutes) {
    }

    private enum Family { STRING, LIST, HASH, SET, ZSET, HLL, STREAM, ANY }

    private static final Set<String> COUNTERS = Set.of("INCR", "INCRBY", "DECR", "DECRBY");
    private static final Set<String> DELETES = Set.of("DEL", "UNLINK", "GETDEL");
    private static final Set<String> TTLS = Set.of("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST");
    /** Member removals: emptying a key this way deletes it. */
    private static final Set<String> REMOVALS = Set.of("HDEL", "SREM", "ZREM");
    private static final Set<String> CONDITIONALS = Set.of("SETNX", "MSETNX", "HSETNX", "RENAMENX");

    private ConflictClassifier() {
    }

    /**
     * The verdict for two writes that touched one key with several commands each (a transaction): they
     * commute only if every command of one commutes with every command of the other (then either order
     * gives the same result); the class is that of the first pair that does not commute.
     */
    public static Verdict classify(List<Command> a, List<Command> b) {
        Verdict first = null;
        for (Command ca : a) {
            for (Command cb : b) {
                Verdict verdict = classify(ca, cb);
                if (!verdict.commutes()) {
                    return verdict;
                }
                if (first == null) {
                    first = verdict;
                }
            }
        }
        return first != null ? first : new Verdict(ConflictType.VALUE, false);
    }

    public static Verdict classify(Command a, Command b) {
        String na = name(a);
        String nb = name(b);
        if (COUNTERS.contains(na) && COUNTERS.contains(nb)) {
            return new Verdict(ConflictType.COUNTER, true);
        }
        Family fa = family(na);
        Family fb = family(nb);
        if (fa != Family.ANY && fb != Family.ANY && fa != fb) {
            return new Verdict(ConflictType.TYPE_CLASH, false);
        }
        if (DELETES.contains(na) != DELETES.contains(nb)) {
            return new Verdict(ConflictType.DELETE_WRITE, false);
        }
        if (TTLS.contains(na) || TTLS.contains(nb)) {
            return new Verdict(ConflictType.TTL, false);
        }
        if (conditional(na, a) || conditional(nb, b)) {
            return new Verdict(ConflictType.CONDITIONAL_WRITE, false);
        }
        Family family = fa == Family.ANY ? fb : fa;
        return switch (family) {
            case LIST -> new Verdict(ConflictType.LIST_ORDER, false);
            case HASH -> new Verdict(ConflictType.MEMBER, commutingMembers(na, a, nb, b, Set.of("HINCRBY"), 2));
            case SET -> new Verdict(ConflictType.MEMBER, commutingMembers(na, a, nb, b, Set.of(), 1)
                    || (na.equals(nb) && (na.equals("SADD") || na.equals("SREM"))));
            case ZSET -> new Verdict(ConflictType.MEMBER, commutingMembers(na, a, nb, b, Set.of("ZINCRBY"), 2));
            case HLL -> new Verdict(ConflictType.MEMBER, na.equals("PFADD") && nb.equals("PFADD"));
            default -> new Verdict(ConflictType.VALUE, false);
        };
    }

    /** True when every command is a plain integer counter (INCR, INCRBY, DECR, DECRBY): such writes commute with each other. */
    public static boolean counters(List<Command> commands) {
        for (Command command : commands) {
            if (!COUNTERS.contains(name(command))) {
                return false;
            }
        }
        return true;
    }

    /**
     * True when {@code command}, applied again anywhere, sets the key's whole value (and TTL) regardless of
     * what was there: re-executing the winner then reproduces its value exactly.
     */
    public static boolean wholeValue(Command command) {
        String name = name(command);
        return switch (name) {
            case "SET" -> !hasOption(command, 2, "NX") && !hasOption(command, 2, "XX") && !hasOption(command, 2, "KEEPTTL")
                    && !hasOption(command, 2, "GET");
            case "SETEX", "PSETEX", "DEL", "UNLINK" -> true;
            case "RESTORE" -> hasOption(command, 3, "REPLACE");
            default -> false;
        };
    }

    private static boolean conditional(String name, Command command) {
        return CONDITIONALS.contains(name) || (name.equals("SET") && (hasOption(command, 2, "NX") || hasOption(command, 2, "XX")));
    }

    /**
     * Two member updates of one family commute when both are the same counting command, or when they
     * touch disjoint members. {@code stride} is the distance between members in the arguments after the key
     * (2 for field/value and score/member pairs, 1 for plain members).
     */
    private static boolean commutingMembers(String na, Command a, String nb, Command b, Set<String> counting, int stride) {
        if (na.equals(nb) && counting.contains(na)) {
            return exactCounting(na, a) && exactCounting(nb, b);
        }
        if (REMOVALS.contains(na) != REMOVALS.contains(nb)) {
            // removing a key's last member deletes the key and its TTL: where the other side's new member
            // arrived first the key lives on with its TTL, elsewhere it comes back without one
            return false;
        }
        Set<ByteBuffer> ma = members(na, a, stride);
        Set<ByteBuffer> mb = members(nb, b, stride);
        if (ma == null || mb == null) {
            return false;
        }
        for (ByteBuffer m : ma) {
            if (mb.contains(m)) {
                return false;
            }
        }
        return true;
    }

    /** Members a member-level command touches, or null when it is not one (the whole key is affected). */
    private static Set<ByteBuffer> members(String name, Command command, int stride) {
        List<ByteBuffer> args = command.getArgs();
        Set<ByteBuffer> members = new HashSet<>();
        switch (name) {
            case "HSET", "HMSET", "HSETNX" -> addEvery(args, 1, 2, members);
            case "HDEL", "SADD", "SREM", "ZREM" -> addEvery(args, 1, 1, members);
            case "HINCRBY", "HINCRBYFLOAT" -> addEvery(args, 1, 3, members);
            case "ZINCRBY" -> addEvery(args, 2, 3, members);
            case "ZADD" -> {
                int i = 1;
                while (i < args.size() && isZaddOption(args.get(i))) {
                    i++;
                }
                addEvery(args, i + 1, 2, members);
            }
            default -> {
                return null;
            }
        }
        return members;
    }

    /**
     * True when a counting command's increment is exact in any order: integer increments (HINCRBY, or a
     * whole-number ZINCRBY within 2^53). Floating-point sums depend on their order in the last bits.
     */
    private static boolean exactCounting(String name, Command command) {
        if (!name.equals("ZINCRBY")) {
            return true;
        }
        List<ByteBuffer> args = command.getArgs();
        if (args.size() < 2) {
            return false;
        }
        try {
            double increment = Double.parseDouble(ascii(args.get(1)));
            return increment == Math.rint(increment) && Math.abs(increment) < 0x1p53;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static void addEvery(List<ByteBuffer> args, int from, int step, Set<ByteBuffer> into) {
        for (int i = from; i < args.size(); i += step) {
            into.add(args.get(i).duplicate());
        }
    }

    private static boolean isZaddOption(ByteBuffer arg) {
        String text = ascii(arg);
        return switch (text) {
            case "NX", "XX", "GT", "LT", "CH", "INCR" -> true;
            default -> false;
        };
    }

    private static Family family(String name) {
        if (COUNTERS.contains(name)) {
            return Family.STRING;
        }
        return switch (name) {
            case "SET", "SETEX", "PSETEX", "SETNX", "MSET", "MSETNX", "APPEND", "SETRANGE", "INCRBYFLOAT", "GETSET",
                 "SETBIT", "BITOP", "BITFIELD" -> Family.STRING;
            case "RPUSH", "LPUSH", "RPUSHX", "LPUSHX", "LPOP", "RPOP", "LINSERT", "LSET", "LREM", "LTRIM", "LMOVE",
                 "RPOPLPUSH", "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "LMPOP", "BLMPOP" -> Family.LIST;
            case "HSET", "HMSET", "HSETNX", "HDEL", "HINCRBY", "HINCRBYFLOAT" -> Family.HASH;
            case "SADD", "SREM", "SMOVE", "SPOP", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE" -> Family.SET;
            case "ZADD", "ZREM", "ZINCRBY", "ZPOPMIN", "ZPOPMAX", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK",
                 "ZREMRANGEBYLEX", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZRANGESTORE", "BZPOPMIN", "BZPOPMAX",
                 "ZMPOP", "BZMPOP" -> Family.ZSET;
            case "PFADD", "PFMERGE" -> Family.HLL;
            case "XADD", "XDEL", "XTRIM", "XSETID", "XGROUP", "XACK", "XCLAIM", "XAUTOCLAIM" -> Family.STREAM;
            default -> Family.ANY;
        };
    }

    private static String name(Command command) {
        return command.getName().toUpperCase(Locale.ROOT);
    }

    /** True when an argument from index {@code from} on (after the key and value) is {@code option}, ignoring case. */
    private static boolean hasOption(Command command, int from, String option) {
        List<ByteBuffer> args = command.getArgs();
        for (int i = from; i < args.size(); i++) {
            if (ascii(args.get(i)).equals(option)) {
                return true;
            }
        }
        return false;
    }

    private static String ascii(ByteBuffer arg) {
        if (arg.remaining() > 16) {
            return "";
        }
        byte[] bytes = new byte[arg.remaining()];
        arg.duplicate().get(bytes);
        return new String(bytes, java.nio.charset.StandardCharsets.US_ASCII).toUpperCase(Locale.ROOT);
    }
}
