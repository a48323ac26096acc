package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/**
 * The image's jar is this module with its dependencies: no Kafka broker, no Redis binaries, no demo.
 * Without ferry-demo.jar, {@code ferry demo} says where the demo is instead of failing obscurely.
 */
class ImageJarTest {

    @Test
    void carriesNoBrokerNoRedisAndNoDemo() {
        for (String demoOnly : new String[] {"kafka.server.KafkaRaftServer", "io.ferry.localmesh.LocalMesh", "scala.Option",
                "redis.embedded.RedisServer", "io.ferry.cli.demo.DemoCommand"}) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName(demoOnly), demoOnly + " must not be in ferry.jar");
        }
    }

    @Test
    void demoWithoutTheDemoJarSaysWhereItIs() {
        StringWriter err = new StringWriter();
        int code = FerryCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "demo");
        assertEquals(ExitCode.BAD_CONFIG, code, err.toString());
        assertTrue(err.toString().contains("./ferry demo"), err.toString());
    }
}
