package io.ferry.cli.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class TopicAddressTest {

    @Test
    void takesAnInstanceIdAsItsChangesTopic() {
        assertEquals(new TopicAddress("ferry.eu-1.changes", Optional.of("eu-1"), "changes"), TopicAddress.parse("eu-1"));
    }

    @Test
    void takesInstanceAndKind() {
        assertEquals("ferry.b.deadletters", TopicAddress.parse("b:deadletters").topic());
        assertEquals("ferry.b.conflicts", TopicAddress.parse("b:conflicts").topic());
        assertEquals("ferry.b.offsets", TopicAddress.parse("b:offsets").topic());
    }

    @Test
    void recognisesFullTopicNamesAndWhoWritesThem() {
        TopicAddress address = TopicAddress.parse("ferry.a.offsets");
        assertEquals(Optional.of("a"), address.instance());
        assertTrue(address.whyMissing().contains("the capture for instance 'a' has not run yet"), address.whyMissing());
        assertTrue(TopicAddress.parse("ferry.b.deadletters").whyMissing().contains("apply agent of instance 'b'"));
    }

    @Test
    void rejectsUnknownKinds() {
        assertThrows(IllegalArgumentException.class, () -> TopicAddress.parse("a:nonsense"));
    }
}
