// Download progress: a live bar with size and rate on a terminal, otherwise a line every 10% (logs stay short).
import cliProgress from 'cli-progress';

const MB = 1024 * 1024;

export interface ProgressSink {
  /** Bytes received so far. */
  update(received: number): void;
  stop(): void;
}

/** `live`: draw on stderr (a terminal); else `log` gets "name: 30% of 162.6 MB at 11.2 MB/s" at each 10% step. */
export function downloadProgress(name: string, total: number | undefined, log: (line: string) => void,
  live = process.stderr.isTTY === true, now: () => number = () => performance.now()): ProgressSink {
  const t0 = now();
  const rate = (received: number) => received / MB / Math.max((now() - t0) / 1000, 1e-3);
  if (live) {
    const bar = new cliProgress.SingleBar({
      format: `${name} [{bar}] {percentage}% {mb}/{totalMb} MB at {rate} MB/s, eta {eta_formatted}`,
      stream: process.stderr, hideCursor: true, clearOnComplete: true,
    }, cliProgress.Presets.shades_classic);
    const totalMb = total ? (total / MB).toFixed(1) : '?';
    bar.start(total ?? 1, 0, { mb: '0.0', totalMb, rate: '0.0' });
    return {
      update: (r) => bar.update(total ? r : 0, { mb: (r / MB).toFixed(1), rate: rate(r).toFixed(1) }),
      stop: () => bar.stop(),
    };
  }
  let next = 1;
  return {
    update(r) {
      if (!total) return;
      while (next <= 10 && r >= (total * next) / 10) {
        log(`${name}: ${next * 10}% of ${(total / MB).toFixed(1)} MB at ${rate(r).toFixed(1)} MB/s`);
        next++;
      }
    },
    stop() {},
  };
}
