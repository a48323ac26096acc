package io.ferry.apply.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.conflict.ConflictType;
import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.StagedCommand;
import io.ferry.topology.RedisEndpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The staged-value script on real Redis 6.2 and 7.0, applied the way the apply agent applies every command. */
class StagedCommandScriptTest {

    static Stream<RedisBinary> versions() {
        return Stream.of(TestServers.redis62(), TestServers.redis70());
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<RawCommand> staged(byte[] stage, byte[] value, int chunk, byte[][] argv, int position) {
        List<RawCommand> commands = new ArrayList<>();
        for (int from = 0, index = 0; from < value.length; from += chunk, index++) {
            byte[][] c = StagedCommand.chunk(stage, index, Arrays.copyOfRange(value, from, Math.min(value.length, from + chunk)));
            commands.add(new RawCommand(new String(c[0], StandardCharsets.US_ASCII), List.of(c[1], c[2])));
        }
        commands.add(command(StagedCommand.eval(argv, List.of(new StagedCommand.Stage(position, value.length, stage)))));
        return commands;
    }

    /** An argv (name first) as the apply agent sends it. */
    static RawCommand command(byte[][] argv) {
        return new RawCommand(new String(argv[0], StandardCharsets.US_ASCII), Arrays.asList(argv).subList(1, argv.length));
    }

    /** A client connected to a fresh Redis of {@code binary}. */
    static RedisTargetClient connected(RedisBinary binary) {
        RedisServer redis = TestServers.redis(binary);
        RedisTargetClient client = new RedisTargetClient(new RedisEndpoint("127.0.0.1", redis.port(), false, null, null),
                Duration.ofSeconds(10), "ferry-test");
        client.connect();
        return client;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("versions")
    void runsTheCommandWithTheStagedBytesRefusesAnIncompleteStageAndIsJudgedAsItsCommand(RedisBinary binary) {
        try (RedisTargetClient client = connected(binary)) {
            byte[] value = new byte[100_003];
            for (int i = 0; i < value.length; i++) {
                value[i] = (byte) (i * 31 + 7);
            }
            byte[] stage = ReplicationPolicy.stageKey("eu-1", 0, 0, b("big"));
            // an interrupted first attempt left part of the value: chunk 0's SET starts over
            client.execute(List.of(List.of(new RawCommand("APPEND", List.of(stage, b("left over"))))));
            List<RawCommand> set = staged(stage, value, 4096, new byte[][] {b("SET"), b("big"), new byte[0]}, 2);
            TransactionReply reply = client.execute(List.of(set)).get(0);
            assertTrue(reply.committed());
            assertEquals("OK", new String((byte[]) reply.results().get(set.size() - 1), StandardCharsets.UTF_8));
            assertArrayEquals(value, (byte[]) client.call(RawCommand.of("GET", "big")));
            assertEquals(0L, client.call(new RawCommand("EXISTS", List.of(stage))), "the stage is deleted");

            List<RawCommand> setNx = staged(stage, value, 50_000, new byte[][] {b("SET"), b("big"), new byte[0], b("NX")}, 2);
            reply = client.execute(List.of(setNx)).get(0);
            RawCommand eval = setNx.get(setNx.size() - 1);
            Object result = reply.results().get(setNx.size() - 1);
            assertEquals(ConflictType.CONDITIONAL_WRITE, ReplyClassifier.classify(eval.unstaged(), result).conflict(),
                    "a staged SET NX that did not take effect is a conflict like a plain one");

            List<RawCommand> incomplete = staged(stage, value, 50_000, new byte[][] {b("APPEND"), b("big"), new byte[0]}, 2);
            incomplete.remove(1); // a chunk lost
            reply = client.execute(List.of(incomplete)).get(0);
            Object refused = reply.results().get(incomplete.size() - 1);
            assertInstanceOf(RedisError.class, refused);
            assertTrue(((RedisError) refused).message().contains("chunks missing"), refused.toString());
            assertArrayEquals(value, (byte[]) client.call(RawCommand.of("GET", "big")), "no half value applied");

            client.call(RawCommand.of("LPUSH", "list", "x"));
            List<RawCommand> wrongType = staged(stage, value, 50_000, new byte[][] {b("APPEND"), b("list"), new byte[0]}, 2);
            reply = client.execute(List.of(wrongType)).get(0);
            RawCommand wrong = wrongType.get(wrongType.size() - 1);
            ReplyVerdict verdict = ReplyClassifier.classify(wrong.unstaged(), reply.results().get(wrongType.size() - 1));
            assertTrue(verdict.deadLetter(), "a staged command Redis refuses is dead-lettered");
            assertEquals("WRONGTYPE", verdict.deadLetterReason());
        }
    }
}
