package io.ferry.capture.stream;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Absolute expiry of every volatile key the capture has seen (from the snapshot and from the stream),
 * per db. It is how an expiry on the source is told apart from a user's DEL: Redis propagates both
 * as a plain DEL (or UNLINK), but only the expiry happens once the key's TTL has run out.
 *
 * <p>Fed with commands already rewritten by {@link TtlMapper} (absolute times only).
 */
public final class ExpiryTracker {

    private final Map<Integer, Map<Key, Long>> dbs = new HashMap<>();

    /** A byte[] usable as a hash key. */
    record Key(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }

    public void expireAt(int db, byte[] key, long atMillis) {
        dbs.computeIfAbsent(db, d -> new HashMap<>()).put(new Key(key), atMillis);
    }

    public void persist(int db, byte[] key) {
        Map<Key, Long> keys = dbs.get(db);
        if (keys != null) {
            keys.remove(new Key(key));
        }
    }

    /** Tracked absolute expiry, or null when the key is not known to be volatile. */
    public Long expiry(int db, byte[] key) {
        Map<Key, Long> keys = dbs.get(db);
        return keys == null ? null : keys.get(new Key(key));
    }

    /** True when {@code key}'s TTL has run out by {@code nowMillis + toleranceMillis}. */
    public boolean hasExpired(int db, byte[] key, long nowMillis, long toleranceMillis) {
        Long at = expiry(db, key);
        return at != null && at <= nowMillis + toleranceMillis;
    }

    public int size() {
        return dbs.values().stream().mapToInt(Map::size).sum();
    }

    public void clear() {
        dbs.clear();
    }

    /** Applies the effect {@code argv} (absolute times) had on TTLs in {@code db}. */
    public void observe(int db, byte[][] argv) {
        String name = Argv.name(argv);
        switch (name) {
            case "SET" -> {
                if (argv.length < 3) {
                    return;
                }
                Long at = null;
                boolean keep = false;
                for (int i = 3; i < argv.length; i++) {
                    if (Argv.is(argv[i], "KEEPTTL")) {
                        keep = true;
                    } else if (Argv.is(argv[i], "PXAT") && i + 1 < argv.length) {
                        at = Argv.number(argv[i + 1]);
                    }
                }
                if (at != null) {
                    expireAt(db, argv[1], at);
                } else if (!keep) {
                    persist(db, argv[1]);
                }
            }
            case "PEXPIREAT" -> {
                Long at = argv.length >= 3 ? Argv.number(argv[2]) : null;
                if (at != null) {
                    expireAt(db, argv[1], at);
                }
            }
            case "PERSIST", "GETSET", "GETDEL", "SETNX", "MSET", "MSETNX" -> {
                for (int i = 1; i < argv.length; i += name.startsWith("MSET") ? 2 : 1) {
                    persist(db, argv[i]);
                    if (!name.startsWith("MSET")) {
                        break;
                    }
                }
            }
            case "DEL", "UNLINK" -> {
                for (int i = 1; i < argv.length; i++) {
                    persist(db, argv[i]);
                }
            }
            case "RESTORE" -> {
                if (argv.length >= 3) {
                    Long at = Argv.number(argv[2]);
                    if (at != null && at > 0) {
                        expireAt(db, argv[1], at);
                    } else {
                        persist(db, argv[1]);
                    }
                }
            }
            case "RENAME", "RENAMENX" -> {
                if (argv.length >= 3) {
                    Long at = expiry(db, argv[1]);
                    persist(db, argv[1]);
                    if (at != null) {
                        expireAt(db, argv[2], at);
                    } else {
                        persist(db, argv[2]);
                    }
                }
            }
            case "MOVE" -> {
                Long target = argv.length >= 3 ? Argv.number(argv[2]) : null;
                if (target != null) {
                    Long at = expiry(db, argv[1]);
                    persist(db, argv[1]);
                    if (at != null) {
                        expireAt(target.intValue(), argv[1], at);
                    }
                }
            }
            case "COPY" -> {
                if (argv.length >= 3) {
                    int targetDb = db;
                    for (int i = 3; i < argv.length - 1; i++) {
                        if (Argv.is(argv[i], "DB")) {
                            Long n = Argv.number(argv[i + 1]);
                            targetDb = n == null ? db : n.intValue();
                        }
                    }
                    Long at = expiry(db, argv[1]);
                    if (at != null) {
                        expireAt(targetDb, argv[2], at);
                    } else {
                        persist(targetDb, argv[2]);
                    }
                }
            }
            // commands that overwrite a destination key create it without a TTL
            case "SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE",
                    "ZRANGESTORE", "GEOSEARCHSTORE" -> {
                if (argv.length >= 2) {
                    persist(db, argv[1]);
                }
            }
            case "BITOP" -> {
                if (argv.length >= 3) {
                    persist(db, argv[2]);
                }
            }
            case "SORT", "GEORADIUS", "GEORADIUSBYMEMBER" -> {
                for (int i = 2; i < argv.length - 1; i++) {
                    if (Argv.is(argv[i], "STORE") || Argv.is(argv[i], "STOREDIST")) {
                        persist(db, argv[i + 1]);
                    }
                }
            }
            case "FLUSHALL" -> dbs.clear();
            case "FLUSHDB" -> dbs.remove(db);
            case "SWAPDB" -> {
                Long a = argv.length >= 3 ? Argv.number(argv[1]) : null;
                Long b = argv.length >= 3 ? Argv.number(argv[2]) : null;
                if (a != null && b != null) {
                    Map<Key, Long> first = dbs.remove(a.intValue());
                    Map<Key, Long> second = dbs.remove(b.intValue());
                    if (first != null) {
                        dbs.put(b.intValue(), first);
                    }
                    if (second != null) {
                        dbs.put(a.intValue(), second);
                    }
                }
            }
            default -> {
                // other writes keep the key's TTL
            }
        }
    }
}
