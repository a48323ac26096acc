package io.ferry.capture.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class TtlMapperTest {

    private static final long NOW = 1_700_000_000_000L;

    private static byte[][] argv(String command) {
        return Arrays.stream(command.split(" ")).map(s -> s.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
    }

    private static String map(String command) {
        return Arrays.stream(TtlMapper.toAbsolute(argv(command), NOW))
                .map(b -> new String(b, StandardCharsets.UTF_8)).collect(Collectors.joining(" "));
    }

    @Test
    void rewritesSetExpiryOptionsToPxat() {
        assertEquals("SET k v PXAT 1700000010000", map("SET k v EX 10"));
        assertEquals("set k v NX PXAT 1700000000250", map("set k v NX px 250"));
        assertEquals("SET k v GET PXAT 1800000000000", map("SET k v GET EXAT 1800000000"));
        assertEquals("SET k v PXAT 1800000000123", map("SET k v PXAT 1800000000123"));
        assertEquals("SET k v KEEPTTL", map("SET k v KEEPTTL"));
    }

    @Test
    void rewritesSetexAndPsetexToSetPxat() {
        assertEquals("SET k v PXAT 1700000005000", map("SETEX k 5 v"));
        assertEquals("SET k v PXAT 1700000000500", map("PSETEX k 500 v"));
    }

    @Test
    void rewritesRelativeExpireCommandsToPexpireat() {
        assertEquals("PEXPIREAT k 1700000060000", map("EXPIRE k 60"));
        assertEquals("PEXPIREAT k 1700000000100 NX", map("PEXPIRE k 100 NX"));
        assertEquals("PEXPIREAT k 1800000000000 GT", map("EXPIREAT k 1800000000 GT"));
        assertEquals("PEXPIREAT k 1800000000000", map("PEXPIREAT k 1800000000000"));
    }

    @Test
    void rewritesGetexToPexpireatOrPersist() {
        assertEquals("PEXPIREAT k 1700000003000", map("GETEX k EX 3"));
        assertEquals("PEXPIREAT k 1700000000007", map("GETEX k PX 7"));
        assertEquals("PEXPIREAT k 1800000000000", map("GETEX k EXAT 1800000000"));
        assertEquals("PEXPIREAT k 1800000000001", map("GETEX k PXAT 1800000000001"));
        assertEquals("PERSIST k", map("GETEX k PERSIST"));
    }

    @Test
    void makesRestoreTtlsAbsolute() {
        assertEquals("RESTORE k 1700000001000 payload ABSTTL", map("RESTORE k 1000 payload"));
        assertEquals("RESTORE k 0 payload REPLACE", map("RESTORE k 0 payload REPLACE"));
        assertEquals("RESTORE k 1800000000000 payload ABSTTL", map("RESTORE k 1800000000000 payload ABSTTL"));
    }

    @Test
    void leavesOtherAndMalformedCommandsAlone() {
        byte[][] hset = argv("HSET h f v");
        assertSame(hset, TtlMapper.toAbsolute(hset, NOW));
        byte[][] bad = argv("EXPIRE k soon");
        assertSame(bad, TtlMapper.toAbsolute(bad, NOW));
        byte[][] valueLooksLikeOption = argv("SET EX EX");
        assertSame(valueLooksLikeOption, TtlMapper.toAbsolute(valueLooksLikeOption, NOW));
    }
}
