// Helpers for fault tests: a run folder's exact content, damaged files, a small tmpfs to fill up, fsync order, the CLI.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Every file and folder under `dir` (relative path -> sha256 of the content, or 'dir'): what "unchanged" means. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const p = path.join(dir, rel);
    out[rel] = fs.statSync(p).isDirectory() ? 'dir' : crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}

/** Ways a file gets damaged: cut short, overwritten with other bytes of the same length, emptied. */
export const DAMAGES: Record<string, (b: Buffer) => Buffer> = {
  truncated: (b) => b.subarray(0, Math.floor(b.length / 2)),
  garbage: (b) => Buffer.from(b.map((_, i) => (i * 131 + 7) & 255)),
  'zero bytes': () => Buffer.alloc(0),
};

export function damage(file: string, how: (b: Buffer) => Buffer): void {
  fs.writeFileSync(file, how(fs.readFileSync(file)));
}

/** Mounts a tmpfs of `size` (e.g. '4m') on `dir` (root only; CI runs as root). */
export function mountTmpfs(dir: string, size: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function unmount(dir: string): void {
  execFileSync('umount', [dir], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Whether this process may mount a tmpfs (root with the capability): tries one. */
export function canMount(scratch: string): boolean {
  try {
    mountTmpfs(scratch, '64k');
    unmount(scratch);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fills the file system holding `dir` with a ballast file until `leaveBlocks` blocks (4 kB pages on tmpfs) are free;
 * returns the ballast's path (delete it to free the space).
 */
export function fillDisk(dir: string, leaveBlocks = 0): string {
  const ballast = path.join(dir, `ballast-${crypto.randomBytes(3).toString('hex')}`);
  const { bavail, bsize } = fs.statfsSync(dir);
  fs.writeFileSync(ballast, Buffer.alloc(Math.max(0, bavail - leaveBlocks) * bsize));
  return ballast;
}

/** Runs `fn` while recording each fs.fsyncSync as 'fsync <path opened>' and each fs.renameSync as 'rename <from>'. */
export async function fsEvents(fn: () => unknown): Promise<string[]> {
  const events: string[] = [];
  const fds = new Map<number, string>();
  const { openSync, fsyncSync, renameSync } = fs;
  fs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...a: unknown[]) => number)(p, ...rest);
    fds.set(fd, String(p));
    return fd;
  }) as typeof fs.openSync;
  fs.fsyncSync = (fd: number) => {
    events.push(`fsync ${fds.get(fd)}`);
    fsyncSync(fd);
  };
  fs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
    events.push(`rename ${String(from)}`);
    renameSync(from, to);
  };
  try {
    await fn();
  } finally {
    Object.assign(fs, { openSync, fsyncSync, renameSync });
  }
  return events;
}

/** Runs the train CLI; its exit code and stderr lines without tfjs's banner (printed at import, not by gaplab). */
export function trainCli(args: string[]): Promise<{ code: number | null; stderr: string; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/train.ts'), ...args, '--progress', 'false'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const lines = stderr.split('\n').filter((l) => l.trim() && !/^=+$/.test(l) && !l.startsWith('Hi, looks like you are running TensorFlow.js'));
      resolve({ code, stderr, lines });
    }),
  );
}
