package io.ferry.e2e.convergence;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

/**
 * A randomised write load on every instance of a mesh at once, on a small shared keyspace so that
 * writes to one key from several instances are often concurrent. One writer per instance: its own
 * thread, Lettuce connection and seeded {@link Random}, paced to a fixed rate.
 *
 * <p>Keys are typed by name so no writer meets WRONGTYPE on its own instance ({@code str:}, {@code cnt:}
 * integers, {@code flt:} floats, {@code hash:}, {@code list:}, {@code set:}, {@code zset:}), except the
 * small {@code clash:} family where each instance writes its own type (a string, a list, a hash) on
 * purpose. All keys sit under a namespace (e.g. {@code lww:}) so several runs can share one mesh.
 * TTLs are 90-150 s, so nothing expires while a test checks. When a writer stops it writes
 * {@code <namespace>done:<instance>}: a peer holding it has applied everything that writer wrote.
 */
final class Workload {

    /** Keys per family; fewer (-Dferry.convergence.keysPerFamily=N) make concurrent writes to one key more frequent. */
    static final int KEYS_PER_FAMILY = Integer.getInteger("ferry.convergence.keysPerFamily", 40);
    static final int CLASH_KEYS = 5;
    private static final String LUA_TWO_WRITES =
            "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SADD', KEYS[2], ARGV[2]); return 1";
    private static final String[] FAMILIES = {"str", "cnt", "flt", "hash", "list", "set", "zset"};

    /** What the load does: where, for how long, how fast, from which seed. */
    record Settings(String namespace, Duration duration, int opsPerSecondPerWriter, long seed) {

        static Settings of(String namespace, Duration duration) {
            long seed = Long.getLong("ferry.convergence.seed", System.nanoTime());
            int rate = Integer.getInteger("ferry.convergence.opsPerSecond", 300);
            return new Settings(namespace, duration, rate, seed);
        }
    }

    private final Settings settings;
    private final List<Writer> writers = new ArrayList<>();
    private volatile long lastWriteNanos;

    Workload(MeshUnderTest mesh, Settings settings) {
        this.settings = settings;
        List<String> names = mesh.names();
        for (int i = 0; i < names.size(); i++) {
            writers.add(new Writer(mesh, names.get(i), i, settings.seed() + 7919L * i));
        }
    }

    Workload start() {
        System.out.printf("workload %s: %d writers, %s, %d ops/s each, %d keys per family, seed %d "
                        + "(-Dferry.convergence.seed=%d repeats the choices)%n", settings.namespace(), writers.size(),
                settings.duration(), settings.opsPerSecondPerWriter(), KEYS_PER_FAMILY, settings.seed(), settings.seed());
        writers.forEach(w -> w.thread.start());
        return this;
    }

    /**
     * Waits for every writer to stop (each writes its done marker last). A writer that met an error on
     * its own instance (other than the clash family's WRONGTYPE) fails the test here, before anything
     * waits for a done marker it may never have written.
     */
    void await() {
        for (Writer writer : writers) {
            try {
                writer.thread.join(settings.duration().plusSeconds(120).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for the writers", e);
            }
            if (writer.thread.isAlive()) {
                throw new AssertionError("writer " + writer.name + " did not stop");
            }
        }
        lastWriteNanos = System.nanoTime();
        List<String> errors = unexpectedErrors();
        if (!errors.isEmpty()) {
            throw new AssertionError("the writers got errors on their own instances:" + figures() + "\n  " + String.join("\n  ", errors));
        }
    }

    long elapsedSinceLastWriteMillis() {
        return (System.nanoTime() - lastWriteNanos) / 1_000_000;
    }

    long opsOn(String name) {
        return writers.stream().filter(w -> w.name.equals(name)).mapToLong(w -> w.ops).sum();
    }

    /**
     * Errors a writer got on its own instance other than the clash family's WRONGTYPE (each one is a bug):
     * the first few of each writer, and how many there were.
     */
    List<String> unexpectedErrors() {
        List<String> all = new ArrayList<>();
        writers.forEach(w -> {
            all.addAll(w.unexpected);
            if (w.unexpectedCount > w.unexpected.size()) {
                all.add(w.name + ": " + (w.unexpectedCount - w.unexpected.size()) + " more");
            }
        });
        return all;
    }

    /**
     * Tells replication lag from divergence: whether every instance has applied every writer's last
     * write (its done marker), or which have not.
     */
    String lastWritesApplied(Replicas replicas) {
        List<String> missing = new ArrayList<>();
        for (Writer holder : writers) {
            for (Writer writer : writers) {
                String marker = settings.namespace() + "done:" + writer.name;
                if (!Long.toString(writer.ops).equals(replicas.connection(holder.name).sync().get(marker))) {
                    missing.add(holder.name + " has not applied " + writer.name + "'s last write yet");
                }
            }
        }
        return missing.isEmpty() ? "every instance has applied every writer's last write: the differences are not replication lag"
                : String.join("; ", missing);
    }

    int distinctKeysWritten() {
        Set<String> keys = new HashSet<>();
        writers.forEach(w -> keys.addAll(w.touched));
        return keys.size();
    }

    String figures() {
        StringBuilder text = new StringBuilder();
        for (Writer w : writers) {
            text.append(String.format("%n  %s: %d operations (%d commands, %d MULTI blocks, %d scripts), "
                            + "%d WRONGTYPE on clash keys, %d unexpected errors", w.name, w.ops, w.commands, w.multis,
                    w.scripts, w.clashRefusals, w.unexpectedCount));
        }
        text.append(String.format("%n  distinct keys written: %d", distinctKeysWritten()));
        return text.toString();
    }

    /** One instance's writer. */
    private final class Writer implements Runnable {
        private final MeshUnderTest mesh;
        private final String name;
        private final int index;
        private final Random random;
        private final Thread thread;
        private final Set<String> touched = new HashSet<>();
        private final List<String> unexpected = Collections.synchronizedList(new ArrayList<>());
        private volatile long unexpectedCount;
        private RedisCommands<String, String> redis;
        private long ops;
        private long commands;
        private long multis;
        private long scripts;
        private long clashRefusals;
        private long sequence;

        Writer(MeshUnderTest mesh, String name, int index, long seed) {
            this.mesh = mesh;
            this.name = name;
            this.index = index;
            this.random = new Random(seed);
            this.thread = new Thread(this, "writer-" + settings.namespace() + name);
        }

        @Override
        public void run() {
            RedisClient client = mesh.newClient(name);
            try (StatefulRedisConnection<String, String> connection = client.connect()) {
                redis = connection.sync();
                long interval = 1_000_000_000L / settings.opsPerSecondPerWriter();
                long start = System.nanoTime();
                long end = start + settings.duration().toNanos();
                long next = start;
                while (System.nanoTime() < end) {
                    step();
                    ops++;
                    next += interval;
                    long now = System.nanoTime();
                    if (next > now) {
                        LockSupport.parkNanos(next - now);
                    } else if (now - next > 1_000_000_000L) {
                        next = now; // fell a second behind (a slow moment): do not burst to catch up
                    }
                }
                redis.set(settings.namespace() + "done:" + name, Long.toString(ops));
            } catch (RuntimeException e) {
                unexpected("writer stopped: " + e);
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
        }

        private void step() {
            int roll = random.nextInt(100);
            try {
                if (roll < 16) {
                    string(key("str"));
                } else if (roll < 25) {
                    counter(key("cnt"));
                } else if (roll < 29) {
                    floatCounter(key("flt"));
                } else if (roll < 38) {
                    hash(key("hash"));
                } else if (roll < 50) {
                    list(key("list"));
                } else if (roll < 59) {
                    set(key("set"));
                } else if (roll < 67) {
                    zset(key("zset"));
                } else if (roll < 74) {
                    ttl(key(FAMILIES[random.nextInt(FAMILIES.length)]));
                } else if (roll < 78) {
                    command();
                    redis.del(key(FAMILIES[random.nextInt(FAMILIES.length)]));
                } else if (roll < 86) {
                    multi();
                } else if (roll < 91) {
                    lua();
                } else {
                    clash();
                }
            } catch (RedisCommandExecutionException e) {
                unexpected(e.getMessage());
            } catch (RedisException e) {
                unexpected("connection: " + e);
            }
        }

        private void unexpected(String error) {
            unexpectedCount++;
            if (unexpected.size() < 10) {
                unexpected.add(name + ": " + error);
            }
        }

        private String key(String family) {
            String key = settings.namespace() + family + ":" + random.nextInt(KEYS_PER_FAMILY);
            touched.add(key);
            return key;
        }

        private String value() {
            return name + "-" + (++sequence);
        }

        private void command() {
            commands++;
        }

        private void string(String key) {
            command();
            int roll = random.nextInt(100);
            if (roll < 35) {
                redis.set(key, value());
            } else if (roll < 45) {
                redis.set(key, value(), SetArgs.Builder.ex(90 + random.nextInt(61)));
            } else if (roll < 65) {
                redis.append(key, "+" + name);
            } else if (roll < 75) {
                redis.setrange(key, random.nextInt(9), name + name.toLowerCase());
            } else if (roll < 90) {
                redis.setnx(key, value());
            } else {
                redis.del(key);
            }
        }

        private void counter(String key) {
            command();
            int roll = random.nextInt(100);
            if (roll < 40) {
                redis.incr(key);
            } else if (roll < 80) {
                redis.incrby(key, 1 + random.nextInt(10));
            } else if (roll < 92) {
                redis.decr(key);
            } else {
                redis.del(key);
            }
        }

        private void floatCounter(String key) {
            command();
            double[] steps = {0.1, 0.25, -0.3, 1.5};
            redis.incrbyfloat(key, steps[random.nextInt(steps.length)]);
        }

        private void hash(String key) {
            command();
            if (random.nextInt(100) < 60) {
                if (random.nextBoolean()) {
                    redis.hset(key, "f" + random.nextInt(6), value());
                } else {
                    redis.hset(key, java.util.Map.of("f" + random.nextInt(3), value(), "f" + (3 + random.nextInt(3)), value()));
                }
            } else {
                redis.hdel(key, "f" + random.nextInt(6));
            }
        }

        /** Elements are e0..e5 plus the writer's name, so LINSERT pivots (any writer's) are often found. */
        private void list(String key) {
            command();
            int roll = random.nextInt(100);
            if (roll < 45) {
                if (random.nextBoolean()) {
                    redis.rpush(key, element());
                } else {
                    redis.rpush(key, element(), element());
                }
            } else if (roll < 80) {
                redis.lpop(key);
            } else {
                String pivot = "e" + random.nextInt(6) + "ABC".charAt(random.nextInt(3));
                redis.linsert(key, random.nextBoolean(), pivot, element());
            }
        }

        private String element() {
            return "e" + random.nextInt(6) + name;
        }

        private void set(String key) {
            command();
            String member = "m" + random.nextInt(15);
            if (random.nextInt(100) < 55) {
                redis.sadd(key, member);
            } else {
                redis.srem(key, member);
            }
        }

        private void zset(String key) {
            command();
            String member = "z" + random.nextInt(10);
            if (random.nextInt(100) < 40) {
                redis.zadd(key, random.nextInt(400) / 4.0, member);
            } else {
                double[] steps = {0.1, 0.7, -0.3, 2};
                redis.zincrby(key, steps[random.nextInt(steps.length)], member);
            }
        }

        private void ttl(String key) {
            command();
            if (random.nextInt(100) < 60) {
                redis.expire(key, 90 + random.nextInt(61));
            } else {
                redis.persist(key);
            }
        }

        /** 2-3 commands on keys of one family in MULTI/EXEC. */
        private void multi() {
            multis++;
            String family = FAMILIES[random.nextInt(FAMILIES.length)];
            int count = 2 + random.nextInt(2);
            redis.multi();
            for (int i = 0; i < count; i++) {
                switch (family) {
                    case "str" -> string(key(family));
                    case "cnt" -> counter(key(family));
                    case "flt" -> floatCounter(key(family));
                    case "hash" -> hash(key(family));
                    case "list" -> list(key(family));
                    case "set" -> set(key(family));
                    default -> zset(key(family));
                }
            }
            TransactionResult result = redis.exec();
            if (result.wasDiscarded()) {
                unexpected("MULTI on " + family + " discarded");
            }
            for (Object reply : result) {
                if (reply instanceof Exception e) {
                    unexpected("in MULTI: " + e.getMessage());
                }
            }
        }

        /** EVAL with two writes (a string and a set member): replicated as its effects in MULTI/EXEC. */
        private void lua() {
            scripts++;
            commands += 2;
            redis.eval(LUA_TWO_WRITES, ScriptOutputType.INTEGER, new String[] {key("str"), key("set")}, value(), "m" + random.nextInt(15));
        }

        /** Each instance writes its own type: a string on the first, a list on the second, a hash on the third. */
        private void clash() {
            command();
            String key = settings.namespace() + "clash:" + random.nextInt(CLASH_KEYS);
            touched.add(key);
            try {
                if (random.nextInt(100) < 15) {
                    redis.del(key);
                    return;
                }
                switch (index % 3) {
                    case 0 -> redis.set(key, value());
                    case 1 -> redis.rpush(key, value());
                    default -> redis.hset(key, "f", value());
                }
            } catch (RedisCommandExecutionException e) {
                if (e.getMessage() == null || !e.getMessage().startsWith("WRONGTYPE")) {
                    throw e;
                }
                clashRefusals++; // a peer's type arrived first: expected in this family only
            }
        }
    }
}
