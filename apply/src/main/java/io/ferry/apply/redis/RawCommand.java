package io.ferry.apply.redis;

import io.ferry.schemas.StagedCommand;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * One Redis command as raw argv: the name and its arguments byte for byte. Unknown and module
 * commands pass through unchanged; nothing here is ever decoded as text except the name.
 */
public record RawCommand(String name, List<byte[]> args) {

    public RawCommand {
        name = name.toUpperCase(Locale.ROOT);
        args = List.copyOf(args);
    }

    public static RawCommand of(String name, byte[]... args) {
        return new RawCommand(name, List.of(args));
    }

    public static RawCommand of(String name, String... args) {
        return new RawCommand(name, java.util.Arrays.stream(args).map(a -> a.getBytes(StandardCharsets.UTF_8)).toList());
    }

    /**
     * The command a staged EVAL runs ({@link StagedCommand}; its big arguments as empty placeholders), so that
     * its reply is judged like that command's; this command itself otherwise.
     */
    public RawCommand unstaged() {
        byte[][] inner = "EVAL".equals(name) ? StagedCommand.inner(args) : null;
        if (inner == null || inner.length == 0) {
            return this;
        }
        return new RawCommand(new String(inner[0], StandardCharsets.UTF_8), java.util.Arrays.asList(inner).subList(1, inner.length));
    }

    /** The first argument, the key for most commands; null when there is none. */
    public byte[] firstArg() {
        return args.isEmpty() ? null : args.get(0);
    }

    /** True when any argument from {@code from} on equals {@code option} ignoring case (ASCII options such as NX). */
    public boolean hasOption(int from, String option) {
        for (int i = from; i < args.size(); i++) {
            byte[] arg = args.get(i);
            if (arg.length == option.length() && new String(arg, StandardCharsets.US_ASCII).equalsIgnoreCase(option)) {
                return true;
            }
        }
        return false;
    }
}
