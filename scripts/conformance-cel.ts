// Runs the cel-spec conformance suite shipped by @bufbuild/cel-spec through
// sigward's CEL interface (compileCelWithEngine from lib/conditions/cel.ts),
// not through any library's own runner, and compares every result to the
// expected value by CEL type (int 1 is not double 1.0, a map's keys keep their
// types). The last line is always "N passed, M failed, K skipped".
//
//   node scripts/conformance-cel.ts [--library sigward|@bufbuild/cel|@marcbachmann/cel-js|cel-js]
//                                   [--verbose] [--list-skipped] [--by-suite] [--filter <text>] [--strict]
//   node scripts/conformance-cel.ts --compare     (every engine, passed/runnable per suite)
//
// Exit status 0 (the figures are the output); with --strict, 1 when a test failed.
//
// What the interface cannot express is skipped and counted by reason: tests
// that only type-check, disable macros, need a container or declared functions,
// use the conformance protobuf messages, bind or expect message/enum values, or
// expect unknowns. Expected errors pass when compiling or evaluating fails.
// For typed results only the value is compared (the interface exposes no
// type checker).

import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { getConformanceSuite } from '@bufbuild/cel-spec/testdata/tests.js';
import type { IncrementalTestSuite } from '@bufbuild/cel-spec/testdata/tests.js';
import { getTestRegistry } from '@bufbuild/cel-spec/testdata/registry.js';
import { CEL_ENGINES } from '../bench/cel-adapters.ts';
import { compileCelWithEngine } from '../lib/conditions/cel.ts';
import { CelDuration, CelMessageValue, CelTimestamp, CelTypeValue, CelUint } from '../lib/conditions/cel-values.ts';

class Skip extends Error {}

interface Args {
  library: string;
  verbose: boolean;
  listSkipped: boolean;
  bySuite: boolean;
  strict: boolean;
  compare: boolean;
  filter?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    library: 'sigward',
    verbose: false,
    listSkipped: false,
    bySuite: false,
    strict: false,
    compare: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--library') a.library = argv[++i] ?? '';
    else if (x.startsWith('--library=')) a.library = x.slice('--library='.length);
    else if (x === '--verbose' || x === '-v') a.verbose = true;
    else if (x === '--list-skipped') a.listSkipped = true;
    else if (x === '--by-suite') a.bySuite = true;
    else if (x === '--strict') a.strict = true;
    else if (x === '--compare') a.compare = true;
    else if (x === '--filter') a.filter = argv[++i];
    else {
      console.error(`unknown argument ${x}`);
      process.exit(2);
    }
  }
  if (!(a.library in CEL_ENGINES)) {
    console.error(`unknown library ${a.library}; one of: ${Object.keys(CEL_ENGINES).join(', ')}`);
    process.exit(2);
  }
  return a;
}

// ---------------------------------------------------------------------------
// cel.expr.Value -> model value

const registry = getTestRegistry();

interface PbValue {
  kind: { case: string | undefined; value?: unknown };
}

const WRAPPERS: Record<string, (v: unknown) => unknown> = {
  'google.protobuf.BoolValue': (v) => v,
  'google.protobuf.StringValue': (v) => v,
  'google.protobuf.BytesValue': (v) => v,
  'google.protobuf.DoubleValue': (v) => v,
  'google.protobuf.FloatValue': (v) => v,
  'google.protobuf.Int32Value': (v) => BigInt(v as number),
  'google.protobuf.Int64Value': (v) => BigInt(v as bigint),
  'google.protobuf.UInt32Value': (v) => new CelUint(BigInt(v as number)),
  'google.protobuf.UInt64Value': (v) => new CelUint(BigInt(v as bigint)),
};

/** google.protobuf.Value (JSON) -> model value. */
function fromJsonValue(v: PbValue): unknown {
  const { case: c, value } = v.kind;
  switch (c) {
    case 'nullValue':
      return null;
    case 'numberValue':
    case 'stringValue':
    case 'boolValue':
      return value;
    case 'structValue':
      return fromStruct(value as { fields: Record<string, PbValue> });
    case 'listValue':
      return (value as { values: PbValue[] }).values.map(fromJsonValue);
  }
  throw new Skip('unrepresentable JSON value');
}

function fromStruct(s: { fields: Record<string, PbValue> }): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  for (const [k, x] of Object.entries(s.fields)) m.set(k, fromJsonValue(x));
  return m;
}

function fromMessage(typeName: string, msg: Record<string, unknown>): unknown {
  if (typeName === 'google.protobuf.Timestamp') return new CelTimestamp(msg.seconds as bigint, msg.nanos as number);
  if (typeName === 'google.protobuf.Duration') return new CelDuration(msg.seconds as bigint, msg.nanos as number);
  if (typeName in WRAPPERS) return WRAPPERS[typeName](msg.value);
  if (typeName === 'google.protobuf.Struct') return fromStruct(msg as { fields: Record<string, PbValue> });
  if (typeName === 'google.protobuf.Value') return fromJsonValue(msg as unknown as PbValue);
  if (typeName === 'google.protobuf.ListValue') return (msg.values as PbValue[]).map(fromJsonValue);
  throw new Skip(
    `protobuf message values (${typeName.startsWith('cel.expr.conformance') ? 'conformance test messages' : typeName})`,
  );
}

function fromValue(v: PbValue): unknown {
  const { case: c, value } = v.kind;
  switch (c) {
    case 'nullValue':
      return null;
    case 'boolValue':
    case 'stringValue':
    case 'doubleValue':
    case 'bytesValue':
      return value;
    case 'int64Value':
      return BigInt(value as bigint);
    case 'uint64Value':
      return new CelUint(BigInt(value as bigint));
    case 'typeValue':
      return new CelTypeValue(value as string);
    case 'listValue':
      return (value as { values: PbValue[] }).values.map(fromValue);
    case 'mapValue': {
      const m = new Map<unknown, unknown>();
      for (const e of (value as { entries: { key: PbValue; value: PbValue }[] }).entries) {
        m.set(fromValue(e.key), fromValue(e.value));
      }
      return m;
    }
    case 'enumValue':
      throw new Skip('enum values (strong enums)');
    case 'objectValue': {
      const any = value as { typeUrl: string; value: Uint8Array; $typeName: 'google.protobuf.Any' };
      const typeName = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
      if (typeName.startsWith('cel.expr.conformance')) {
        throw new Skip('protobuf message values (conformance test messages)');
      }
      const msg = anyUnpack(any as Parameters<typeof anyUnpack>[0], registry);
      if (!msg) throw new Skip(`protobuf message values (${typeName})`);
      return fromMessage(typeName, msg as unknown as Record<string, unknown>);
    }
  }
  throw new Skip(`unrepresentable value kind ${c}`);
}

// ---------------------------------------------------------------------------
// Type-aware equality

function keyEquals(a: unknown, b: unknown): boolean {
  if (a instanceof CelUint && b instanceof CelUint) return a.value === b.value;
  return typeof a === typeof b && a === b;
}

function celEquals(actual: unknown, expected: unknown): boolean {
  if (expected === null) return actual === null;
  switch (typeof expected) {
    case 'boolean':
    case 'string':
    case 'bigint':
      return typeof actual === typeof expected && actual === expected;
    case 'number':
      return typeof actual === 'number' && (actual === expected || (Number.isNaN(actual) && Number.isNaN(expected)));
  }
  if (expected instanceof CelUint) return actual instanceof CelUint && actual.value === expected.value;
  if (expected instanceof Uint8Array) {
    return actual instanceof Uint8Array && actual.length === expected.length &&
      actual.every((x, i) => x === expected[i]);
  }
  if (expected instanceof CelTimestamp) {
    return actual instanceof CelTimestamp && actual.seconds === expected.seconds && actual.nanos === expected.nanos;
  }
  if (expected instanceof CelDuration) {
    return actual instanceof CelDuration && actual.seconds === expected.seconds && actual.nanos === expected.nanos;
  }
  if (expected instanceof CelTypeValue) return actual instanceof CelTypeValue && actual.name === expected.name;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      expected.every((e, i) => celEquals(actual[i], e));
  }
  if (expected instanceof Map) {
    if (!(actual instanceof Map) || actual.size !== expected.size) return false;
    for (const [ek, ev] of expected) {
      let found = false;
      for (const [ak, av] of actual) {
        if (keyEquals(ak, ek)) {
          found = celEquals(av, ev);
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }
  return false;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `${v}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `${v}.0` : `${v}`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof CelUint || v instanceof CelTimestamp || v instanceof CelDuration || v instanceof CelTypeValue) {
    return `${v}`;
  }
  if (v instanceof CelMessageValue) return `<${v.typeName}>`;
  if (v instanceof Uint8Array) return `b"${Buffer.from(v).toString('hex')}"`;
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${show(k)}: ${show(x)}`).join(', ')}}`;
  return String(v);
}

// ---------------------------------------------------------------------------

const CONFORMANCE_MESSAGE = /\b(TestAllTypes|NestedTestAllTypes|GlobalEnum|cel\.expr\.conformance)\b/;

type Outcome = { kind: 'pass' } | { kind: 'fail'; detail: string } | { kind: 'skip'; reason: string };

function runTest(library: string, t: IncrementalTestSuite['tests'][number]): Outcome {
  const o = t.original;
  if (o.checkOnly) return { kind: 'skip', reason: 'type-check only (the interface has no type checker)' };
  if (o.disableMacros) return { kind: 'skip', reason: 'needs macros disabled' };
  if (o.container) return { kind: 'skip', reason: 'needs a container (namespace for message types)' };
  if (CONFORMANCE_MESSAGE.test(o.expr)) return { kind: 'skip', reason: 'uses the conformance protobuf messages' };
  const variables = new Set<string>();
  for (const d of o.typeEnv) {
    if (d.declKind.case === 'function') return { kind: 'skip', reason: 'declares custom functions' };
    const ty = d.declKind.value?.type?.typeKind;
    if (ty?.case === 'messageType' && !String(ty.value).startsWith('google.protobuf.')) {
      return { kind: 'skip', reason: 'declares protobuf message types' };
    }
    variables.add(d.name);
  }
  const rm = o.resultMatcher;
  if (rm.case === 'unknown' || rm.case === 'anyUnknowns') {
    return { kind: 'skip', reason: 'expects unknowns (partial evaluation)' };
  }
  const bindings: Record<string, unknown> = {};
  let expected: unknown = true;
  try {
    for (const [name, ev] of Object.entries(o.bindings)) {
      if (ev.kind.case !== 'value') throw new Skip('binds errors or unknowns');
      bindings[name] = fromValue(ev.kind.value as unknown as PbValue);
      variables.add(name);
    }
    if (rm.case === 'value') expected = fromValue(rm.value as unknown as PbValue);
    else if (rm.case === 'typedResult' && rm.value.result) expected = fromValue(rm.value.result as unknown as PbValue);
  } catch (e) {
    if (e instanceof Skip) return { kind: 'skip', reason: `binds or expects ${e.message}` };
    throw e;
  }
  const expectError = rm.case === 'evalError' || rm.case === 'anyEvalErrors';
  let actual: unknown;
  try {
    const compiled = compileCelWithEngine(CEL_ENGINES[library], o.expr, { variables: [...variables] });
    actual = compiled.evaluate(bindings);
  } catch (e) {
    if (expectError) return { kind: 'pass' };
    const reason = e instanceof Error ? e.message : String(e);
    if (
      o.disableCheck && /undeclared reference|Unknown variable|no matching overload/.test(reason) &&
      /^invalid CEL/.test(reason)
    ) {
      return {
        kind: 'skip',
        reason: 'expects an unchecked program (the interface rejects undeclared references when compiling)',
      };
    }
    return {
      kind: 'fail',
      detail: `expected ${show(expected)}, got error: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  if (expectError) return { kind: 'fail', detail: `expected an error, got ${show(actual)}` };
  if (celEquals(actual, expected)) return { kind: 'pass' };
  return { kind: 'fail', detail: `expected ${show(expected)}, got ${show(actual)}` };
}

interface RunResult {
  passed: number;
  failed: number;
  skipped: Map<string, string[]>;
  failures: string[];
  bySuite: Map<string, [number, number]>;
  ms: number;
}

function runSuite(library: string, filter?: string): RunResult {
  let passed = 0;
  let failed = 0;
  const skipped = new Map<string, string[]>();
  const failures: string[] = [];
  const bySuite = new Map<string, [number, number]>();
  const started = performance.now();
  const walk = (suite: IncrementalTestSuite, path: string): void => {
    for (const t of suite.tests) {
      const id = `${path}/${t.name}`;
      if (filter && !id.includes(filter)) continue;
      let out: Outcome;
      try {
        out = runTest(library, t);
      } catch (e) {
        out = { kind: 'fail', detail: `runner error: ${e instanceof Error ? e.message : String(e)}` };
      }
      const top = id.split('/')[0];
      const counts = bySuite.get(top) ?? [0, 0];
      bySuite.set(top, counts);
      if (out.kind === 'pass') {
        counts[0]++;
        passed++;
      } else if (out.kind === 'fail') {
        counts[1]++;
        failed++;
        failures.push(`FAIL ${id}: ${t.original.expr}\n     ${out.detail}`);
      } else {
        const list = skipped.get(out.reason) ?? [];
        list.push(id);
        skipped.set(out.reason, list);
      }
    }
    for (const s of suite.suites) walk(s, `${path}/${s.name}`);
  };
  for (const s of getConformanceSuite().suites) walk(s, s.name);
  return { passed, failed, skipped, failures, bySuite, ms: Math.round(performance.now() - started) };
}

function compare(filter?: string): void {
  const names = Object.keys(CEL_ENGINES);
  const results = names.map((n) => runSuite(n, filter));
  const suites = [...results[0].bySuite.keys()].filter((s) =>
    results.some((r) => (r.bySuite.get(s)?.[0] ?? 0) + (r.bySuite.get(s)?.[1] ?? 0) > 0)
  );
  console.log('passed/runnable per suite (runnable: not skipped for that engine)');
  console.log(`${'suite'.padEnd(16)} ${names.map((n) => n.padStart(22)).join('')}`);
  const cell = (p: number, f: number) => `${p}/${p + f}`.padStart(22);
  for (const s of suites) {
    console.log(`${s.padEnd(16)} ${results.map((r) => cell(...(r.bySuite.get(s) ?? [0, 0]))).join('')}`);
  }
  console.log(`${'total'.padEnd(16)} ${results.map((r) => cell(r.passed, r.failed)).join('')}`);
  console.log(
    `${'share'.padEnd(16)} ${
      results.map((r) => `${((100 * r.passed) / (r.passed + r.failed)).toFixed(1)}%`.padStart(22)).join('')
    }`,
  );
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (args.compare) {
    compare(args.filter);
    return;
  }
  const { passed, failed, skipped, failures, bySuite, ms } = runSuite(args.library, args.filter);
  if (args.verbose) { for (const f of failures) console.log(f); }
  const total = [...skipped.values()].reduce((n, l) => n + l.length, 0);
  console.log(`library: ${args.library} (${ms} ms)`);
  if (args.bySuite) {
    console.log('by suite (passed/failed):');
    for (const [name, [p, f]] of bySuite) console.log(`  ${name.padEnd(18)} ${p}/${f}`);
  }
  console.log(`skipped by reason (${total}):`);
  for (const [reason, ids] of [...skipped].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`  ${String(ids.length).padStart(4)}  ${reason}`);
    if (args.listSkipped) { for (const id of ids) console.log(`          ${id}`); }
  }
  console.log(`${passed} passed, ${failed} failed, ${total} skipped`);
  process.exitCode = args.strict && failed > 0 ? 1 : 0;
}

main();
