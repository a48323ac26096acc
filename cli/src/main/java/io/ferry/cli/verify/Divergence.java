package io.ferry.cli.verify;

import java.util.Map;

/**
 * A key whose copies still differed after every recheck.
 *
 * @param copies    instance id → its copy at the last read, in the order the instances were compared
 * @param touchedAt instance id → when its copy was last touched before ferry verify first read that content
 *                  (Unix ms, -1 unknown): the lww repair's notion of "written last"
 */
record Divergence(int db, byte[] key, String reason, Map<String, KeyCopy> copies, Map<String, Long> touchedAt) {
}
