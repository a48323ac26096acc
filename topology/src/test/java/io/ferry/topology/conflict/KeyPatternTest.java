package io.ferry.topology.conflict;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class KeyPatternTest {

    private static boolean matches(String glob, String key) {
        return new KeyPattern(glob).matches(key.getBytes(StandardCharsets.UTF_8));
    }

    private static boolean matches(String glob, byte... key) {
        return new KeyPattern(glob).matches(key);
    }

    @Test
    void literalPatternsMatchOnlyTheSameBytes() {
        assertTrue(matches("user:1", "user:1"));
        assertFalse(matches("user:1", "user:2"));
        assertFalse(matches("user:1", "user:10"));
        assertFalse(matches("User:1", "user:1"));
    }

    @Test
    void starMatchesAnyRunOfBytesIncludingNone() {
        assertTrue(matches("session:*", "session:"));
        assertTrue(matches("session:*", "session:abc:def"));
        assertTrue(matches("*", ""));
        assertTrue(matches("*", "anything"));
        assertTrue(matches("*:cart", "u:42:cart"));
        assertTrue(matches("a*b*c", "abc"));
        assertTrue(matches("a*b*c", "a-x-b-y-c"));
        assertFalse(matches("a*b*c", "a-x-c-y-b"));
        assertFalse(matches("session:*", "sessions:1"));
        assertFalse(matches("*:cart", "u:42:carts"));
    }

    @Test
    void consecutiveStarsActAsOne() {
        assertTrue(matches("a**", "a"));
        assertTrue(matches("a**z", "abcz"));
        assertTrue(matches("***", ""));
    }

    @Test
    void questionMarkMatchesExactlyOneByte() {
        assertTrue(matches("h?llo", "hello"));
        assertTrue(matches("h?llo", "hallo"));
        assertFalse(matches("h?llo", "hllo"));
        assertFalse(matches("h?llo", "heello"));
        assertFalse(matches("?", ""));
    }

    @Test
    void bracketsMatchOneByteOfTheSet() {
        assertTrue(matches("h[ae]llo", "hello"));
        assertTrue(matches("h[ae]llo", "hallo"));
        assertFalse(matches("h[ae]llo", "hillo"));
        assertFalse(matches("h[ae]llo", "hllo"));
        assertFalse(matches("h[ae]llo", "haello"));
    }

    @Test
    void caretNegatesTheSet() {
        assertTrue(matches("h[^e]llo", "hallo"));
        assertFalse(matches("h[^e]llo", "hello"));
        assertFalse(matches("h[^e]llo", "hllo"));
        assertTrue(matches("[^a-z]", "7"));
        assertFalse(matches("[^a-z]", "q"));
    }

    @Test
    void rangesMatchInclusiveByteRangesInEitherDirection() {
        assertTrue(matches("h[a-b]llo", "hallo"));
        assertTrue(matches("h[a-b]llo", "hbllo"));
        assertFalse(matches("h[a-b]llo", "hcllo"));
        assertTrue(matches("[a-z]", "a"));
        assertTrue(matches("[a-z]", "z"));
        assertFalse(matches("[a-z]", "A"));
        assertTrue(matches("[z-a]", "m"));
        assertTrue(matches("[0-9a-f]", "c"));
        assertTrue(matches("[0-9a-f]", "5"));
        assertFalse(matches("[0-9a-f]", "g"));
    }

    @Test
    void anEmptySetMatchesNothing() {
        assertFalse(matches("[]", "a"));
        assertFalse(matches("[]", ""));
    }

    @Test
    void backslashEscapesTheNextCharacter() {
        assertTrue(matches("a\\*b", "a*b"));
        assertFalse(matches("a\\*b", "axb"));
        assertTrue(matches("a\\?b", "a?b"));
        assertFalse(matches("a\\?b", "axb"));
        assertTrue(matches("\\[x]", "[x]"));
        assertFalse(matches("\\[x]", "x"));
        assertTrue(matches("\\\\", "\\"));
        assertTrue(matches("\\a", "a"));
    }

    @Test
    void backslashInsideBracketsEscapesTheNextCharacter() {
        assertTrue(matches("[\\]]", "]"));
        assertTrue(matches("[\\-a]", "-"));
        assertTrue(matches("[\\^a]", "^"));
        assertFalse(matches("[\\]]", "\\"));
    }

    @Test
    void aTrailingBackslashMatchesItself() {
        assertTrue(matches("a\\", "a\\"));
        assertFalse(matches("a\\", "a"));
    }

    @Test
    void anUnclosedSetMatchesOneByteOfWhatFollows() {
        assertTrue(matches("x[ab", "xa"));
        assertFalse(matches("x[ab", "xab"));
        assertFalse(matches("x[ab", "xc"));
    }

    @Test
    void theEmptyPatternMatchesOnlyTheEmptyKey() {
        assertTrue(matches("", ""));
        assertFalse(matches("", "a"));
        assertFalse(matches("a", ""));
    }

    @Test
    void aPatternLongerThanTheKeyDoesNotMatch() {
        assertFalse(matches("abcd", "abc"));
        assertFalse(matches("abc?", "abc"));
        assertFalse(matches("abc[d]", "abc"));
        assertFalse(matches("abc\\*", "abc"));
        assertTrue(matches("abc*", "abc"));
    }

    @Test
    void binaryKeysAreMatchedByteByByte() {
        assertTrue(matches("??x", (byte) 0x00, (byte) 0xff, (byte) 'x'));
        assertTrue(matches("*x", (byte) 0x00, (byte) 0xff, (byte) 'x'));
        assertTrue(matches("k:*", (byte) 'k', (byte) ':', (byte) 0x80, (byte) 0x00));
        assertFalse(matches("[a-z]", (byte) 0xe1)); // 0xe1 is above 'z' as an unsigned byte
        assertTrue(matches("[^a-z]", (byte) 0xe1));
        assertTrue(matches("\u0000", (byte) 0));
    }

    @Test
    void aMultiByteCharacterIsSeveralBytes() {
        assertTrue(matches("caf\u00e9", "caf\u00e9"));
        assertFalse(matches("caf?", "caf\u00e9"));
        assertTrue(matches("caf??", "caf\u00e9"));
        assertTrue(matches("caf*", "caf\u00e9"));
    }
    @Test
    void aPatternWithSeveralStarsFailsFastOnALongKey() {
        byte[] key = ":".repeat(200).getBytes(StandardCharsets.UTF_8);
        assertTimeoutPreemptively(Duration.ofMillis(200), () -> assertFalse(new KeyPattern("*:*:*:*:z").matches(key)));
    }
}
