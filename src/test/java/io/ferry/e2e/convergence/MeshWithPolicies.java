package io.ferry.e2e.convergence;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.localmesh.KafkaCluster;
import io.ferry.topology.MeshConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.function.Function;

/**
 * Starts a {@link MeshUnderTest} whose mesh file has a {@code conflicts:} section. The section names
 * instance ids, which get their random suffix only when the servers start, so it is appended to the
 * mesh file after that and before any agent reads it.
 */
final class MeshWithPolicies {

    private MeshWithPolicies() {
    }

    /**
     * @param conflicts the {@code conflicts:} section (top-level YAML) given the mesh, for its ids; empty for
     *                  the default (lww everywhere)
     */
    static MeshUnderTest start(KafkaCluster kafka, Function<MeshUnderTest, String> conflicts, String... names) {
        MeshUnderTest mesh = MeshUnderTest.servers(kafka, null, names);
        try {
            String section = conflicts.apply(mesh);
            if (!section.isBlank()) {
                var file = mesh.local().configFile();
                Files.writeString(file, section.endsWith("\n") ? section : section + "\n", StandardOpenOption.APPEND);
                MeshConfigLoader.load(file, Map.of()); // a bad section fails here, naming the key, not in an agent's log
                System.out.print("mesh file's conflicts section:\n" + section);
            }
            mesh.startAgents();
            return mesh;
        } catch (IOException e) {
            mesh.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException | Error e) {
            mesh.close();
            throw e;
        }
    }
}
