// `sigward check`: policies against images or Kubernetes manifests, like
// `kyverno apply`, for scripts and CI. Each distinct digest is verified once
// per run, whatever the number of resources that use it.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { EXIT_CODES, SigwardError, toSigwardError } from '../../lib/errors.ts';
import { createEngine, type Evaluation } from '../../lib/engine/index.ts';
import { printJson, reportError } from '../output.ts';
import type { Context } from './types.ts';
import type { SigwardCommand } from './types.ts';
import { addRegistryOptions, storeFactoryFromArgs, storesForFromArgs } from './registry-options.ts';
import { addTrustOptions, trustFromArgs } from './trust-options.ts';
import { withRateLimit } from '../../lib/oci/store-wrappers.ts';
import { toJUnitXml } from '../report/junit.ts';
import { createProgress, NO_PROGRESS } from '../report/progress.ts';
import { repeatable } from '../flags.ts';
import { toFileError, writeFileAtomic } from '../files.ts';
import { DEFAULT_REGISTRY_FLAG, policiesFromArgs, POLICY_FLAG } from './policy-options.ts';

export interface Manifest {
  source: string;
  object: Record<string, unknown>;
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

function listFiles(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    const p = join(path, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (/\.(ya?ml|json)$/i.test(name)) out.push(p);
  }
  return out;
}

/** Kubernetes objects from YAML/JSON text: multi-document, `List` kinds flattened. */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  const add = (o: unknown, where: string) => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return;
    const obj = o as Record<string, unknown>;
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
      obj.items.forEach((item, i) => add(item, `${where}#items[${i}]`));
      return;
    }
    if (typeof obj.kind === 'string') out.push({ source: where, object: obj });
  };
  const docs = parseAllDocuments(text);
  for (const [i, d] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    if (d.errors.length) {
      throw new SigwardError('CONFIG_INVALID', `${source}: document ${i + 1}: ${d.errors[0]!.message}`);
    }
    add(d.toJS(), docs.length > 1 ? `${source}#${i + 1}` : source);
  }
  return out;
}

export function loadManifests(paths: string[]): Manifest[] {
  const out: Manifest[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(...parseManifests(readStdin(), 'stdin'));
      continue;
    }
    let files: string[];
    try {
      files = listFiles(p);
    } catch (e) {
      throw toFileError(`cannot read resource ${p}`, e);
    }
    for (const f of files) out.push(...parseManifests(readFileSync(f, 'utf8'), f));
  }
  return out;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

function exitCodeFor(evals: Evaluation[]): number {
  const blocked = evals.filter((e) => !e.allowed);
  if (!blocked.length) return 0;
  const onlyErrors = blocked.every((e) => e.rules.every((r) => r.status !== 'fail' || r.action !== 'Enforce'));
  return onlyErrors ? EXIT_CODES.undecided : EXIT_CODES.deny;
}

/** One verdict per distinct digest: allowed when every evaluation that verified it was allowed. */
function digestVerdicts(evals: Evaluation[]): { digest: string; references: number; allowed: boolean }[] {
  const by = new Map<string, { refs: Set<string>; allowed: boolean }>();
  for (const e of evals) {
    for (const r of e.rules) {
      for (const im of r.images) {
        if (!im.digest) continue;
        const d = by.get(im.digest) ?? { refs: new Set<string>(), allowed: true };
        d.refs.add(im.image);
        if (!e.allowed) d.allowed = false;
        by.set(im.digest, d);
      }
    }
  }
  return [...by].map(([digest, d]) => ({ digest, references: d.refs.size, allowed: d.allowed }));
}

function printTable(ctx: Context, evals: Evaluation[], sources: string[]): void {
  const rows: string[][] = [['RESOURCE', 'IMAGE', 'POLICY/RULE', 'RESULT', 'REASON']];
  evals.forEach((e, i) => {
    const res = e.resource.kind === 'Image'
      ? '-'
      : `${e.resource.kind}/${e.resource.namespace ? e.resource.namespace + '/' : ''}${e.resource.name ?? ''}`;
    for (const r of e.rules) {
      const imgs = r.images.length
        ? r.images
        : [{ image: '-', status: r.status, message: r.message, action: r.action }];
      for (const im of imgs) {
        const result = im.status === 'fail' ? `fail (${im.action})` : im.status;
        rows.push([
          res || sources[i]!,
          im.image,
          `${r.policy}/${r.rule}`,
          result,
          im.status === 'pass' || im.status === 'skip' ? '' : im.message,
        ]);
      }
    }
    if (!e.rules.length) rows.push([res, '-', '-', 'no policy applies', '']);
  });
  const widths = rows[0]!.map((_, c) => Math.min(60, Math.max(...rows.map((r) => r[c]!.length))));
  for (const r of rows) {
    ctx.io.stdout(
      r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd() + '\n',
    );
  }
}

export const checkCommand: SigwardCommand = {
  builder: (y) =>
    addTrustOptions(
      addRegistryOptions(
        y
          .positional('stdin', {
            type: 'string',
            array: true,
            describe: '"-" after --image, --resource or --junit: stdin / stdout',
          })
          .option(
            'policy',
            POLICY_FLAG,
          )
          .option(
            'image',
            repeatable({ alias: 'i', describe: 'image reference (repeatable; "-" reads a list from stdin)' }),
          )
          .option(
            'resource',
            repeatable({
              alias: 'r',
              describe: 'manifest file or directory (repeatable; "-" reads YAML/JSON from stdin)',
            }),
          )
          .option('concurrency', { type: 'number', default: 8, describe: 'images / resources evaluated at once' })
          .option('registry-qps', {
            type: 'number',
            describe: 'at most N registry requests per second per registry host (token bucket, burst N)',
          })
          .option('junit', {
            type: 'string',
            describe: 'also write a JUnit XML report to FILE ("-": print it instead of the table/JSON)',
          })
          .option('progress', {
            type: 'boolean',
            describe: 'progress bar on stderr (default: when stderr is a terminal)',
          })
          .option('default-registry', DEFAULT_REGISTRY_FLAG),
      ),
    ),
  handler: async (args, ctx) => {
    const format = args.output === 'json' ? 'json' : 'text';
    try {
      const policies = policiesFromArgs(args, ctx);
      const dash = (v: unknown) => Array.isArray(v) && v.length === 0; // `--image -`: yargs leaves the option empty
      let images = (args.image as string[] | undefined) ?? [];
      if (dash(args.image)) images = ['-'];
      if (images.includes('-')) {
        images = [...images.filter((i) => i !== '-'), ...readStdin().split(/\s+/).filter(Boolean)];
      }
      const manifests = loadManifests(dash(args.resource) ? ['-'] : ((args.resource as string[] | undefined) ?? []));
      if (!images.length && !manifests.length) {
        throw new SigwardError('CONFIG_INVALID', 'nothing to check: give --image or --resource');
      }
      const qps = args['registry-qps'] === undefined ? undefined : Number(args['registry-qps']);
      if (qps !== undefined && !(qps > 0)) {
        throw new SigwardError('CONFIG_INVALID', '--registry-qps must be a number > 0');
      }
      const baseStores = storeFactoryFromArgs(args, ctx);
      const engine = createEngine({
        policies,
        stores: qps ? withRateLimit(baseStores, { qps }) : baseStores,
        trust: await trustFromArgs(args, ctx),
        defaultRegistry: args['default-registry'] as string | undefined,
        shareMemo: true,
        storesFor: storesForFromArgs(args, ctx),
      });
      const started = Date.now();
      const concurrency = Math.max(1, Number(args.concurrency) || 8);
      const showProgress = (args.progress as boolean | undefined) ?? Boolean(process.stderr.isTTY);
      const progress = showProgress
        ? createProgress({
          total: images.length + manifests.length,
          write: ctx.io.stderr,
          columns: process.stderr.columns || 80,
        })
        : NO_PROGRESS;
      // one image per evaluation, at most `concurrency` at once; verifications are shared by digest (shareMemo)
      const imageEvals = await mapLimit(images, concurrency, async (img) => {
        const [ev] = await engine.evaluateImages([img]);
        progress.tick();
        return ev!;
      });
      const resourceEvals = await mapLimit(manifests, concurrency, async (m) => {
        const ev = await engine.evaluateResource(m.object, { operation: 'CREATE' });
        progress.tick();
        return ev;
      });
      progress.done();
      const evals = [...imageEvals, ...resourceEvals];
      const sources = [...images, ...manifests.map((m) => m.source)];
      const ms = Date.now() - started;
      const summary = {
        resources: manifests.length,
        images: images.length,
        allowed: evals.filter((e) => e.allowed).length,
        blocked: evals.filter((e) => !e.allowed).length,
        distinctDigests: engine.totals.digests.size,
        signatureVerifications: engine.totals.signatureVerifications,
        attestationVerifications: engine.totals.attestationVerifications,
        ms,
        /** images and resources checked per second */
        throughput: ms > 0
          ? Math.round(((images.length + manifests.length) / ms) * 1000 * 10) / 10
          : images.length + manifests.length,
      };
      const junit = args.junit === '' ? '-' : (args.junit as string | undefined);
      if (junit) {
        const xml = toJUnitXml(evals, { sources, ms, timestamp: new Date(started).toISOString() });
        if (junit === '-') {
          ctx.io.stdout(xml);
          return exitCodeFor(evals);
        }
        writeFileAtomic(junit, xml);
      }
      if (format === 'json') {
        printJson(ctx.io, {
          schema: 'sigward.check/v1',
          allowed: summary.blocked === 0,
          summary,
          digests: digestVerdicts(evals),
          results: evals.map((e, i) => ({ source: sources[i], ...e })),
        });
      } else {
        printTable(ctx, evals, sources);
        for (const e of evals) if (e.message) ctx.io.stdout(e.message.trim().replace(/^/gm, '  ') + '\n');
        ctx.io.stdout(
          `\n${summary.resources} resources, ${summary.images} images: ${summary.allowed} allowed, ${summary.blocked} blocked; ${summary.distinctDigests} distinct digests, ${
            summary.signatureVerifications + summary.attestationVerifications
          } verifications in ${ms} ms (${summary.throughput}/s)\n`,
        );
      }
      return exitCodeFor(evals);
    } catch (e) {
      return reportError(ctx.io, format, toSigwardError(e), 'sigward.check/v1');
    }
  },
};
