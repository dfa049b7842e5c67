// loadConfig is pure: defaults, derived values, and one ConfigError naming every bad value.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, configVariables, loadConfig, readEnv, type Env } from '../src/config.ts';

const secret = 's'.repeat(32);
const base: Env = { REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: secret };

function problemsOf(env: Env): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('fills the defaults', () => {
    const config = loadConfig(base);
    expect(config.http).to.deep.equal({ port: 3000, host: '0.0.0.0', bodyLimitBytes: 65536, rateLimitPerMinute: 600, trustProxyHops: 0, shutdownTimeoutMs: 10_000 });
    expect(config.redis).to.deep.equal({ url: 'redis://127.0.0.1:6379', clusterUrls: [], commandTimeoutMs: 5_000 });
    expect(config.jwt).to.deep.equal({ secret, algorithms: ['HS256'] });
    expect(config.logLevel).to.equal('info');
    expect(config.hedera).to.deep.equal({ network: 'testnet', mirrorNodeUrl: 'https://testnet.mirrornode.hedera.com', mirrorRps: 20, mirrorAttempts: 6, mirrorRetryBaseMs: 250, mirrorTimeoutMs: 10_000 });
    expect(config.jobs).to.deep.equal({ attempts: 3, backoffMs: 5_000, lockLifetimeMs: 60_000, pollMs: 5_000, scheduleMinIntervalMs: 60_000, namespace: 'tally' });
    expect(config.dataDir).to.equal('./data');
    expect(config.roles).to.deep.equal(['api', 'worker']);
    expect(config).not.to.have.property('mongodbUrl');
  });

  it('is deeply frozen', () => {
    const config = loadConfig(base);
    expect(Object.isFrozen(config)).to.equal(true);
    expect(Object.isFrozen(config.http)).to.equal(true);
    expect(Object.isFrozen(config.jwt.algorithms)).to.equal(true);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      REDIS_CLUSTER_URLS: 'redis://a:7000, redis://b:7001', REDIS_COMMAND_TIMEOUT_MS: '250', JWT_SECRET: secret, JWT_ISSUER: 'iss', JWT_AUDIENCE: 'a, b',
      PORT: '8080', HOST: '127.0.0.1', BODY_LIMIT_BYTES: '1024', RATE_LIMIT_PER_MINUTE: '0', TRUST_PROXY_HOPS: '1',
      LOG_LEVEL: 'debug', SHUTDOWN_TIMEOUT_MS: '500', MONGODB_URL: 'mongodb://m:27017/tally', HEDERA_NETWORK: 'mainnet',
      MIRROR_NODE_URL: 'http://localhost:5551/', MIRROR_RPS: '50', DATA_DIR: '/var/tally', ROLES: 'worker',
      MIRROR_ATTEMPTS: '2', MIRROR_RETRY_BASE_MS: '10', SNAPSHOT_ATTEMPTS: '5', SNAPSHOT_BACKOFF_MS: '100', JOB_LOCK_LIFETIME_MS: '2000',
      JOB_POLL_MS: '100', SCHEDULE_MIN_INTERVAL_MS: '1000', TALLY_NAMESPACE: 'prod-eu', MIRROR_TIMEOUT_MS: '3000',
      DASHBOARD_DEV_TOKENS: '1',
    });
    expect(config.redis).to.deep.equal({ clusterUrls: ['redis://a:7000', 'redis://b:7001'], commandTimeoutMs: 250 });
    expect(config.jwt).to.deep.equal({ secret, algorithms: ['HS256'], issuer: 'iss', audience: ['a', 'b'], devTokens: true });
    expect(config.http).to.deep.equal({ port: 8080, host: '127.0.0.1', bodyLimitBytes: 1024, rateLimitPerMinute: 0, trustProxyHops: 1, shutdownTimeoutMs: 500 });
    expect(config.hedera).to.deep.equal({ network: 'mainnet', mirrorNodeUrl: 'http://localhost:5551', mirrorRps: 50, mirrorAttempts: 2, mirrorRetryBaseMs: 10, mirrorTimeoutMs: 3_000 });
    expect(config.jobs).to.deep.equal({ attempts: 5, backoffMs: 100, lockLifetimeMs: 2_000, pollMs: 100, scheduleMinIntervalMs: 1_000, namespace: 'prod-eu' });
    expect(config).to.include({ logLevel: 'debug', mongodbUrl: 'mongodb://m:27017/tally', dataDir: '/var/tally' });
    expect(config.roles).to.deep.equal(['worker']);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ ...base, PORT: '', HEDERA_NETWORK: ' ', MONGODB_URL: '' }).http.port).to.equal(3000);
  });

  it('reports every bad value at once, each with its variable', () => {
    const problems = problemsOf({
      REDIS_URL: 'http://nope', JWT_SECRET: 'short', PORT: '70000', HOST: 'h', BODY_LIMIT_BYTES: '-1', RATE_LIMIT_PER_MINUTE: 'lots',
      LOG_LEVEL: 'loud', SHUTDOWN_TIMEOUT_MS: '1.5', MONGODB_URL: 'mysql://x', HEDERA_NETWORK: 'devnet', MIRROR_NODE_URL: 'ftp://x',
      MIRROR_RPS: '0', ROLES: 'api,cron', JWT_ALGORITHMS: 'HS384', TALLY_NAMESPACE: 'Bad Name!',
    });
    const names = problems.map((p) => p.split(':')[0]);
    expect(names).to.have.members(['REDIS_URL', 'JWT_SECRET', 'PORT', 'BODY_LIMIT_BYTES', 'RATE_LIMIT_PER_MINUTE', 'LOG_LEVEL', 'SHUTDOWN_TIMEOUT_MS',
      'MONGODB_URL', 'HEDERA_NETWORK', 'MIRROR_NODE_URL', 'MIRROR_RPS', 'ROLES', 'JWT_ALGORITHMS', 'TALLY_NAMESPACE']);
    expect(problems.find((p) => p.startsWith('PORT'))).to.equal('PORT: must be an integer in 0..65535, got "70000"');
    expect(problems.find((p) => p.startsWith('HEDERA_NETWORK'))).to.equal('HEDERA_NETWORK: must be one of mainnet, testnet, previewnet, got "devnet"');
    expect(problems.join('\n')).not.to.include('short'); // a secret is never echoed
  });

  it('puts every problem in the error message', () => {
    expect(() => loadConfig({ PORT: 'x' })).to.throw(ConfigError, new RegExp([
      '^invalid configuration:',
      '  - PORT: must be an integer in 0..65535, got "x"',
      '  - REDIS_URL or REDIS_CLUSTER_URLS: one is required .*',
      '  - JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL: one is required .*$',
    ].join('\n')));
  });

  it('requires exactly one Redis target and one JWT key source', () => {
    expect(problemsOf({ JWT_SECRET: secret })).to.deep.equal(['REDIS_URL or REDIS_CLUSTER_URLS: one is required (e.g. REDIS_URL=redis://127.0.0.1:6379)']);
    expect(problemsOf({ ...base, REDIS_CLUSTER_URLS: 'redis://a:1' })).to.deep.equal(['REDIS_URL, REDIS_CLUSTER_URLS: set only one']);
    expect(problemsOf({ REDIS_URL: base.REDIS_URL })[0]).to.match(/^JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL: one is required/);
    expect(problemsOf({ ...base, JWT_JWKS_URL: 'https://id.example/jwks' })).to.include('JWT_SECRET, JWT_JWKS_URL: set only one key source');
  });

  describe('JWT algorithms', () => {
    const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const p384Pem = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keyEnv = (pem: string, extra: Env = {}) => ({ REDIS_URL: base.REDIS_URL, JWT_PUBLIC_KEY: pem, ...extra });

    it('derives RS256 from an RSA key, ES256 from a P-256 key, RS256 for JWKS', () => {
      expect(loadConfig(keyEnv(rsaPem)).jwt.algorithms).to.deep.equal(['RS256']);
      expect(loadConfig(keyEnv(ecPem)).jwt.algorithms).to.deep.equal(['ES256']);
      expect(loadConfig(keyEnv(ecPem.replaceAll('\n', '\\n'))).jwt.publicKey).to.equal(ecPem);
      expect(loadConfig({ REDIS_URL: base.REDIS_URL, JWT_JWKS_URL: 'https://id.example/jwks' }).jwt).to.deep.equal({ jwksUrl: 'https://id.example/jwks', algorithms: ['RS256'] });
      expect(loadConfig({ REDIS_URL: base.REDIS_URL, JWT_JWKS_URL: 'https://id.example/jwks', JWT_ALGORITHMS: 'RS256,ES256' }).jwt.algorithms).to.deep.equal(['RS256', 'ES256']);
    });

    it('refuses combinations that would allow algorithm confusion or never verify', () => {
      expect(problemsOf({ ...base, JWT_ALGORITHMS: 'RS256' })).to.deep.equal(['JWT_ALGORITHMS: only HS256 goes with JWT_SECRET']);
      expect(problemsOf(keyEnv(rsaPem, { JWT_ALGORITHMS: 'HS256' }))[0]).to.equal('JWT_ALGORITHMS: HS256 needs JWT_SECRET, not a public key or JWKS');
      expect(problemsOf(keyEnv(rsaPem, { JWT_ALGORITHMS: 'ES256' }))).to.deep.equal(['JWT_ALGORITHMS: the JWT_PUBLIC_KEY is a RSA key, so only RS256 applies']);
      expect(problemsOf(keyEnv('not a key'))).to.deep.equal(['JWT_PUBLIC_KEY: must be a PEM public key (RSA or EC P-256)']);
      expect(problemsOf(keyEnv(p384Pem))).to.deep.equal(['JWT_PUBLIC_KEY: an EC key must use curve P-256 (ES256)']);
    });

    it('mints dashboard dev tokens only when asked, and only with an HS256 secret', () => {
      expect(loadConfig(base).jwt.devTokens).to.equal(undefined);
      expect(loadConfig({ ...base, DASHBOARD_DEV_TOKENS: '0' }).jwt.devTokens).to.equal(undefined);
      expect(loadConfig({ ...base, DASHBOARD_DEV_TOKENS: 'true' }).jwt.devTokens).to.equal(true);
      expect(problemsOf({ ...base, DASHBOARD_DEV_TOKENS: 'yes' })).to.deep.equal(['DASHBOARD_DEV_TOKENS: must be 1, 0, true or false, got "yes"']);
      expect(problemsOf(keyEnv(rsaPem, { DASHBOARD_DEV_TOKENS: '1' }))).to.deep.equal(['DASHBOARD_DEV_TOKENS: dev tokens are HS256, so it needs JWT_SECRET']);
    });
  });

  it('reads only the sections asked for, validating just their variables', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://h:6380', PORT: 'bad', JWT_SECRET: 'short' }, ['redis'])).to.deep.equal({ redis: { url: 'rediss://h:6380', clusterUrls: [], commandTimeoutMs: 5_000 } });
    expect(() => loadConfig({}, ['redis'])).to.throw(ConfigError, /REDIS_URL or REDIS_CLUSTER_URLS/);
    expect(() => loadConfig({ REDIS_CLUSTER_URLS: 'redis://a:1,nope' }, ['redis'])).to.throw(ConfigError, /every seed must be a redis/);
    const cli = loadConfig({ MIRROR_TIMEOUT_MS: '2500', MIRROR_ATTEMPTS: '3', DATA_DIR: '/d', PORT: 'bad' }, ['hedera', 'dataDir', 'mongodbUrl']);
    expect(cli).to.deep.equal({ hedera: { network: 'testnet', mirrorNodeUrl: 'https://testnet.mirrornode.hedera.com', mirrorRps: 20, mirrorAttempts: 3, mirrorRetryBaseMs: 250, mirrorTimeoutMs: 2_500 }, dataDir: '/d' });
    expect(() => loadConfig({ MIRROR_RPS: '0' }, ['hedera'])).to.throw(ConfigError, /MIRROR_RPS: must be off or an integer in 1\.\.1000/);
    expect(() => loadConfig({ MIRROR_RPS: 'OFF' }, ['hedera'])).to.throw(ConfigError, /MIRROR_RPS: must be off or an integer/);
    expect(loadConfig({ MIRROR_RPS: 'off' }, ['hedera']).hedera.mirrorRps, 'off: no limit').to.equal(0);
    expect(loadConfig({ MIRROR_RPS: '1000' }, ['hedera']).hedera.mirrorRps).to.equal(1000);
  });

  it('names every variable it reads in configVariables, each in exactly one section', () => {
    const seen = new Set<string>();
    for (const name of configVariables) {
      expect(seen.has(name), `${name} in two sections`).to.equal(false);
      seen.add(name);
      // A bad value of each listed variable is reported under its own name, so it is really read.
      if (['HOST', 'JWT_ISSUER', 'JWT_AUDIENCE', 'DATA_DIR'].includes(name)) continue; // free text
      const bad = '\u0000bad';
      const problems = (() => { try { loadConfig({ ...base, [name]: bad }); return []; } catch (error) { return (error as ConfigError).problems; } })();
      expect(problems.some((p) => p.startsWith(name)), `${name} is validated`).to.equal(true);
    }
    expect(seen.size).to.be.at.least(30);
  });

  it('readEnv layers the process environment over an optional .env file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-env-'));
    writeFileSync(join(dir, '.env'), 'PORT=4000\nHOST=127.0.0.1\n# comment\n');
    const env = readEnv({ PORT: '5000' }, join(dir, '.env'));
    expect(env).to.deep.include({ PORT: '5000', HOST: '127.0.0.1' });
    expect(readEnv({ A: '1' }, join(dir, 'missing.env'))).to.deep.equal({ A: '1' });
  });
});
