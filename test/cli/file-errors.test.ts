// A file a flag names that cannot be read or written is a usage error (exit 2)
// that says which file it is, where, and the OS's code, on stderr (or as the
// command's JSON error), never a crash and never a verdict. The commands share
// one reader and one error for this (cmd/files.ts); these cases pin the words.

import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runSigward } from '../helpers/cli.ts';
import { scratch } from '../attacks/helpers.ts';
import { ROOT } from '../helpers/fixtures.ts';

const KEY = join(ROOT, 'testdata/demo/cosign.pub');
const IMAGE = `example.invalid/app@sha256:${'0'.repeat(64)}`;

const cases: { name: string; args: string[]; stderr: string }[] = [
  {
    name: 'verify --key',
    args: ['verify', '--key', '/nonexistent/k.pem', IMAGE],
    stderr: 'Error: cannot read key file /nonexistent/k.pem: ENOENT\n',
  },
  {
    name: 'verify --registry-cacert',
    args: ['verify', '--key', KEY, '--registry-cacert', '/nonexistent/ca.pem', IMAGE],
    stderr: 'Error: cannot read registry CA file /nonexistent/ca.pem: ENOENT\n',
  },
  {
    name: 'verify --notary --trust-policy',
    args: ['verify', '--notary', '--trust-policy', '/nonexistent/tp.json', IMAGE],
    stderr: 'Error: cannot read trust policy /nonexistent/tp.json: ENOENT\n',
  },
  {
    name: 'verify-bundle --bundle',
    args: ['verify-bundle', '--key', KEY, '--bundle', '/nonexistent/b.json', '/nonexistent/artifact'],
    stderr: 'Error: cannot read bundle /nonexistent/b.json: ENOENT\n',
  },
  {
    name: 'verify-bundle artifact',
    args: ['verify-bundle', '--key', KEY, '--bundle', KEY, '/nonexistent/artifact'],
    stderr: 'Error: cannot read artifact /nonexistent/artifact: ENOENT\n',
  },
  {
    name: 'test',
    args: ['test', '/nonexistent/tests'],
    stderr: 'Error: cannot read /nonexistent/tests: ENOENT\n',
  },
];

for (const c of cases) {
  t.test(`${c.name}: an unreadable file is a usage error that names it`, async (t) => {
    const r = await runSigward(c.args);
    t.equal(r.code, 2);
    t.equal(r.stderr, c.stderr);
    t.equal(r.stdout, '', 'nothing that reads like a verdict');
  });
}

const jsonCases: { name: string; args: string[]; message: string }[] = [
  {
    name: 'verify --notary --certificate -o json: the error is the JSON document of verify',
    args: ['verify', '--notary', '--certificate', '/nonexistent/c.pem', '-o', 'json', IMAGE],
    message: 'cannot read certificate file /nonexistent/c.pem: ENOENT',
  },
  {
    name: 'verify -o json --trust-policy without --notary: a usage error in JSON',
    args: ['verify', '--trust-policy', '/nonexistent/tp.json', '-o', 'json', IMAGE],
    message: '--trust-policy and --trust-store are for Notary signatures: add --notary',
  },
];

for (const c of jsonCases) {
  t.test(c.name, async (t) => {
    const r = await runSigward(c.args);
    t.equal(r.code, 2);
    t.same(JSON.parse(r.stdout), {
      schema: 'sigward.verify/v1',
      verified: false,
      error: { code: 'CONFIG_INVALID', outcome: 'usage', message: c.message },
    });
  });
}

t.test('trust export --out: a file that cannot be written is a usage error that names it', async (t) => {
  const s = scratch(t, 'sigward-file-errors-');
  const out = join(s.dir, 'taken');
  mkdirSync(out); // a directory where the file should go: the rename onto it fails
  const r = await runSigward(['trust', 'export', '--out', out]);
  t.equal(r.code, 2);
  t.equal(r.stderr, `Error: cannot write ${out}: EISDIR\n`);
  t.equal(r.stdout, '');
});

t.test('check and export: policy paths that hold no policy are a usage error', async (t) => {
  const s = scratch(t, 'sigward-file-errors-');
  for (
    const args of [['check', '--policy', s.dir, '--image', IMAGE], ['export', 'containers-policy', '--policy', s.dir]]
  ) {
    const r = await runSigward(args);
    t.equal(r.code, 2, args[0]);
    t.equal(r.stderr, 'Error: no policy found in the given paths\n', args[0]);
    t.equal(r.stdout, '', args[0]);
  }
});
