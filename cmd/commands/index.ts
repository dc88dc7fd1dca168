// The command index: what every command is called and does, and how to load
// it. Only the command being run is loaded (dynamic import), so `--version`,
// `containerd-verify` and the rest do not pay for the modules of every other
// command at start-up; the top-level help needs nothing but this list.

import type { CommandEntry } from './types.ts';

export const commands: CommandEntry[] = [
  {
    command: 'verify <images..>',
    describe: 'verify cosign signatures of images in a registry or an OCI layout (oci:DIR[:TAG])',
    load: async () => (await import('./verify.ts')).verifyCommand,
  },
  {
    command: 'verify-attestation [image]',
    describe:
      'verify signed in-toto attestations of an image (or a local bundle) and check their predicates with CEL or a built-in rule',
    load: async () => (await import('./verify-attestation.ts')).verifyAttestationCommand,
  },
  {
    command: 'verify-bundle <artifact>',
    describe: 'verify a Sigstore bundle over a file or a sha256:<hex> digest (sigstore-conformance protocol)',
    load: async () => (await import('./verify-bundle.ts')).verifyBundleCommand,
  },
  {
    // `[stdin..]` lets yargs accept a bare "-" (`--image -`, `--resource -`, `--junit -`): the option is then left empty
    command: 'check [stdin..]',
    describe:
      'check images or Kubernetes manifests against Kyverno/sigward policies (like kyverno apply), for scripts and CI',
    load: async () => (await import('./check.ts')).checkCommand,
  },
  {
    command: 'test <paths..>',
    describe:
      'run policy tests (kyverno-test.yaml: policies, resources and the expected result per rule), like kyverno test, for CI',
    load: async () => (await import('./test.ts')).testCommand,
  },
  {
    command: 'tree <image>',
    describe:
      'list what is attached to an image (signatures, attestations, SBOMs, OCI referrers), unverified, like cosign tree',
    load: async () => (await import('./artifacts.ts')).treeCommand,
  },
  {
    command: 'download <what> <image>',
    describe:
      'print the signatures or attestations attached to an image (unverified), like cosign download signature|attestation',
    load: async () => (await import('./artifacts.ts')).downloadCommand,
  },
  {
    command: 'serve',
    describe: 'run the Kubernetes admission webhook (mutate and validate)',
    load: async () => (await import('./serve.ts')).serveCommand,
  },
  {
    command: 'containerd-verify',
    describe:
      "containerd image-verifier plugin (invoked by containerd as '<bin> -name REF -digest D -stdin-media-type T', descriptor on stdin)",
    load: async () => (await import('./containerd-verify.ts')).containerdVerifyCommand,
  },
  {
    command: 'policy <action> <paths..>',
    describe: 'policy tools: lint (validate Kyverno and sigward policies with file:line:col diagnostics)',
    load: async () => (await import('./policy.ts')).policyCommand,
  },
  {
    command: 'trust <action>',
    describe: 'trust-root tools: show, export [--out FILE], init --mirror DIR (air-gapped preparation)',
    load: async () => (await import('./trust.ts')).trustCommand,
  },
  {
    command: 'export <format>',
    describe: 'export policies to other formats (containers-policy: /etc/containers/policy.json for CRI-O/Podman)',
    load: async () => (await import('./export.ts')).exportCommand,
  },
  {
    command: 'version',
    describe: 'print version, runtime and build information',
    load: async () => (await import('./version.ts')).versionCommand,
  },
];
