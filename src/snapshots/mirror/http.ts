// One HTTP GET for the mirror client: over node:http / node:https with a keep-alive agent per
// client, or over a fetch the caller injects. No redirects are followed; the caller reads the
// body (with its own size bound) and owns the timeout through `signal`.
//
// Why not the global fetch by default: at the hundreds of pages per second of a snapshot with
// the rate limit off, fetch (undici) took about twice the CPU of node:http per page, and its
// short-lived garbage reached the old generation fast enough to grow the snapshot process's
// RSS for as long as it read (465 MB peak at 1,000,000 holders, 336 MB with node:http;
// BENCHMARKS.md, snapshots).
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  /** Built on demand: only non-200 answers need their headers (Retry-After, Location). */
  headers(): Headers;
  body: AsyncIterable<Uint8Array>;
  /** Stops reading the body and drops the connection (an oversized answer). */
  discard(): void;
}

export interface HttpGet {
  get(url: string, options: { signal: AbortSignal }): Promise<HttpAnswer>;
  /** Closes the kept-alive connections. */
  close(): void;
}

const requestHeaders = { accept: 'application/json' };

export function nodeHttpGet(): HttpGet {
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  return {
    get(url, { signal }) {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      return new Promise((resolve, reject) => {
        const request = (secure ? https : http).get(target, { agent: secure ? agents.https : agents.http, headers: requestHeaders, signal });
        // Errors after the answer arrived also reach its body; this listener only keeps them from crashing.
        request.on('error', reject);
        request.once('response', (response) => resolve({
          status: response.statusCode ?? 0,
          headers: () => toHeaders(response.headers),
          body: response,
          discard: () => { response.destroy(); },
        }));
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

export function fetchHttpGet(fetchFn: typeof fetch): HttpGet {
  return {
    async get(url, { signal }) {
      const response = await fetchFn(url, { signal, redirect: 'manual', headers: requestHeaders });
      return {
        status: response.status,
        headers: () => response.headers,
        body: response.body ?? noBody(),
        discard: () => { response.body?.cancel().catch(() => {}); },
      };
    },
    close() {},
  };
}

async function* noBody(): AsyncGenerator<Uint8Array> {
  // A bodiless answer (e.g. 204) reads as empty.
}

function toHeaders(incoming: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  return headers;
}
