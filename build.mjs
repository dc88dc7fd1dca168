#!/usr/bin/env node
// Builds the single executable dist/sigward, offline:
//   1. esbuild bundles cmd/main.ts into one CommonJS file, dist/sigward.cjs;
//   2. a V8 code cache of it is taken after running a few commands offline
//      (dist/sigward.cache), and `node --experimental-sea-config` makes a Node
//      SEA blob of a small loader (dist/sea-main.cjs) with both as assets;
//   3. the blob is injected (postject) into a copy of the Node 24 binary from
//      node_modules, stripped first when `strip` works.
// Every step fails loudly (non-zero exit, message on stderr).
//
// Environment:
//   SIGWARD_NO_STRIP=1     keep the Node binary's symbols (larger file)
//   SIGWARD_CODE_CACHE=0   build the blob without V8 code cache (nothing is run at build time)
//   SOURCE_DATE_EPOCH      build date (seconds) for reproducible builds

import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const require = createRequire(import.meta.url);
const { inject } = require('postject');

const ROOT = import.meta.dirname;
const DIST = join(ROOT, 'dist');
const ENTRY = join(ROOT, 'cmd', 'main.ts');
const BUNDLE = join(DIST, 'sigward.cjs');
const SEA_CONFIG = join(DIST, 'sea-config.json');
const BLOB = join(DIST, 'sea-prep.blob');
const BINARY = join(DIST, 'sigward');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const MIN_NODE_MAJOR = 24;

const started = performance.now();
const step = (msg) => process.stderr.write(`build: ${msg}\n`);
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function fail(msg, cause) {
  rmSync(BINARY, { force: true }); // never leave a half-built binary behind
  process.stderr.write(`build: FAILED: ${msg}\n`);
  if (cause) process.stderr.write(`${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`);
  process.exit(1);
}

/** Runs a program, returns its stdout; any failure ends the build. */
function run(file, args, what) {
  const r = spawnSync(file, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.error || r.status !== 0) {
    fail(
      `${what}: ${file} ${args.join(' ')} exited ${r.status ?? r.signal ?? r.error?.message}\n${r.stdout ?? ''}${
        r.stderr ?? ''
      }`,
    );
  }
  return r.stdout;
}

/** The Node 24 binary installed by the `node` package (node_modules/.bin/node). */
function getNodeBinary() {
  const local = join(ROOT, 'node_modules', '.bin', 'node');
  const bin = existsSync(local) ? realpathSync(local) : process.execPath;
  const version = run(bin, ['--version'], 'checking the Node binary').trim();
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (!(major >= MIN_NODE_MAJOR)) {
    fail(
      `${bin} is Node ${version}; the single executable needs Node >= ${MIN_NODE_MAJOR} (run npm ci so the "node" package installs it)`,
    );
  }
  return { bin, version };
}

function getCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

function getBuildDate() {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000).toISOString();
  return new Date().toISOString();
}

function hasStrip() {
  const r = spawnSync('strip', ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/**
 * string-width (used by yargs and cliui to lay out help text) builds an
 * Intl.Segmenter and Unicode property regular expressions (RGI_Emoji, ...)
 * when its module is evaluated: 15-20 ms on every start of the binary, for
 * text that is laid out only when help is shown. In the bundle, each import of
 * string-width gets a stand-in with the same default export that evaluates the
 * real module on its first call. Sources run by node or deno are unchanged.
 */
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: { real: true },
      });
      if (real.errors.length) return { errors: real.errors };
      return { path: relative(ROOT, real.path), namespace: 'lazy-string-width' }; // relative: no build path in the bundle
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: `let real;\nexport default function stringWidth(...a) {\n  real ??= require(${
        JSON.stringify('./' + args.path)
      }).default;\n  return real(...a);\n}\n`,
      loader: 'js',
      resolveDir: ROOT,
    }));
  },
};

// ---------------------------------------------------------------------------

const node = getNodeBinary();
const buildInfo = { commit: getCommit(), date: getBuildDate(), bundled: true };
step(`node ${node.version} (${node.bin}), commit ${buildInfo.commit}`);

for (
  const f of [
    BUNDLE,
    SEA_CONFIG,
    BLOB,
    BINARY,
    join(DIST, 'sigward.cache'),
    join(DIST, 'sigward-containerd.cache'),
    join(DIST, 'sea-main.cjs'),
    join(DIST, 'cache-gen.cjs'),
  ]
) rmSync(f, { force: true });
mkdirSync(DIST, { recursive: true });

// 1. Bundle. yargs 18 calls createRequire(import.meta.url), and esbuild leaves
// import.meta empty in CommonJS output: the banner computes the URL of the
// running file once and the define points every import.meta.url at it.
// (In the single executable __filename is the executable's path.) The banner
// starts with "use strict" because it lands above esbuild's own directive,
// which would otherwise no longer be a directive and leave the bundle sloppy.
try {
  const result = await build({
    entryPoints: [ENTRY],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // identifiers are kept (names stay readable in stack traces); whitespace and
    // syntax minification make the blob a third smaller, which V8 reads and
    // checks on every start even with the code cache (measured: 3-8 ms less
    // start-up, bench/startup.bench.ts)
    minify: false,
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: false,
    legalComments: 'eof',
    define: {
      __SIGWARD_BUILD__: JSON.stringify(buildInfo),
      'import.meta.url': '__sigward_import_meta_url',
    },
    banner: {
      js: "'use strict';\nvar __sigward_import_meta_url = require('node:url').pathToFileURL(__filename).href;",
    },
    logLevel: 'warning',
    plugins: [lazyStringWidth],
  });
  if (result.errors.length) fail(`esbuild reported ${result.errors.length} error(s)`);
} catch (e) {
  fail('esbuild could not bundle cmd/main.ts', e);
}
step(`bundled ${ENTRY.slice(ROOT.length + 1)} -> dist/sigward.cjs (${mb(statSync(BUNDLE).size)})`);

// 2. SEA blob, made by the same Node binary it is injected into (the code
// cache and the blob format are tied to that exact V8/Node version).
//
// Node's SEA code cache holds only what V8 compiles before the script runs,
// so each run would still compile every function it calls. Instead, the SEA
// main is a small loader that compiles the bundle (an SEA asset) with a V8
// code cache taken at build time AFTER running representative commands
// offline (a containerd verdict, cached and not; verify of the signed OCI
// layout in testdata/demo; --version), each run starting from the previous
// one's cache. A cache V8 rejects (another V8, other flags) only means a cold
// compile; the build checks that the binary accepts it.
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAP_TAIL = '\n})';
const CODE_CACHE = join(DIST, 'sigward.cache');
// containerd's call gets a cache of its own: the whole cache costs that short path what it saves
const CONTAINERD_CACHE = join(DIST, 'sigward-containerd.cache');
const LOADER = join(DIST, 'sea-main.cjs');
const GENERATOR = join(DIST, 'cache-gen.cjs');
const useCodeCache = process.env.SIGWARD_CODE_CACHE !== '0';
const source = readFileSync(BUNDLE, 'utf8').replace(/^#!.*\n/, '');
writeFileSync(BUNDLE, source);
writeFileSync(
  LOADER,
  `'use strict';
// dist/sigward's entry (made by build.mjs): runs the bundle from the SEA asset
// sigward.cjs with the V8 code cache sigward.cache.
const { getAsset } = require('node:sea');
const { Script, constants } = require('node:vm');
// containerd's call (the argv cmd/containerd-argv.ts recognises) has a cache of its own
const containerd = process.argv.slice(2).some((a) => /^-(name|digest)(=|$)/.test(a));
let cachedData;
try {
  cachedData = new Uint8Array(getAsset(containerd ? 'sigward-containerd.cache' : 'sigward.cache'));
} catch {
  // built with SIGWARD_CODE_CACHE=0
}
const script = new Script(${JSON.stringify(WRAP_HEAD)} + getAsset('sigward.cjs', 'utf8') + ${
    JSON.stringify(WRAP_TAIL)
  }, {
  filename: __filename,
  cachedData,
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
if (process.env.SIGWARD_BUILD_CHECK_CODE_CACHE === '1') process.stderr.write(\`code cache \${cachedData ? (script.cachedDataRejected ? 'rejected' : 'accepted') : 'absent'}\\n\`);
script.runInThisContext()(exports, require, module, __filename, __dirname);
`,
);
if (useCodeCache) {
  writeFileSync(
    GENERATOR,
    `'use strict';
// node cache-gen.cjs BUNDLE CACHE ARGS...: runs the bundle as the executable would, then writes the code cache
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { Script, constants } = require('node:vm');
const [bundle, cache, ...args] = process.argv.slice(2);
const script = new Script(${JSON.stringify(WRAP_HEAD)} + readFileSync(bundle, 'utf8') + ${JSON.stringify(WRAP_TAIL)}, {
  filename: bundle,
  cachedData: existsSync(cache) ? readFileSync(cache) : undefined,
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
process.argv = [process.argv[0], bundle, ...args];
process.on('exit', () => writeFileSync(cache, script.createCachedData()));
script.runInThisContext()(exports, require, module, bundle, __dirname);
`,
  );
  rmSync(CODE_CACHE, { force: true });
  rmSync(CONTAINERD_CACHE, { force: true });
  const tmp = mkdtempSync(join(tmpdir(), 'sigward-build-'));
  try {
    const cfg = join(tmp, 'etc-sigward');
    mkdirSync(join(cfg, 'policies'), { recursive: true });
    writeFileSync(join(cfg, 'config.yaml'), 'cache:\n  dir: cache\n');
    const digest = 'sha256:' + 'a'.repeat(64);
    const descriptor = JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 2 }) +
      '\n';
    const containerd = [
      '-name',
      'registry.invalid/app:v1',
      '-digest',
      digest,
      '-stdin-media-type',
      'application/vnd.oci.descriptor.v1+json',
    ];
    const demo = join(ROOT, 'testdata', 'demo');
    const warmups = [
      { args: containerd, input: descriptor, expect: /no policy applies/ },
      { args: containerd, input: descriptor, expect: /cached verdict/ },
      {
        args: [
          'verify',
          `oci:${join(demo, 'layout')}:signed`,
          '--key',
          join(demo, 'cosign.pub'),
          '--insecure-ignore-tlog',
        ],
        expect: /^allow /m,
      },
      { args: ['--version'], expect: /^sigward / },
    ];
    for (const w of warmups) {
      const r = spawnSync(node.bin, [GENERATOR, BUNDLE, CODE_CACHE, ...w.args], {
        cwd: tmp,
        input: w.input ?? '',
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, SIGWARD_CONFIG_DIR: cfg },
      });
      if (r.status !== 0 || !w.expect.test(r.stdout)) {
        fail(
          `warming the code cache with sigward ${w.args.join(' ')}: exit ${
            r.status ?? r.signal
          }\n${r.stdout}${r.stderr}`,
        );
      }
      // the first run only fills the verdict cache: containerd's cache holds what a cached verdict compiles
      if (w === warmups[0]) rmSync(CODE_CACHE);
      if (w === warmups[1]) copyFileSync(CODE_CACHE, CONTAINERD_CACHE);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
const assets = {
  'sigward.cjs': BUNDLE,
  ...(useCodeCache ? { 'sigward.cache': CODE_CACHE, 'sigward-containerd.cache': CONTAINERD_CACHE } : {}),
};
writeFileSync(
  SEA_CONFIG,
  JSON.stringify(
    { main: LOADER, output: BLOB, disableExperimentalSEAWarning: true, useCodeCache: false, assets },
    null,
    2,
  ) + '\n',
);
run(node.bin, ['--experimental-sea-config', SEA_CONFIG], 'writing the SEA blob');
if (!existsSync(BLOB)) fail(`node --experimental-sea-config did not write ${BLOB}`);
step(
  `SEA blob dist/sea-prep.blob (${mb(statSync(BLOB).size)}, ${
    useCodeCache
      ? `code caches ${mb(statSync(CODE_CACHE).size)} and ${
        mb(statSync(CONTAINERD_CACHE).size)
      } (containerd), warmed by running 4 commands`
      : 'no code cache'
  })`,
);

// 3. Copy Node, strip it if that leaves a working binary, inject the blob.
copyFileSync(node.bin, BINARY);
chmodSync(BINARY, 0o755);
const unstrippedSize = statSync(BINARY).size;
let stripped = false;
if (process.env.SIGWARD_NO_STRIP === '1') {
  step('not stripping (SIGWARD_NO_STRIP=1)');
} else if (!hasStrip()) {
  step('strip not found: keeping symbols');
} else {
  const r = spawnSync('strip', [BINARY], { encoding: 'utf8' });
  const check = r.status === 0 ? spawnSync(BINARY, ['--version'], { encoding: 'utf8' }) : undefined;
  if (check?.status === 0 && check.stdout.trim() === node.version) {
    stripped = true;
  } else {
    step(`strip did not leave a working binary (${r.stderr || check?.stderr || 'version mismatch'}): keeping symbols`);
    copyFileSync(node.bin, BINARY);
    chmodSync(BINARY, 0o755);
  }
}

// postject's ELF writer (LIEF) prints one harmless "Can't find string offset
// for section name '.note...'" line per note section of Node: drop those.
const quiet = /^warning: Can't find string offset for section name '\.note/;
const { log: origLog, warn: origWarn } = console;
console.log = (...a) => (quiet.test(String(a[0])) ? undefined : origLog(...a));
console.warn = (...a) => (quiet.test(String(a[0])) ? undefined : origWarn(...a));
try {
  await inject(BINARY, 'NODE_SEA_BLOB', readFileSync(BLOB), { sentinelFuse: SEA_FUSE });
} catch (e) {
  fail('postject could not inject the SEA blob', e);
} finally {
  console.log = origLog;
  console.warn = origWarn;
}
chmodSync(BINARY, 0o755);

// 4. The result must run on its own, know it is the bundled build, and use its code cache.
const out = run(BINARY, ['version'], 'running the built binary');
if (useCodeCache) {
  for (const args of [['--version'], ['-name', 'registry.invalid/app:v1', '-digest', 'sha256:' + 'a'.repeat(64)]]) {
    const r = spawnSync(BINARY, args, {
      encoding: 'utf8',
      input: '',
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        SIGWARD_CONFIG_DIR: join(DIST, 'no-such-dir'),
        SIGWARD_BUILD_CHECK_CODE_CACHE: '1',
      },
    });
    if (!/^code cache accepted$/m.test(r.stderr ?? '')) {
      fail(`dist/sigward ${args.join(' ')} does not accept its code cache: ${r.stderr}`);
    }
  }
}
if (!out.includes('single executable') || !out.includes(buildInfo.commit)) {
  fail(`dist/sigward version does not report a bundled build:\n${out}`);
}

const size = statSync(BINARY).size;
const seconds = ((performance.now() - started) / 1000).toFixed(1);
step(
  `dist/sigward: ${mb(size)} (${
    stripped ? `stripped; unstripped Node is ${mb(unstrippedSize)}` : 'not stripped'
  }), built in ${seconds} s`,
);
