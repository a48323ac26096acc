package io.ferry.resp.cluster;

/**
 * A cluster's answer that a key's slot is served elsewhere: {@code MOVED} (the slot has a new owner:
 * refresh the slot map) or {@code ASK} (the slot is being migrated and this key already moved: send
 * {@code ASKING} and the command to the importing node, once, without changing the map).
 */
public record Redirect(boolean ask, int slot, NodeAddress target) {

    /** The redirect an error reply carries, or null when it is another error. */
    public static Redirect parse(String errorText) {
        boolean moved = errorText.startsWith("MOVED ");
        if (!moved && !errorText.startsWith("ASK ")) {
            return null;
        }
        String[] words = errorText.split(" ");
        if (words.length != 3) {
            return null;
        }
        try {
            return new Redirect(!moved, Integer.parseInt(words[1]), NodeAddress.parse(words[2]));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
