package io.ferry.capture.publish;

import io.ferry.capture.stream.Argv;
import io.ferry.resp.SpilledBulk;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How a command with an argument too big for one record travels: the argument is written on the peer
 * into a reserved stage key ({@code SET} of its first chunk, {@code APPEND} of each next one, every chunk
 * an ordinary COMMAND event), then one {@code EVAL} runs the real command with the staged bytes in place
 * and deletes the stage. These are plain Redis commands: every apply agent, of this release or an older
 * one, applies them inside its MULTI with its checkpoint, so a restart on either side resumes consistently,
 * and the change events keep their schema. The script checks each stage's length, so a value whose chunks
 * were not all applied is refused (an error the apply agent dead-letters), never applied in part; a
 * capture that restarts mid-value publishes the value again from its first chunk, whose SET starts the
 * stage over. Pure.
 */
public final class StagedCommandMapper {

    /**
     * KEYS: the stage keys. ARGV[1]: their number n; then, per stage, the 1-based position in the command
     * it fills and its expected length; then the command (name first) with placeholders at those positions.
     */
    static final String SCRIPT = """
            local n = tonumber(ARGV[1])
            local cmd = {}
            for i = 2 * n + 2, #ARGV do cmd[#cmd + 1] = ARGV[i] end
            for i = 1, n do
              local len = redis.call('STRLEN', KEYS[i])
              if len ~= tonumber(ARGV[2 * i + 1]) then
                return redis.error_reply('ERR ferry: staged value ' .. KEYS[i] .. ' holds ' .. len .. ' of '
                  .. ARGV[2 * i + 1] .. ' bytes (chunks missing); the command is not applied')
              end
            end
            for i = 1, n do
              cmd[tonumber(ARGV[2 * i])] = redis.call('GET', KEYS[i])
              redis.call('DEL', KEYS[i])
            end
            return redis.pcall(unpack(cmd))
            """;

    private static final byte[] SCRIPT_BYTES = SCRIPT.getBytes(StandardCharsets.UTF_8);

    /** Room for everything of a stage event but the chunk itself (origin, position, headers, stage key twice). */
    static final int EVENT_OVERHEAD = 1024;

    private StagedCommandMapper() {
    }

    /** One argument of a command to stage: where it is in the argv, its file, the stage key it goes to. */
    public record Staged(int position, SpilledBulk value, byte[] stageKey) {
    }

    /** The arguments of {@code argv} that are placeholders of {@code spilled} values, in order. */
    static List<Integer> spilledPositions(byte[][] argv, Map<byte[], SpilledBulk> spilled) {
        List<Integer> positions = new ArrayList<>();
        for (int i = 1; i < argv.length; i++) {
            if (spilled.containsKey(argv[i])) {
                positions.add(i);
            }
        }
        return positions;
    }

    /** The command that runs {@code argv} on the peer with each staged value in place. */
    static byte[][] eval(byte[][] argv, List<Staged> staged) {
        int n = staged.size();
        byte[][] eval = new byte[3 + n + 1 + 2 * n + argv.length][];
        int i = 0;
        eval[i++] = Argv.ascii("EVAL");
        eval[i++] = SCRIPT_BYTES;
        eval[i++] = Argv.ascii(n);
        for (Staged s : staged) {
            eval[i++] = s.stageKey();
        }
        eval[i++] = Argv.ascii(n);
        for (Staged s : staged) {
            eval[i++] = Argv.ascii(s.position() + 1); // Lua's tables count from 1, the name included
            eval[i++] = Argv.ascii(s.value().length());
        }
        for (byte[] arg : argv) {
            eval[i++] = arg;
        }
        return eval;
    }

    /** One chunk of a staged value: the first replaces whatever an interrupted attempt left, the next ones append. */
    static byte[][] chunk(byte[] stageKey, int index, byte[] data) {
        return new byte[][] {Argv.ascii(index == 0 ? "SET" : "APPEND"), stageKey, data};
    }

    /** Bytes of a value per chunk event, so that each event stays within {@code maxRecordBytes}. */
    static int chunkBytes(int maxRecordBytes, byte[] stageKey) {
        return maxRecordBytes - EVENT_OVERHEAD - 2 * stageKey.length;
    }

    /** Arguments above this many bytes are spilled by the reader and staged: a command of a few such stays in one record. */
    public static long spillThreshold(int maxRecordBytes) {
        return maxRecordBytes / 4;
    }
}
