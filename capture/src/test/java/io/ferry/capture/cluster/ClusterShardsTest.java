package io.ferry.capture.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.resp.cluster.NodeAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterShardsTest {

    /** CLUSTER NODES of a 3-master cluster with one replica each, mid-migration of slot 5461 (Redis 7.0 format). */
    private static final String NODES = """
            07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
            67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922 [5461->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
            292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383 [5461-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
            6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
            824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006 slave 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 0 1426238317741 6 connected
            e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460
            aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:30007@31007 master - 0 0 7 connected
            """;

    @Test
    void findsEachMasterServingSlotsWithItsReplicasOrderedByLowestSlot() {
        List<ClusterShards.Shard> shards = ClusterShards.parse(NODES, "127.0.0.1").shards();
        assertEquals(4, shards.size(), "a master without slots is a shard too (slots may move to it)");
        assertEquals(new NodeAddress("127.0.0.1", 30007), shards.get(3).master(), "last: it has no lowest slot");
        assertEquals(new NodeAddress("127.0.0.1", 30001), shards.get(0).master());
        assertEquals(0, shards.get(0).lowestSlot());
        assertEquals(5461, shards.get(0).slots());
        assertEquals("07c37dfeb235213a872192d90877d0cd55635b91,e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", shards.get(0).nodes());
        assertEquals(5461, shards.get(1).lowestSlot(), "a slot being migrated still belongs to the master listing it plainly");
        assertEquals(10922 - 5461 + 1, shards.get(1).slots());
        assertEquals(10923, shards.get(2).lowestSlot());
        assertEquals(16384, ClusterShards.parse(NODES, "127.0.0.1").servedSlots());
    }

    @Test
    void aPromotedReplicaIsTheSameShard() {
        ClusterShards.Shard before = ClusterShards.parse(NODES, "127.0.0.1").shards().get(0);
        String promoted = """
                07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 master - 0 1426238317239 8 connected 0-5460
                e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,slave 07c37dfeb235213a872192d90877d0cd55635b91 0 0 1 connected
                """;
        ClusterShards.Shard after = ClusterShards.parse(promoted, "127.0.0.1").shards().get(0);
        assertEquals(new NodeAddress("127.0.0.1", 30004), after.master());
        assertTrue(after.sameShardAs(before.nodes()));
        assertFalse(after.sameShardAs("67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1,6ec23923021cf3ffec47632106199cb7f496ce01"));
    }

    @Test
    void aFailedMasterIsNoShardAndANodeWithoutItsAddressGetsTheAnsweringHost() {
        String nodes = """
                e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca :30001@31001 myself,master - 0 0 1 connected 0-16383
                67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master,fail - 0 1426238316232 2 connected
                """;
        List<ClusterShards.Shard> shards = ClusterShards.parse(nodes, "10.0.0.5").shards();
        assertEquals(1, shards.size());
        assertEquals(new NodeAddress("10.0.0.5", 30001), shards.get(0).master());
    }
}
