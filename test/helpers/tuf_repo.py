#!/usr/bin/env python3
"""Builds a local TUF repository with python-tuf for sigward's TUF tests.

    peers-python3 test/helpers/tuf_repo.py OUT --target A.json --target B.json --target C.json
        [--only STATE ...] [--short-lived SECONDS]

Each target file is published as the TUF target `trusted_root.json` (the name
Sigstore clients ask for). The repository uses consistent snapshots, like
Sigstore's: `N.root.json`, `N.snapshot.json`, `N.targets.json`,
`timestamp.json` and `targets/<sha256>.trusted_root.json`.

OUT/root.json is version 1 of the root role: the trust anchor a client starts
from (`--tuf-root`). OUT/keys/ holds the private keys (generated on the first
run, loaded on later runs, so a second run can add states a client that has
cached an earlier state still trusts). OUT/states/NAME/ holds one complete
mirror per state; a test serves one state directory at a time:

  v1                  root 1, targets 1 (A), snapshot 1, timestamp 1
  v2                  targets 2 (B), snapshot 2, timestamp 2: a normal refresh
  rotated             root 2 (new root and timestamp keys, signed by old and
                      new root keys), targets 3 (C), snapshot 3, timestamp 3
  bad-rotation        like rotated, but root 2 is signed by the new root key only
  expired-timestamp   v2 plus timestamp 3 that expired a day ago
  expired-targets     targets 3 (C) that expired a day ago, snapshot 3, timestamp 3
  wrong-key-timestamp v2 plus timestamp 3 signed with the targets key
  wrong-key-targets   targets 3 (C) signed with the snapshot key, snapshot 3, timestamp 3
  rollback-snapshot   v2 plus timestamp 3 naming snapshot 1 (an older snapshot)
  bad-target          targets 3 (C) with correct metadata, but the served
                      trusted_root.json bytes differ from the hash in targets 3
  refreshed           v2 plus timestamp 4 (nothing else changed)
  short-lived         (only with --short-lived S) v2 plus timestamp 3 that
                      expires S seconds from now

Serving `v1` to a client that has cached `v2` is the timestamp rollback.
Prints one JSON line: {"root": ..., "states": {NAME: DIR}, "expires": {NAME: ISO}}.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone

import cryptography.hazmat.primitives.asymmetric.types as _key_types
from cryptography.hazmat.primitives.serialization import load_pem_private_key

# Debian 12's python3-cryptography (38) names the key type unions in upper
# case; securesystemslib 1.4 imports the names cryptography >= 40 uses. Same
# objects, so alias them before securesystemslib is imported.
for _new, _old in (("PrivateKeyTypes", "PRIVATE_KEY_TYPES"), ("PublicKeyTypes", "PUBLIC_KEY_TYPES")):
    if not hasattr(_key_types, _new) and hasattr(_key_types, _old):
        setattr(_key_types, _new, getattr(_key_types, _old))

from securesystemslib.signer import CryptoSigner  # noqa: E402
from tuf.api.metadata import (  # noqa: E402
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer  # noqa: E402

TARGET_NAME = "trusted_root.json"
ROLES = ("root", "targets", "snapshot", "timestamp")
# the four role keys of root 1, and the two keys root 2 rotates to
KEY_NAMES = ROLES + ("root2", "timestamp2")
SERIALIZER = JSONSerializer(compact=False)


def load_or_create_signers(keydir):
    """One signer per key name; root keys are ECDSA P-256 (as Sigstore's), the others Ed25519."""
    os.makedirs(keydir, exist_ok=True)
    signers = {}
    for name in KEY_NAMES:
        path = os.path.join(keydir, f"{name}.pem")
        if os.path.exists(path):
            with open(path, "rb") as f:
                signers[name] = CryptoSigner(load_pem_private_key(f.read(), None))
            continue
        signer = CryptoSigner.generate_ecdsa() if name.startswith("root") else CryptoSigner.generate_ed25519()
        with open(path, "wb") as f:
            f.write(signer.private_bytes)
        signers[name] = signer
    return signers


def days(n):
    # TUF times are whole seconds in UTC
    return (datetime.now(timezone.utc) + timedelta(days=n)).replace(microsecond=0)


def signed_by(signed, *signers):
    md = Metadata(signed)
    for s in signers:
        md.sign(s, append=True)
    return md


def make_root(version, keys_for_roles):
    root = Root(version=version, expires=days(365), consistent_snapshot=True)
    for role, signer in keys_for_roles.items():
        root.add_key(signer.public_key, role)
    return root


def make_targets(version, target_bytes, expires):
    targets = Targets(version=version, expires=expires)
    targets.targets[TARGET_NAME] = TargetFile.from_data(TARGET_NAME, target_bytes, ["sha256"])
    return targets


class State:
    """One mirror directory under construction."""

    def __init__(self, out, name):
        self.dir = os.path.join(out, "states", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "targets"))
        self.timestamp_expires = None

    def write(self, filename, md):
        with open(os.path.join(self.dir, filename), "wb") as f:
            f.write(md.to_bytes(SERIALIZER))

    def root(self, md):
        self.write(f"{md.signed.version}.root.json", md)

    def targets(self, md, served_bytes=None):
        self.write(f"{md.signed.version}.targets.json", md)
        info = md.signed.targets[TARGET_NAME]
        with open(os.path.join(self.dir, "targets", f"{info.hashes['sha256']}.{TARGET_NAME}"), "wb") as f:
            f.write(served_bytes if served_bytes is not None else info_bytes[info.hashes["sha256"]])

    def snapshot(self, md):
        self.write(f"{md.signed.version}.snapshot.json", md)

    def timestamp(self, md):
        self.write("timestamp.json", md)
        self.timestamp_expires = md.signed.expires.strftime("%Y-%m-%dT%H:%M:%SZ")


info_bytes = {}


def main():
    p = argparse.ArgumentParser(description="build a local TUF repository (python-tuf) with good and bad states")
    p.add_argument("out")
    p.add_argument("--target", action="append", required=True, help="trusted_root.json content for targets 1, 2, 3 (A, B, C)")
    p.add_argument("--only", action="append", help="build only these states")
    p.add_argument("--short-lived", type=int, help="also build state short-lived, whose timestamp expires after this many seconds")
    a = p.parse_args()
    if len(a.target) != 3:
        p.error("give exactly three --target files (A, B, C)")
    contents = []
    for path in a.target:
        with open(path, "rb") as f:
            b = f.read()
        contents.append(b)
        info_bytes[hashlib.sha256(b).hexdigest()] = b
    A, B, C = contents

    k = load_or_create_signers(os.path.join(a.out, "keys"))
    root1 = signed_by(make_root(1, {r: k[r] for r in ROLES}), k["root"])
    with open(os.path.join(a.out, "root.json"), "wb") as f:
        f.write(root1.to_bytes(SERIALIZER))

    def snapshot(version, targets_version, expires=None):
        return signed_by(Snapshot(version=version, expires=expires or days(7), meta={"targets.json": MetaFile(targets_version)}), k["snapshot"])

    def timestamp(version, snapshot_version, signer=None, expires=None):
        ts = Timestamp(version=version, expires=expires or days(1), snapshot_meta=MetaFile(snapshot_version))
        return signed_by(ts, signer or k["timestamp"])

    targets1 = signed_by(make_targets(1, A, days(90)), k["targets"])
    targets2 = signed_by(make_targets(2, B, days(90)), k["targets"])
    snapshot1, snapshot2 = snapshot(1, 1), snapshot(2, 2)

    def base(st, upto=2):
        """root 1 and versions 1..upto of targets/snapshot (and that timestamp)."""
        st.root(root1)
        st.targets(targets1)
        st.snapshot(snapshot1)
        if upto >= 2:
            st.targets(targets2)
            st.snapshot(snapshot2)
        st.timestamp(timestamp(upto, upto))

    def rotated(st, root_signers):
        base(st)
        r2 = make_root(2, {"root": k["root2"], "targets": k["targets"], "snapshot": k["snapshot"], "timestamp": k["timestamp2"]})
        st.root(signed_by(r2, *root_signers))
        st.targets(signed_by(make_targets(3, C, days(90)), k["targets"]))
        st.snapshot(snapshot(3, 3))
        st.timestamp(timestamp(3, 3, signer=k["timestamp2"]))

    def with_targets3(st, targets3, served=None):
        base(st)
        st.targets(targets3, served)
        st.snapshot(snapshot(3, 3))
        st.timestamp(timestamp(3, 3))

    builders = {
        "v1": lambda st: base(st, upto=1),
        "v2": base,
        "rotated": lambda st: rotated(st, (k["root"], k["root2"])),
        "bad-rotation": lambda st: rotated(st, (k["root2"],)),
        "expired-timestamp": lambda st: (base(st), st.timestamp(timestamp(3, 2, expires=days(-1)))),
        "expired-targets": lambda st: with_targets3(st, signed_by(make_targets(3, C, days(-1)), k["targets"])),
        "wrong-key-timestamp": lambda st: (base(st), st.timestamp(timestamp(3, 2, signer=k["targets"]))),
        "wrong-key-targets": lambda st: with_targets3(st, signed_by(make_targets(3, C, days(90)), k["snapshot"])),
        "rollback-snapshot": lambda st: (base(st), st.timestamp(timestamp(3, 1))),
        "refreshed": lambda st: (base(st), st.timestamp(timestamp(4, 2))),
        "bad-target": lambda st: with_targets3(st, signed_by(make_targets(3, C, days(90)), k["targets"]), served=tampered(C)),
    }
    if a.short_lived is not None:
        short = (datetime.now(timezone.utc) + timedelta(seconds=a.short_lived)).replace(microsecond=0)
        builders["short-lived"] = lambda st: (base(st), st.timestamp(timestamp(3, 2, expires=short)))

    states, expires = {}, {}
    for name, build in builders.items():
        if a.only and name not in a.only:
            continue
        st = State(a.out, name)
        build(st)
        states[name] = st.dir
        expires[name] = st.timestamp_expires
    print(json.dumps({"root": os.path.join(a.out, "root.json"), "states": states, "expires": expires}))


def tampered(b):
    """Same length, one byte changed: only the hash can tell."""
    out = bytearray(b)
    i = out.find(b'"')
    out[i + 1] = ord("X") if out[i + 1] != ord("X") else ord("Y")
    return bytes(out)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a clear one-line reason for the test helper
        print(f"tuf_repo.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
