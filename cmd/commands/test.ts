// `sigward test`: policy tests for CI in the shape of `kyverno test`. Each test
// file names policies, resources and the expected result per policy, rule and
// resource; sigward evaluates the resources against the policies (against the
// registry the images are in: a local one in CI, offline) and compares.
//   exit 0: every expected result matched; 1: some did not; 2: usage or an
//   invalid test file.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SigwardError, toSigwardError } from '../../lib/errors.ts';
import { walkFileTree } from '../../lib/file-tree.ts';
import { createEngine } from '../../lib/engine/index.ts';
import { printJson, reportError } from '../output.ts';
import type { SigwardCommand } from './types.ts';
import { addRegistryOptions, storeFactoryFromArgs, storesForFromArgs } from './registry-options.ts';
import { addTrustOptions, trustFromArgs } from './trust-options.ts';
import { loadManifests } from './check.ts';
import { comparePolicyTest, parsePolicyTest, type PolicyTest, type TestCaseResult } from '../report/policy-tests.ts';
import { escapeXml } from '../report/junit.ts';
import { toFileError } from '../files.ts';
import { DEFAULT_REGISTRY_FLAG, loadPolicyFiles } from './policy-options.ts';

/** Test files named on the command line; directories are searched for kyverno-test.yaml / sigward-test.yaml. */
function findTestFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw toFileError(`cannot read ${p}`, e);
    }
    if (st.isFile()) {
      files.push(p);
      continue;
    }
    walkFileTree(p, (e) => {
      if (e.kind === 'file' && /^(kyverno|sigward)-test\.ya?ml$/.test(basename(e.path))) files.push(e.path);
      if (e.kind === 'loop') throw new SigwardError('CONFIG_INVALID', `${e.path}: ${e.error}`);
    });
  }
  if (!files.length) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `no test file (kyverno-test.yaml or sigward-test.yaml) under ${paths.join(', ')}`,
    );
  }
  return files;
}

function toJUnit(runs: { test: PolicyTest; cases: TestCaseResult[] }[]): string {
  const all = runs.flatMap((r) => r.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="sigward test" tests="${all.length}" failures="${all.filter((c) => !c.ok).length}">`,
  ];
  for (const { test, cases } of runs) {
    lines.push(
      `  <testsuite name="${escapeXml(test.name)}" tests="${cases.length}" failures="${
        cases.filter((c) => !c.ok).length
      }">`,
    );
    for (const c of cases) {
      const open = `    <testcase classname="${escapeXml(`${c.policy}.${c.rule}`)}" name="${escapeXml(c.resource)}"`;
      if (c.ok) lines.push(`${open}/>`);
      else {
        const msg = `expected ${c.expected}, got ${c.actual}${c.message ? `: ${c.message}` : ''}`;
        lines.push(
          `${open}>`,
          `      <failure message="${escapeXml(msg)}" type="${escapeXml(c.actual)}">${escapeXml(msg)}</failure>`,
          '    </testcase>',
        );
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}

export const testCommand: SigwardCommand = {
  builder: (y) =>
    addTrustOptions(
      addRegistryOptions(
        y
          .positional('paths', {
            type: 'string',
            array: true,
            describe: 'test files, or directories holding kyverno-test.yaml / sigward-test.yaml',
          })
          .option('junit', { type: 'string', describe: 'also write a JUnit XML report to FILE' })
          .option('default-registry', DEFAULT_REGISTRY_FLAG),
      ),
    ),
  handler: async (args, ctx) => {
    const format = args.output === 'json' ? 'json' : 'text';
    try {
      const tests = findTestFiles(args.paths as string[]).map((f) => parsePolicyTest(readFileSync(f, 'utf8'), f));
      const stores = storeFactoryFromArgs(args, ctx);
      const storesFor = storesForFromArgs(args, ctx);
      const trust = await trustFromArgs(args, ctx);
      const runs: { test: PolicyTest; cases: TestCaseResult[] }[] = [];
      for (const test of tests) {
        const policies = loadPolicyFiles(test.policies, ctx);
        const manifests = loadManifests(test.resources);
        const engine = createEngine({
          policies,
          stores,
          trust,
          defaultRegistry: args['default-registry'] as string | undefined,
          shareMemo: true,
          storesFor,
        });
        const evals = await Promise.all(
          manifests.map((m) => engine.evaluateResource(m.object, { operation: 'CREATE' })),
        );
        runs.push({ test, cases: comparePolicyTest(test, evals) });
      }
      const all = runs.flatMap((r) => r.cases);
      const failed = all.filter((c) => !c.ok).length;
      if (args.junit) {
        writeFileSync(String(args.junit), toJUnit(runs));
      }
      if (format === 'json') {
        printJson(ctx.io, {
          schema: 'sigward.test/v1',
          passed: failed === 0,
          summary: { tests: tests.length, cases: all.length, failed },
          tests: runs.map((r) => ({ file: r.test.file, name: r.test.name, cases: r.cases })),
        });
      } else {
        for (const { test, cases } of runs) {
          ctx.io.stdout(`${test.file} (${test.name}):\n`);
          for (const c of cases) {
            const detail = c.ok
              ? `${c.actual}`
              : `expected ${c.expected}, got ${c.actual}${c.message ? `: ${c.message.replace(/\s+/g, ' ')}` : ''}`;
            ctx.io.stdout(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.policy}/${c.rule}  ${c.resource}  ${detail}\n`);
          }
        }
        ctx.io.stdout(
          `\n${all.length - failed} of ${all.length} expected results matched in ${tests.length} test file${
            tests.length === 1 ? '' : 's'
          }\n`,
        );
      }
      return failed ? 1 : 0;
    } catch (e) {
      return reportError(ctx.io, format, toSigwardError(e), 'sigward.test/v1');
    }
  },
};
