package io.ferry.cli;

import io.ferry.topology.ConfigException;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --config FILE}: the mesh file every command reads (or FERRY_CONFIG), with FERRY_* overrides applied. */
public final class MeshOptions {

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "${env:FERRY_CONFIG}",
            description = "Mesh file (YAML). Default: $FERRY_CONFIG. Every value can be overridden with FERRY_<PATH>, "
                    + "e.g. FERRY_KAFKA_BOOTSTRAP, FERRY_INSTANCES_EU_1_REDIS_PASSWORD.")
    Path config;

    public Path file() {
        if (config == null) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "no mesh file: pass --config FILE or set FERRY_CONFIG");
        }
        return config;
    }

    /** The validated mesh; a bad file fails with {@link ExitCode#BAD_CONFIG} listing every problem. */
    public MeshConfig load() {
        Path file = file();
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(file.toString(), List.of("no such file (give the path of the mesh YAML file)"));
        }
        return MeshConfigLoader.load(file);
    }

    /** The instance {@code id} of the mesh, or BAD_CONFIG naming the instances there are. */
    public static InstanceConfig instance(MeshConfig mesh, String id) {
        return mesh.find(id).orElseThrow(() -> new OperatorException(ExitCode.BAD_CONFIG,
                "instance '" + id + "' is not in mesh '" + mesh.mesh() + "'; its instances are " + mesh.instances().keySet()));
    }
}
