package io.ferry.capture.stream;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Absolute expiry of every volatile key the capture has seen (from the snapshot and from the stream),
 * per db. It is how an expiry on the source is told apart from a user's DEL: Redis propagates both
 * as a plain DEL (or UNLINK), but only the expiry happens once the key's TTL has run out.
 *
 * <p>Fed with commands already rewritten by {@link TtlMapper} (absolute times only).
 */
public final class ExpiryTracker {

    /** Commands that delete their (first) key when they remove its last element: Redis propagates no DEL then. */
    private static final Set<String> MAY_EMPTY = Set.of("LPOP", "RPOP", "LREM", "LTRIM", "LMOVE", "RPOPLPUSH", "SREM",
            "SPOP", "SMOVE", "ZREM", "ZPOPMIN", "ZPOPMAX", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK", "ZREMRANGEBYLEX", "HDEL",
            "GETDEL");

    private final Map<Integer, Map<Key, Long>> dbs = new HashMap<>();
    /** Tracked keys a command may have deleted implicitly: their expiry may belong to a key that is gone. */
    private final Map<Integer, Set<Key>> uncertain = new HashMap<>();

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
        Key k = new Key(key);
        dbs.computeIfAbsent(db, d -> new HashMap<>()).put(k, atMillis);
        settle(db, k);
    }

    public void persist(int db, byte[] key) {
        Map<Key, Long> keys = dbs.get(db);
        if (keys != null) {
            Key k = new Key(key);
            keys.remove(k);
            settle(db, k);
        }
    }

    private void settle(int db, Key key) {
        Set<Key> keys = uncertain.get(db);
        if (keys != null) {
            keys.remove(key);
        }
    }

    /**
     * The key's absolute expiry when the source's copy surely had it after the commands seen so far and it
     * is still ahead of {@code nowMillis}; null when the key is not volatile, has expired, or may have been
     * deleted implicitly since its TTL was set (a pop of its last element).
     */
    public Long liveExpiry(int db, byte[] key, long nowMillis) {
        Map<Key, Long> keys = dbs.get(db);
        if (keys == null) {
            return null;
        }
        Key k = new Key(key);
        Long at = keys.get(k);
        if (at == null || at <= nowMillis) {
            return null;
        }
        Set<Key> doubtful = uncertain.get(db);
        return doubtful != null && doubtful.contains(k) ? null : at;
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
        uncertain.clear();
    }

    /** Applies the effect {@code argv} (absolute times) had on TTLs in {@code db}. */
    public void observe(int db, byte[][] argv) {
        String name = Argv.name(argv);
        if (MAY_EMPTY.contains(name) && argv.length >= 2 && expiry(db, argv[1]) != null) {
            uncertain.computeIfAbsent(db, d -> new HashSet<>()).add(new Key(argv[1]));
        }
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
            case "FLUSHALL" -> clear();
            case "FLUSHDB" -> {
                dbs.remove(db);
                uncertain.remove(db);
            }
            case "SWAPDB" -> {
                Long a = argv.length >= 3 ? Argv.number(argv[1]) : null;
                Long b = argv.length >= 3 ? Argv.number(argv[2]) : null;
                if (a != null && b != null) {
                    swap(dbs, a.intValue(), b.intValue());
                    swap(uncertain, a.intValue(), b.intValue());
                }
            }
            default -> {
                // other writes keep the key's TTL
            }
        }
    }

    private static <V> void swap(Map<Integer, V> byDb, int a, int b) {
        V first = byDb.remove(a);
        V second = byDb.remove(b);
        if (first != null) {
            byDb.put(b, first);
        }
        if (second != null) {
            byDb.put(a, second);
        }
    }
}
