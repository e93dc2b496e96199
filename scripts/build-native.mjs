// Builds the oneDNN addon (native/) when oneDNN's headers are present. A user's install never fails for it (other
// backends work); in CI (CI=true) or with GAPLAB_REQUIRE_NATIVE=1 a missing oneDNN or a compile error fails, with the
// compiler's output, so a broken addon cannot land as skipped tests. LAPACK (lapacke.h) is optional the same way: without
// it the addon lacks the eigensolver and gcn-zca fits ZCA in JavaScript (minutes instead of seconds); CI requires it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const onednnRoot = process.env.ONEDNN_ROOT;
const headerDirs = [
  ...(onednnRoot ? [join(onednnRoot, 'include')] : []),
  '/usr/include', '/usr/local/include', '/opt/homebrew/include', '/opt/homebrew/opt/onednn/include',
  '/usr/local/opt/onednn/include',
];
const required = process.env.CI === 'true' || process.env.GAPLAB_REQUIRE_NATIVE === '1';
const header = headerDirs.flatMap((d) => [join(d, 'oneapi/dnnl/dnnl.hpp'), join(d, 'dnnl.hpp')]).find(existsSync);

if (process.env.GAPLAB_SKIP_NATIVE_BUILD === '1') {
  console.log('gaplab: GAPLAB_SKIP_NATIVE_BUILD=1, skipping the native backend');
  process.exit(0);
}
if (!header) {
  console.log('gaplab: oneDNN not found, skipping the native backend; apt-get install libdnnl-dev to enable it');
  process.exit(required ? 1 : 0);
}

// LAPACKE's header: Debian/Ubuntu liblapacke-dev (plus libopenblas0-openmp, whose LAPACK Debian's alternatives then
// pick: its eigensolver is ~8x faster than the reference LAPACK's, and it shares oneDNN's OpenMP threads), Homebrew's
// lapack (keg-only, so its prefix goes to binding.gyp).
const lapackRoot = process.env.LAPACK_ROOT;
const lapackHeader = [
  ...(lapackRoot ? [join(lapackRoot, 'include')] : []),
  '/usr/include', '/usr/local/include', '/opt/homebrew/opt/lapack/include', '/usr/local/opt/lapack/include',
].map((d) => join(d, 'lapacke.h')).find(existsSync);
const lapackHint = 'apt-get install liblapacke-dev libopenblas0-openmp (macOS: brew install lapack)';
if (!lapackHeader) {
  console.log(`gaplab: LAPACK not found: the native backend is built without its eigensolver, so gcn-zca fits ZCA in ` +
    `JavaScript (minutes for CIFAR); ${lapackHint} to enable it`);
  if (required) {
    console.log('gaplab: CI=true or GAPLAB_REQUIRE_NATIVE=1: failing, since the fast ZCA fit is required');
    process.exit(1);
  }
}

const env = { ...process.env, GAPLAB_LAPACK: lapackHeader ? '1' : '' };
if (lapackHeader && !env.LAPACK_ROOT && !lapackHeader.startsWith('/usr/')) env.LAPACK_ROOT = dirname(dirname(lapackHeader));
// Homebrew keeps oneDNN outside the compiler's default paths: point binding.gyp at its prefix.
if (!env.ONEDNN_ROOT && !header.startsWith('/usr/include')) env.ONEDNN_ROOT = dirname(dirname(header).replace(/\/oneapi\/dnnl$/, ''));

const args = ['rebuild'];
// node-gyp downloads Node's headers unless told where they are; distro Node ships them (e.g. /usr/include/node).
if (!env.npm_config_nodedir) {
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
}

let gyp;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.log('gaplab: node-gyp is not installed, skipping the native backend (npm install to get it)');
  process.exit(required ? 1 : 0);
}

const res = spawnSync(process.execPath, [gyp, ...args], { cwd: join(root, 'native'), env, encoding: 'utf8' });
if (res.status === 0) {
  console.log(`gaplab: native backend built with oneDNN (${header})${lapackHeader ? ` and LAPACK (${lapackHeader})` : ''}`);
} else {
  const log = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  const firstError = log.split('\n').find((l) => /error/i.test(l) && !/gyp ERR!/.test(l)) ?? res.error?.message ?? 'see npm run build:native';
  console.log(`gaplab: the native backend failed to build (${firstError.trim()}); the cpu backend still works`);
  if (required) {
    console.log(log);
    console.log('gaplab: CI=true or GAPLAB_REQUIRE_NATIVE=1: failing, since the native backend is required');
    process.exit(1);
  }
}
process.exit(0);
