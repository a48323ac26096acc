package io.ferry.schemas;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * How a command with arguments too big for one record travels (part of the wire contract): each such
 * argument is written on the peer into a reserved stage key ({@link ReplicationPolicy#stageKey}) by
 * ordinary commands, {@code SET} of its first chunk then {@code APPEND} of each next one, every chunk its
 * own COMMAND event; then one {@code EVAL} of {@link #SCRIPT} runs the real command with the staged bytes in
 * place and deletes the stages. Plain Redis commands: every apply agent, of this release or an older one,
 * applies them inside its MULTI with its checkpoint, so a restart on either side resumes consistently, and
 * change events keep their schema. The script checks each stage's length, so a value whose chunks were not
 * all applied is refused with an error (dead-lettered), never applied in part; chunk 0's SET starts a stage
 * over, so a value published again from its start (a capture restarted mid-value) is applied once.
 */
public final class StagedCommand {

    /**
     * KEYS: the stage keys. ARGV[1]: their number n; then, per stage, the 1-based position in the command it
     * fills and its expected length; then the command (name first) with placeholders at those positions.
     */
    public static final String SCRIPT = """
            -- ferry: run a command whose big arguments were staged
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

    /** One staged argument: its position in the command's argv (0 is the name), its length, its stage key. */
    public record Stage(int position, long length, byte[] stageKey) {
    }

    private StagedCommand() {
    }

    /** The EVAL argv (name first) that runs {@code argv} with each stage's bytes at its position. */
    public static byte[][] eval(byte[][] argv, List<Stage> stages) {
        int n = stages.size();
        byte[][] eval = new byte[3 + n + 1 + 2 * n + argv.length][];
        int i = 0;
        eval[i++] = ascii("EVAL");
        eval[i++] = SCRIPT_BYTES;
        eval[i++] = ascii(Integer.toString(n));
        for (Stage stage : stages) {
            eval[i++] = stage.stageKey();
        }
        eval[i++] = ascii(Integer.toString(n));
        for (Stage stage : stages) {
            eval[i++] = ascii(Integer.toString(stage.position() + 1)); // Lua counts from 1, the name included
            eval[i++] = ascii(Long.toString(stage.length()));
        }
        for (byte[] arg : argv) {
            eval[i++] = arg;
        }
        return eval;
    }

    /** Chunk {@code index} of a staged value: the first replaces whatever an interrupted attempt left, the next ones append. */
    public static byte[][] chunk(byte[] stageKey, int index, byte[] data) {
        return new byte[][] {ascii(index == 0 ? "SET" : "APPEND"), stageKey, data};
    }

    /**
     * The command an EVAL of {@link #SCRIPT} runs (name first; staged arguments as empty placeholders), given
     * the EVAL's arguments after its name; null when they are not such an EVAL.
     */
    public static byte[][] inner(List<byte[]> evalArgs) {
        List<Stage> stages = stages(evalArgs);
        if (stages == null) {
            return null;
        }
        int from = 2 + 3 * stages.size() + 1;
        byte[][] argv = evalArgs.subList(from, evalArgs.size()).toArray(byte[][]::new);
        for (Stage stage : stages) {
            if (stage.position() > 0 && stage.position() < argv.length) {
                argv[stage.position()] = new byte[0];
            }
        }
        return argv;
    }

    /** The stages an EVAL of {@link #SCRIPT} reads, given its arguments after its name; null when it is not one. */
    public static List<Stage> stages(List<byte[]> evalArgs) {
        if (evalArgs.size() < 3 || !Arrays.equals(evalArgs.get(0), SCRIPT_BYTES)) {
            return null;
        }
        try {
            int n = Integer.parseInt(new String(evalArgs.get(1), StandardCharsets.US_ASCII));
            if (n < 0 || 2 + 3 * n + 1 >= evalArgs.size()) {
                return null;
            }
            List<Stage> stages = new java.util.ArrayList<>(n);
            for (int s = 0; s < n; s++) {
                int at = 2 + n + 1 + 2 * s;
                stages.add(new Stage(Integer.parseInt(new String(evalArgs.get(at), StandardCharsets.US_ASCII)) - 1,
                        Long.parseLong(new String(evalArgs.get(at + 1), StandardCharsets.US_ASCII)), evalArgs.get(2 + s)));
            }
            return stages;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
