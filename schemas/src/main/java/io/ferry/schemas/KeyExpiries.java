package io.ferry.schemas;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@link ReplicationPolicy#EXPIRY_HEADER} value: for some keys of a change event (by their index in
 * the event's key list), the absolute expiry in epoch milliseconds the key had on its origin right after
 * the write. Text, {@code 0=1795472914087,2=1795472915000}, so Kafka's own tools show it as it is.
 */
public final class KeyExpiries {

    public static final KeyExpiries NONE = new KeyExpiries(Collections.emptyMap());

    private final Map<Integer, Long> byIndex;

    private KeyExpiries(Map<Integer, Long> byIndex) {
        this.byIndex = byIndex;
    }

    /** @param byIndex key index → absolute expiry (ms) */
    public static KeyExpiries of(Map<Integer, Long> byIndex) {
        return byIndex.isEmpty() ? NONE : new KeyExpiries(Collections.unmodifiableMap(new TreeMap<>(byIndex)));
    }

    public Map<Integer, Long> byIndex() {
        return byIndex;
    }

    public boolean isEmpty() {
        return byIndex.isEmpty();
    }

    public byte[] encode() {
        StringBuilder text = new StringBuilder();
        byIndex.forEach((index, at) -> text.append(text.length() == 0 ? "" : ",").append(index).append('=').append(at));
        return text.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** @throws IllegalArgumentException when the header is not {@code index=millis[,…]} */
    public static KeyExpiries decode(byte[] header) {
        String text = new String(header, StandardCharsets.US_ASCII);
        if (text.isEmpty()) {
            return NONE;
        }
        Map<Integer, Long> byIndex = new TreeMap<>();
        for (String entry : text.split(",")) {
            int eq = entry.indexOf('=');
            try {
                int index = Integer.parseInt(entry.substring(0, Math.max(eq, 0)));
                long at = Long.parseLong(entry.substring(eq + 1));
                if (index < 0 || at <= 0) {
                    throw new NumberFormatException();
                }
                byIndex.put(index, at);
            } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                throw new IllegalArgumentException("header " + ReplicationPolicy.EXPIRY_HEADER + " entry '" + entry
                        + "' is not <key index>=<absolute expiry ms>");
            }
        }
        return new KeyExpiries(Collections.unmodifiableMap(byIndex));
    }

    @Override
    public String toString() {
        return new String(encode(), StandardCharsets.US_ASCII);
    }
}
