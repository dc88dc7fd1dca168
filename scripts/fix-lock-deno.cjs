// Adds lock entries for deno's optional platform packages that the npm
// registry mirror here does not serve (npm then leaves them out of the lock,
// and `npm ci` rejects the lock). They are never fetched on linux-x64.
// usage: node fix-lock-deno.cjs path/to/package-lock.json
const fs = require('fs');
const file = process.argv[2];
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const deno = lock.packages['node_modules/deno'];
const platforms = {
  'darwin-arm64': ['darwin', 'arm64'],
  'darwin-x64': ['darwin', 'x64'],
  'linux-arm64-glibc': ['linux', 'arm64', 'glibc'],
  'linux-x64-glibc': ['linux', 'x64', 'glibc'],
  'win32-arm64': ['win32', 'arm64'],
  'win32-x64': ['win32', 'x64'],
};
for (const name of Object.keys(deno.optionalDependencies)) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const [os, cpu, libc] = platforms[name.replace('@deno/', '')];
  lock.packages[key] = {
    version: deno.optionalDependencies[name],
    cpu: [cpu],
    dev: true,
    ...(libc ? { libc: [libc] } : {}),
    license: 'MIT',
    optional: true,
    os: [os],
  };
}
const keys = Object.keys(lock.packages).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0));
lock.packages = Object.fromEntries(keys.map((k) => [k, lock.packages[k]]));
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
