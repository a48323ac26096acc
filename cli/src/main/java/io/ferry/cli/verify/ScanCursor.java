package io.ferry.cli.verify;

/**
 * Where a SCAN of one instance has got to: which of its nodes (a standalone server has one, a cluster one
 * per master) and that node's SCAN cursor. Each node is scanned to the end before the next one begins.
 */
record ScanCursor(int node, String cursor) {

    static final ScanCursor INITIAL = new ScanCursor(0, "0");

    /** Where to go on after the node answered {@code replyCursor}: along it, to the next node, or null when all are done. */
    ScanCursor after(String replyCursor, int nodes) {
        if (!replyCursor.equals("0")) {
            return new ScanCursor(node, replyCursor);
        }
        return node + 1 < nodes ? new ScanCursor(node + 1, "0") : null;
    }
}
