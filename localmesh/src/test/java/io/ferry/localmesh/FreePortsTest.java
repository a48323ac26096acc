package io.ferry.localmesh;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreePortsTest {

    @Test
    void portsAreHandedOutOnceAndLeaveRoomForClusterBusPortsBelowTheEphemeralRange() throws Exception {
        Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
        int ephemeralStart = Files.exists(range) ? Integer.parseInt(Files.readAllLines(range).get(0).trim().split("\\s+")[0]) : 32_768;
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            int port = FreePorts.next();
            assertTrue(seen.add(port), "port " + port + " handed out twice");
            assertTrue(port >= 10_000 && port + 10_000 < ephemeralStart, port + " with bus port " + (port + 10_000)
                    + " not below the ephemeral range starting at " + ephemeralStart);
        }
        int lowest = seen.stream().min(Integer::compare).orElseThrow();
        int highest = seen.stream().max(Integer::compare).orElseThrow();
        assertTrue(highest - lowest >= 499, "a run of distinct ports: " + lowest + ".." + highest);
    }
}
