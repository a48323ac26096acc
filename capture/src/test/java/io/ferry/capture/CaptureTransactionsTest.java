package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CaptureTransactionsTest {

    @Test
    void aMultiExecBlockAndALuaScriptWritingSeveralKeysEachArriveAsOneEvent() {
        RedisServer redis = TestServers.redis();
        try (CaptureFixture.Running capture = new CaptureFixture.Running("tx", redis)) {
            RedisCommands<String, String> r = capture.redis();
            CaptureFixture.ChangeLog log = capture.log;
            r.set("before", "0");
            r.multi();
            r.set("a", "1");
            r.incr("b");
            r.rpush("c", "x", "y");
            r.exec();
            r.eval("redis.call('SET', KEYS[1], ARGV[1]); redis.call('HSET', KEYS[2], 'f', ARGV[1]); "
                    + "redis.call('SADD', KEYS[3], ARGV[1]); return 1", ScriptOutputType.INTEGER,
                    new String[] {"lua:s", "lua:h", "lua:set"}, "v");
            r.set("end", "1");

            List<ChangeEvent> changes = log.changesUntil("SET end 1", Duration.ofSeconds(30));
            assertEquals(3, changes.size(), "SET before, the MULTI block and the script: " + changes);
            ChangeEvent multi = changes.get(1);
            assertEquals(EventKind.TRANSACTION, multi.getKind());
            assertEquals(List.of("SET a 1", "INCR b", "RPUSH c x y"), multi.getCommands().stream().map(CaptureFixture::text).toList());
            assertEquals(List.of("a", "b", "c"), multi.getKeys().stream().map(CaptureFixture::text).toList());
            ChangeEvent script = changes.get(2);
            assertEquals(EventKind.TRANSACTION, script.getKind());
            assertEquals(List.of("SET lua:s v", "HSET lua:h f v", "SADD lua:set v"),
                    script.getCommands().stream().map(CaptureFixture::text).toList());
            assertEquals(true, script.getPosition().getOffset() > multi.getPosition().getOffset());
        }
    }
}
