#!/usr/bin/env bash
# README command 1: verify the shipped demo images with the single binary.
# Expected: the signed image is allowed (exit 0), the unsigned one denied (exit 1).
set -u
cd "$(dirname "$0")/../.."
bin=dist/sigward
demo=testdata/demo
echo "== sigward $($bin --version)"
echo "== verifying oci:$demo/layout:signed with $demo/cosign.pub"
$bin verify "oci:$demo/layout:signed" --key "$demo/cosign.pub" --insecure-ignore-tlog
signed=$?
echo "   exit code $signed"
echo "== verifying oci:$demo/layout:unsigned with $demo/cosign.pub"
$bin verify "oci:$demo/layout:unsigned" --key "$demo/cosign.pub" --insecure-ignore-tlog
unsigned=$?
echo "   exit code $unsigned"
if [ "$signed" -eq 0 ] && [ "$unsigned" -eq 1 ]; then
  echo "== demo OK: signed image allowed, unsigned image denied"
  exit 0
fi
echo "== demo FAILED: expected exit codes 0 and 1"
exit 1
