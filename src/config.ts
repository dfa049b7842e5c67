// Configuration: environment variables (plus an optional .env file) -> one frozen, typed object.
// The only reader of Tally's environment variables. loadConfig(env) is pure: it validates every
// variable, collects every problem and throws one ConfigError that lists them all, so a bad
// deployment is fixed in one round; loadConfig(env, sections) reads just those sections.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import type { LogLevel } from './logger.ts';

export type Env = Record<string, string | undefined>;
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';
export type Role = 'api' | 'worker';
export const hederaNetworks = ['mainnet', 'testnet', 'previewnet'] as const;
export type HederaNetwork = (typeof hederaNetworks)[number];

export interface RedisTargetConfig {
  url?: string;
  clusterUrls: string[];
  /** Every Redis command's reply is awaited at most this long; then 503 (or a safe retry). */
  commandTimeoutMs: number;
}

export interface JwtConfig {
  /** HS256 shared secret. Exactly one of secret, publicKey, jwksUrl is set. */
  secret?: string;
  /** RS256 / ES256 verification key (PEM). */
  publicKey?: string;
  jwksUrl?: string;
  algorithms: JwtAlgorithm[];
  issuer?: string;
  audience?: string[];
  /** DASHBOARD_DEV_TOKENS: the dashboard may mint dev tokens (`make run` with its dev secret only). */
  devTokens?: true;
}

export interface Config {
  http: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    /** Requests per client per minute; 0 turns rate limiting off. */
    rateLimitPerMinute: number;
    /** Reverse-proxy hops to trust for the client IP (express `trust proxy`); 0 trusts none. */
    trustProxyHops: number;
    shutdownTimeoutMs: number;
  };
  redis: RedisTargetConfig;
  jwt: JwtConfig;
  logLevel: LogLevel;
  mongodbUrl?: string;
  hedera: {
    network: HederaNetwork;
    mirrorNodeUrl: string;
    /** Requests per second to the mirror node; 0 = no limit (MIRROR_RPS=off). */
    mirrorRps: number;
    /** Attempts per mirror-node request (first included), and the first retry delay. */
    mirrorAttempts: number;
    mirrorRetryBaseMs: number;
    /** Each mirror-node request (one attempt) gives up after this long. */
    mirrorTimeoutMs: number;
  };
  dataDir: string;
  roles: Role[];
  /** Snapshot jobs (Agenda). */
  jobs: {
    attempts: number;
    backoffMs: number;
    lockLifetimeMs: number;
    pollMs: number;
    scheduleMinIntervalMs: number;
    /** Pub/sub channel and key namespace of this deployment's jobs and Socket.IO events. */
    namespace: string;
  };
  /**
   * The account that pays for and signs Hedera transactions `tally airdrop hedera --submit` sends
   * (docs/hedera-airdrops.md); unset unless HEDERA_OPERATOR_ID and HEDERA_OPERATOR_KEY are set.
   * The key is parsed by @hashgraph/sdk when it is used, and never printed.
   */
  hederaOperator: { accountId: string; privateKey: string } | null;
  /** As-of reads and ledger snapshots (src/ledger/history.ts, src/snapshots/ledger-snapshots.ts). */
  history: {
    /** An as-of read replays at most this many log entries after its checkpoint (a 409 beyond). */
    replayEntriesMax: number;
    /** A token gets a checkpoint (a ledger snapshot) once its log has this many entries after the last one. */
    checkpointEveryEntries: number;
    /** How often the worker looks for tokens due a checkpoint; 0 = never (on demand only). */
    checkpointCheckMs: number;
    /** A bounded log: the stream keeps at least this many newest entries, older ones are archived to IPFS, then trimmed; 0 = off (keep everything). */
    logRetentionEntries: number;
    /** Log entries per archived segment. */
    logSegmentEntries: number;
    /** How often the worker archives due segments (with retention on); 0 = never. */
    logArchiveCheckMs: number;
    /** Test-only (fault tests): the worker stops at this point of archiving a segment and waits to be killed. */
    faultLogArchivePause?: (typeof logArchiveFaultPoints)[number];
  };
  /** Airdrops from a snapshot (src/airdrops/). */
  airdrops: {
    /** Legs per ledger_transfer_batch call (1..1000), fixed per airdrop when it is planned. */
    chunkLegs: number;
    /** A pause between two chunks, to leave the ledger to other traffic; 0 = none. */
    chunkPauseMs: number;
  };
}

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The points of archiving a segment a fault test can stop at (src/snapshots/log-archives.ts). */
export const logArchiveFaultPoints = ['after-store', 'after-record', 'after-mark'] as const;

const portMax = 65_535;
const bodyLimitBytesMax = 16 * 1024 * 1024;
const rateLimitPerMinuteMax = 1_000_000;
const shutdownTimeoutMsMax = 600_000;
const mirrorRpsMax = 1_000;
const jwtSecretCharsMin = 32;

export const mirrorNodeUrls: Record<HederaNetwork, string> = {
  mainnet: 'https://mainnet-public.mirrornode.hedera.com',
  testnet: 'https://testnet.mirrornode.hedera.com',
  previewnet: 'https://previewnet.mirrornode.hedera.com',
};

const show = (value: unknown) => JSON.stringify(typeof value === 'string' && value.length > 60 ? `${value.slice(0, 57)}...` : value);

/** An integer in min..max; with `off`, also the word off, which reads as 0 (no limit). */
function integer(min: number, max: number, fallback: number, { off = false } = {}) {
  return z.string().optional().transform((value, ctx) => {
    if (value === undefined) return fallback;
    if (off && value === 'off') return 0;
    const n = /^(0|[1-9][0-9]{0,15})$/.test(value) ? Number(value) : NaN;
    if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
    ctx.addIssue({ code: 'custom', message: `must be ${off ? 'off or ' : ''}an integer in ${min}..${max}, got ${show(value)}` });
    return z.NEVER;
  });
}

function url(protocols: string[]) {
  return z.string().optional().transform((value, ctx) => {
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (protocols.includes(parsed.protocol)) return value;
    } catch { /* reported below */ }
    ctx.addIssue({ code: 'custom', message: `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL, got ${show(value)}` });
    return z.NEVER;
  });
}

function list<T extends string>(allowed: readonly T[], fallback: T[]) {
  return z.string().optional().transform((value, ctx) => {
    if (value === undefined) return fallback;
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((item) => !allowed.includes(item as T));
    if (items.length === 0 || bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of ${allowed.join(', ')}, got ${show(value)}` });
      return z.NEVER;
    }
    return [...new Set(items)] as T[];
  });
}

function oneOf<T extends string>(allowed: readonly T[], fallback: T) {
  return z.string().optional().transform((value, ctx) => {
    if (value === undefined) return fallback;
    if (allowed.includes(value as T)) return value as T;
    ctx.addIssue({ code: 'custom', message: `must be one of ${allowed.join(', ')}, got ${show(value)}` });
    return z.NEVER;
  });
}

function flag(fallback: boolean) {
  return z.string().optional().transform((value, ctx) => {
    if (value === undefined) return fallback;
    if (value === '1' || value === 'true') return true;
    if (value === '0' || value === 'false') return false;
    ctx.addIssue({ code: 'custom', message: `must be 1, 0, true or false, got ${show(value)}` });
    return z.NEVER;
  });
}

const text = z.string().optional();

const redisUrlSchema = url(['redis:', 'rediss:']);
const clusterUrlsSchema = z.string().optional().transform((value, ctx) => {
  const urls = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const u of urls) {
    if (!redisUrlSchema.safeParse(u).success) {
      ctx.addIssue({ code: 'custom', message: `every seed must be a redis:// or rediss:// URL, got ${show(u)}` });
      return z.NEVER;
    }
  }
  return urls;
});

const envSchema = z.object({
  PORT: integer(0, portMax, 3000),
  HOST: text.transform((v) => v ?? '0.0.0.0'),
  REDIS_URL: redisUrlSchema,
  REDIS_CLUSTER_URLS: clusterUrlsSchema,
  REDIS_COMMAND_TIMEOUT_MS: integer(50, 600_000, 5_000),
  JWT_SECRET: z.string().optional().refine((v) => v === undefined || v.length >= jwtSecretCharsMin,
    { message: `must be at least ${jwtSecretCharsMin} characters (HS256 needs a 256-bit secret)` }),
  JWT_PUBLIC_KEY: text,
  JWT_JWKS_URL: url(['https:', 'http:']),
  JWT_ALGORITHMS: list(['HS256', 'RS256', 'ES256'] as const, []),
  JWT_ISSUER: text,
  JWT_AUDIENCE: text.transform((v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean)),
  DASHBOARD_DEV_TOKENS: flag(false),
  BODY_LIMIT_BYTES: integer(1, bodyLimitBytesMax, 64 * 1024),
  RATE_LIMIT_PER_MINUTE: integer(0, rateLimitPerMinuteMax, 600),
  TRUST_PROXY_HOPS: integer(0, 10, 0),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  SHUTDOWN_TIMEOUT_MS: integer(0, shutdownTimeoutMsMax, 10_000),
  MONGODB_URL: url(['mongodb:', 'mongodb+srv:']),
  HEDERA_NETWORK: oneOf(hederaNetworks, 'testnet'),
  MIRROR_NODE_URL: url(['https:', 'http:']),
  MIRROR_RPS: integer(1, mirrorRpsMax, 20, { off: true }),
  DATA_DIR: text.transform((v) => v ?? './data'),
  ROLES: list(['api', 'worker'] as const, ['api', 'worker']),
  SNAPSHOT_ATTEMPTS: integer(1, 10, 3),
  SNAPSHOT_BACKOFF_MS: integer(10, 3_600_000, 5_000),
  JOB_LOCK_LIFETIME_MS: integer(500, 3_600_000, 60_000),
  JOB_POLL_MS: integer(50, 60_000, 5_000),
  SCHEDULE_MIN_INTERVAL_MS: integer(1_000, 86_400_000, 60_000),
  TALLY_NAMESPACE: z.string().optional().transform((value, ctx) => {
    if (value === undefined) return 'tally';
    if (/^[a-z0-9][a-z0-9_-]{0,31}$/.test(value)) return value;
    ctx.addIssue({ code: 'custom', message: `must match ^[a-z0-9][a-z0-9_-]{0,31}$, got ${show(value)}` });
    return z.NEVER;
  }),
  MIRROR_TIMEOUT_MS: integer(100, 120_000, 10_000),
  MIRROR_ATTEMPTS: integer(1, 20, 6),
  MIRROR_RETRY_BASE_MS: integer(1, 60_000, 250),
  HISTORY_REPLAY_ENTRIES_MAX: integer(100, 1_000_000, 20_000),
  LEDGER_CHECKPOINT_EVERY_ENTRIES: integer(10, 1_000_000, 10_000),
  LEDGER_CHECKPOINT_CHECK_MS: integer(0, 86_400_000, 60_000),
  AIRDROP_CHUNK_LEGS: integer(1, 1_000, 1_000),
  AIRDROP_CHUNK_PAUSE_MS: integer(0, 60_000, 0),
  HEDERA_OPERATOR_ID: z.string().optional().refine((v) => v === undefined || /^(0|[1-9]\d{0,18})\.(0|[1-9]\d{0,18})\.(0|[1-9]\d{0,18})$/.test(v),
    { message: 'must be a Hedera account id shard.realm.num such as 0.0.1234 (without checksum)' }),
  HEDERA_OPERATOR_KEY: z.string().optional().refine((v) => v === undefined || /^((ed25519|ecdsa):)?(0x)?[0-9a-fA-F]{64,200}$/.test(v),
    { message: 'must be a private key as DER hex, or ed25519:<hex> / ecdsa:<hex>; the value is not shown' }),
  LEDGER_LOG_RETENTION_ENTRIES: integer(1, 1_000_000_000, 0, { off: true }),
  LEDGER_LOG_SEGMENT_ENTRIES: integer(10, 1_000_000, 10_000),
  LEDGER_LOG_ARCHIVE_CHECK_MS: integer(0, 86_400_000, 60_000),
  TALLY_FAULT_LOG_ARCHIVE_PAUSE: z.string().optional().transform((value, ctx) => {
    if (value === undefined) return undefined;
    if ((logArchiveFaultPoints as readonly string[]).includes(value)) return value as (typeof logArchiveFaultPoints)[number];
    ctx.addIssue({ code: 'custom', message: `must be one of ${logArchiveFaultPoints.join(', ')}, got ${show(value)}` });
    return z.NEVER;
  }),
});

type ParsedEnv = z.output<typeof envSchema>;
type EnvName = keyof ParsedEnv;

/**
 * Parses each variable on its own so that every bad value is reported; returns the values that
 * parsed and the names that did not (cross-field checks skip those, to avoid echo problems).
 */
function parseEach(env: Env, names: ReadonlySet<EnvName>, problems: string[]): { values: Partial<ParsedEnv>; failed: Set<EnvName> } {
  const values: Record<string, unknown> = {};
  const failed = new Set<EnvName>();
  for (const [name, schema] of Object.entries(envSchema.shape) as [EnvName, z.ZodType][]) {
    if (!names.has(name)) continue;
    const result = schema.safeParse(env[name]);
    if (result.success) values[name] = result.data;
    else {
      failed.add(name);
      for (const issue of result.error.issues) problems.push(`${name}: ${issue.message}`);
    }
  }
  return { values: values as Partial<ParsedEnv>, failed };
}

/** Empty values count as unset: `FOO=` in a compose file or .env means "use the default". */
function normalize(env: Env): Env {
  const out: Env = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') out[key] = value.trim();
  }
  return out;
}

/** PEM from an env var: literal `\n` sequences (one-line env files) become newlines. */
function readPublicKey(pem: string, problems: string[]): KeyObject | undefined {
  try {
    return createPublicKey(pem.includes('\\n') ? pem.replaceAll('\\n', '\n') : pem);
  } catch {
    problems.push('JWT_PUBLIC_KEY: must be a PEM public key (RSA or EC P-256)');
    return undefined;
  }
}

function jwtConfig(e: ParsedEnv, problems: string[]): JwtConfig {
  const sources = [e.JWT_SECRET && 'JWT_SECRET', e.JWT_PUBLIC_KEY && 'JWT_PUBLIC_KEY', e.JWT_JWKS_URL && 'JWT_JWKS_URL'].filter(Boolean);
  if (sources.length === 0) problems.push('JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL: one is required to verify bearer tokens');
  if (sources.length > 1) problems.push(`${sources.join(', ')}: set only one key source`);

  let derived: JwtAlgorithm[] = ['RS256'];
  let publicKey: string | undefined;
  if (e.JWT_SECRET) derived = ['HS256'];
  if (e.JWT_PUBLIC_KEY) {
    const key = readPublicKey(e.JWT_PUBLIC_KEY, problems);
    publicKey = key?.export({ type: 'spki', format: 'pem' }).toString();
    if (key?.asymmetricKeyType === 'ec') {
      derived = ['ES256'];
      if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') problems.push('JWT_PUBLIC_KEY: an EC key must use curve P-256 (ES256)');
    } else if (key && key.asymmetricKeyType !== 'rsa') {
      problems.push(`JWT_PUBLIC_KEY: unsupported key type ${key.asymmetricKeyType}; use RSA (RS256) or EC P-256 (ES256)`);
    }
  }
  const algorithms = e.JWT_ALGORITHMS.length > 0 ? e.JWT_ALGORITHMS : derived;
  // Mixing a shared secret with public-key algorithms is the classic algorithm-confusion hole.
  if (e.JWT_SECRET && algorithms.some((a) => a !== 'HS256')) problems.push('JWT_ALGORITHMS: only HS256 goes with JWT_SECRET');
  if (!e.JWT_SECRET && algorithms.includes('HS256') && sources.length > 0) problems.push('JWT_ALGORITHMS: HS256 needs JWT_SECRET, not a public key or JWKS');
  if (publicKey && algorithms.length > 0 && !algorithms.every((a) => a === derived[0])) {
    problems.push(`JWT_ALGORITHMS: the JWT_PUBLIC_KEY is a ${derived[0] === 'ES256' ? 'P-256 EC' : 'RSA'} key, so only ${derived[0]} applies`);
  }

  // Minting tokens for anyone who asks is a development convenience; it needs the HS256 secret.
  if (e.DASHBOARD_DEV_TOKENS && !e.JWT_SECRET) problems.push('DASHBOARD_DEV_TOKENS: dev tokens are HS256, so it needs JWT_SECRET');
  const audience = e.JWT_AUDIENCE;
  return {
    ...(e.JWT_SECRET ? { secret: e.JWT_SECRET } : {}),
    ...(publicKey ? { publicKey } : {}),
    ...(e.JWT_JWKS_URL ? { jwksUrl: e.JWT_JWKS_URL } : {}),
    algorithms,
    ...(e.JWT_ISSUER ? { issuer: e.JWT_ISSUER } : {}),
    ...(audience.length > 0 ? { audience } : {}),
    ...(e.DASHBOARD_DEV_TOKENS ? { devTokens: true as const } : {}),
  };
}

function redisTarget(e: ParsedEnv, problems: string[]): RedisTargetConfig {
  if (!e.REDIS_URL && e.REDIS_CLUSTER_URLS.length === 0) problems.push('REDIS_URL or REDIS_CLUSTER_URLS: one is required (e.g. REDIS_URL=redis://127.0.0.1:6379)');
  if (e.REDIS_URL && e.REDIS_CLUSTER_URLS.length > 0) problems.push('REDIS_URL, REDIS_CLUSTER_URLS: set only one');
  return { ...(e.REDIS_URL ? { url: e.REDIS_URL } : {}), clusterUrls: e.REDIS_CLUSTER_URLS, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export type ConfigSection = keyof Config;

/** The variables each section of the configuration reads (every variable belongs to one). */
const sectionVariables: Record<ConfigSection, readonly EnvName[]> = {
  http: ['PORT', 'HOST', 'BODY_LIMIT_BYTES', 'RATE_LIMIT_PER_MINUTE', 'TRUST_PROXY_HOPS', 'SHUTDOWN_TIMEOUT_MS'],
  redis: ['REDIS_URL', 'REDIS_CLUSTER_URLS', 'REDIS_COMMAND_TIMEOUT_MS'],
  jwt: ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL', 'JWT_ALGORITHMS', 'JWT_ISSUER', 'JWT_AUDIENCE', 'DASHBOARD_DEV_TOKENS'],
  logLevel: ['LOG_LEVEL'],
  mongodbUrl: ['MONGODB_URL'],
  hedera: ['HEDERA_NETWORK', 'MIRROR_NODE_URL', 'MIRROR_RPS', 'MIRROR_ATTEMPTS', 'MIRROR_RETRY_BASE_MS', 'MIRROR_TIMEOUT_MS'],
  dataDir: ['DATA_DIR'],
  roles: ['ROLES'],
  jobs: ['SNAPSHOT_ATTEMPTS', 'SNAPSHOT_BACKOFF_MS', 'JOB_LOCK_LIFETIME_MS', 'JOB_POLL_MS', 'SCHEDULE_MIN_INTERVAL_MS', 'TALLY_NAMESPACE'],
  airdrops: ['AIRDROP_CHUNK_LEGS', 'AIRDROP_CHUNK_PAUSE_MS'],
  hederaOperator: ['HEDERA_OPERATOR_ID', 'HEDERA_OPERATOR_KEY'],
  history: ['HISTORY_REPLAY_ENTRIES_MAX', 'LEDGER_CHECKPOINT_EVERY_ENTRIES', 'LEDGER_CHECKPOINT_CHECK_MS', 'LEDGER_LOG_RETENTION_ENTRIES',
    'LEDGER_LOG_SEGMENT_ENTRIES', 'LEDGER_LOG_ARCHIVE_CHECK_MS', 'TALLY_FAULT_LOG_ARCHIVE_PAUSE'],
};

/** Every variable loadConfig reads (the README's configuration table must list each). */
export const configVariables: readonly string[] = Object.values(sectionVariables).flat();

const sections: { [K in ConfigSection]-?: (e: ParsedEnv, problems: string[]) => Config[K] } = {
  http: (e) => ({
    port: e.PORT, host: e.HOST, bodyLimitBytes: e.BODY_LIMIT_BYTES, rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    trustProxyHops: e.TRUST_PROXY_HOPS, shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  }),
  redis: redisTarget,
  jwt: jwtConfig,
  logLevel: (e) => e.LOG_LEVEL,
  mongodbUrl: (e) => e.MONGODB_URL,
  hedera: (e) => ({
    network: e.HEDERA_NETWORK,
    mirrorNodeUrl: (e.MIRROR_NODE_URL ?? mirrorNodeUrls[e.HEDERA_NETWORK]).replace(/\/+$/, ''),
    mirrorRps: e.MIRROR_RPS, mirrorAttempts: e.MIRROR_ATTEMPTS, mirrorRetryBaseMs: e.MIRROR_RETRY_BASE_MS, mirrorTimeoutMs: e.MIRROR_TIMEOUT_MS,
  }),
  dataDir: (e) => e.DATA_DIR,
  roles: (e) => e.ROLES,
  jobs: (e) => ({
    attempts: e.SNAPSHOT_ATTEMPTS, backoffMs: e.SNAPSHOT_BACKOFF_MS, lockLifetimeMs: e.JOB_LOCK_LIFETIME_MS,
    pollMs: e.JOB_POLL_MS, scheduleMinIntervalMs: e.SCHEDULE_MIN_INTERVAL_MS, namespace: e.TALLY_NAMESPACE,
  }),
  hederaOperator: (e, problems) => {
    if ((e.HEDERA_OPERATOR_ID === undefined) !== (e.HEDERA_OPERATOR_KEY === undefined)) {
      problems.push('HEDERA_OPERATOR_ID, HEDERA_OPERATOR_KEY: set both (the account and its private key) or neither');
    }
    return e.HEDERA_OPERATOR_ID !== undefined && e.HEDERA_OPERATOR_KEY !== undefined ? { accountId: e.HEDERA_OPERATOR_ID, privateKey: e.HEDERA_OPERATOR_KEY } : null;
  },
  history: (e) => ({
    replayEntriesMax: e.HISTORY_REPLAY_ENTRIES_MAX, checkpointEveryEntries: e.LEDGER_CHECKPOINT_EVERY_ENTRIES, checkpointCheckMs: e.LEDGER_CHECKPOINT_CHECK_MS,
    logRetentionEntries: e.LEDGER_LOG_RETENTION_ENTRIES, logSegmentEntries: e.LEDGER_LOG_SEGMENT_ENTRIES, logArchiveCheckMs: e.LEDGER_LOG_ARCHIVE_CHECK_MS,
    ...(e.TALLY_FAULT_LOG_ARCHIVE_PAUSE ? { faultLogArchivePause: e.TALLY_FAULT_LOG_ARCHIVE_PAUSE } : {}),
  }),
  airdrops: (e) => ({ chunkLegs: e.AIRDROP_CHUNK_LEGS, chunkPauseMs: e.AIRDROP_CHUNK_PAUSE_MS }),
};

const allSections = Object.keys(sectionVariables) as ConfigSection[];

/**
 * Validates the environment; throws a ConfigError naming every bad or missing value. With
 * `only`, just those sections are read and checked (the CLI and `npm run migrate` take the
 * part they need, so an API-only variable cannot break them).
 */
export function loadConfig(env: Env): Readonly<Config>;
export function loadConfig<K extends ConfigSection>(env: Env, only: readonly K[]): Readonly<Pick<Config, K>>;
export function loadConfig(env: Env, only: readonly ConfigSection[] = allSections): Readonly<Partial<Config>> {
  const problems: string[] = [];
  const names = new Set(only.flatMap((section) => sectionVariables[section]));
  const { values, failed } = parseEach(normalize(env), names, problems);
  const config: Record<string, unknown> = {};
  for (const section of only) {
    // A section whose variables did not parse is not cross-checked (the problem is reported once).
    if (sectionVariables[section].some((name) => failed.has(name))) continue;
    const value = sections[section](values as ParsedEnv, problems);
    if (value !== undefined) config[section] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config as Partial<Config>);
}

/** The file `make run` (scripts/run.sh) writes under DATA_DIR while it runs: the REDIS_URL and
 * JWT_SECRET it serves with, so that the CLI reaches the same Redis with the same secret. */
export const runEnvFileName = 'tally.env';

/**
 * The process environment over an optional .env file, over DATA_DIR/tally.env when `make run`
 * wrote one (real variables win, then the user's .env; files are only read, never written
 * into process.env). A relative DATA_DIR is resolved beside the .env file.
 */
export function readEnv(processEnv: Env = process.env, dotenvPath = '.env', withRunFile = true): Env {
  const fromFile = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath)) : {};
  const env = { ...fromFile, ...processEnv };
  const runFile = resolve(dirname(dotenvPath), env.DATA_DIR || 'data', runEnvFileName);
  const fromRun = withRunFile && existsSync(runFile) ? parseDotenv(readFileSync(runFile)) : {};
  return { ...fromRun, ...env };
}
