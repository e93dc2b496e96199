// Exclusive lock on a run folder (<runDir>.lock, a directory made atomically), taken by compare and by train. It names
// the processes that hold it, so a lock left by a process killed on this machine is taken over at once, and is
// refreshed so other machines see it live.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';

/** A lock of another machine (or without an owner record) not refreshed for this long is taken over. */
export const DEFAULT_STALE_MS = 30_000;
const OWNER_FILE = 'owner.json';

interface Proc {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat), so a pid reused by another program does not count. */
  start?: string;
}

interface Owner {
  /** Hostname and pid namespace: where the pids mean something. */
  machine: string;
  /** Tells this holder's record from a later one's (release removes only its own lock). */
  token: string;
  /** The compare that took the lock, then the workers it started. */
  procs: Proc[];
}

/**
 * free: no lock; held: a live compare holds it (or another machine's lock refreshed within staleMs); orphaned: the
 * compare that took it died on this machine but a worker it started is still finishing; stale: may be taken over.
 */
export type LockState = 'free' | 'held' | 'orphaned' | 'stale';

export interface RunLock {
  /** Records a process (the worker training the run): the lock stays held while it lives, even if this one dies. */
  addProcess(pid: number): void;
  /** Removes the lock if it is still this holder's. */
  release(): void;
}

export interface LockOptions {
  staleMs?: number;
  /** Called (once) when the lock was taken away from this holder: another compare may train the run too. */
  onCompromised?: (why: string) => void;
}

export function lockDir(runDir: string): string {
  return `${runDir}.lock`;
}

const HAS_PROC = fs.existsSync('/proc/self/stat');

/** State letter and start time of a process, from /proc (Linux); undefined when there is no such process. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; starttime is field 22.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, start: fields[19]! };
  } catch {
    return undefined;
  }
}

function isAlive(p: Proc): boolean {
  if (HAS_PROC) {
    const st = procStat(p.pid);
    // A zombie is dead: a killed compare's workers may wait unreaped under an init that does not reap.
    return st !== undefined && st.state !== 'Z' && st.state !== 'X' && (p.start === undefined || st.start === p.start);
  }
  try {
    process.kill(p.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function machineId(): string {
  let ns = '';
  try {
    ns = fs.readlinkSync('/proc/self/ns/pid'); // containers sharing a hostname still have their own pids
  } catch {
    // no /proc: the hostname alone
  }
  return `${os.hostname()} ${ns}`;
}

function readOwner(dir: string): Owner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(`${dir}/${OWNER_FILE}`, 'utf8')) as Owner;
    return typeof o.machine === 'string' && typeof o.token === 'string' && Array.isArray(o.procs) ? o : undefined;
  } catch {
    return undefined; // being written, or a lock made by another tool: judged by its age
  }
}

function writeOwner(dir: string, owner: Owner): void {
  const tmp = `${dir}/${OWNER_FILE}.${owner.token}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(owner));
  fs.renameSync(tmp, `${dir}/${OWNER_FILE}`);
}

function inspect(dir: string, staleMs: number): { state: LockState; ino?: number; owner?: Owner } {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'free' };
    throw e;
  }
  const owner = readOwner(dir);
  if (owner && owner.machine === machineId()) {
    // This machine's lock lives exactly as long as its processes, however long one of them goes without refreshing.
    const state = !owner.procs.some(isAlive) ? 'stale' : isAlive(owner.procs[0]!) ? 'held' : 'orphaned';
    return { state, ino: st.ino, owner };
  }
  return { state: Date.now() - st.mtimeMs > staleMs ? 'stale' : 'held', ino: st.ino, ...(owner ? { owner } : {}) };
}

/** The state of a run folder's lock. */
export function runLockState(runDir: string, staleMs = DEFAULT_STALE_MS): LockState {
  return inspect(lockDir(runDir), staleMs).state;
}

/** Pids of the processes recorded in a lock (for messages). */
export function lockHolders(runDir: string): number[] {
  return readOwner(lockDir(runDir))?.procs.map((p) => p.pid) ?? [];
}

function hold(dir: string, staleMs: number, onCompromised: (why: string) => void): RunLock {
  const owner: Owner = {
    machine: machineId(), token: crypto.randomBytes(8).toString('hex'),
    procs: [{ pid: process.pid, ...(procStat(process.pid) ? { start: procStat(process.pid)!.start } : {}) }],
  };
  writeOwner(dir, owner);
  const ours = () => readOwner(dir)?.token === owner.token;
  const timer = setInterval(() => {
    try {
      if (!ours()) throw new Error('its owner record is another holder\'s');
      const now = new Date();
      fs.utimesSync(dir, now, now);
    } catch (e) {
      clearInterval(timer);
      onCompromised((e as Error).message);
    }
  }, Math.max(100, Math.floor(staleMs / 3)));
  timer.unref();
  return {
    addProcess(pid: number) {
      const st = procStat(pid);
      owner.procs.push({ pid, ...(st ? { start: st.start } : {}) });
      if (ours()) writeOwner(dir, owner);
    },
    release() {
      clearInterval(timer);
      if (ours()) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Takes the run folder's lock, or says why not ('held' or 'orphaned'). A stale lock is taken over. */
export function tryLockRun(runDir: string, opts: LockOptions = {}): RunLock | Exclude<LockState, 'free' | 'stale'> {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const dir = lockDir(runDir);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.mkdirSync(dir);
      return hold(dir, staleMs, opts.onCompromised ?? (() => undefined));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const found = inspect(dir, staleMs);
    if (found.state === 'held' || found.state === 'orphaned') return found.state;
    if (found.state === 'free') continue; // released meanwhile
    // Stale: move it aside (a rename succeeds for one process only), check that what moved is the lock judged stale
    // (not a fresh one another compare made meanwhile: then put it back), and remove it.
    const aside = `${dir}.stale-${crypto.randomBytes(6).toString('hex')}`;
    try {
      fs.renameSync(dir, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    if (fs.statSync(aside).ino !== found.ino) {
      try {
        fs.renameSync(aside, dir);
      } catch {
        // A third compare made the lock again in between: the one moved aside sees it lost at its next refresh.
        fs.rmSync(aside, { recursive: true, force: true });
      }
      continue;
    }
    fs.rmSync(aside, { recursive: true, force: true });
  }
  return 'held';
}
