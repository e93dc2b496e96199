// The callbacks of a training run, in the order they run at each hook: files first, the summary.json update last.
import type { Config } from '../config/schema.js';
import { ChanceWatch, chanceHint } from './callbacks/chance-watch.js';
import { Checkpointer } from './callbacks/checkpointer.js';
import { CsvLogger } from './callbacks/csv-logger.js';
import { Progress } from './callbacks/progress.js';
import type { Callback } from './callbacks/types.js';
import type { TrainingParts } from './parts.js';
import type { Say } from './setup.js';
import type { SummaryKeeper } from './summary-keeper.js';

export interface CallbackOptions extends Say {
  /** Draw a live progress bar. */
  live?: boolean;
  /** Aborting stops training after the current batch (the checkpointer then saves that position). */
  signal?: AbortSignal;
  /** Extra callbacks (tests, compare), run before the summary update. */
  extra?: Callback[];
}

/** metrics.csv, best model, early stopping, checkpoints, progress, chance watch, the stop signal, extras, summary.json. */
export function runCallbacks(config: Config, numClasses: number, parts: TrainingParts, keeper: SummaryKeeper, o: CallbackOptions): Callback[] {
  return [
    new CsvLogger(parts.runDir),
    parts.best,
    parts.earlyStopping,
    new Checkpointer({ ...parts, configSha256: keeper.summary.configSha256, everyMinutes: config.train.checkpointMinutes }),
    new Progress(o.log, o.live),
    new ChanceWatch(numClasses, chanceHint(config.model), o.warn),
    {
      onBatchEnd: (_l, st) => {
        if (o.signal?.aborted && !st.stop) {
          st.stop = true;
          st.stopReason = 'interrupted';
        }
      },
    },
    ...(o.extra ?? []),
    // Last, after what the others did: a crash still leaves summary.json saying how far the run got.
    { onEpochEnd: (l) => keeper.epochEnded(l, parts.best.best) },
  ];
}
