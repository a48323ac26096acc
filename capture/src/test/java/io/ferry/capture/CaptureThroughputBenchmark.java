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

    /**
     * The capture's own CPU cost per event, without Redis or Kafka: decode, map and Avro-encode 1M
     * propagated SETs on one thread.
     */
    @Test
    void decodesMapsAndEncodesOnOneCore() throws Exception {
        int n = 1_000_000;
        java.io.ByteArrayOutputStream wire = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < 10_000; i++) {
            String key = "key:" + String.format("%012d", i);
            String value = "xxx";
            wire.writeBytes(("*3\r\n$3\r\nSET\r\n$" + key.length() + "\r\n" + key + "\r\n$3\r\n" + value + "\r\n").getBytes());
        }
        byte[] chunk = wire.toByteArray();
        io.ferry.schemas.AvroSerde<io.ferry.schemas.ChangeEvent> serde = io.ferry.schemas.AvroSerde.changeEvents();
        long[] bytes = {0};
        io.ferry.capture.stream.StreamSink sink = new io.ferry.capture.stream.StreamSink() {
            @Override
            public void publish(EventKind kind, int db, List<byte[][]> commands, List<byte[]> keys, long endOffset, int endDb) {
                List<io.ferry.schemas.Command> body = new java.util.ArrayList<>();
                for (byte[][] argv : commands) {
                    List<java.nio.ByteBuffer> args = new java.util.ArrayList<>();
                    for (int i = 1; i < argv.length; i++) {
                        args.add(java.nio.ByteBuffer.wrap(argv[i]));
                    }
                    body.add(new io.ferry.schemas.Command(io.ferry.capture.stream.Argv.name(argv), args));
                }
                io.ferry.schemas.ChangeEvent event = new io.ferry.schemas.ChangeEvent("bench",
                        new io.ferry.schemas.SourcePosition("8de1787ba490483314a4d30f1c628bc5025eb761", endOffset, endDb), kind, db, body,
                        keys.stream().map(java.nio.ByteBuffer::wrap).toList(), java.time.Instant.now(), null, null);
                bytes[0] += serde.encode(event).length;
            }

            @Override
            public void advance(long endOffset, int endDb) {
            }

            @Override
            public void filtered(String command, String reason) {
            }

            @Override
            public void sourceTime(long millis, boolean republished) {
            }

            @Override
            public void keyExpiries(io.ferry.schemas.KeyExpiries expiries) {
            }

            @Override
            public void spilledValues(java.util.Map<byte[], io.ferry.resp.SpilledBulk> values, long beforeOffset, int beforeDb) {
            }

            @Override
            public void applied(String origin, int partition, long offset) {
            }

            @Override
            public void echo(String origin) {
            }
        };
        io.ferry.capture.stream.StreamMapper mapper = new io.ferry.capture.stream.StreamMapper(sink,
                io.ferry.capture.stream.KeyExtractor.withoutMetadata(), new io.ferry.capture.stream.ExpiryTracker(),
                io.ferry.capture.stream.EvictionCheck.NONE, System::currentTimeMillis, 50, 0, 0);
        for (int round = 0; round < 2; round++) {
            io.ferry.resp.RespReader reader = new io.ferry.resp.RespReader();
            long offset = 0;
            long events = 0;
            long start = System.nanoTime();
            while (events < n) {
                reader.feed(chunk, 0, chunk.length);
                io.ferry.resp.RespMessage m;
                while ((m = reader.next()) != null) {
                    io.ferry.resp.RespMessage.Command c = (io.ferry.resp.RespMessage.Command) m;
                    offset += c.wireBytes();
                    mapper.accept(c.argv(), offset);
                    events++;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("BENCHMARK one core: %d SETs decoded, mapped and encoded in %.2f s: %.0f events/s (%d bytes/event)%n",
                    events, seconds, events / seconds, bytes[0] / Math.max(1, events * (round + 1)));
        }
    }

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
            String maxmemory = System.getProperty("ferry.benchmark.maxmemory");
            if (maxmemory != null) {
                // eviction possible (though not happening): every DEL waits for an eviction-event round
                connection.sync().configSet("maxmemory-policy", "allkeys-lru");
                connection.sync().configSet("maxmemory", maxmemory);
                Thread.sleep(1_000); // the eviction watch rechecks the source's config every 100 ms
            }
            long start = System.nanoTime();
            Process bench = new ProcessBuilder("redis-benchmark", "-p", Integer.toString(redis.port()), "-t", "set",
                    "-n", Integer.toString(writes), "-P", "64", "-q", "-r", "100000").inheritIO().start();
            // with -Dferry.benchmark.dels=true a second client deletes random keys of the same range meanwhile
            Process dels = Boolean.getBoolean("ferry.benchmark.dels")
                    ? new ProcessBuilder("redis-benchmark", "-p", Integer.toString(redis.port()), "-n", Integer.toString(writes),
                            "-P", "64", "-q", "-r", "100000", "DEL", "key:__rand_int__").inheritIO().start()
                    : null;
            assertEquals(0, bench.waitFor());
            if (dels != null) {
                assertEquals(0, dels.waitFor());
            }
            long written = System.nanoTime();
            long target = io.ferry.capture.position.SourceOffsetPoller.parseMasterOffset(connection.sync().info("replication"));
            Await.until(Duration.ofMinutes(5), "capture committed up to " + target, () -> capture.metrics().committedOffset() >= target);
            long done = System.nanoTime();
            double commands = registry.get("ferry.capture.events").tag("kind", EventKind.COMMAND.name()).counter().count();
            double seconds = (done - start) / 1e9;
            System.out.printf("BENCHMARK %d SETs%s written in %.2f s; all captured and committed after %.2f s: %.0f events/s "
                            + "(%d transactions, %.0f MB of records)%n", writes, dels == null ? "" : " and DELs",
                    (written - start) / 1e9, seconds, commands / seconds,
                    (long) registry.get("ferry.capture.transactions").counter().count(),
                    registry.get("ferry.capture.bytes").counter().count() / 1e6);
            assertTrue(commands >= writes, "every SET captured: " + commands);
            if (dels != null) {
                System.out.printf("BENCHMARK of those, %.0f DELs (the rest deleted nothing and were not propagated)%n",
                        commands - writes);
            }
            double beats = registry.get("ferry.capture.events").tag("kind", EventKind.HEARTBEAT.name()).counter().count();
            assertTrue(beats >= Math.floor(seconds) - 1, "a heartbeat every second while busy too: " + beats + " in " + seconds + " s");
        }
    }
}
