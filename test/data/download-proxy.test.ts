// Downloads through an HTTP proxy (HTTP_PROXY / NO_PROXY) against local servers, and the progress lines with size and rate.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { downloadFile } from '../../src/data/download.js';
import { downloadProgress } from '../../src/data/download-progress.js';
import { httpGet } from '../../src/data/http.js';
import { removeDir, tempDir } from './helpers.js';

const PROXY_VARS = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];
const listen = async (s: http.Server): Promise<number> => {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
};
const close = (s: http.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

describe('data/download through a proxy', () => {
  const body = Buffer.alloc(1 << 20, 7); // 1 MiB
  const md5 = createHash('md5').update(body).digest('hex');
  let origin: http.Server, proxy: http.Server, originUrl: string, proxyUrl: string, dir: string;
  const proxied: string[] = [];
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    origin = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    originUrl = `http://127.0.0.1:${await listen(origin)}/file.bin`;
    // A minimal forward proxy: CONNECT tunnels (what undici uses) and absolute-URI GETs, each recorded.
    proxy = http.createServer((req, res) => {
      proxied.push(`GET ${req.url}`);
      const up = http.get(req.url!, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
    });
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      proxied.push(`CONNECT ${req.url}`);
      const [host, port] = (req.url ?? '').split(':');
      const up = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
    });
    proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
    for (const k of PROXY_VARS) saved[k] = process.env[k];
  });

  after(async () => {
    for (const k of PROXY_VARS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    proxy.closeAllConnections();
    await Promise.all([close(origin), close(proxy)]);
  });

  beforeEach(() => {
    dir = tempDir('gaplab-proxy-');
    proxied.length = 0;
    for (const k of PROXY_VARS) delete process.env[k];
  });
  afterEach(() => removeDir(dir));

  it('goes through HTTP_PROXY and still verifies the file', async () => {
    process.env.HTTP_PROXY = proxyUrl;
    const dest = path.join(dir, 'file.bin');
    await downloadFile(originUrl, dest, md5, 'hint', () => {}, false);
    expect(proxied).to.have.length(1);
    expect(proxied[0]).to.match(/^(CONNECT 127\.0\.0\.1:\d+|GET http:\/\/127\.0\.0\.1:\d+\/file\.bin)$/);
    expect(fs.readFileSync(dest).equals(body)).to.equal(true);
  });

  it('leaves hosts in NO_PROXY alone', async () => {
    process.env.HTTP_PROXY = proxyUrl;
    process.env.NO_PROXY = 'example.org,127.0.0.1';
    await downloadFile(originUrl, path.join(dir, 'file.bin'), md5, 'hint', () => {}, false);
    expect(proxied).to.deep.equal([]);
  });

  it('a dead proxy is a clear error naming the URL, with the hint', async () => {
    const dead = http.createServer();
    const port = await listen(dead);
    await close(dead);
    process.env.HTTP_PROXY = `http://127.0.0.1:${port}`;
    let msg = '';
    await downloadFile(originUrl, path.join(dir, 'file.bin'), md5, 'place it by hand', () => {}, false).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(new RegExp(`^could not download ${originUrl.replace(/[.]/g, '\\.')} \\(.+\\)\\. place it by hand$`));
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });

  it('a proxy that accepts the connection and never answers times out instead of hanging', async () => {
    const silent = http.createServer();
    const held: net.Socket[] = [];
    silent.on('connect', (_req: http.IncomingMessage, socket: net.Socket) => held.push(socket)); // never replies
    silent.on('request', () => {}); // nor to a plain request
    process.env.HTTP_PROXY = `http://127.0.0.1:${await listen(silent)}`;
    const t = Date.now();
    let msg = '';
    await httpGet(originUrl, 300).catch((e: Error) => (msg = e.message));
    expect(msg).to.equal('no answer for 0.3 s');
    expect(Date.now() - t).to.be.below(5000);
    held.forEach((sock) => sock.destroy());
    silent.closeAllConnections();
    await close(silent);
  });

  it('logs progress with size and rate at every 10% when not on a terminal', async () => {
    const lines: string[] = [];
    await downloadFile(originUrl, path.join(dir, 'file.bin'), md5, 'hint', (l) => lines.push(l), false);
    const progress = lines.filter((l) => l.startsWith('file.bin: '));
    expect(progress).to.have.length(10);
    progress.forEach((l, i) => expect(l).to.match(new RegExp(`^file\\.bin: ${(i + 1) * 10}% of 1\\.0 MB at \\d+\\.\\d MB/s$`)));
  });

  it('progress lines: exact sizes and rates from the clock', () => {
    let t = 0;
    const lines: string[] = [];
    const p = downloadProgress('cifar.tar.gz', 100 * 1024 * 1024, (l) => lines.push(l), false, () => t);
    t = 2000; // 2 s for 25 MiB: 12.5 MB/s; crosses 10% and 20%
    p.update(25 * 1024 * 1024);
    t = 4000; // 4 s for 100 MiB: 25.0 MB/s; crosses 30% ... 100%
    p.update(100 * 1024 * 1024);
    p.stop();
    expect(lines.slice(0, 3)).to.deep.equal([
      'cifar.tar.gz: 10% of 100.0 MB at 12.5 MB/s',
      'cifar.tar.gz: 20% of 100.0 MB at 12.5 MB/s',
      'cifar.tar.gz: 30% of 100.0 MB at 25.0 MB/s',
    ]);
    expect(lines).to.have.length(10);
    expect(lines[9]).to.equal('cifar.tar.gz: 100% of 100.0 MB at 25.0 MB/s');
  });
});
