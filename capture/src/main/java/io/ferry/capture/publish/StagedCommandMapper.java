package io.ferry.capture.publish;

import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.StagedCommand;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The capture's side of {@link StagedCommand}: which arguments are big enough to spill, where a command's
 * spilled ones are, how big each chunk event may be. Pure.
 */
public final class StagedCommandMapper {

    /** Room for everything of a stage event but the chunk itself (origin, position, headers, stage key twice). */
    static final int EVENT_OVERHEAD = 1024;

    private StagedCommandMapper() {
    }

    /** The arguments of {@code argv} that are placeholders of {@code spilled} values, in order. */
    static List<Integer> spilledPositions(byte[][] argv, Map<byte[], SpilledBulk> spilled) {
        List<Integer> positions = new ArrayList<>();
        for (int i = 1; i < argv.length; i++) {
            if (spilled.containsKey(argv[i])) {
                positions.add(i);
            }
        }
        return positions;
    }

    /** Bytes of a value per chunk event, so that each event stays within {@code maxRecordBytes}. */
    static int chunkBytes(int maxRecordBytes, byte[] stageKey) {
        return maxRecordBytes - EVENT_OVERHEAD - 2 * stageKey.length;
    }

    /** Arguments above this many bytes are spilled by the reader and staged: a command of a few such stays in one record. */
    public static long spillThreshold(int maxRecordBytes) {
        return maxRecordBytes / 4;
    }
}
