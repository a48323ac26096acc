package io.ferry.resp.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.resp.RespMessage;
import io.ferry.resp.RespReader;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Topology replies decoded from literal RESP, for the cases a healthy test cluster does not show. */
class SlotMapTest {

    private static RespMessage decode(String wire) {
        RespReader reader = new RespReader();
        byte[] bytes = wire.getBytes(StandardCharsets.US_ASCII);
        reader.feed(bytes, 0, bytes.length);
        return reader.next();
    }

    private static String bulk(String s) {
        return "$" + s.length() + "\r\n" + s + "\r\n";
    }

    private static String node(String ip, String endpoint, int port, Integer tlsPort, String role, String health) {
        int fields = tlsPort == null ? 6 : 7;
        return "*" + (fields * 2) + "\r\n" + bulk("id") + bulk("abc") + bulk("port") + ":" + port + "\r\n"
                + (tlsPort == null ? "" : bulk("tls-port") + ":" + tlsPort + "\r\n")
                + bulk("ip") + bulk(ip) + bulk("endpoint") + bulk(endpoint) + bulk("role") + bulk(role)
                + bulk("health") + bulk(health);
    }

    private static String shard(String slots, String... nodes) {
        return "*4\r\n" + bulk("slots") + slots + bulk("nodes") + "*" + nodes.length + "\r\n" + String.join("", nodes);
    }

    @Test
    void takesTheOnlineMasterOfEachShardAndItsEndpoint() {
        RespMessage reply = decode("*2\r\n"
                + shard("*4\r\n:0\r\n:99\r\n:200\r\n:16383\r\n",
                        node("10.0.0.1", "redis-a.example", 7000, null, "master", "online"),
                        node("10.0.0.2", "redis-b.example", 7001, null, "replica", "online"))
                + shard("*2\r\n:100\r\n:199\r\n",
                        node("10.0.0.3", "?", 7002, null, "master", "fail"),
                        node("10.0.0.4", "?", 7003, null, "master", "online")));
        SlotMap map = SlotMap.fromShards(reply, "seed", false);
        assertEquals(new NodeAddress("redis-a.example", 7000), map.owner(0));
        assertEquals(new NodeAddress("redis-a.example", 7000), map.owner(16383));
        assertEquals(new NodeAddress("10.0.0.4", 7003), map.owner(150), "the promoted replica, by its ip when the endpoint is unknown");
        assertEquals(0, map.unservedSlots());
        assertEquals(2, map.masters().size());
    }

    @Test
    void usesTheTlsPortWhenConnectingWithTlsAndLeavesUncoveredSlotsUnserved() {
        RespMessage reply = decode("*1\r\n" + shard("*2\r\n:0\r\n:8191\r\n", node("10.0.0.1", "", 7000, 17000, "master", "online")));
        SlotMap map = SlotMap.fromShards(reply, "10.9.9.9", true);
        assertEquals(new NodeAddress("10.0.0.1", 17000), map.owner(8191));
        assertNull(map.owner(8192));
        assertEquals(8192, map.unservedSlots());
    }

    @Test
    void readsClusterSlotsWithAnUnknownIpAsTheNodeThatAnswered() {
        RespMessage reply = decode("*2\r\n"
                + "*4\r\n:0\r\n:8191\r\n*3\r\n" + bulk("") + ":7000\r\n" + bulk("id1") + "*3\r\n" + bulk("10.0.0.2") + ":7001\r\n" + bulk("id2")
                + "*3\r\n:8192\r\n:16383\r\n*3\r\n" + bulk("10.0.0.3") + ":7002\r\n" + bulk("id3"));
        SlotMap map = SlotMap.fromSlots(reply, "10.0.0.1");
        assertEquals(new NodeAddress("10.0.0.1", 7000), map.owner(42));
        assertEquals(new NodeAddress("10.0.0.3", 7002), map.owner(16383));
        assertEquals(0, map.unservedSlots());
    }

    @Test
    void refusesAnErrorOrAnImpossibleSlotRange() {
        assertThrows(IllegalArgumentException.class, () -> SlotMap.fromShards(decode("-ERR This instance has cluster support disabled\r\n"), "x", false));
        assertThrows(IllegalArgumentException.class, () -> SlotMap.fromSlots(decode("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n" + bulk("h") + ":1\r\n"), "x"));
    }
}
