// The OpenAPI document is well-formed, checked structurally beside redocly lint
// (test/http/openapi-lint.test.ts): every $ref resolves, every security requirement names a defined scheme, every
// operation has a unique operationId and a described 2xx response, and path templates and path
// parameters agree. One version is reported everywhere: package.json, the ledger library
// (LIBRARY_VERSION and ledger_version), /openapi.json and /healthz.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { openApiDocument } from '../../src/http/openapi.ts';
import { snapshotsOpenApi } from '../../src/http/snapshots.ts';
import { airdropsOpenApi } from '../../src/http/airdrops.ts';
import { tallyVersion } from '../../src/version.ts';
import { call, startApp, type TestApp } from './support.ts';

type Json = Record<string, any>;
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operationsOf(doc: Json): { where: string; path: string; op: Json; pathItem: Json }[] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, pathItem]) =>
    Object.entries(pathItem).filter(([m]) => methods.includes(m)).map(([m, op]) => ({ where: `${m} ${path}`, path, op: op as Json, pathItem })));
}

function refsOf(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refsOf(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => k === '$ref' && typeof v === 'string' ? [{ ref: v, at }] : refsOf(v, `${at}/${k}`));
}

function resolve(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref.slice(2).split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, part) => (node !== null && typeof node === 'object' ? (node as Json)[part] : undefined), doc);
}

/** Every problem a linter would report as an error, as sentences; empty when the document is sound. */
export function lintOpenApi(doc: Json): string[] {
  const problems: string[] = [];
  if (doc.openapi !== '3.1.0') problems.push(`openapi is ${doc.openapi}, not 3.1.0`);
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') problems.push('info needs a title and a version');
  for (const { ref, at } of refsOf(doc)) if (resolve(doc, ref) === undefined) problems.push(`${at}: $ref ${ref} does not resolve`);
  const schemes = Object.keys(doc.components?.securitySchemes ?? {});
  const requirements = [{ where: 'the document', list: doc.security ?? [] }, ...operationsOf(doc).map(({ where, op }) => ({ where, list: op.security ?? [] }))];
  for (const { where, list } of requirements) {
    for (const requirement of list as Json[]) for (const name of Object.keys(requirement)) if (!schemes.includes(name)) problems.push(`${where}: security scheme ${name} is not defined`);
  }
  const ids = new Map<string, string>();
  for (const { where, path, op, pathItem } of operationsOf(doc)) {
    if (typeof op.operationId !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(op.operationId)) problems.push(`${where}: no operationId`);
    else if (ids.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} is also used by ${ids.get(op.operationId)}`);
    else ids.set(op.operationId, where);
    const params = [...(pathItem.parameters ?? []), ...(op.parameters ?? [])].map((p: Json) => (p.$ref ? resolve(doc, p.$ref) : p) as Json);
    const seen = new Set<string>();
    for (const p of params) {
      if (typeof p?.name !== 'string' || !['path', 'query', 'header', 'cookie'].includes(p.in)) { problems.push(`${where}: a parameter without name or in`); continue; }
      if (seen.has(`${p.in} ${p.name}`)) problems.push(`${where}: parameter ${p.name} (${p.in}) declared twice`);
      seen.add(`${p.in} ${p.name}`);
      if (!p.schema && !p.content) problems.push(`${where}: parameter ${p.name} has no schema`);
      if (p.in === 'path' && p.required !== true) problems.push(`${where}: path parameter ${p.name} must be required`);
    }
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
    const declared = params.filter((p) => p?.in === 'path').map((p) => p.name as string).sort();
    if (JSON.stringify(templated) !== JSON.stringify(declared)) problems.push(`${where}: path parameters ${declared.join(', ') || 'none'} do not match the template (${templated.join(', ') || 'none'})`);
    const responses = Object.entries(op.responses ?? {}) as [string, Json][];
    if (!responses.some(([status]) => /^2/.test(status))) problems.push(`${where}: no 2xx response`);
    for (const [status, response] of responses) if (!response.$ref && typeof response.description !== 'string') problems.push(`${where}: response ${status} has no description`);
  }
  return problems;
}

describe('OpenAPI document', () => {
  it('has no lint errors, with and without the snapshot routes', () => {
    expect(lintOpenApi(openApiDocument([snapshotsOpenApi, airdropsOpenApi]))).to.deep.equal([]);
    expect(lintOpenApi(openApiDocument())).to.deep.equal([]);
  });

  it('the lint finds what the issue reported: an undefined scheme, a missing operationId, a broken $ref, a missing path parameter', () => {
    const broken = openApiDocument();
    broken.paths = { '/v1/x/{id}': { get: { security: [{ bearerAuth: [] }], responses: { 200: { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } } } } } } };
    expect(lintOpenApi(broken)).to.deep.equal([
      '#/paths//v1/x/{id}/get/responses/200/content/application/json/schema: $ref #/components/schemas/Nope does not resolve',
      'get /v1/x/{id}: security scheme bearerAuth is not defined',
      'get /v1/x/{id}: no operationId',
      'get /v1/x/{id}: path parameters none do not match the template (id)',
    ]);
  });

  describe('one version everywhere', () => {
    let app: TestApp;
    before(async () => { app = await startApp(); });
    after(async () => { await app.close(); });

    it('package.json, LIBRARY_VERSION, ledger_version, /openapi.json and /healthz report the same version', async () => {
      const packageVersion = JSON.parse(readFileSync('package.json', 'utf8')).version;
      const libraryVersion = /local LIBRARY_VERSION = '([^']+)'/.exec(readFileSync('redis-functions/ledger/_lib.lua', 'utf8'))?.[1];
      expect(packageVersion).to.equal(libraryVersion);
      expect(tallyVersion).to.equal(packageVersion);
      expect(await app.ledger.version()).to.equal(packageVersion);
      expect((await call(app.url, 'GET', '/openapi.json')).body.info.version).to.equal(packageVersion);
      expect((await call(app.url, 'GET', '/healthz')).body.version).to.equal(packageVersion);
    });
  });
});
