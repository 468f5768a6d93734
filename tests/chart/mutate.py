#!/usr/bin/env python3
"""Negative-test helper: prints the rendered manifests with one deliberate
weakening, so chart-test.sh can prove its checks notice it.

usage: mutate.py MODE RENDERED.yaml > MUTATED.yaml
  open-publisher  add a NetworkPolicy letting any pod reach publisher
  share-secret    mount billing's Secret into the archive pod as well
  secret-env      pass a Secret to ingress-auth as an env var, not a file
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
    else:
        raise SystemExit(f"unknown mode {mode}")
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
