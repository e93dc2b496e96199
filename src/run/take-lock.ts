// Takes a run folder's lock or fails with one line naming who holds it: for `train` and `train --resume`.
import { UserError } from '../errors.js';
import { lockDir, lockHolders, tryLockRun, type RunLock } from './lock.js';

/**
 * The run folder's lock, which compare takes too: two trainers of one run would both write its epochs. A lock left by
 * a process killed on this machine is taken over at once (lock.ts). `onCompromised`: the lock was taken away.
 */
export function takeRunLock(runDir: string, onCompromised: (why: string) => void): RunLock {
  let lock: ReturnType<typeof tryLockRun>;
  try {
    lock = tryLockRun(runDir, { onCompromised });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw code ? new UserError(`${runDir}: cannot take its lock ${lockDir(runDir)} (${code})`) : e;
  }
  if (typeof lock !== 'string') return lock;
  const pids = lockHolders(runDir);
  const who = pids.length ? `process ${pids.join(', ')}` : 'another process';
  throw new UserError(`${runDir}: already being trained by ${who} (lock ${lockDir(runDir)}); wait for it to end or stop it first`);
}
