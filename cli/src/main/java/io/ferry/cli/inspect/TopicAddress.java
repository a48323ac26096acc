package io.ferry.cli.inspect;

import io.ferry.schemas.ReplicationPolicy;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Ferry topic named on the command line, either in full ({@code ferry.a.changes}) or as
 * {@code INSTANCE[:changes|offsets|deadletters|conflicts]}; knows whose agent writes it, so a missing
 * topic can be explained.
 */
public record TopicAddress(String topic, Optional<String> instance, String kind) {

    private static final Pattern FULL = Pattern.compile("ferry\\.([A-Za-z0-9][A-Za-z0-9_-]*)\\.(changes|offsets|deadletters|conflicts)");

    public static TopicAddress parse(String text) {
        Matcher full = FULL.matcher(text);
        if (full.matches()) {
            return new TopicAddress(text, Optional.of(full.group(1)), full.group(2));
        }
        if (!text.contains(".")) {
            int colon = text.indexOf(':');
            String instance = colon < 0 ? text : text.substring(0, colon);
            String kind = colon < 0 ? "changes" : text.substring(colon + 1);
            String topic = switch (kind) {
                case "changes" -> ReplicationPolicy.changesTopic(instance);
                case "offsets" -> ReplicationPolicy.offsetsTopic(instance);
                case "deadletters" -> ReplicationPolicy.deadLetterTopic(instance);
                case "conflicts" -> ReplicationPolicy.conflictsTopic(instance);
                default -> throw new IllegalArgumentException("'" + kind + "' is not a Ferry topic kind; use changes, offsets, deadletters or conflicts");
            };
            return new TopicAddress(topic, Optional.of(instance), kind);
        }
        return new TopicAddress(text, Optional.empty(), "other");
    }

    /** What it means that this topic does not exist, and what to do. */
    public String whyMissing() {
        String id = instance.orElse("?");
        return switch (kind) {
            case "changes", "offsets" -> "the capture for instance '" + id + "' has not run yet. Start it with "
                    + "'ferry capture --config FILE --instance " + id + "' and check its log.";
            case "deadletters", "conflicts" -> "the apply agent of instance '" + id + "' has not created it yet "
                    + "(it has not run, or has had nothing to report). Start it with 'ferry apply --config FILE --instance " + id + "'.";
            default -> "check the name; Ferry's topics are ferry.<instance>.changes, .offsets, .deadletters and .conflicts.";
        };
    }
}
