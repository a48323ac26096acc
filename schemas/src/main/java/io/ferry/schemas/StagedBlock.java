package io.ferry.schemas;

import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * How a MULTI/EXEC block (or one command) too big for one record travels (part of the wire contract, next to
 * {@link StagedCommand}): its commands are written on the peer into a reserved list ({@link ReplicationPolicy#stageKey})
 * by ordinary commands, {@code DEL} + {@code RPUSH} of the first chunk then {@code RPUSH} of each next one, every chunk
 * its own event; then one {@code EVAL} of {@link #SCRIPT} runs every staged command with {@code redis.pcall}, in one
 * script (atomic like the EXEC it stands for), and deletes the stage. Plain Redis commands again, so apply agents of
 * any release apply them inside their MULTI with their checkpoint, and change events keep their schema.
 *
 * <p>Layout: a sequence of arguments, per command a header {@code "<argc>"} followed by {@code " <position>:<length>"}
 * for each argument staged as a big value (that argument then holds the string stage key, see {@link StagedCommand}),
 * then the argc arguments (name first). The sequence is packed ({@link Packer}) into list elements of about
 * {@link #ELEMENT_BYTES}, each argument as a 4-byte big-endian length and its bytes, so that neither an agent nor the
 * script holds one object per tiny argument. The script checks the list's length, so a block whose chunks were not all applied is
 * refused (an error, dead-lettered), never applied in part. Like EXEC, a command failing at run time does not stop
 * the others; the script then answers an error naming the failures, which the apply agent dead-letters.
 */
public final class StagedBlock {

    /** Lua's unpack takes about 8000 values: a command with more arguments cannot be run by the script. */
    public static final int MAX_ARGS = 7000;

    /** Commands Redis refuses inside a script ({@code noscript}): a block holding one cannot be staged. */
    public static final Set<String> NOT_IN_SCRIPTS = Set.of("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO",
            "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "SCRIPT", "FUNCTION", "CLIENT", "MONITOR", "SUBSCRIBE",
            "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "SAVE", "BGSAVE", "BGREWRITEAOF",
            "SHUTDOWN", "REPLICAOF", "SLAVEOF", "FAILOVER", "SYNC", "PSYNC", "RESET", "DEBUG", "AUTH", "HELLO", "QUIT");

    /** KEYS[1]: the stage list. ARGV: its (packed) element count, the command count, the db the stage is in. */
    public static final String SCRIPT = """
            -- ferry: run a MULTI/EXEC block staged as a list
            local stage, base = KEYS[1], ARGV[3]
            local total = redis.call('LLEN', stage)
            if total ~= tonumber(ARGV[1]) then
              return redis.error_reply('ERR ferry: staged block ' .. stage .. ' holds ' .. total .. ' of ' .. ARGV[1]
                .. ' elements (chunks missing); the block is not applied')
            end
            local cur, at, buf, bi, el, pos = base, 0, {}, 1, '', 1
            local function nxt()
              if pos > #el then
                if bi > #buf then
                  if cur ~= base then redis.call('SELECT', base) end
                  buf = redis.call('LRANGE', stage, at, at + 7)
                  if cur ~= base then redis.call('SELECT', cur) end
                  at = at + #buf
                  bi = 1
                end
                el = buf[bi]
                buf[bi] = false
                bi = bi + 1
                pos = 1
              end
              local b1, b2, b3, b4 = string.byte(el, pos, pos + 3)
              local len = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
              local arg = string.sub(el, pos + 4, pos + 3 + len)
              pos = pos + 4 + len
              return arg
            end
            local failed, first = 0, nil
            for c = 1, tonumber(ARGV[2]) do
              local argc, staged, cmd = nil, {}, {}
              for word in string.gmatch(nxt(), '%S+') do
                if argc then staged[#staged + 1] = word else argc = tonumber(word) end
              end
              for i = 1, argc do cmd[i] = nxt() end
              local bad = nil
              for _, s in ipairs(staged) do
                local p, len = string.match(s, '(%d+):(%d+)')
                p = tonumber(p)
                local key = cmd[p]
                if redis.call('STRLEN', key) ~= tonumber(len) then
                  bad = 'staged value ' .. key .. ' incomplete (chunks missing)'
                else
                  cmd[p] = redis.call('GET', key)
                end
                redis.call('DEL', key)
              end
              local r
              if bad then r = {err = bad} else r = redis.pcall(unpack(cmd)) end
              if type(r) == 'table' and r.err then
                failed = failed + 1
                if not first then first = '#' .. c .. ' ' .. tostring(cmd[1]) .. ': ' .. r.err end
              elseif string.upper(cmd[1]) == 'SELECT' then
                cur = cmd[2]
              end
            end
            if cur ~= base then redis.call('SELECT', base) end
            redis.call('DEL', stage)
            if failed > 0 then
              return redis.error_reply('ERR ferry: ' .. failed .. ' of ' .. ARGV[2]
                .. ' commands of a staged block failed (the others were applied, as EXEC does); first ' .. first)
            end
            return tonumber(ARGV[2])
            """;

    /** Answers its only argument as an error: what a peer runs for a block that could not be sent (a dead letter). */
    public static final String REFUSAL_SCRIPT = "-- ferry: a change the origin could not send\nreturn redis.error_reply(ARGV[1])";

    private static final byte[] SCRIPT_BYTES = SCRIPT.getBytes(StandardCharsets.UTF_8);

    /** Packed list elements are cut at about this size (one argument bigger than it takes an element of its own). */
    public static final int ELEMENT_BYTES = 64 * 1024;

    /** Packs a staged block's arguments into list elements. */
    public static final class Packer {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        private final int elementBytes;
        private long elements;

        public Packer(int elementBytes) {
            this.elementBytes = elementBytes;
        }

        /** Adds one argument; returns the element it completed (the one before it), or null. */
        public byte[] add(byte[] arg) {
            byte[] done = null;
            if (out.size() > 0 && (long) out.size() + 4 + arg.length > elementBytes) {
                done = finish();
            }
            int n = arg.length;
            out.write(n >>> 24);
            out.write(n >>> 16);
            out.write(n >>> 8);
            out.write(n);
            out.write(arg, 0, n);
            return done;
        }

        /** The last element, or null when nothing is left. */
        public byte[] finish() {
            if (out.size() == 0) {
                return null;
            }
            byte[] element = out.toByteArray();
            out.reset();
            elements++;
            return element;
        }

        /** Elements completed so far. */
        public long elements() {
            return elements;
        }
    }

    /** The arguments packed in one list element. */
    public static java.util.List<byte[]> unpack(byte[] element) {
        java.util.List<byte[]> args = new java.util.ArrayList<>();
        java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(element);
        while (buffer.hasRemaining()) {
            byte[] arg = new byte[buffer.getInt()];
            buffer.get(arg);
            args.add(arg);
        }
        return args;
    }

    private StagedBlock() {
    }

    /** The EVAL argv that runs the block staged in {@code stageKey}. */
    public static byte[][] eval(byte[] stageKey, long elements, long commands, int db) {
        return new byte[][] {ascii("EVAL"), SCRIPT_BYTES, ascii("1"), stageKey, ascii(Long.toString(elements)),
                ascii(Long.toString(commands)), ascii(Integer.toString(db))};
    }

    /** The EVAL argv a peer answers with {@code reason} as an error, so its apply agent dead-letters it. */
    public static byte[][] refusal(String reason) {
        return new byte[][] {ascii("EVAL"), REFUSAL_SCRIPT.getBytes(StandardCharsets.UTF_8), ascii("0"),
                ("ERR ferry: " + reason).getBytes(StandardCharsets.UTF_8)};
    }

    /** The header element of a staged command of {@code argc} arguments (name included), with its staged positions (1-based) and lengths. */
    public static byte[] header(int argc, long[] stagedPositionsAndLengths) {
        StringBuilder header = new StringBuilder().append(argc);
        for (int i = 0; i + 1 < stagedPositionsAndLengths.length; i += 2) {
            header.append(' ').append(stagedPositionsAndLengths[i]).append(':').append(stagedPositionsAndLengths[i + 1]);
        }
        return ascii(header.toString());
    }

    /** True when {@code evalArgs} (an EVAL's arguments after its name) run {@link #SCRIPT}. */
    public static boolean isBlock(java.util.List<byte[]> evalArgs) {
        return !evalArgs.isEmpty() && java.util.Arrays.equals(evalArgs.get(0), SCRIPT_BYTES);
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
