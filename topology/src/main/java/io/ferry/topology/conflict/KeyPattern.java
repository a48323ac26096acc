package io.ferry.topology.conflict;

import java.nio.charset.StandardCharsets;

/**
 * A Redis-style glob over key bytes, as in {@code SCAN MATCH}: {@code *}, {@code ?}, {@code [abc]},
 * {@code [^a-z]}, and {@code \} to escape. Keys are bytes, so the pattern is matched byte by byte.
 */
public record KeyPattern(String glob) {

    public boolean matches(byte[] key) {
        byte[] pattern = glob.getBytes(StandardCharsets.UTF_8);
        return match(pattern, 0, key, 0);
    }

    private static boolean match(byte[] p, int pi, byte[] s, int si) {
        while (pi < p.length) {
            byte c = p[pi];
            switch (c) {
                case '*' -> {
                    while (pi + 1 < p.length && p[pi + 1] == '*') {
                        pi++;
                    }
                    if (pi + 1 == p.length) {
                        return true;
                    }
                    for (int k = si; k <= s.length; k++) {
                        if (match(p, pi + 1, s, k)) {
                            return true;
                        }
                    }
                    return false;
                }
                case '?' -> {
                    if (si >= s.length) {
                        return false;
                    }
                    si++;
                    pi++;
                }
                case '[' -> {
                    if (si >= s.length) {
                        return false;
                    }
                    int end = pi + 1;
                    boolean negate = end < p.length && p[end] == '^';
                    if (negate) {
                        end++;
                    }
                    boolean found = false;
                    while (end < p.length && p[end] != ']') {
                        if (p[end] == '\\' && end + 1 < p.length) {
                            end++;
                            found |= p[end] == s[si];
                        } else if (end + 2 < p.length && p[end + 1] == '-' && p[end + 2] != ']') {
                            int lo = p[end] & 0xff;
                            int hi = p[end + 2] & 0xff;
                            int b = s[si] & 0xff;
                            found |= Math.min(lo, hi) <= b && b <= Math.max(lo, hi);
                            end += 2;
                        } else {
                            found |= p[end] == s[si];
                        }
                        end++;
                    }
                    if (found == negate) {
                        return false;
                    }
                    si++;
                    pi = Math.min(end + 1, p.length);
                }
                case '\\' -> {
                    if (pi + 1 < p.length) {
                        pi++;
                    }
                    if (si >= s.length || p[pi] != s[si]) {
                        return false;
                    }
                    si++;
                    pi++;
                }
                default -> {
                    if (si >= s.length || c != s[si]) {
                        return false;
                    }
                    si++;
                    pi++;
                }
            }
        }
        return si == s.length;
    }
}
