package io.ferry.topology.conflict;

import java.nio.charset.StandardCharsets;

/**
 * A Redis-style glob over key bytes, as in {@code SCAN MATCH}: {@code *}, {@code ?}, {@code [abc]},
 * {@code [^a-z]}, and {@code \} to escape. Keys are bytes, so the pattern is matched byte by byte.
 * Matching backtracks only to the last {@code *} seen, so it costs at most pattern length times key length.
 */
public record KeyPattern(String glob) {

    public boolean matches(byte[] key) {
        byte[] p = glob.getBytes(StandardCharsets.UTF_8);
        int pi = 0;
        int si = 0;
        int starPattern = -1;
        int starKey = -1;
        while (si < key.length) {
            if (pi < p.length && p[pi] == '*') {
                while (pi < p.length && p[pi] == '*') {
                    pi++;
                }
                starPattern = pi;
                starKey = si;
                continue;
            }
            int next = pi < p.length ? matchOne(p, pi, key[si]) : -1;
            if (next >= 0) {
                pi = next;
                si++;
            } else if (starPattern >= 0) {
                pi = starPattern;
                si = ++starKey;
            } else {
                return false;
            }
        }
        while (pi < p.length && p[pi] == '*') {
            pi++;
        }
        return pi == p.length;
    }

    /** Where the pattern continues if the element at {@code pi} matches byte {@code b}; -1 if it does not. */
    private static int matchOne(byte[] p, int pi, byte b) {
        switch (p[pi]) {
            case '?':
                return pi + 1;
            case '\\':
                if (pi + 1 < p.length) {
                    return p[pi + 1] == b ? pi + 2 : -1;
                }
                return b == '\\' ? pi + 1 : -1;
            case '[': {
                int end = pi + 1;
                boolean negate = end < p.length && p[end] == '^';
                if (negate) {
                    end++;
                }
                boolean found = false;
                while (end < p.length && p[end] != ']') {
                    if (p[end] == '\\' && end + 1 < p.length) {
                        end++;
                        found |= p[end] == b;
                    } else if (end + 2 < p.length && p[end + 1] == '-' && p[end + 2] != ']') {
                        int lo = p[end] & 0xff;
                        int hi = p[end + 2] & 0xff;
                        int v = b & 0xff;
                        found |= Math.min(lo, hi) <= v && v <= Math.max(lo, hi);
                        end += 2;
                    } else {
                        found |= p[end] == b;
                    }
                    end++;
                }
                return found != negate ? Math.min(end + 1, p.length) : -1;
            }
            default:
                return p[pi] == b ? pi + 1 : -1;
        }
    }
}
