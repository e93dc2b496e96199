// Ctrl-C and SIGTERM for the three entry points that train (train, compare, compare's worker): the first stops
// gracefully; a second (a real one) exits at once where the entry point says how.
//
// How signals reach the CLI, and why the npm scripts are `exec node --import tsx src/cli/<name>.ts` (package.json):
// - Ctrl-C in a terminal sends SIGINT to the whole foreground process group: npm, its `sh -c`, and the CLI.
// - npm (@npmcli/run-script's signal-manager) relays SIGINT and SIGTERM to its child, the `sh -c`, and waits for it.
//   dash passes neither on to its own child, and dies of SIGTERM: `kill <npm pid>` left the trainer below it orphaned,
//   training on. With `exec` the shell becomes the CLI, so npm's relay reaches the CLI itself: SIGTERM to npm arrives
//   once, and a Ctrl-C twice (from the terminal, then npm's relay a few ms later).
// - The tsx command (node_modules/tsx/dist/cli.mjs, `relaySignals`, tsx 4.x) is not the runner any more. On SIGINT or
//   SIGTERM it waits 30 ms for its child to acknowledge the signal (tsx's preflight.cjs, loaded into the child, sends
//   {type: 'signal'} over tsx's IPC socket from a hidden listener when the child gets the signal itself); without an
//   acknowledgement it sends the child the signal, waits 30 ms more, then SIGKILLs it and exits 128 + the signal. A
//   trainer inside a batch (tens of ms to seconds of synchronous tensor work) cannot run that listener in time, so
//   under `tsx` a Ctrl-C killed it before it could checkpoint, leaving summary.json `running`.
// - The training loop yields to the event loop after every batch, so a signal is handled within one batch.
// A repeat within DUPLICATE_MS of the first signal is therefore the same Ctrl-C delivered twice, not the user's second.
// The window is measured when the listeners run: two signals that arrive during one batch are one.

/** Signals that stop a run gracefully. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Exit code of a run stopped by a signal (128 + SIGINT's number, as a shell reports Ctrl-C). */
export const EXIT_INTERRUPTED = 130;

/** A repeat within this window is the same Ctrl-C delivered twice (terminal and npm's relay arrive ms apart). */
export const DUPLICATE_MS = 1000;

/** Where signals come from: `process` in the CLIs, an EventEmitter in tests. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (sig: NodeJS.Signals) => void): unknown;
}

export interface InterruptOptions {
  /** The line printed on the first signal: what happens now, and that another Ctrl-C exits at once. */
  first: (sig: NodeJS.Signals) => string;
  /**
   * The line printed before exiting at once on a second signal (what is lost, how to resume). Without it later
   * signals are ignored: a compare worker gets each Ctrl-C directly and through its parent, which decides.
   */
  second?: (sig: NodeJS.Signals) => string;
  warn: (line: string) => void;
  /** Defaults: process, process.exit, Date.now, DUPLICATE_MS. */
  source?: SignalSource;
  exit?: (code: number) => void;
  now?: () => number;
  duplicateMs?: number;
}

/**
 * Installs persistent SIGINT/SIGTERM listeners (not once(): signal-exit, which proper-lockfile uses,
 * re-raises a signal that has no other listener left, which would kill the process before its checkpoint) and returns
 * a controller aborted by the first signal. With `second`, a later signal outside the duplicate window exits 130 at once: for a stop
 * held up by work that does not watch the abort (a dataset download), since a stop within training takes one batch.
 */
export function interruptOnSignals(o: InterruptOptions): AbortController {
  const ctl = new AbortController();
  const now = o.now ?? Date.now;
  const window = o.duplicateMs ?? DUPLICATE_MS;
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let firstAt: number | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    const t = now();
    if (firstAt === undefined) {
      firstAt = t;
      if (ctl.signal.aborted) return; // stopped already for another reason (a worker's parent gone), which said so
      o.warn(o.first(sig));
      ctl.abort();
    } else if (o.second && t - firstAt >= window) {
      o.warn(o.second(sig));
      exit(EXIT_INTERRUPTED);
    }
  };
  const source = o.source ?? process;
  for (const sig of STOP_SIGNALS) source.on(sig, onSignal);
  return ctl;
}
