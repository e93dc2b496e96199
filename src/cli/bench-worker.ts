// Child process of `npm run bench`: measures the one job given as JSON in argv[2] and sends the result over IPC.
import { measureJob } from '../bench/measure.js';
import type { BenchJob } from '../bench/types.js';

const job = JSON.parse(process.argv[2] ?? '{}') as BenchJob;
measureJob(job).then(
  (result) => process.send?.({ result }, () => process.exit(0)),
  (e: unknown) => process.send?.({ error: e instanceof Error ? e.message : String(e) }, () => process.exit(1)),
);
