// The one error catalog (src/errors.ts) against everything that raises, answers or documents a
// code: the TypeScript under src/, the Lua under redis-functions/, the OpenAPI document and the
// README. A code found anywhere must be in the catalog; a catalog code must be raised somewhere
// and be in the README's table with the same status, retryability and description.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { codesOf, errorCatalog, isErrorCode, TallyError, type ErrorCode } from '../src/errors.ts';
import { classifyError } from '../src/http/errors.ts';
import { openApiDocument } from '../src/http/openapi.ts';
import { snapshotsOpenApi } from '../src/http/snapshots.ts';
import { airdropsOpenApi } from '../src/http/airdrops.ts';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const filesUnder = (dir: string, ext: string) =>
  (readdirSync(new URL(dir, root), { recursive: true }) as string[]).filter((f) => f.endsWith(ext)).sort().map((f) => `${dir}${f}`);

const codeLike = '[A-Z][A-Z0-9_]{2,}';
/** A whole string literal that looks like a code: 'CODE', "CODE" or `CODE`. */
const literalPattern = new RegExp(`(['"\`])(${codeLike})\\1`, 'g');
/** An error message that starts with a code, the Lua `CODE message` form: error('CODE ...'), new Error(`CODE ...`). */
const messagePattern = new RegExp(`(?:error|error_reply|Error)\\(\\s*['"\`](${codeLike}) `, 'g');
/** Where a code is raised or answered (not merely listed): new XError('CODE', super('CODE', code: 'CODE', ?? 'CODE', Lua fail('CODE' and return 'CODE'. */
const raisePattern = new RegExp(`(?:new \\w+\\(|super\\(|fail\\(|[:?]|\\?\\?|return)\\s*'(${codeLike})'`, 'g');

// Upper-case literals that are not error codes, each group with its reason. Every entry must
// still occur in the sources (test below), so the list cannot hide a code by going stale.
const notErrorCodes: Record<string, string[]> = {
  'Redis commands and their arguments': ['BYLEX', 'COUNT', 'DEL', 'FUNCTION', 'GET', 'HDEL', 'HGET', 'HGETALL', 'HLEN', 'HMGET',
    'HSET', 'INFO', 'LEX', 'LIBRARYNAME', 'LIMIT', 'LIST', 'MULTI', 'NOSCRIPT', 'PUBLISH', 'SET', 'TIME', 'TYPE', 'WITHCODE', 'XADD', 'XRANGE', 'ZADD', 'ZRANGE', 'ZREM',
    'BYSCORE', 'REV', 'WITHSCORES', 'XTRIM', 'MINID'],
  "Redis' own error codes, which the ledger answers as Redis would (a derived key of the wrong type)": ['WRONGTYPE'],
  'internal replies of the snapshot store scripts, mapped to catalog codes before they leave': ['COMPLETED', 'CONFLICT', 'EXISTS'],
  'HTTP methods': ['HEAD'],
  'JWT algorithms and key types': ['ES256', 'HS256', 'JWT', 'RS256', 'RSA'],
  'Node socket errno codes (classified as UNAVAILABLE)': ['EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'ETIMEDOUT'],
  'Node HTTP parser errors (answered as catalog codes by src/http/client-errors.ts)': ['ERR_HTTP_REQUEST_TIMEOUT', 'HPE_HEADER_OVERFLOW'],
  'process signals': ['SIGINT', 'SIGTERM'],
  'snapshot header types (Hedera token types, the ledger snapshot type, and the log segment type)': ['FUNGIBLE_COMMON', 'NON_FUNGIBLE_UNIQUE', 'TALLY_LEDGER', 'TALLY_LOG_SEGMENT'],
  'Hedera token pause states and transaction results, as the mirror node and the SDK write them (src/airdrops/hedera/)': ['NOT_APPLICABLE', 'PAUSED', 'SUCCESS', 'UNPAUSED'],
  'other words': ['IPFS', 'TALLY', 'UTC'],
};
// In the README only: Redis commands and cluster replies, the Lua table of codes, shell and `make run` variables.
const notErrorCodesInReadme = ['ASK', 'CLUSTERDOWN', 'ERROR_CODES', 'FCALL', 'FCALL_RO', 'LOADING', 'MASTERDOWN', 'MULTI', 'PATH', 'TRYAGAIN', 'WAIT'];
const allowed = new Set(Object.values(notErrorCodes).flat());

/** Names of environment variables: every code-like word of src/config.ts, the only reader of env. */
const envNames = new Set([...read('src/config.ts').matchAll(new RegExp(`\\b${codeLike}\\b`, 'g'))].map((m) => m[0]));

interface Found { code: string; file: string }

function scanSources(): { found: Found[]; raised: Found[]; withStatus: { code: string; status: number; file: string }[] } {
  const found: Found[] = [];
  const raised: Found[] = [];
  const withStatus: { code: string; status: number; file: string }[] = [];
  const files = [...filesUnder('src/', '.ts'), ...filesUnder('redis-functions/', '.lua')].filter((f) => f !== 'src/errors.ts');
  for (const file of files) {
    const text = read(file);
    for (const m of text.matchAll(literalPattern)) found.push({ code: m[2]!, file });
    for (const m of text.matchAll(messagePattern)) found.push({ code: m[1]!, file });
    for (const m of text.matchAll(raisePattern)) raised.push({ code: m[1]!, file });
    // A status written beside a code would be a second source of truth: none may be.
    for (const m of text.matchAll(new RegExp(`super\\(\\s*'(${codeLike})',\\s*(\\d{3})\\b`, 'g'))) withStatus.push({ code: m[1]!, status: Number(m[2]), file });
  }
  return { found, raised, withStatus };
}

function readmeTable(): { code: string; status: number; retryable: boolean; layer: string; description: string }[] {
  const section = /## Error codes\n([\s\S]*?)\n## /.exec(read('README.md'))?.[1] ?? '';
  return section.split('\n').filter((line) => line.startsWith('| `')).map((line) => {
    const [code, status, retryable, layer, description] = line.slice(1, -1).split(' | ').map((cell) => cell.trim());
    return { code: code!.replaceAll('`', ''), status: Number(status), retryable: retryable === 'yes', layer: layer!, description: description! };
  });
}

describe('the error catalog', () => {
  const { found, raised, withStatus } = scanSources();
  const catalogCodes = Object.keys(errorCatalog) as ErrorCode[];

  it('knows at least the 40 codes of ledger, HTTP, snapshots, store and jobs', () => {
    expect(catalogCodes.length).to.be.at.least(40);
    for (const layer of ['ledger', 'http', 'snapshots', 'store', 'jobs'] as const) expect(codesOf(layer), layer).to.not.be.empty;
    for (const [code, entry] of Object.entries(errorCatalog)) {
      expect(code).to.match(/^[A-Z][A-Z0-9_]{2,63}$/);
      expect(entry.status, code).to.be.within(400, 599);
      expect(entry.description, code).to.match(/^\S.{9,}$/);
    }
  });

  it('has every code the sources raise, answer or list, and the scan finds them', () => {
    const codes = new Set(found.map((f) => f.code));
    expect(codes.size, 'the scan found too little to be trusted').to.be.at.least(40);
    const unknown = found.filter(({ code }) => !isErrorCode(code) && !allowed.has(code) && !envNames.has(code));
    expect(unknown.map(({ code, file }) => `${code} in ${file}`)).to.deep.equal([]);
  });

  it('takes every status from the catalog: no error class names one beside its code', () => {
    expect(withStatus.map(({ code, status, file }) => `${code} ${status} in ${file}`)).to.deep.equal([]);
  });

  it('has no code that nothing raises or answers', () => {
    const raisedCodes = new Set(raised.map((r) => r.code));
    expect(raisedCodes.size).to.be.at.least(40);
    expect(catalogCodes.filter((code) => !raisedCodes.has(code))).to.deep.equal([]);
  });

  it('keeps the allow-list of non-codes honest: each entry occurs and none is a catalog code', () => {
    const literals = new Set(found.map((f) => f.code));
    for (const name of allowed) {
      expect(literals.has(name), `${name} no longer occurs in the sources; drop it from the list`).to.equal(true);
      expect(isErrorCode(name), name).to.equal(false);
    }
    for (const name of envNames) expect(isErrorCode(name), `${name} in src/config.ts`).to.equal(false);
  });

  it('matches the README table row by row (code, status, retryable, layer, description)', () => {
    const table = readmeTable();
    expect(table.map((row) => row.code)).to.deep.equal(catalogCodes);
    for (const row of table) {
      const { status, retryable, layer, description } = errorCatalog[row.code as ErrorCode];
      expect(row, row.code).to.deep.equal({ code: row.code, status, retryable, layer, description });
    }
  });

  it('has every code the README mentions anywhere (environment variables, in Configuration, aside)', () => {
    const full = read('README.md');
    const configStart = full.indexOf('\n## Configuration');
    const readme = full.slice(0, configStart) + full.slice(full.indexOf('\n## ', configStart + 1));
    const mentioned = new Set([...readme.matchAll(new RegExp(`\`(${codeLike})\``, 'g'))].map((m) => m[1]!));
    const unknown = [...mentioned].filter((code) => !isErrorCode(code) && !envNames.has(code) && !allowed.has(code) && !notErrorCodesInReadme.includes(code));
    expect(unknown).to.deep.equal([]);
    for (const name of notErrorCodesInReadme) expect(mentioned.has(name), name).to.equal(true);
  });

  it('is what the OpenAPI document lists, and every response names codes of its status', () => {
    type Response = { description: string; content?: { 'application/json'?: { schema?: { $ref?: string } } } };
    const doc = openApiDocument([snapshotsOpenApi, airdropsOpenApi]) as { paths: Record<string, Record<string, { responses: Record<string, Response> }>>; components: { schemas: { Error: any } } };
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).to.deep.equal(catalogCodes);
    let named = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, { responses }] of Object.entries(operations)) {
        for (const [status, { description, content }] of Object.entries(responses)) {
          if (content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error') continue;
          for (const code of description.split(', ')) {
            expect(isErrorCode(code), `${method} ${path} ${status}: ${code}`).to.equal(true);
            expect(errorCatalog[code as ErrorCode].status, `${method} ${path} ${code}`).to.equal(Number(status));
            named += 1;
          }
        }
      }
    }
    expect(named).to.be.at.least(50);
  });

  it('is answered by the error middleware for every code, through the one base class', () => {
    for (const code of catalogCodes) {
      const error = new TallyError(code, `a ${code}`);
      expect(classifyError(error), code).to.deep.equal({ code, status: errorCatalog[code].status, message: `a ${code}`, unexpected: false });
      expect(error.retryable, code).to.equal(errorCatalog[code].retryable);
    }
    expect(classifyError(Object.assign(new Error('duck'), { code: 'MIRROR_UNAVAILABLE', httpStatus: 503 })))
      .to.include({ code: 'INTERNAL', status: 500, unexpected: true });
  });

});
