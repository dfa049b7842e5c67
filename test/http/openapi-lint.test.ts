// `redocly lint` on the served document, through Redocly's own engine (@redocly/openapi-core,
// the `recommended` ruleset): no error. Warnings are printed, not failed on (the public probes
// /healthz, /readyz, /metrics and /openapi.json have no 4xx answer by design).
import { expect } from 'chai';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { openApiDocument } from '../../src/http/openapi.ts';
import { snapshotsOpenApi } from '../../src/http/snapshots.ts';
import { airdropsOpenApi } from '../../src/http/airdrops.ts';

async function lint(doc: unknown) {
  const config = await createConfig({ extends: ['recommended'] });
  return lintFromString({ source: JSON.stringify(doc), absoluteRef: '/openapi.json', config });
}

describe('OpenAPI document under redocly lint', function () {
  this.timeout(30_000);

  it('has no error under the recommended ruleset', async () => {
    const problems = await lint(openApiDocument([snapshotsOpenApi, airdropsOpenApi]));
    for (const p of problems.filter((q) => q.severity !== 'error')) console.log(`      [lint] ${p.severity} ${p.ruleId}: ${p.message}`);
    expect(problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message}`)).to.deep.equal([]);
  });

  it('reports the error the issue found (an undefined security scheme), so the check can fail', async () => {
    const doc = structuredClone(openApiDocument([snapshotsOpenApi, airdropsOpenApi])) as { paths: Record<string, Record<string, { security?: unknown }>> };
    doc.paths['/v1/snapshots']!.post!.security = [{ bearerAuth: [] }];
    const errors = (await lint(doc)).filter((p) => p.severity === 'error').map((p) => p.ruleId);
    expect(errors).to.include('security-defined');
  });
});
