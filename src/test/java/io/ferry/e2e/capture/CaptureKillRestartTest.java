package io.ferry.e2e.capture;

import io.ferry.capture.CaptureFixture;
import io.ferry.cli.FerryCli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.EventKind;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CaptureKillRestartTest {

    private static final int WRITES = 100_000;

    static Stream<RedisBinary> redisVersions() {
        return Stream.of(TestServers.redis62(), TestServers.redis70());
    }

    @ParameterizedTest(name = "Redis {0}")
    @MethodSource("redisVersions")
    void afterKillMinusNineAndRestartEveryWriteIsInTheTopicExactlyOnceInOrderAndTheRestartContinued(RedisBinary binary)
            throws Exception {
        // the backlog must cover what is written while the capture is down
        RedisServer redis = TestServers.redis(binary, "--repl-backlog-size", "64mb");
        String id = CaptureFixture.instanceId("kill");
        Path config = CaptureFixture.meshFile(id, redis, null);
        Path logs = TestServers.tempDir("kill-logs");
        String[] args = {"capture", "--config", config.toString(), "--instance", id, "--http-port", "0"};
        AtomicInteger written = new AtomicInteger();
        try (CaptureFixture.ChangeLog log = new CaptureFixture.ChangeLog(id);
             StatefulRedisConnection<String, String> connection = CaptureFixture.connect(redis)) {
            JvmProcess first = JvmProcess.start("capture-1", logs.resolve("capture-1.log"), FerryCli.class, List.of("-Xmx384m"), args);
            try {
                log.await("the first capture's snapshot", Duration.ofSeconds(60),
                        all -> all.stream().anyMatch(e -> e.getKind() == EventKind.SNAPSHOT_END));
                CountDownLatch killed = new CountDownLatch(1);
                Thread writer = new Thread(() -> write(connection.async(), written, killed), "numbered-writer");
                writer.start();
                Await.until(Duration.ofSeconds(60), "10k writes captured", () -> CaptureFixture.numbers(log.poll()).size() >= 10_000);
                first.kill();
                killed.countDown();
                int writtenAtKill = written.get();
                assertTrue(writtenAtKill < WRITES, "the capture was killed while the writer was still writing (" + writtenAtKill + ")");
                writer.join(120_000);
                assertEquals(WRITES, written.get());
            } finally {
                first.kill();
            }

            JvmProcess second = JvmProcess.start("capture-2", logs.resolve("capture-2.log"), FerryCli.class, List.of("-Xmx384m"), args);
            try {
                Await.until(Duration.ofSeconds(90), "all " + WRITES + " writes in the topic", () -> CaptureFixture.numbers(log.poll()).size() >= WRITES);
                List<Integer> numbers = CaptureFixture.numbers(log.poll());
                assertEquals(WRITES, numbers.size(), "no duplicates");
                for (int i = 0; i < WRITES; i++) {
                    if (numbers.get(i) != i) {
                        throw new AssertionError("write " + i + " expected at position " + i + ", found " + numbers.get(i));
                    }
                }
                assertEquals(1, log.poll().stream().filter(e -> e.getKind() == EventKind.SNAPSHOT_START).count(),
                        "only the first start published a snapshot");
                assertEquals(0, second.stop(), "SIGTERM stops the capture cleanly");
            } finally {
                second.kill();
            }
            String secondLog = Files.readString(logs.resolve("capture-2.log"));
            System.out.println("---- capture-1.log\n" + Files.readString(logs.resolve("capture-1.log")) + "---- capture-2.log\n" + secondLog);
            assertTrue(secondLog.contains("resumed with +CONTINUE"), secondLog);
            assertFalse(secondLog.contains("full resync"), secondLog);
        }
    }

    /**
     * SET n:<i % 1000> i, pipelined in batches, as fast as Redis takes them; the last 10k wait for the
     * kill, so however slow the capture is, writes go on both while it runs and while it is down.
     */
    private static void write(RedisAsyncCommands<String, String> redis, AtomicInteger written, CountDownLatch killed) {
        try {
            List<RedisFuture<String>> batch = new ArrayList<>();
            for (int i = 0; i < WRITES; i++) {
                if (i == WRITES - 10_000 && !killed.await(120, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the capture was not killed within 2 minutes");
                }
                batch.add(redis.set("n:" + (i % 1000), Integer.toString(i)));
                if (batch.size() == 500) {
                    for (RedisFuture<String> f : batch) {
                        f.get(10, TimeUnit.SECONDS);
                    }
                    written.addAndGet(batch.size());
                    batch.clear();
                    Thread.sleep(2); // keep the writer going for a while, so the kill lands mid-stream
                }
            }
            for (RedisFuture<String> f : batch) {
                f.get(10, TimeUnit.SECONDS);
            }
            written.addAndGet(batch.size());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
