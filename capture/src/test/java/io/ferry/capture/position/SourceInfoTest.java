package io.ferry.capture.position;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SourceInfoTest {

    private static final String REPLICATION = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
            + "master_replid:0d16d6ea63f47c6605402def604d41d12da05212\r\n"
            + "master_replid2:9a1b1f0e3c4d5e6f708192a3b4c5d6e7f8091a2b\r\nmaster_repl_offset:815\r\nsecond_repl_offset:12\r\n"
            + "repl_backlog_active:1\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:815\r\n";

    @Test
    void readsReplicationIdsOffsetBacklogSizeAndKeysOverEveryDb() {
        SourceInfo info = SourceInfo.parse(REPLICATION, "# Keyspace\r\ndb0:keys=120,expires=3,avg_ttl=0\r\ndb3:keys=7,expires=0,avg_ttl=0\r\n");
        assertEquals("0d16d6ea63f47c6605402def604d41d12da05212", info.replid());
        assertEquals("9a1b1f0e3c4d5e6f708192a3b4c5d6e7f8091a2b", info.replid2());
        assertEquals(815, info.offset());
        assertEquals(1_048_576, info.backlogSize());
        assertEquals(127, info.keys());
    }

    @Test
    void anEmptyKeyspaceHasNoKeysAndAMissingReplyIsUnknown() {
        assertEquals(0, SourceInfo.parse(REPLICATION, "# Keyspace\r\n").keys());
        SourceInfo none = SourceInfo.parse(null, null);
        assertEquals(-1, none.keys());
        assertEquals(-1, none.offset());
    }

    @Test
    void continuesTheHistoryItIsOnOrTheOneItTookOver() {
        SourceInfo info = SourceInfo.parse(REPLICATION, null);
        assertTrue(info.continues("0d16d6ea63f47c6605402def604d41d12da05212"));
        assertTrue(info.continues("9a1b1f0e3c4d5e6f708192a3b4c5d6e7f8091a2b"));
        assertFalse(info.continues("ffff"));
        assertFalse(info.continues(null));
    }
}
