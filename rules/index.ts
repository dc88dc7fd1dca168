// The built-in rules, bundled into the binary. Each rule is a JSON data file
// (format and documentation: rules/README.md; checked by lib/attest/rules.ts
// toRule on first use). JSON import attributes work alike under Node 24
// native TypeScript, Deno and esbuild, so no build step generates anything.

import codeReview from './code-review.json' with { type: 'json' };
import openvex from './openvex.json' with { type: 'json' };
import sbomCyclonedx from './sbom-cyclonedx.json' with { type: 'json' };
import sbomSpdx from './sbom-spdx.json' with { type: 'json' };
import slsaProvenanceV02 from './slsa-provenance-v0.2.json' with { type: 'json' };
import slsaProvenanceV1 from './slsa-provenance-v1.json' with { type: 'json' };
import vulnScan from './vuln-scan.json' with { type: 'json' };

/** Raw rule data, validated by lib/attest/rules.ts (toRule) on first use. */
export const BUILTIN_RULES: readonly unknown[] = Object.freeze([
  codeReview,
  openvex,
  sbomCyclonedx,
  sbomSpdx,
  slsaProvenanceV02,
  slsaProvenanceV1,
  vulnScan,
]);
