package io.ferry.apply.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisBinary;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.StagedBlock;
import io.ferry.schemas.StagedCommand;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The staged-block script on real Redis 6.2 and 7.0, applied the way the apply agent applies every command. */
class StagedBlockScriptTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The list chunks of {@code commands} (headers as the capture writes them, packed in elements of about 2 KB), {@code perChunk} elements each, then the EVAL. */
    private static List<RawCommand> staged(byte[] stage, List<byte[][]> commands, List<long[]> stagedArgs, int perChunk) {
        StagedBlock.Packer packer = new StagedBlock.Packer(2048);
        List<byte[]> elements = new ArrayList<>();
        for (int c = 0; c < commands.size(); c++) {
            byte[] done = packer.add(StagedBlock.header(commands.get(c).length, stagedArgs.get(c)));
            if (done != null) {
                elements.add(done);
            }
            for (byte[] arg : commands.get(c)) {
                done = packer.add(arg);
                if (done != null) {
                    elements.add(done);
                }
            }
        }
        elements.add(packer.finish());
        assertEquals(elements.size(), packer.elements());
        List<RawCommand> out = new ArrayList<>();
        for (int from = 0; from < elements.size(); from += perChunk) {
            List<byte[]> args = new ArrayList<>();
            args.add(stage);
            args.addAll(elements.subList(from, Math.min(elements.size(), from + perChunk)));
            if (from == 0) {
                out.add(new RawCommand("DEL", List.of(stage)));
            }
            out.add(new RawCommand("RPUSH", args));
        }
        out.add(StagedCommandScriptTest.command(StagedBlock.eval(stage, elements.size(), commands.size(), 0)));
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.ferry.apply.redis.StagedCommandScriptTest#versions")
    void runsEveryStagedCommandInOneScriptRefusesAnIncompleteStageAndReportsFailedCommands(RedisBinary binary) {
        try (RedisTargetClient client = StagedCommandScriptTest.connected(binary)) {
            byte[] stage = ReplicationPolicy.stageKey("eu-1", 0, 1, b("n"));
            byte[] valueStage = ReplicationPolicy.stageKey("eu-1", 0, 0, b("n"));
            byte[] big = new byte[70_001];
            Arrays.fill(big, (byte) 0xfe);
            client.call(new RawCommand("SET", List.of(valueStage, big)));
            List<byte[][]> commands = new ArrayList<>();
            List<long[]> stagedArgs = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                commands.add(new byte[][] {b("INCR"), b("n")});
                stagedArgs.add(new long[0]);
                commands.add(new byte[][] {b("RPUSH"), b("l"), b("v" + i), new byte[] {0, (byte) 0xff, '\n'}});
                stagedArgs.add(new long[0]);
            }
            commands.add(new byte[][] {b("SET"), b("bigkey"), valueStage});
            stagedArgs.add(new long[] {3, big.length});
            commands.add(new byte[][] {b("SELECT"), b("1")});
            stagedArgs.add(new long[0]);
            commands.add(new byte[][] {b("SET"), b("in-db-1"), b("yes")});
            stagedArgs.add(new long[0]);
            List<RawCommand> block = staged(stage, commands, stagedArgs, 10);
            block.add(RawCommand.of("SET", "after-the-block", "db0")); // as the apply agent's checkpoint follows it
            TransactionReply reply = client.execute(List.of(block)).get(0);
            assertTrue(reply.committed());
            assertEquals((long) commands.size(), reply.results().get(block.size() - 2));
            assertEquals("3000", new String((byte[]) client.call(RawCommand.of("GET", "n")), StandardCharsets.UTF_8));
            assertEquals(6000L, client.call(RawCommand.of("LLEN", "l")));
            assertArrayEquals(new byte[] {0, (byte) 0xff, '\n'}, (byte[]) client.call(RawCommand.of("LINDEX", "l", "-1")));
            assertArrayEquals(big, (byte[]) client.call(RawCommand.of("GET", "bigkey")));
            assertEquals("db0", new String((byte[]) client.call(RawCommand.of("GET", "after-the-block")), StandardCharsets.UTF_8),
                    "the script's SELECTs do not move the caller's db");
            assertEquals(0L, client.call(RawCommand.of("EXISTS", "in-db-1")));
            assertEquals(0L, client.call(new RawCommand("EXISTS", List.of(stage))), "the stage is deleted");
            assertEquals(0L, client.call(new RawCommand("EXISTS", List.of(valueStage))), "the value stage is deleted");
            client.call(RawCommand.of("SELECT", "1"));
            assertEquals("yes", new String((byte[]) client.call(RawCommand.of("GET", "in-db-1")), StandardCharsets.UTF_8));
            client.call(RawCommand.of("SELECT", "0"));

            // a chunk lost: nothing applied
            List<RawCommand> incomplete = staged(stage, commands.subList(0, 2000), stagedArgs.subList(0, 2000), 5);
            incomplete.remove(2);
            reply = client.execute(List.of(incomplete)).get(0);
            Object refused = reply.results().get(incomplete.size() - 1);
            assertInstanceOf(RedisError.class, refused);
            assertTrue(((RedisError) refused).message().contains("chunks missing"), refused.toString());
            assertEquals("3000", new String((byte[]) client.call(RawCommand.of("GET", "n")), StandardCharsets.UTF_8), "no part of it applied");

            // a command failing at run time: the others applied (as EXEC does), the error names it
            List<byte[][]> failing = List.of(new byte[][] {b("INCR"), b("n")}, new byte[][] {b("INCR"), b("l")}, new byte[][] {b("INCR"), b("n")});
            List<RawCommand> withError = staged(stage, failing, List.of(new long[0], new long[0], new long[0]), 1000);
            Object error = client.execute(List.of(withError)).get(0).results().get(withError.size() - 1);
            assertInstanceOf(RedisError.class, error);
            assertTrue(((RedisError) error).message().contains("1 of 3") && ((RedisError) error).message().contains("#2 INCR: WRONGTYPE"),
                    error.toString());
            assertEquals("3002", new String((byte[]) client.call(RawCommand.of("GET", "n")), StandardCharsets.UTF_8));

            // a refusal: an error carrying its reason, nothing written
            byte[][] refusal = StagedBlock.refusal("a ZADD of 9000 arguments is more than a script can run");
            Object answer = client.execute(List.of(List.of(StagedCommandScriptTest.command(refusal))))
                    .get(0).results().get(0);
            assertInstanceOf(RedisError.class, answer);
            assertTrue(((RedisError) answer).message().contains("ZADD of 9000 arguments"), answer.toString());
            assertEquals(0L, client.call(RawCommand.of("EXISTS", StagedCommand.class.getSimpleName())));
        }
    }
}
