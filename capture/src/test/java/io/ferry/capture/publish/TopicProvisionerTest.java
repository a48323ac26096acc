package io.ferry.capture.publish;

import static io.ferry.capture.publish.TopicProvisioner.RetentionAction.KEEP;
import static io.ferry.capture.publish.TopicProvisioner.RetentionAction.SET;
import static io.ferry.capture.publish.TopicProvisioner.RetentionAction.WARN_SHORTER;
import static io.ferry.capture.publish.TopicProvisioner.retentionAction;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TopicProvisionerTest {

    private static final long H = 3_600_000L;

    @Test
    void aTopicFollowingTheBrokersDefaultIsRaisedToTheMeshFilesRetentionButNeverShortened() {
        assertEquals(SET, retentionAction(336 * H, 168 * H, false));
        assertEquals(SET, retentionAction(-1, 168 * H, false), "no limit is longer than any");
        assertEquals(KEEP, retentionAction(168 * H, 720 * H, false), "a longer broker default stays");
        assertEquals(KEEP, retentionAction(168 * H, -1, false));
    }

    @Test
    void ferrysOwnDefaultOnATopicFollowsTheMeshFileEitherWay() {
        assertEquals(SET, retentionAction(336 * H, 168 * H, true));
        assertEquals(SET, retentionAction(72 * H, 168 * H, true));
        assertEquals(KEEP, retentionAction(168 * H, 168 * H, true));
    }

    @Test
    void anOperatorsOwnSettingIsNeverChangedAndAShorterOneIsWarnedAbout() {
        assertEquals(WARN_SHORTER, retentionAction(168 * H, 24 * H, true));
        assertEquals(WARN_SHORTER, retentionAction(-1, 720 * H, true));
        assertEquals(KEEP, retentionAction(168 * H, 720 * H, true));
        assertEquals(KEEP, retentionAction(168 * H, -1, true));
    }

    @Test
    void hoursAreReadable() {
        assertEquals("168 h", TopicProvisioner.hours(168 * H));
        assertEquals("no time limit", TopicProvisioner.hours(-1));
        assertEquals("90 s", TopicProvisioner.hours(90_000));
    }
}
