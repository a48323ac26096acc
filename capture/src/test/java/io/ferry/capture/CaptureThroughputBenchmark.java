package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.EventKind;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Capture throughput: redis-benchmark pushes N pipelined SETs into a Redis while a capture (in this
 * JVM, against the in-JVM broker) publishes them; the figure is events per second from the first
 * write until the committed position reaches the source's master_repl_offset. Run on purpose:
 * {@code mvn -pl capture test -Dtest=CaptureThroughputBenchmark -Dferry.benchmark=true}.
 */
@EnabledIfSystemProperty(named = "ferry.benchmark", matches = "true")
class CaptureThroughputBenchmark {

    @Test
    void publishesPipelinedSetsFastEnough() throws Exception {
        int writes = Integer.getInteger("ferry.benchmark.writes", 500_000);
        RedisServer redis = TestServers.redis("--repl-backlog-size", "256mb");
        String id = CaptureFixture.instanceId("bench");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (CaptureService capture = new CaptureService(CaptureFixture.mesh(id, redis, System.getProperty("ferry.benchmark.capture")), id, registry);
             StatefulRedisConnection<String, String> connection = CaptureFixture.connect(redis)) {
            capture.start();
            CaptureFixture.awaitReady(capture);
            long start = System.nanoTime();
            Process bench = new ProcessBuilder("redis-benchmark", "-p", Integer.toString(redis.port()), "-t", "set",
                    "-n", Integer.toString(writes), "-P", "64", "-q", "-r", "100000").inheritIO().start();
            assertEquals(0, bench.waitFor());
            long written = System.nanoTime();
            long target = io.ferry.capture.position.SourceOffsetPoller.parseMasterOffset(connection.sync().info("replication"));
            Await.until(Duration.ofMinutes(5), "capture committed up to " + target, () -> capture.metrics().committedOffset() >= target);
            long done = System.nanoTime();
            double commands = registry.get("ferry.capture.events").tag("kind", EventKind.COMMAND.name()).counter().count();
            double seconds = (done - start) / 1e9;
            System.out.printf("BENCHMARK %d SETs written in %.2f s; all captured and committed after %.2f s: %.0f events/s "
                            + "(%d transactions, %.0f MB of records)%n", writes, (written - start) / 1e9, seconds, commands / seconds,
                    (long) registry.get("ferry.capture.transactions").counter().count(),
                    registry.get("ferry.capture.bytes").counter().count() / 1e6);
            assertTrue(commands >= writes, "every SET captured: " + commands);
        }
    }
}
