package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyExpiriesTest {

    @Test
    void roundTripsInKeyOrder() {
        KeyExpiries expiries = KeyExpiries.of(Map.of(2, 1795472915000L, 0, 1795472914087L));
        assertEquals("0=1795472914087,2=1795472915000", new String(expiries.encode(), StandardCharsets.US_ASCII));
        assertEquals(expiries.byIndex(), KeyExpiries.decode(expiries.encode()).byIndex());
    }

    @Test
    void emptyIsNone() {
        assertTrue(KeyExpiries.of(Map.of()).isEmpty());
        assertTrue(KeyExpiries.decode(new byte[0]).isEmpty());
    }

    @Test
    void aMalformedHeaderIsRejectedWithWhatItShouldBe() {
        for (String bad : new String[] {"x", "0=", "=5", "-1=5", "0=0", "0=5,,1=6", "0=abc"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> KeyExpiries.decode(bad.getBytes(StandardCharsets.US_ASCII)), bad);
            assertTrue(e.getMessage().contains("<key index>=<absolute expiry ms>"), e.getMessage());
        }
    }
}
