// The plain client a snapshot is compared with, as its own process: keep-alive GETs of a token's
// balance pages at one timestamp (node:http, one connection), JSON.parse, follow links.next;
// nothing validated, converted or written. Usage: node plain-get.ts <mirrorUrl> <tokenId> <timestamp>
// Prints {holders, pages} as one JSON line.
import http from 'node:http';

const [base, tokenId, timestamp] = process.argv.slice(2);
if (!base || !tokenId || !timestamp) throw new Error('usage: plain-get.ts <mirrorUrl> <tokenId> <timestamp>');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const requestTimeoutMs = 10_000;
const pagesMax = 1_000_000;

function getJson(url: string): Promise<{ balances: unknown[]; links: { next: string | null } }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, timeout: requestTimeoutMs }, (response) => {
      if (response.statusCode !== 200) { response.resume(); reject(new Error(`${url}: HTTP ${response.statusCode}`)); return; }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (error) { reject(error); } });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: timed out`)));
    request.on('error', reject);
  });
}

let holders = 0;
let pages = 0;
let next: string | null = `/api/v1/tokens/${tokenId}/balances?limit=100&timestamp=${timestamp}`;
while (next !== null && pages < pagesMax) {
  const page = await getJson(new URL(next, base).href);
  holders += page.balances.length;
  pages += 1;
  next = page.links.next;
}
agent.destroy();
process.stdout.write(`${JSON.stringify({ holders, pages })}\n`);
