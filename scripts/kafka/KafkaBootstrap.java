// Readiness check and idempotent bootstrap of the local Kafka broker, in one
// JVM (each JVM start costs ~1-2 s). Used only by scripts/kafka.sh, which
// compiles it once into $CACHE against the Kafka jars.
//
//   java KafkaBootstrap format    SERVER_PROPERTIES CLUSTER_ID < SPEC
//   java KafkaBootstrap check     ADMIN_PROPERTIES TIMEOUT_MS
//   java KafkaBootstrap bootstrap ADMIN_PROPERTIES TIMEOUT_MS < SPEC
//
// format: kafka-storage format with one SCRAM-SHA-256/512 credential per
// `user` line of SPEC (the broker's admin), run in this JVM: StorageTool's
// --add-scram takes the password on its command line, and a command line is
// readable by every process on the machine (/proc/PID/cmdline, ps).
//
// check: a real admin request over the SASL listener (DescribeCluster plus
// DescribeUserScramCredentials, which needs cluster Describe): proves the
// broker is serving, SCRAM authentication works and the admin is authorized.
//
// bootstrap: check, then apply SPEC (read from stdin, so passwords never land
// in a file or in argv), one declaration per line, '#' comments:
//   user  NAME PASSWORD      upsert SCRAM-SHA-256 and SCRAM-SHA-512 credentials
//   topic NAME PARTITIONS    create if absent (replication factor 1)
//   acl   PRINCIPAL RESOURCE_TYPE PATTERN_TYPE RESOURCE_NAME OPERATION
//                            an ALLOW entry from any host
// ACLs are reconciled per principal: every principal that appears in a
// `user` or `acl` line ends up with exactly the declared entries; stale ones
// are deleted. The command returns once the broker serves every desired ACL.

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

public final class KafkaBootstrap {
    private static final int SCRAM_ITERATIONS = 4096;

    public static void main(String[] args) {
        if (args.length == 3 && args[0].equals("format")) {
            System.exit(format(args[1], args[2]));
        }
        if (args.length != 3 || !(args[0].equals("check") || args[0].equals("bootstrap"))) {
            System.err.println("usage: KafkaBootstrap check|bootstrap ADMIN_PROPERTIES TIMEOUT_MS [< SPEC]\n"
                    + "       KafkaBootstrap format SERVER_PROPERTIES CLUSTER_ID < SPEC");
            System.exit(2);
        }
        long timeoutMs = Long.parseLong(args[2]);
        long deadline = System.currentTimeMillis() + timeoutMs;
        int rc;
        try {
            Properties props = new Properties();
            try (InputStream in = new FileInputStream(args[1])) {
                props.load(in);
            }
            int apiTimeout = (int) Math.max(1000, timeoutMs);
            props.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(apiTimeout));
            props.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(Math.min(apiTimeout, 10000)));
            props.putIfAbsent(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
            props.putIfAbsent(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
            props.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "orders-pipeline-bootstrap");
            Spec spec = args[0].equals("bootstrap") ? Spec.read(System.in) : null;
            try (Admin admin = Admin.create(props)) {
                check(admin, props.getProperty("sasl.jaas.config", ""), deadline);
                if (spec != null) {
                    bootstrap(admin, spec, deadline);
                }
            }
            rc = 0;
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            System.err.println("kafka " + args[0] + " failed: " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
            rc = 1;
        }
        System.exit(rc);
    }

    /** Formats the storage with the SCRAM users of SPEC; 0 on success (or already formatted: never). */
    private static int format(String serverProperties, String clusterId) {
        Spec spec = null;
        try {
            spec = Spec.read(System.in);
            List<String> argv = new ArrayList<>(List.of("format", "-t", clusterId, "-c", serverProperties));
            for (Map.Entry<String, String> u : spec.users.entrySet()) {
                for (String m : new String[] {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
                    argv.add("--add-scram");
                    argv.add(m + "=[name=" + u.getKey() + ",password=" + u.getValue() + "]");
                }
            }
            return kafka.tools.StorageTool.execute(argv.toArray(new String[0]), System.out);
        } catch (Exception e) {
            // The message may quote an --add-scram argument: blank the passwords.
            String msg = String.valueOf(e.getMessage());
            for (String pw : spec == null ? List.<String>of() : spec.users.values()) {
                msg = msg.replace(pw, "***");
            }
            System.err.println("kafka format failed: " + e.getClass().getSimpleName() + ": " + msg);
            return 1;
        }
    }

    private static <T> T get(KafkaFuture<T> f, long deadline) throws Exception {
        long left = Math.max(1, deadline - System.currentTimeMillis());
        return f.get(left, TimeUnit.MILLISECONDS);
    }

    private static void check(Admin admin, String jaas, long deadline) throws Exception {
        DescribeClusterResult cluster = admin.describeCluster();
        String id = get(cluster.clusterId(), deadline);
        int nodes = get(cluster.nodes(), deadline).size();
        String user = jaas.replaceAll("(?s).*username=\"([^\"]*)\".*", "$1");
        // Needs Describe on the cluster: fails unless the admin is authorized.
        get(admin.describeUserScramCredentials(List.of(user)).all(), deadline);
        System.out.println("kafka ready: cluster " + id + ", " + nodes + " broker(s), SCRAM login as " + user + " ok");
    }

    private static void bootstrap(Admin admin, Spec spec, long deadline) throws Exception {
        // 1. SCRAM credentials (upsert: keeps them in step with local.env).
        if (!spec.users.isEmpty()) {
            // One alteration per user and request: one request per mechanism.
            for (ScramMechanism m : new ScramMechanism[] {ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512}) {
                List<UserScramCredentialAlteration> alts = new ArrayList<>();
                for (Map.Entry<String, String> u : spec.users.entrySet()) {
                    alts.add(new UserScramCredentialUpsertion(u.getKey(), new ScramCredentialInfo(m, SCRAM_ITERATIONS),
                            u.getValue().getBytes(StandardCharsets.UTF_8)));
                }
                get(admin.alterUserScramCredentials(alts).all(), deadline);
            }
            System.out.println("users: " + String.join(", ", spec.users.keySet()) + " (SCRAM-SHA-256/512 set)");
        }

        // 2. Topics: create the missing ones.
        Set<String> existing = get(admin.listTopics().names(), deadline);
        List<NewTopic> create = new ArrayList<>();
        for (Map.Entry<String, Integer> t : spec.topics.entrySet()) {
            if (!existing.contains(t.getKey())) {
                create.add(new NewTopic(t.getKey(), t.getValue(), (short) 1));
            }
        }
        List<String> created = new ArrayList<>();
        if (!create.isEmpty()) {
            for (Map.Entry<String, KafkaFuture<Void>> r : admin.createTopics(create).values().entrySet()) {
                try {
                    get(r.getValue(), deadline);
                    created.add(r.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        }
        Map<String, TopicDescription> described = get(admin.describeTopics(spec.topics.keySet()).allTopicNames(), deadline);
        for (Map.Entry<String, Integer> t : spec.topics.entrySet()) {
            int have = described.get(t.getKey()).partitions().size();
            if (have != t.getValue()) {
                System.err.println("warning: topic " + t.getKey() + " has " + have + " partitions, config says "
                        + t.getValue() + " (left as is; `scripts/kafka.sh reset` recreates everything)");
            }
        }
        System.out.println("topics: " + spec.topics.size() + " declared, created " + (created.isEmpty() ? "none" : created));

        // 3. ACLs: add the desired ones, delete stale ones of managed principals.
        Set<AclBinding> desired = spec.acls;
        List<AclBinding> stale = new ArrayList<>();
        Set<AclBinding> present = new HashSet<>();
        for (String principal : spec.principals) {
            AclBindingFilter f = new AclBindingFilter(ResourcePatternFilter.ANY,
                    new AccessControlEntryFilter(principal, null, AclOperation.ANY, AclPermissionType.ANY));
            for (AclBinding b : get(admin.describeAcls(f).values(), deadline)) {
                if (desired.contains(b)) {
                    present.add(b);
                } else {
                    stale.add(b);
                }
            }
        }
        List<AclBinding> missing = new ArrayList<>();
        for (AclBinding b : desired) {
            if (!present.contains(b)) {
                missing.add(b);
            }
        }
        if (!missing.isEmpty()) {
            get(admin.createAcls(missing).all(), deadline);
        }
        if (!stale.isEmpty()) {
            List<AclBindingFilter> filters = new ArrayList<>();
            for (AclBinding b : stale) {
                filters.add(b.toFilter());
                System.out.println("acl removed (not declared): " + b);
            }
            get(admin.deleteAcls(filters).all(), deadline);
        }
        // The authorizer applies ACL changes asynchronously from the metadata
        // log: return only once the broker serves the declared set.
        while (true) {
            Collection<AclBinding> now = new HashSet<>();
            for (String principal : spec.principals) {
                AclBindingFilter f = new AclBindingFilter(ResourcePatternFilter.ANY,
                        new AccessControlEntryFilter(principal, null, AclOperation.ANY, AclPermissionType.ANY));
                now.addAll(get(admin.describeAcls(f).values(), deadline));
            }
            if (now.equals(desired)) {
                break;
            }
            if (System.currentTimeMillis() >= deadline) {
                throw new IllegalStateException("ACLs not in effect before the deadline");
            }
            Thread.sleep(100);
        }
        System.out.println("acls: " + desired.size() + " declared for " + spec.principals + ", added " + missing.size()
                + ", removed " + stale.size());
    }

    /** The parsed declarations from stdin. */
    private static final class Spec {
        final Map<String, String> users = new LinkedHashMap<>();
        final Map<String, Integer> topics = new LinkedHashMap<>();
        final Set<AclBinding> acls = new LinkedHashSet<>();
        final Set<String> principals = new LinkedHashSet<>();

        static Spec read(InputStream in) throws Exception {
            Spec s = new Spec();
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] w = line.split("\\s+");
                switch (w[0]) {
                    case "user":
                        need(w, 3, n);
                        s.users.put(w[1], w[2]);
                        s.principals.add("User:" + w[1]);
                        break;
                    case "topic":
                        need(w, 3, n);
                        s.topics.put(w[1], Integer.parseInt(w[2]));
                        break;
                    case "acl":
                        need(w, 6, n);
                        ResourcePattern rp = new ResourcePattern(ResourceType.fromString(w[2]), w[4], PatternType.fromString(w[3]));
                        AclOperation op = AclOperation.fromString(w[5]);
                        if (rp.resourceType() == ResourceType.UNKNOWN || rp.patternType() == PatternType.UNKNOWN
                                || op == AclOperation.UNKNOWN) {
                            throw new IllegalArgumentException("spec line " + n + ": unknown resource type, pattern type or operation");
                        }
                        s.acls.add(new AclBinding(rp, new AccessControlEntry(w[1], "*", op, AclPermissionType.ALLOW)));
                        s.principals.add(w[1]);
                        break;
                    default:
                        throw new IllegalArgumentException("spec line " + n + ": unknown declaration '" + w[0] + "'");
                }
            }
            return s;
        }

        private static void need(String[] w, int count, int n) {
            if (w.length != count) {
                throw new IllegalArgumentException("spec line " + n + ": expected " + count + " fields, got " + w.length);
            }
        }
    }
}
