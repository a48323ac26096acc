package io.ferry.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.junit.jupiter.api.Test;

/** The ACLs per role are one list: the README's commands and the chart's Strimzi example are rendered from it. */
class KafkaAccessTest {

    @Test
    void theReadmeListsExactlyTheGrantsOfEveryRole() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        String block = KafkaAccess.kafkaAclsDocumentation("prod", "eu-1", List.of("us-1"));
        assertTrue(readme.contains("```\n" + block + "```\n"), "README.md's \"Kafka ACLs\" block must be exactly:\n" + block);
    }

    @Test
    void theStrimziExampleHasTheSameGrants() throws Exception {
        String example = Files.readString(Path.of("..", "helm", "examples", "strimzi-kafka-users.yaml"));
        String users = KafkaAccess.strimziKafkaUsers("my-cluster", "prod", "eu-1", List.of("us-1"));
        assertEquals(users, example.substring(example.indexOf("---\n")), "helm/examples/strimzi-kafka-users.yaml must end with:\n" + users);
    }

    @Test
    void captureTransactionalIdsAreLiteralSoNoOtherInstanceMatches() {
        List<KafkaAccess.Grant> grants = KafkaAccess.grants(KafkaAccess.Role.CAPTURE, "eu-1", List.of(), 2);
        List<String> ids = grants.stream().filter(g -> g.type() == org.apache.kafka.common.resource.ResourceType.TRANSACTIONAL_ID)
                .map(KafkaAccess.Grant::name).toList();
        assertEquals(List.of("ferry-capture-eu-1-0", "ferry-capture-eu-1-0.1", "ferry-capture-eu-1-1", "ferry-capture-eu-1-1.1"), ids);
        assertTrue(grants.stream().allMatch(g -> g.pattern() == org.apache.kafka.common.resource.PatternType.LITERAL));
    }

    @Test
    void aRefusalNamesTheGrantToAdd() {
        String topic = KafkaAccess.explain(KafkaAccess.Role.APPLY, "eu-1", List.of("us-1"), 1, "User:ferry-apply-eu-1",
                new TopicAuthorizationException(Set.of("ferry.us-1.changes")));
        assertTrue(topic.contains("Add the ACL: kafka-acls.sh --bootstrap-server $BOOTSTRAP --command-config admin.properties --add "
                + "--allow-principal User:ferry-apply-eu-1 --operation Read --operation Describe --topic ferry.us-1.changes"), topic);
        assertTrue(topic.contains("not authorized"), "the CLI's exit 6 recognises it: " + topic);

        String group = KafkaAccess.explain(KafkaAccess.Role.APPLY, "eu-1", List.of("us-1"), 1, null,
                new GroupAuthorizationException("Not authorized to access group: ferry-apply-eu-1", "ferry-apply-eu-1"));
        assertTrue(group.contains("--allow-principal <principal> --operation Read --operation Describe --group ferry-apply-eu-1"), group);

        String transactional = KafkaAccess.explain(KafkaAccess.Role.CAPTURE, "eu-1", List.of(), 1, "User:c",
                new TransactionalIdAuthorizationException("Transactional Id authorization failed."));
        assertTrue(transactional.contains("--transactional-id ferry-capture-eu-1-0 ;")
                && transactional.contains("--transactional-id ferry-capture-eu-1-0.1"), transactional);
    }

    @Test
    void thePrincipalIsTheSaslUserNeverThePassword() {
        assertEquals("User:ferry-capture-eu-1", KafkaAccess.principal(Map.of("sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"ferry-capture-eu-1\" password=\"s3cret\";")));
        assertNull(KafkaAccess.principal(Map.of()));
        assertNull(KafkaAccess.principal(Map.of("sasl.jaas.config", "${env:FERRY_TEST_VARIABLE_THAT_IS_NOT_SET}")));
    }
}
