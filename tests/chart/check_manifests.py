#!/usr/bin/env python3
"""Checks on rendered orders-pipeline manifests that generic scanners do not
make: each Secret reaches exactly one workload and only as files; every
workload has its own token-less ServiceAccount; each service gets exactly
the environment names agreed in the config-names brief, with the values the
cluster needs (admin on 0.0.0.0, publisher transactional ids).

usage: check_manifests.py RENDERED.yaml   (exit 1 and one line per problem)
"""
import sys

import yaml

SERVICES = {
    # container name -> allowed env names (required ones marked in REQUIRED)
    "ingress-auth": {
        "LOG_LEVEL", "INGRESS_ADMIN_BIND", "INGRESS_ADMIN_PORT", "INGRESS_BIND", "INGRESS_PORT",
        "INGRESS_CLIENTS_FILE", "INGRESS_MAX_BODY", "INGRESS_TIMESTAMP_WINDOW",
        "INGRESS_MAX_CONNECTIONS", "INGRESS_CONNECTION_TIMEOUT", "INGRESS_HTTP_THREADS",
        "INGRESS_IDEMPOTENCY_TTL", "INGRESS_REDIS_POLICY", "REDIS_HOST", "REDIS_PORT",
        "REDIS_USERNAME", "REDIS_PASSWORD_FILE", "REDIS_KEY_PREFIX", "PUBLISHER_URL",
        "PUBLISHER_INTERNAL_TOKEN_FILE", "INGRESS_PUBLISH_TIMEOUT"},
    "publisher": {
        "LOG_LEVEL", "PUBLISHER_ADMIN_BIND", "PUBLISHER_ADMIN_PORT", "PUBLISHER_BIND",
        "PUBLISHER_PORT", "PUBLISHER_INTERNAL_TOKEN_FILE", "PUBLISHER_TRANSACTIONAL_ID",
        "PUBLISHER_SUBSCRIPTIONS", "PUBLISHER_FILTERS", "PUBLISHER_COMMIT_TIMEOUT",
        "PUBLISHER_DRAIN_TIMEOUT", "POD_NAME", "KAFKA_BOOTSTRAP", "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM", "KAFKA_USERNAME", "KAFKA_PASSWORD_FILE", "KAFKA_CA_FILE"},
    "billing": {
        "LOG_LEVEL", "BILLING_ADMIN_BIND", "BILLING_ADMIN_PORT", "BILLING_TOPIC", "BILLING_GROUP",
        "BILLING_MAX_ATTEMPTS", "BILLING_BATCH_MAX", "BILLING_BATCH_WAIT", "PG_HOST", "PG_PORT",
        "PG_DATABASE", "PG_USER", "PG_PASSWORD_FILE", "PG_SSLMODE", "KAFKA_BOOTSTRAP",
        "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_USERNAME",
        "KAFKA_PASSWORD_FILE", "KAFKA_CA_FILE"},
    "archive": {
        "LOG_LEVEL", "ARCHIVE_ADMIN_BIND", "ARCHIVE_ADMIN_PORT", "ARCHIVE_TOPIC", "ARCHIVE_GROUP",
        "ARCHIVE_MAX_ATTEMPTS", "ARCHIVE_MODE", "ARCHIVE_MAX_IN_FLIGHT", "S3_ENDPOINT",
        "S3_REGION", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY_FILE", "KAFKA_BOOTSTRAP",
        "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_USERNAME",
        "KAFKA_PASSWORD_FILE", "KAFKA_CA_FILE"},
}
REQUIRED = {
    "ingress-auth": {"INGRESS_CLIENTS_FILE", "REDIS_PASSWORD_FILE", "PUBLISHER_URL",
                     "PUBLISHER_INTERNAL_TOKEN_FILE", "INGRESS_ADMIN_BIND"},
    "publisher": {"PUBLISHER_INTERNAL_TOKEN_FILE", "PUBLISHER_TRANSACTIONAL_ID",
                  "KAFKA_PASSWORD_FILE", "KAFKA_BOOTSTRAP", "PUBLISHER_ADMIN_BIND"},
    "billing": {"KAFKA_PASSWORD_FILE", "PG_PASSWORD_FILE", "BILLING_ADMIN_BIND"},
    "archive": {"KAFKA_PASSWORD_FILE", "S3_SECRET_KEY_FILE", "ARCHIVE_ADMIN_BIND"},
}
WORKLOADS = {"Deployment", "StatefulSet", "Job", "Pod", "DaemonSet"}


def pod_spec(doc):
    if doc["kind"] == "Pod":
        return doc["spec"]
    return doc["spec"]["template"]["spec"]


def main(path):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    problems = []
    secret_users = {}
    sa_users = {}
    sas = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceAccount"}
    seen_services = set()
    for d in docs:
        if d["kind"] not in WORKLOADS:
            continue
        wl = f'{d["kind"]}/{d["metadata"]["name"]}'
        spec = pod_spec(d)
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{wl}: automountServiceAccountToken is not false")
        sa = spec.get("serviceAccountName")
        if not sa or sa not in sas:
            problems.append(f"{wl}: no ServiceAccount of its own in the release")
        elif sas[sa].get("automountServiceAccountToken") is not False:
            problems.append(f"ServiceAccount/{sa}: automountServiceAccountToken is not false")
        sa_users.setdefault(sa, set()).add(wl)
        for v in spec.get("volumes", []):
            if "secret" in v:
                secret_users.setdefault(v["secret"]["secretName"], set()).add(wl)
            for src in v.get("projected", {}).get("sources", []):
                if "secret" in src:
                    secret_users.setdefault(src["secret"]["name"], set()).add(wl)
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for e in c.get("env", []):
                if "secretKeyRef" in e.get("valueFrom", {}):
                    problems.append(f"{wl}: env {e['name']} comes from a Secret (secrets must be files)")
            if c.get("envFrom"):
                problems.append(f"{wl}: envFrom is not allowed (explicit names only)")
            name = c["name"]
            if name in SERVICES and d["kind"] != "Pod":
                seen_services.add(name)
                env = {e["name"]: e.get("value") for e in c.get("env", [])}
                extra = set(env) - SERVICES[name]
                if extra:
                    problems.append(f"{wl}: env names outside the agreed set: {sorted(extra)}")
                missing = REQUIRED[name] - set(env)
                if missing:
                    problems.append(f"{wl}: missing env {sorted(missing)}")
                for k, v in env.items():
                    if k.endswith("_ADMIN_BIND") and v != "0.0.0.0":
                        problems.append(f"{wl}: {k} must be 0.0.0.0 in the cluster")
                    if k.endswith("_FILE") and not (v or "").startswith("/"):
                        problems.append(f"{wl}: {k} is not an absolute path")
                tid = env.get("PUBLISHER_TRANSACTIONAL_ID")
                if name == "publisher" and not (tid or "").startswith("publisher-$(POD_NAME)"):
                    problems.append(f"{wl}: PUBLISHER_TRANSACTIONAL_ID must be publisher-$(POD_NAME)")
                if name == "publisher" and d["kind"] != "StatefulSet":
                    problems.append(f"{wl}: publisher must be a StatefulSet (stable transactional ids)")
    for name in SERVICES:
        if name not in seen_services:
            problems.append(f"service {name} has no workload")
    for secret, users in sorted(secret_users.items()):
        if len(users) > 1:
            problems.append(f"Secret/{secret} is mounted by {len(users)} workloads: {sorted(users)}")
    for sa, users in sorted(sa_users.items()):
        if sa and len(users) > 1:
            problems.append(f"ServiceAccount/{sa} is shared by {sorted(users)}")
    if any(d["kind"] in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding") for d in docs):
        problems.append("the chart must not grant RBAC")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
