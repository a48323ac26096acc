package io.ferry.capture.stream;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** Small helpers for raw argv: the command name and ASCII numbers, never decoding user data. */
public final class Argv {

    private Argv() {
    }

    /** Upper-case command name (Redis propagates some in lower case, e.g. GEOADD as zadd). */
    public static String name(byte[][] argv) {
        return new String(argv[0], StandardCharsets.ISO_8859_1).toUpperCase(Locale.ROOT);
    }

    public static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    public static byte[] ascii(long value) {
        return ascii(Long.toString(value));
    }

    /** True when {@code arg} equals {@code word} ignoring ASCII case. */
    public static boolean is(byte[] arg, String word) {
        if (arg.length != word.length()) {
            return false;
        }
        for (int i = 0; i < arg.length; i++) {
            int a = arg[i];
            if (a >= 'a' && a <= 'z') {
                a -= 32;
            }
            int b = word.charAt(i);
            if (b >= 'a' && b <= 'z') {
                b -= 32;
            }
            if (a != b) {
                return false;
            }
        }
        return true;
    }

    /** Parses a decimal integer; null when {@code arg} is not one. */
    public static Long number(byte[] arg) {
        if (arg.length == 0 || arg.length > 20) {
            return null;
        }
        try {
            return Long.parseLong(new String(arg, StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
