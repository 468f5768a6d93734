#!/usr/bin/env python3
"""Negative-test helper: prints the rendered manifests with one deliberate
weakening, so chart-test.sh can prove its checks notice it.

usage: mutate.py MODE RENDERED.yaml > MUTATED.yaml
  open-publisher  add a NetworkPolicy letting any pod reach publisher
  share-secret    mount billing's Secret into the archive pod as well
  secret-env      pass a Secret to ingress-auth as an env var, not a file
  argv-password   kafka-setup passes a password on kafka-configs' command line
                  (the chart's former `--add-config "SCRAM-SHA-256=[password=$(cat f)]"`)
  argv-password-var  the same through a variable read from the Secret file
  open-ordersctl  add a NetworkPolicy letting the ordersctl pod reach anything
"""
import sys

import yaml


def find(docs, kind, suffix):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"].endswith(suffix):
            return d
    raise SystemExit(f"no {kind} *{suffix} in the input")


def main(mode, path):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if mode == "open-publisher":
        pub = find(docs, "StatefulSet", "-publisher")
        docs.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "loosened", "namespace": pub["metadata"].get("namespace", "default")},
            "spec": {"podSelector": {"matchLabels": pub["spec"]["selector"]["matchLabels"]},
                     "policyTypes": ["Ingress"], "ingress": [{}]}})
    elif mode == "share-secret":
        billing = find(docs, "Deployment", "-billing")
        archive = find(docs, "Deployment", "-archive")
        vol = next(v for v in billing["spec"]["template"]["spec"]["volumes"] if "secret" in v)
        archive["spec"]["template"]["spec"]["volumes"].append(dict(vol, name="stolen"))
    elif mode == "secret-env":
        ia = find(docs, "Deployment", "-ingress-auth")
        c = ia["spec"]["template"]["spec"]["containers"][0]
        c["env"].append({"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {
            "name": ia["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
            "key": "redis-password"}}})
    elif mode in ("argv-password", "argv-password-var"):
        job = find(docs, "Job", next(d["metadata"]["name"] for d in docs
                                     if d["kind"] == "Job" and "-kafka-setup-" in d["metadata"]["name"]))
        c = job["spec"]["template"]["spec"]["containers"][0]
        if mode == "argv-password":
            bad = ('f="$SECRETS_DIR/kafka-publisher-password"\n'
                   'kt kafka-configs --alter --entity-type users --entity-name publisher '
                   '--add-config "SCRAM-SHA-256=[password=$(cat "$f")]"\n')
        else:
            bad = ('P="$(cat /var/run/secrets/orders-pipeline/kafka-admin-password)"\n'
                   '/opt/kafka/bin/kafka-storage.sh format -t x -c /tmp/s.properties '
                   '--add-scram "SCRAM-SHA-256=[name=admin,password=$P]"\n')
        c["args"][0] += bad
    elif mode == "open-ordersctl":
        job = next(d for d in docs if d["kind"] == "Job" and "-ordersctl-dlq-" in d["metadata"]["name"])
        docs.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "loosened-ordersctl", "namespace": job["metadata"].get("namespace", "default")},
            "spec": {"podSelector": {"matchLabels": {
                "app.kubernetes.io/component": "ordersctl",
                "app.kubernetes.io/instance": job["metadata"]["labels"]["app.kubernetes.io/instance"]}},
                     "policyTypes": ["Egress"], "egress": [{}]}})
    else:
        raise SystemExit(f"unknown mode {mode}")
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
