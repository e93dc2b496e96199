// HTTP(S) GET for dataset downloads: honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY (undici's EnvHttpProxyAgent), follows redirects.
import type { Readable } from 'node:stream';
import { EnvHttpProxyAgent, request, type Dispatcher } from 'undici';

/** Milliseconds without any received byte (headers or body) before a request is abandoned. */
export const IDLE_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

export interface GetResponse {
  /** The URL finally answered (after redirects). */
  url: string;
  /** Content-Length, when the server sent one. */
  length?: number;
  body: Readable;
}

let agent: { env: string; dispatcher: Dispatcher } | undefined;

/**
 * The proxy settings in effect, read from the environment on every call (a test or a user may change them), the
 * agent rebuilt only when they change. Lower-case names win, as in curl and undici.
 */
function dispatcher(env: NodeJS.ProcessEnv = process.env): Dispatcher {
  const key = ['http_proxy', 'https_proxy', 'no_proxy'].map((k) => env[k] ?? env[k.toUpperCase()] ?? '').join('\n');
  if (agent?.env !== key) {
    void agent?.dispatcher.close();
    const [httpProxy, httpsProxy, noProxy] = key.split('\n');
    agent = {
      env: key,
      dispatcher: new EnvHttpProxyAgent({
        ...(httpProxy ? { httpProxy } : {}), ...(httpsProxy ? { httpsProxy } : {}), ...(noProxy ? { noProxy } : {}),
        headersTimeout: IDLE_TIMEOUT_MS, bodyTimeout: IDLE_TIMEOUT_MS,
      }),
    };
  }
  return agent.dispatcher;
}

/** GETs a URL through the environment's proxy (if any), following redirects; resolves with the 200 response's body. */
export async function httpGet(url: string, idleTimeoutMs = IDLE_TIMEOUT_MS): Promise<GetResponse> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const u = new URL(current);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`unsupported URL scheme in ${current}`);
    // Until the headers arrive (TCP connect, a proxy's CONNECT, the server's answer). headersTimeout and an abort
    // signal do not cover a proxy that accepts the connection and never answers the CONNECT (undici 7 waits on it
    // forever), so the wait is raced against a timer, and the agent, with its hanging tunnel, is destroyed.
    const d = dispatcher();
    let timer: NodeJS.Timeout | undefined;
    const noAnswer = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer for ${idleTimeoutMs / 1000} s`)), idleTimeoutMs);
    });
    let res: Dispatcher.ResponseData;
    try {
      res = await Promise.race([request(current, { method: 'GET', dispatcher: d }), noAnswer]);
    } catch (e) {
      if (agent?.dispatcher === d) agent = undefined;
      void d.destroy().catch(() => {});
      throw e;
    } finally {
      clearTimeout(timer);
    }
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && location) {
      res.body.resume();
      if (redirects >= MAX_REDIRECTS) throw new Error(`too many redirects from ${url}`);
      current = new URL(String(location), current).toString();
      continue;
    }
    if (res.statusCode !== 200) {
      res.body.resume();
      throw new Error(`HTTP ${res.statusCode} from ${current}`);
    }
    const length = Number(res.headers['content-length'] ?? NaN);
    return { url: current, body: res.body, ...(Number.isFinite(length) ? { length } : {}) };
  }
}
