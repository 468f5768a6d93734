#!/usr/bin/env bash
# Creates the kind cluster of kind/cluster.yaml with a NetworkPolicy-enforcing
# CNI (Calico) and ingress-nginx, then `skaffold dev` (or `skaffold run`)
# builds the images and deploys the chart with values-kind.yaml.
# Needs: kind, kubectl, skaffold and docker or podman (KIND_EXPERIMENTAL_PROVIDER=podman),
# and network access to the Calico and ingress-nginx release manifests
# (pinned below) and to the images they and the dev stores use.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CALICO_VERSION=v3.28.2
INGRESS_NGINX_VERSION=controller-v1.11.3

for t in kind kubectl; do command -v "$t" >/dev/null || { echo "kind/up.sh: $t is needed" >&2; exit 1; }; done
if ! kind get clusters 2>/dev/null | grep -qx orders-pipeline; then
  kind create cluster --config "$HERE/cluster.yaml" --wait 0s
fi
kubectl config use-context kind-orders-pipeline
kubectl apply -f "https://raw.githubusercontent.com/projectcalico/calico/$CALICO_VERSION/manifests/calico.yaml"
kubectl -n kube-system rollout status ds/calico-node --timeout=300s
kubectl apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/$INGRESS_NGINX_VERSION/deploy/static/provider/kind/deploy.yaml"
kubectl -n ingress-nginx rollout status deploy/ingress-nginx-controller --timeout=300s
# The chart's monitoring allow-rule names this namespace.
kubectl create namespace monitoring --dry-run=client -o yaml | kubectl apply -f -
echo "kind cluster ready: now 'skaffold dev' (or 'skaffold run && helm test op -n orders')"
