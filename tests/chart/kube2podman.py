#!/usr/bin/env python3
"""Translate one rendered workload of the chart into `podman run` arguments.

usage: kube2podman.py MANIFEST COMPONENT POD_NAME SECRETS_DIR

MANIFEST is `helm template` output; COMPONENT selects the Deployment,
StatefulSet or Pod (the helm test) labelled app.kubernetes.io/component=
COMPONENT; POD_NAME is what metadata.name fieldRefs resolve to. Prints the
arguments that follow `podman run` (ending with the image and its args),
NUL-separated, without --name (the caller names the container). Writes the
Secret/ConfigMap volumes it mounts under SECRETS_DIR/<volume> the way the
kubelet would (files owned by the pod's user and fsGroup, with the
volume's mode).

The point is that the containerised end-to-end test runs the services with
the configuration, secrets and security context the chart renders, so every
field of the pod is either translated or deliberately ignored (listed
below); anything else is an error rather than silently dropped.
"""
import base64
import os
import re
import sys

import yaml

# Pod/container fields with no meaning for a single podman host. Probes and
# preStop are replaced by the test's own /readyz polling and `podman stop`.
POD_IGNORED = {"serviceAccountName", "automountServiceAccountToken", "enableServiceLinks",
               "topologySpreadConstraints", "nodeSelector", "tolerations", "affinity",
               "imagePullSecrets", "restartPolicy"}
CONTAINER_IGNORED = {"name", "imagePullPolicy", "livenessProbe", "readinessProbe",
                     "startupProbe", "lifecycle", "ports"}


class Unsupported(Exception):
    pass


def quantity_bytes(q):
    """Kubernetes memory quantity -> bytes ("256Mi", "1Gi", "512M", "1000")."""
    m = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi|k|M|G)?", str(q))
    if not m:
        raise Unsupported(f"memory quantity {q!r}")
    mult = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[m.group(2)]
    return int(m.group(1)) * mult


def quantity_cpus(q):
    """Kubernetes CPU quantity -> cores as a string ("1", "500m")."""
    s = str(q)
    if s.endswith("m"):
        return f"{int(s[:-1]) / 1000:g}"
    return f"{float(s):g}"


def expand(value, env):
    """$(VAR) references to earlier variables, as the kubelet expands them;
    $$ is a literal $ and unknown references stay as written."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, value)


def find(docs, kind, name):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    raise Unsupported(f"{kind} {name} is mounted but not in the manifest")


def write_volume(path, data, mode, items, uid, gid, decode):
    """Files of one Secret/ConfigMap volume: mode as the volume says, owned
    by the pod's user and fsGroup so the non-root process can read it."""
    os.makedirs(path, mode=0o750, exist_ok=False)
    keys = {i["key"]: (i["path"], i.get("mode", mode)) for i in items} if items else \
        {k: (k, mode) for k in data}
    for key, (rel, fmode) in keys.items():
        if key not in data:
            raise Unsupported(f"key {key} is not in the volume's source")
        raw = base64.b64decode(data[key]) if decode else data[key].encode()
        f = os.path.join(path, rel)
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        os.chown(f, uid, gid)
        os.chmod(f, fmode)
    os.chown(path, uid, gid)
    os.chmod(path, 0o550)


def translate(docs, component, pod_name, secrets_dir):
    work = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Pod") and
            d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component]
    if len(work) != 1:
        raise Unsupported(f"{len(work)} workloads with component {component}, want 1")
    w = work[0]
    pod = w["spec"] if w["kind"] == "Pod" else w["spec"]["template"]["spec"]
    extra = set(pod) - POD_IGNORED - {"containers", "volumes", "securityContext",
                                      "terminationGracePeriodSeconds"}
    if extra:
        raise Unsupported(f"pod fields not translated: {sorted(extra)}")
    if len(pod["containers"]) != 1:
        raise Unsupported("exactly one container per pod is translated")
    c = pod["containers"][0]
    extra = set(c) - CONTAINER_IGNORED - {"image", "securityContext", "env", "resources",
                                          "volumeMounts", "command", "args"}
    if extra:
        raise Unsupported(f"container fields not translated: {sorted(extra)}")

    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    sc = {**psc, **csc}  # the container's settings win, as in Kubernetes
    uid, gid = sc.get("runAsUser"), sc.get("runAsGroup", 0)
    fsgroup = psc.get("fsGroup", gid)
    if uid is None:
        raise Unsupported("runAsUser is not set")
    if sc.get("runAsNonRoot") and uid == 0:
        raise Unsupported("runAsNonRoot with runAsUser 0")
    if sc.get("privileged"):
        raise Unsupported("privileged containers are not run")
    args = ["--pull=never", f"--user={uid}:{gid}"]
    if fsgroup != gid:
        args.append(f"--group-add={fsgroup}")
    if sc.get("readOnlyRootFilesystem"):
        # podman would otherwise mount its own writable /tmp, /var/tmp, /run.
        args += ["--read-only", "--read-only-tmpfs=false"]
    if sc.get("allowPrivilegeEscalation") is False:
        args.append("--security-opt=no-new-privileges")
    caps = sc.get("capabilities", {})
    args += [f"--cap-drop={x}" for x in caps.get("drop", [])]
    args += [f"--cap-add={x}" for x in caps.get("add", [])]
    seccomp = sc.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        args.append("--security-opt=seccomp=unconfined")
    elif seccomp != "RuntimeDefault":  # podman's default profile
        raise Unsupported(f"seccomp profile {seccomp}")
    if "terminationGracePeriodSeconds" in pod:
        args.append(f"--stop-timeout={pod['terminationGracePeriodSeconds']}")

    limits = c.get("resources", {}).get("limits", {})
    if "memory" in limits:
        args.append(f"--memory={quantity_bytes(limits['memory'])}")
    if "cpu" in limits:
        args.append(f"--cpus={quantity_cpus(limits['cpu'])}")

    env = {}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = expand(str(e["value"]), env)
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[e["name"]] = pod_name
        else:
            raise Unsupported(f"env {e['name']}: only value and fieldRef metadata.name")
    for k, v in env.items():
        args.append(f"--env={k}={v}")

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = volumes[m["name"]]
        if "emptyDir" in v:
            size = v["emptyDir"].get("sizeLimit")
            opts = "rw,nosuid,nodev,mode=1777" + (f",size={quantity_bytes(size)}" if size else "")
            args.append(f"--tmpfs={m['mountPath']}:{opts}")
            continue
        if "secret" in v:
            src = find(docs, "Secret", v["secret"]["secretName"])
            data, decode = src.get("data", {}), True
            mode, items = v["secret"].get("defaultMode", 0o644), v["secret"].get("items")
        elif "configMap" in v:
            src = find(docs, "ConfigMap", v["configMap"]["name"])
            data, decode = src.get("data", {}), False
            mode, items = v["configMap"].get("defaultMode", 0o644), v["configMap"].get("items")
        else:
            raise Unsupported(f"volume {m['name']}: only emptyDir, secret, configMap")
        path = os.path.join(secrets_dir, m["name"])
        write_volume(path, data, mode, items, uid, fsgroup, decode)
        # Secret and ConfigMap volumes are read-only in Kubernetes.
        args.append(f"--volume={path}:{m['mountPath']}:ro")

    if "command" in c:
        args.append(f"--entrypoint={c['command'][0]}")
    args.append(c["image"])
    args += list(c.get("command", [])[1:]) + list(c.get("args", []))
    return args


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().splitlines()[2])
    manifest, component, pod_name, secrets_dir = sys.argv[1:]
    with open(manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    try:
        args = translate(docs, component, pod_name, secrets_dir)
    except (Unsupported, KeyError) as e:
        sys.exit(f"kube2podman: {component}: {e}")
    sys.stdout.write("".join(a + "\0" for a in args))


if __name__ == "__main__":
    main()
