// Shared helpers of the rule tests: fixtures by path, statements parsed the
// way verify-attestation parses them, and one-call rule evaluation.

import { readFileSync } from 'node:fs';
import { type CelImageInfo, getAttestationVariables } from '../../lib/conditions/cel.ts';
import { type Statement, toStatement } from '../../lib/attest/statement.ts';
import { toPredicateType } from '../../lib/attest/predicates.ts';
import { compileRule, evaluateRule, type RuleParamInput, type RuleResult } from '../../lib/attest/rules.ts';

export const DIGEST = 'sha256:886a77e9b9c993e221d1843e3af5b1fbeea26d8962995e8562174a6aba0c7cc9';

export const shared = (p: string): URL => new URL(`../../../shared/testvectors/${p}`, import.meta.url);
export const conditions = (p: string): URL => new URL(`../../testdata/conditions/${p}`, import.meta.url);
export const local = (p: string): URL => new URL(`../../testdata/rules/${p}`, import.meta.url);

export const readJson = (u: URL): any => JSON.parse(readFileSync(u, 'utf8'));

/** A whole in-toto statement file, parsed by toStatement. */
export function statementFile(u: URL): Statement {
  return toStatement(readFileSync(u));
}

/** A predicate wrapped into the statement cosign attest would make, then parsed by toStatement. */
export function statementOf(type: string, predicate: unknown): Statement {
  const st = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: toPredicateType(type),
    subject: [{ name: 'registry.example.com/org/app', digest: { sha256: DIGEST.slice(7) } }],
    predicate,
  };
  return toStatement(new TextEncoder().encode(JSON.stringify(st)));
}

export interface EvalOptions {
  now?: Date;
  image?: CelImageInfo;
}

export function evaluate(name: string, params: RuleParamInput, st: Statement, opts: EvalOptions = {}): RuleResult {
  const vars = getAttestationVariables({
    statement: st,
    now: opts.now ?? new Date('2024-03-08T12:00:00Z'),
    image: opts.image ?? { registry: 'registry.example.com', repository: 'org/app', tag: 'v2.1.0', digest: DIGEST },
  });
  return evaluateRule(compileRule(name, params), vars);
}

/** A deep copy to mutate. */
export function clone<T>(v: T): T {
  return structuredClone(v);
}
