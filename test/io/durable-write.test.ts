// Durable writes on a full disk (tmpfs): a write that does not fit fails, naming the file, and leaves neither a
// truncated file nor a temporary one; data is fsynced before the rename that publishes it.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../src/errors.js';
import { writeError, writeFileAtomic, writeFileSynced, writeJson } from '../../src/io/durable-write.js';
import { needs } from '../requires.js';
import { canMount, fillDisk, fsEvents, mountTmpfs, unmount } from '../train/fault-helpers.js';

describe('durable writes', function () {
  let root: string;
  let disk: string;

  before(function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-durable-'));
    needs(this, canMount(path.join(root, 'probe')), 'root, to mount a tmpfs (CI runs as root)');
    disk = path.join(root, 'disk');
    mountTmpfs(disk, '1m');
  });

  after(() => {
    if (disk && fs.existsSync(disk)) unmount(disk);
  });

  it('a replacement that does not fit fails with one line naming the file; the old content stays, no temporary file', async () => {
    const file = path.join(disk, 'summary.json');
    await writeJson(file, { status: 'running' });
    const before = fs.readFileSync(file, 'utf8');
    // One free page: the write starts, comes up short (write() returns less than asked), then fails. A writer that
    // took the short count for success (write-file-atomic does) would rename a truncated file into place.
    const ballast = fillDisk(disk, 1);
    try {
      let err: unknown;
      try {
        await writeJson(file, { status: 'failed', error: 'x'.repeat(20_000) });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.equal(`disk full (ENOSPC) writing ${file}`);
      expect((err as UserError).exitCode).to.equal(1);
      expect(fs.readFileSync(file, 'utf8')).to.equal(before);
      expect(fs.readdirSync(disk).sort()).to.deep.equal([path.basename(ballast), 'summary.json'].sort());
      expect(() => writeFileSynced(path.join(disk, 'part.bin'), Buffer.alloc(20_000))).to.throw(UserError, `disk full (ENOSPC) writing ${path.join(disk, 'part.bin')}`);
    } finally {
      fs.rmSync(ballast);
    }
  });

  it('fsyncs the data before the rename that publishes it', async () => {
    const file = path.join(root, 'a.json');
    const events = await fsEvents(() => writeFileAtomic(file, '{}'));
    expect(events).to.have.length(2);
    expect(events[0]).to.match(new RegExp(`^fsync ${file}\\.\\d+-\\d+-[0-9a-f]{6}\\.tmp$`));
    expect(events[1]).to.equal(`rename ${events[0].slice('fsync '.length)}`);
  });

  it('only running out of room becomes the one-line error; other errors pass through', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect((writeError(e('EDQUOT'), 'f') as Error).message).to.equal('disk quota exceeded (EDQUOT) writing f');
    const other = e('EACCES');
    expect(writeError(other, 'f')).to.equal(other);
  });
});
