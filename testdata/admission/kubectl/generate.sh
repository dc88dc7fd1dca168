#!/bin/sh
# Regenerates the kubectl fixtures (client-side dry run, no cluster needed).
# Usage: generate.sh [OUTDIR]   (default: this directory)
# test/admission/kubectl.test.ts re-runs it into a temporary directory when kubectl is
# available and checks that the stored files still match.
#
# `kubectl run` asks the API server for discovery even with --dry-run=client; a seeded
# discovery cache (core v1 pods only) in a temporary --cache-dir answers it offline.
set -eu
cd "${1:-$(dirname "$0")}"
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
mkdir -p "$cache/discovery/localhost_8080/v1"
echo '{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"","versions":[{"groupVersion":"v1","version":"v1"}],"preferredVersion":{"groupVersion":"v1","version":"v1"}}]}' \
  > "$cache/discovery/localhost_8080/servergroups.json"
echo '{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["create","get"]}]}' \
  > "$cache/discovery/localhost_8080/v1/serverresources.json"
k() { kubectl --kubeconfig=/dev/null --server=http://localhost:8080 --cache-dir="$cache" "$@"; }

k create deployment web --image=nginx:1.27 --image=ghcr.io/acme/sidecar@sha256:b31bfb4d0213f254d361e0079deaaebefa4f82ba7aa76ef82e90b4935ad5b105 --dry-run=client -o json > deployment.json
k create job migrate --image=registry.example.com:5000/team/migrate:v3 --dry-run=client -o json -- /bin/migrate --all > job.json
k create cronjob nightly --image=localhost/backup --schedule='0 3 * * *' --dry-run=client -o json > cronjob.json
k run pod1 --image=busybox --overrides='{"apiVersion":"v1","spec":{"initContainers":[{"name":"setup","image":"ghcr.io/acme/setup:1.0"}]}}' --dry-run=client -o json -- sleep 3600 > pod.json
