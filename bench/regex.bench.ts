// Cost of policy regular expressions on the paths the webhook runs per
// request: Kyverno's regex_match / regex_replace_all in a JMESPath
// precondition, a keyless subjectRegExp + issuerRegExp check, and CEL's
// matches(); each on a pattern compiled before (the cached case) and on a
// pattern seen for the first time (compile included). Uses only entry points
// that predate the RE2 engine, so the same script measures the old code too.
//   node bench/regex.bench.ts [--ms 700]

import { compileJmespath, searchJmespath } from '../lib/conditions/jmespath.ts';
import { compileCel } from '../lib/conditions/cel.ts';
import { verifyIdentity } from '../lib/trust/index.ts';

const msArg = process.argv.indexOf('--ms');
const BUDGET_MS = msArg > 0 ? Number(process.argv[msArg + 1]) : 700;

function measure(fn: (i: number) => unknown): number {
  let i = 0;
  const warm = performance.now();
  while (performance.now() - warm < BUDGET_MS / 4) fn(i++);
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    for (let k = 0; k < 10; k++) fn(i++);
    n += 10;
    elapsed = performance.now() - start;
  }
  return (elapsed * 1000) / n; // µs per call
}

const request = {
  object: {
    metadata: { labels: { team: 'platform-team' } },
    spec: { containers: [{ image: 'docker.io/library/nginx:1.27' }] },
  },
};
const precondition = compileJmespath("regex_match('^([a-z0-9]+[-_.]?)+$', request.object.metadata.labels.team)");
const rewrite = compileJmespath(
  "regex_replace_all('^docker\\.io/(library/)?', request.object.spec.containers[0].image, 'mirror.corp.example/')",
);
const identity = {
  sans: [{ type: 'uri' as const, value: 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3' }],
  issuer: 'https://token.actions.githubusercontent.com',
  extensions: {},
};
const policy = {
  subjectRegExp:
    '^https://github\\.com/org/[a-z-]+/\\.github/workflows/[a-z]+\\.yml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$',
  issuerRegExp: '^https://token\\.actions\\.githubusercontent\\.com$',
};
const cel = compileCel("signer.identity.matches('^https://github.com/org/.*@refs/tags/v[0-9.]+$')", {
  variables: ['signer'],
});
const signer = { signer: { identity: identity.sans[0]!.value } };

const rows: [string, number][] = [
  ['JMESPath regex_match, cached pattern', measure(() => searchJmespath(precondition, { request }))],
  ['JMESPath regex_replace_all, cached pattern', measure(() => searchJmespath(rewrite, { request }))],
  [
    'JMESPath regex_match, new pattern each call',
    measure((i) =>
      searchJmespath(compileJmespath(`regex_match('^([a-z0-9]+[-_.]?)+${i}$', request.object.metadata.labels.team)`), {
        request,
      })
    ),
  ],
  ['keyless subjectRegExp + issuerRegExp', measure(() => verifyIdentity(identity as never, policy))],
  [
    'keyless regexps, new subject pattern each call',
    measure((i) => verifyIdentity(identity as never, { ...policy, subjectRegExp: `${policy.subjectRegExp}|x${i}` })),
  ],
  ['CEL matches(), cached pattern', measure(() => cel.evaluateBool(signer))],
];
for (const [name, us] of rows) console.log(`${name.padEnd(50)} ${us.toFixed(2).padStart(9)} µs/call`);
