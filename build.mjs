#!/usr/bin/env node
// Builds the single executable dist/sigward, offline:
//   1. esbuild bundles cmd/main.ts into one CommonJS file, dist/sigward.cjs,
//      and containerd's first stage cmd/containerd-first-stage.ts into
//      dist/sigward-containerd.cjs;
//   2. V8 code caches of both are taken after running a few commands offline
//      (dist/sigward.cache, dist/sigward-containerd.cache), and `node
//      --experimental-sea-config` makes a Node SEA blob of a small loader
//      (dist/sea-main.cjs) with all four as assets;
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
// containerd's call starts here: a small bundle that answers a cached verdict (cmd/containerd-first-stage.ts)
const FIRST_STAGE_ENTRY = join(ROOT, 'cmd', 'containerd-first-stage.ts');
const FIRST_STAGE = join(DIST, 'sigward-containerd.cjs');
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

/**
 * containerd's first stage reads config.yaml in its plain form without the
 * YAML library (toPlainConfigDoc in lib/containerd/config.ts), which is most
 * of that bundle otherwise (160 of 190 KB). In the first stage the library
 * is a stand-in that refuses: a config.yaml that is not plain is no cached
 * verdict there, and the full bundle (with the real library) decides.
 */
const deferYaml = {
  name: 'defer-yaml',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: 'yaml', namespace: 'deferred-yaml' }));
    b.onLoad({ filter: /.*/, namespace: 'deferred-yaml' }, () => ({
      contents: "export function parse() {\n  throw new Error('not plain: left to the full binary');\n}\n",
      loader: 'js',
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
    FIRST_STAGE,
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
const bundleOptions = {
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
};
for (
  const [entry, outfile, plugins] of [
    [ENTRY, BUNDLE, [lazyStringWidth]],
    [FIRST_STAGE_ENTRY, FIRST_STAGE, [lazyStringWidth, deferYaml]],
  ]
) {
  try {
    const result = await build({ ...bundleOptions, entryPoints: [entry], outfile, plugins });
    if (result.errors.length) fail(`esbuild reported ${result.errors.length} error(s)`);
  } catch (e) {
    fail(`esbuild could not bundle ${relative(ROOT, entry)}`, e);
  }
}
step(
  `bundled ${relative(ROOT, ENTRY)} -> dist/sigward.cjs (${mb(statSync(BUNDLE).size)}), ${
    relative(ROOT, FIRST_STAGE_ENTRY)
  } -> dist/sigward-containerd.cjs (${mb(statSync(FIRST_STAGE).size)})`,
);

// 2. SEA blob, made by the same Node binary it is injected into (the code
// cache and the blob format are tied to that exact V8/Node version).
//
// Node's SEA code cache holds only what V8 compiles before the script runs,
// so each run would still compile every function it calls. Instead, the SEA
// main is a small loader that compiles the bundles (SEA assets) with V8 code
// caches taken at build time AFTER running representative commands offline
// (a containerd verdict, cached and not; verify of the signed OCI layout in
// testdata/demo; --version), each run starting from the previous one's cache.
// containerd's call runs the first stage (dist/sigward-containerd.cjs, 27 KB
// against 1.9 MB) and the full bundle only when the first stage has no cached
// verdict: loading the full bundle's code cache cost that path more than the
// rest of a cached answer. A cache V8 rejects (another V8, other flags) only
// means a cold compile; the build checks that the binary accepts both.
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAP_TAIL = '\n})';
const CODE_CACHE = join(DIST, 'sigward.cache');
// containerd's call starts in the first stage, with a cache of its own (what a cached verdict compiles)
const CONTAINERD_CACHE = join(DIST, 'sigward-containerd.cache');
const LOADER = join(DIST, 'sea-main.cjs');
const GENERATOR = join(DIST, 'cache-gen.cjs');
const useCodeCache = process.env.SIGWARD_CODE_CACHE !== '0';
for (const f of [BUNDLE, FIRST_STAGE]) writeFileSync(f, readFileSync(f, 'utf8').replace(/^#!.*\n/, ''));
// What the loader and the cache generator share: containerd's call (argv with
// -name or -digest, as cmd/containerd-argv.ts recognises it) runs the first
// stage, which answers a cached verdict; everything else, and whatever the
// first stage leaves, runs the full bundle.
const START = `const argv = process.argv.slice(2);
const code = argv.some((a) => /^-(name|digest)(=|$)/.test(a))
  ? load('sigward-containerd.cjs', 'sigward-containerd.cache').answerFromCache(argv, process.env)
  : undefined;
if (code === undefined) load('sigward.cjs', 'sigward.cache');
else process.exitCode = code;
`;
writeFileSync(
  LOADER,
  `'use strict';
// dist/sigward's entry (made by build.mjs): runs the bundles of the SEA assets
// sigward-containerd.cjs (containerd's first stage) and sigward.cjs, each with
// its V8 code cache (sigward-containerd.cache, sigward.cache).
const { getAsset } = require('node:sea');
const { Script, constants } = require('node:vm');
function load(name, cacheName) {
  let cachedData;
  try {
    cachedData = new Uint8Array(getAsset(cacheName));
  } catch {
    // built with SIGWARD_CODE_CACHE=0
  }
  const script = new Script(${JSON.stringify(WRAP_HEAD)} + getAsset(name, 'utf8') + ${JSON.stringify(WRAP_TAIL)}, {
    filename: __filename,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (process.env.SIGWARD_BUILD_CHECK_CODE_CACHE === '1') {
    process.stderr.write(\`code cache \${cachedData ? (script.cachedDataRejected ? 'rejected' : 'accepted') : 'absent'} (\${name})\\n\`);
  }
  const m = { exports: {} };
  script.runInThisContext()(m.exports, require, m, __filename, __dirname);
  return m.exports;
}
${START}`,
);
if (useCodeCache) {
  writeFileSync(
    GENERATOR,
    `'use strict';
// node cache-gen.cjs DIST ARGS...: runs the bundles of DIST as the executable
// would, then writes the code cache of each bundle it ran (next to it)
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script, constants } = require('node:vm');
const [dist, ...args] = process.argv.slice(2);
const ran = [];
function load(name, cacheName) {
  const file = join(dist, name);
  const cache = join(dist, cacheName);
  const script = new Script(${JSON.stringify(WRAP_HEAD)} + readFileSync(file, 'utf8') + ${JSON.stringify(WRAP_TAIL)}, {
    filename: file,
    cachedData: existsSync(cache) ? readFileSync(cache) : undefined,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  ran.push([script, cache]);
  const m = { exports: {} };
  script.runInThisContext()(m.exports, require, m, file, dist);
  return m.exports;
}
process.argv = [process.argv[0], join(dist, 'sigward.cjs'), ...args];
process.on('exit', () => {
  for (const [script, cache] of ran) writeFileSync(cache, script.createCachedData());
});
${START}`,
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
      const r = spawnSync(node.bin, [GENERATOR, DIST, ...w.args], {
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
      // the first run only fills the verdict cache: the caches hold what a cached verdict,
      // verify and --version compile (the cached verdict in the first stage's alone)
      if (w === warmups[0]) {
        rmSync(CODE_CACHE);
        rmSync(CONTAINERD_CACHE);
      }
    }
    if (existsSync(CODE_CACHE) === false || existsSync(CONTAINERD_CACHE) === false) {
      fail('warming the code caches did not write both caches (did the first stage answer the cached verdict?)');
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
const assets = {
  'sigward.cjs': BUNDLE,
  'sigward-containerd.cjs': FIRST_STAGE,
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
  const checks = [
    { args: ['--version'], bundles: ['sigward.cjs'] },
    // a missing configuration directory is no cached verdict: the first stage hands over to the full bundle
    {
      args: ['-name', 'registry.invalid/app:v1', '-digest', 'sha256:' + 'a'.repeat(64)],
      bundles: ['sigward-containerd.cjs', 'sigward.cjs'],
    },
  ];
  for (const { args, bundles } of checks) {
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
    for (const b of bundles) {
      if (!(r.stderr ?? '').split('\n').includes(`code cache accepted (${b})`)) {
        fail(`dist/sigward ${args.join(' ')} does not accept the code cache of ${b}: ${r.stderr}`);
      }
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
