package io.ferry.capture.stream;

import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites relative expiries into absolute ones at capture time, so replication lag never stretches a
 * TTL on a peer. Redis 7 already propagates PXAT / PEXPIREAT; Redis 6.2 keeps SET … EX, SETEX,
 * EXPIRE and friends relative. Pure: the capture time is a parameter.
 *
 * <ul>
 *   <li>{@code SET k v … EX s|PX ms|EXAT s} → {@code SET k v … PXAT abs}</li>
 *   <li>{@code SETEX k s v}, {@code PSETEX k ms v} → {@code SET k v PXAT abs}</li>
 *   <li>{@code EXPIRE|PEXPIRE|EXPIREAT k t [NX|XX|GT|LT]} → {@code PEXPIREAT k abs [NX|XX|GT|LT]}</li>
 *   <li>{@code GETEX k EX|PX|EXAT|PXAT t} → {@code PEXPIREAT k abs}; {@code GETEX k PERSIST} → {@code PERSIST k}</li>
 *   <li>{@code RESTORE k ttl payload …} without ABSTTL and ttl &gt; 0 → {@code RESTORE k abs payload … ABSTTL}</li>
 * </ul>
 * Anything else, or anything malformed (Redis would have refused it), is returned unchanged.
 */
public final class TtlMapper {

    private TtlMapper() {
    }

    public static byte[][] toAbsolute(byte[][] argv, long nowMillis) {
        String name = Argv.name(argv);
        return switch (name) {
            case "SET" -> set(argv, nowMillis);
            case "SETEX" -> setex(argv, nowMillis, 1000);
            case "PSETEX" -> setex(argv, nowMillis, 1);
            case "EXPIRE" -> expire(argv, nowMillis, 1000, true);
            case "PEXPIRE" -> expire(argv, nowMillis, 1, true);
            case "EXPIREAT" -> expire(argv, nowMillis, 1000, false);
            case "GETEX" -> getex(argv, nowMillis);
            case "RESTORE" -> restore(argv, nowMillis);
            default -> argv;
        };
    }

    private static byte[][] set(byte[][] argv, long now) {
        for (int i = 3; i < argv.length - 1; i++) {
            long unit;
            boolean relative;
            if (Argv.is(argv[i], "EX")) {
                unit = 1000;
                relative = true;
            } else if (Argv.is(argv[i], "PX")) {
                unit = 1;
                relative = true;
            } else if (Argv.is(argv[i], "EXAT")) {
                unit = 1000;
                relative = false;
            } else {
                continue;
            }
            Long value = Argv.number(argv[i + 1]);
            if (value == null) {
                return argv;
            }
            byte[][] out = argv.clone();
            out[i] = Argv.ascii("PXAT");
            out[i + 1] = Argv.ascii((relative ? now : 0) + value * unit);
            return out;
        }
        return argv;
    }

    private static byte[][] setex(byte[][] argv, long now, long unit) {
        if (argv.length != 4) {
            return argv;
        }
        Long ttl = Argv.number(argv[2]);
        if (ttl == null) {
            return argv;
        }
        return new byte[][] {Argv.ascii("SET"), argv[1], argv[3], Argv.ascii("PXAT"), Argv.ascii(now + ttl * unit)};
    }

    private static byte[][] expire(byte[][] argv, long now, long unit, boolean relative) {
        if (argv.length < 3) {
            return argv;
        }
        Long value = Argv.number(argv[2]);
        if (value == null) {
            return argv;
        }
        byte[][] out = argv.clone();
        out[0] = Argv.ascii("PEXPIREAT");
        out[2] = Argv.ascii((relative ? now : 0) + value * unit);
        return out;
    }

    private static byte[][] getex(byte[][] argv, long now) {
        if (argv.length == 3 && Argv.is(argv[2], "PERSIST")) {
            return new byte[][] {Argv.ascii("PERSIST"), argv[1]};
        }
        if (argv.length != 4) {
            return argv;
        }
        Long value = Argv.number(argv[3]);
        if (value == null) {
            return argv;
        }
        long at;
        if (Argv.is(argv[2], "EX")) {
            at = now + value * 1000;
        } else if (Argv.is(argv[2], "PX")) {
            at = now + value;
        } else if (Argv.is(argv[2], "EXAT")) {
            at = value * 1000;
        } else if (Argv.is(argv[2], "PXAT")) {
            at = value;
        } else {
            return argv;
        }
        return new byte[][] {Argv.ascii("PEXPIREAT"), argv[1], Argv.ascii(at)};
    }

    private static byte[][] restore(byte[][] argv, long now) {
        if (argv.length < 4) {
            return argv;
        }
        for (int i = 4; i < argv.length; i++) {
            if (Argv.is(argv[i], "ABSTTL")) {
                return argv;
            }
        }
        Long ttl = Argv.number(argv[2]);
        if (ttl == null || ttl <= 0) {
            return argv;
        }
        List<byte[]> out = new ArrayList<>(List.of(argv));
        out.set(2, Argv.ascii(now + ttl));
        out.add(Argv.ascii("ABSTTL"));
        return out.toArray(byte[][]::new);
    }
}
