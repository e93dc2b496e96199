// Downloads against a local HTTP server on 127.0.0.1: checksum, atomic rename, partial transfers, extraction, offline hints.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tar from 'tar';
import { defaultConfig } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { downloadFile } from '../../src/data/download.js';
import { loadDataset } from '../../src/data/registry.js';
import type { DataSources } from '../../src/data/sources.js';
import { idxBytes, makeCifarRecords, removeDir, tempDir } from './helpers.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const cfg = (dir: string, over: object = {}) => ({ ...defaultConfig().data, name: 'cifar10' as const, dir, download: true, ...over });

async function rejects(p: Promise<unknown>, ...parts: string[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(UserError);
    for (const s of parts) expect((e as Error).message).to.contain(s);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('data/download (local server)', () => {
  let work: string;
  let archive: Buffer;
  let train: ReturnType<typeof makeCifarRecords>;
  let test: ReturnType<typeof makeCifarRecords>;
  let server: http.Server;
  let base: string;
  let closedUrl: string;
  const hits: string[] = [];
  const files = new Map<string, Buffer>();

  before(async () => {
    work = tempDir('gaplab-dl-');
    const src = path.join(work, 'src', 'cifar-10-batches-bin');
    fs.mkdirSync(src, { recursive: true });
    train = makeCifarRecords(3, 'cifar10', 11);
    test = makeCifarRecords(2, 'cifar10', 12);
    fs.writeFileSync(path.join(src, 'data_batch_1.bin'), train.bytes);
    fs.writeFileSync(path.join(src, 'test_batch.bin'), test.bytes);
    fs.writeFileSync(path.join(src, 'batches.meta.txt'), 'c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n');
    const file = path.join(work, 'cifar-10-binary.tar.gz');
    await tar.c({ gzip: true, file, cwd: path.join(work, 'src') }, ['cifar-10-batches-bin']);
    archive = fs.readFileSync(file);
    files.set('/ok/cifar-10-binary.tar.gz', archive);
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      hits.push(url);
      if (url === '/redirect/cifar-10-binary.tar.gz') {
        res.writeHead(302, { location: '/ok/cifar-10-binary.tar.gz' });
        res.end();
      } else if (url === '/partial/cifar-10-binary.tar.gz') {
        // Promise the whole archive, send half, then drop the connection.
        res.writeHead(200, { 'content-length': String(archive.length) });
        res.write(archive.subarray(0, archive.length >> 1), () => res.socket?.destroy());
      } else if (files.has(url)) {
        const body = files.get(url) as Buffer;
        res.writeHead(200, { 'content-length': String(body.length) });
        res.end(body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port nobody listens on: open a server, note its port, close it.
    const tmp = http.createServer();
    await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
    closedUrl = `http://127.0.0.1:${(tmp.address() as AddressInfo).port}/cifar-10-binary.tar.gz`;
    await new Promise<void>((resolve) => tmp.close(() => resolve()));
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    removeDir(work);
  });

  let dir: string;
  beforeEach(() => {
    dir = tempDir('gaplab-dl-dir-');
    hits.length = 0;
  });
  afterEach(() => removeDir(dir));

  const sources = (url: string, sum = md5(archive)): { sources: Partial<DataSources>; env: NodeJS.ProcessEnv } => ({
    sources: { cifar10: { url, md5: sum } },
    env: {},
  });

  it('downloads, verifies, extracts into the archive folder, deletes the archive; the second load stays offline', async () => {
    const data = path.join(dir, 'data'); // does not exist yet: created
    const ds = await loadDataset(cfg(data), 1, undefined, sources(`${base}/ok/cifar-10-binary.tar.gz`));
    expect(hits).to.deep.equal(['/ok/cifar-10-binary.tar.gz']);
    expect(Buffer.from(ds.train.images).equals(Buffer.from(train.nhwc))).to.equal(true);
    expect(Array.from(ds.test.labels)).to.deep.equal(test.fine);
    expect(ds.classNames[3]).to.equal('c3');
    expect(fs.readdirSync(data)).to.deep.equal(['cifar-10-batches-bin']);
    expect(fs.readdirSync(path.join(data, 'cifar-10-batches-bin')).sort()).to.deep.equal(['batches.meta.txt', 'data_batch_1.bin', 'test_batch.bin']);
    await loadDataset(cfg(data), 1, undefined, sources(closedUrl));
    expect(hits).to.have.length(1);
  });

  it('follows redirects', async () => {
    const ds = await loadDataset(cfg(dir), 1, undefined, sources(`${base}/redirect/cifar-10-binary.tar.gz`));
    expect(ds.train.n).to.equal(3);
    expect(hits).to.deep.equal(['/redirect/cifar-10-binary.tar.gz', '/ok/cifar-10-binary.tar.gz']);
  });

  it('a checksum mismatch leaves nothing behind', async () => {
    await rejects(
      loadDataset(cfg(dir), 1, undefined, sources(`${base}/ok/cifar-10-binary.tar.gz`, '0'.repeat(32))),
      'md5',
      `expected ${'0'.repeat(32)}`,
    );
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });

  it('a connection dropped mid-file is an error, and no partial file is left under any name', async () => {
    await rejects(loadDataset(cfg(dir), 1, undefined, sources(`${base}/partial/cifar-10-binary.tar.gz`)), 'could not download');
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });

  it('HTTP errors are reported', async () => {
    await rejects(loadDataset(cfg(dir), 1, undefined, sources(`${base}/missing/cifar-10-binary.tar.gz`)), 'HTTP 404');
  });

  it('with no network: which files to place where, and the archive alternative', async () => {
    const msg = await rejects(
      loadDataset(cfg(dir), 1, undefined, sources(closedUrl)),
      'could not download',
      'data_batch_1.bin',
      'test_batch.bin',
      path.join(dir, 'cifar-10-batches-bin'),
      'cifar-10-binary.tar.gz',
      md5(archive),
    );
    expect(msg).to.contain(`${dir} is empty`);
  });

  it('an archive placed by hand is verified and extracted without the network; a wrong one is refused', async () => {
    fs.writeFileSync(path.join(dir, 'cifar-10-binary.tar.gz'), archive);
    const ds = await loadDataset(cfg(dir), 1, undefined, sources(closedUrl));
    expect(ds.train.n).to.equal(3);
    expect(hits).to.deep.equal([]);
    const other = tempDir('gaplab-dl-bad-');
    try {
      fs.writeFileSync(path.join(other, 'cifar-10-binary.tar.gz'), archive.subarray(0, 100));
      await rejects(loadDataset(cfg(other), 1, undefined, sources(closedUrl)), 'cifar-10-binary.tar.gz', 'delete it');
    } finally {
      removeDir(other);
    }
  });

  it('downloadFile never leaves the destination when interrupted', async () => {
    const dest = path.join(dir, 'file.bin');
    await rejects(downloadFile(`${base}/partial/cifar-10-binary.tar.gz`, dest, md5(archive), 'hint'), 'hint');
    expect(fs.existsSync(dest)).to.equal(false);
    await downloadFile(`${base}/ok/cifar-10-binary.tar.gz`, dest, md5(archive), 'hint');
    expect(fs.readFileSync(dest).equals(archive)).to.equal(true);
  });

  it('downloads the four MNIST files into data.dir/mnist', async () => {
    const images = Uint8Array.from({ length: 2 * 4 }, (_, i) => i * 7);
    const labels = Uint8Array.from([3, 9]);
    const md5s: Record<string, string> = {};
    for (const [name, body] of [
      ['train-images-idx3-ubyte.gz', zlib.gzipSync(idxBytes([2, 2, 2], images))],
      ['train-labels-idx1-ubyte.gz', zlib.gzipSync(idxBytes([2], labels))],
      ['t10k-images-idx3-ubyte.gz', zlib.gzipSync(idxBytes([2, 2, 2], images))],
      ['t10k-labels-idx1-ubyte.gz', zlib.gzipSync(idxBytes([2], labels))],
    ] as const) {
      files.set(`/mnist/${name}`, body);
      md5s[name] = md5(body);
    }
    const ds = await loadDataset({ ...cfg(dir), name: 'mnist' }, 1, undefined, {
      env: {},
      sources: { mnist: { baseUrl: `${base}/mnist/`, md5: md5s } },
    });
    expect(Array.from(ds.train.images)).to.deep.equal(Array.from(images));
    expect(Array.from(ds.test.labels)).to.deep.equal([3, 9]);
    expect(fs.readdirSync(path.join(dir, 'mnist')).sort()).to.have.length(4);
  });
});
