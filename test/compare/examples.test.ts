// The job-array examples: the Kubernetes manifest is an Indexed Job whose index is the shard; the sbatch script parses.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import YAML from 'yaml';

const file = (p: string) => fileURLToPath(new URL(`../../examples/${p}`, import.meta.url));

describe('compare examples', () => {
  it('k8s-indexed-job.yaml shards by JOB_COMPLETION_INDEX over `completions` shards', () => {
    const job = YAML.parse(fs.readFileSync(file('k8s-indexed-job.yaml'), 'utf8')) as {
      kind: string;
      spec: { completionMode: string; completions: number; template: { spec: { containers: Array<{ env: Array<{ name: string; value: string }>; args: string[] }> } } };
    };
    expect(job.kind).to.equal('Job');
    expect(job.spec.completionMode).to.equal('Indexed');
    const c = job.spec.template.spec.containers[0];
    expect(Number(c.env.find((e) => e.name === 'SHARDS')?.value)).to.equal(job.spec.completions);
    expect(c.args.join(' ')).to.contain('--shard "$JOB_COMPLETION_INDEX/$SHARDS"');
  });

  it('slurm-array.sbatch is valid bash that passes the array index as the shard', () => {
    const text = fs.readFileSync(file('slurm-array.sbatch'), 'utf8');
    expect(spawnSync('bash', ['-n', file('slurm-array.sbatch')]).status).to.equal(0);
    expect(text).to.match(/^#SBATCH --array=0-3$/m);
    expect(text).to.contain('--shard "$SHARD/$SHARDS"');
  });
});
