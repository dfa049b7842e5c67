// Hedera entity ids (accounts, tokens): HIP-15 syntax, checksums and ordering (docs/ledger-functions.md); the
// networks and the consensus timestamp form.
// https://hips.hedera.com/hip/hip-15 — implemented here because @hashgraph/sdk is 220 MB and
// silently accepts malformed ids (PITFALLS.md).

import { hederaNetworks, type HederaNetwork } from '../config.ts';
import { EntityIdChecksumError, InvalidEntityIdError } from './errors.ts';

export { hederaNetworks, type HederaNetwork };

/** HIP-15 ledger ids: one byte per public network (HIP-198 keeps these values). */
const ledgerIdByNetwork: Readonly<Record<HederaNetwork, Uint8Array>> = {
  mainnet: Uint8Array.of(0x00),
  testnet: Uint8Array.of(0x01),
  previewnet: Uint8Array.of(0x02),
};

/** The HIP-15 input regex, as in docs/ledger-functions.md: no leading zeros, lowercase 5-letter checksum. */
const entityIdPattern = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([a-z]{5}))?$/;

/** A consensus timestamp as the mirror node writes it: `seconds.nanoseconds` (nanoseconds optional). */
export const timestampPattern = /^\d{1,10}(\.\d{1,9})?$/;

/** Each part is an int64 in Hedera's protobufs; anything larger cannot name an entity. */
export const entityPartMax = 2n ** 63n - 1n;
/** Three 19-digit parts, two dots and a checksum fit well within this; longer input is junk. */
export const entityIdCharsMax = 80;

export interface EntityId {
  readonly shard: bigint;
  readonly realm: bigint;
  readonly num: bigint;
  /** Canonical form without checksum, e.g. `0.0.1234`. */
  readonly id: string;
}

export interface ParseEntityIdOptions {
  /**
   * Network whose checksum a `-abcde` suffix must match. `null`/absent means unknown (a custom
   * MIRROR_NODE_URL): an id carrying a checksum is then rejected, since it can't be checked.
   */
  network?: HederaNetwork | null;
}

export function isHederaNetwork(value: unknown): value is HederaNetwork {
  return typeof value === 'string' && (hederaNetworks as readonly string[]).includes(value);
}

/** Parses `shard.realm.num[-checksum]`; throws InvalidEntityIdError or EntityIdChecksumError. */
export function parseEntityId(text: string, options: ParseEntityIdOptions = {}): EntityId {
  const match = typeof text === 'string' && text.length <= entityIdCharsMax
    ? entityIdPattern.exec(text)
    : null;
  if (match === null) {
    throw new InvalidEntityIdError(
      `invalid Hedera id ${describe(text)}: expected shard.realm.num such as 0.0.1234, optionally with a HIP-15 checksum (0.0.1234-abcde)`,
    );
  }
  const [, shardText, realmText, numText, checksum] = match as unknown as [string, string, string, string, string?];
  const entity = toEntityId(BigInt(shardText), BigInt(realmText), BigInt(numText), text);
  if (checksum !== undefined) verifyChecksum(entity.id, checksum, options.network ?? null);
  return entity;
}

/** True when `text` is a canonical id without checksum (the form the mirror node returns). */
export function isCanonicalEntityId(text: string): boolean {
  if (typeof text !== 'string' || text.length > entityIdCharsMax) return false;
  const match = entityIdPattern.exec(text);
  if (match === null || match[4] !== undefined) return false;
  return [match[1], match[2], match[3]].every((part) => BigInt(part as string) <= entityPartMax);
}

/** HIP-15 checksum of a canonical id (`0.0.123`) on a network: 5 lowercase letters. */
export function entityChecksum(id: string, network: HederaNetwork): string {
  return hip15Checksum(id, ledgerIdByNetwork[network]);
}

/** `0.0.123` -> `0.0.123-vfmkw` on mainnet: the display form HIP-15 recommends. */
export function withChecksum(entity: EntityId | string, network: HederaNetwork): string {
  const id = typeof entity === 'string' ? parseEntityId(entity).id : entity.id;
  return `${id}-${entityChecksum(id, network)}`;
}

/** Orders ids by (shard, realm, num) ascending — the snapshot line order of docs/snapshot-format.md. */
export function compareEntityIds(a: EntityId, b: EntityId): number {
  return compareBigints(a.shard, b.shard) || compareBigints(a.realm, b.realm) || compareBigints(a.num, b.num);
}

/**
 * The HIP-15 algorithm, with the final permutation (c * 1_000_003 mod 26^5) of the published
 * standard; the 2020 draft without it gives different letters (e.g. `laujm` for 0.0.123).
 * All intermediate values stay below 2^53.
 */
export function hip15Checksum(address: string, ledgerId: Uint8Array): string {
  const p3 = 26 ** 3;
  const p5 = 26 ** 5;
  const weight = 31;
  const digits = [...address].map((ch) => (ch === '.' ? 10 : Number(ch)));
  let evenSum = 0;
  let oddSum = 0;
  let weighted = 0;
  digits.forEach((digit, index) => {
    weighted = (weight * weighted + digit) % p3;
    if (index % 2 === 0) evenSum = (evenSum + digit) % 11;
    else oddSum = (oddSum + digit) % 11;
  });
  let ledgerHash = 0;
  for (const byte of [...ledgerId, 0, 0, 0, 0, 0, 0]) ledgerHash = (weight * ledgerHash + byte) % p5;
  const c = ((((digits.length % 5) * 11 + evenSum) * 11 + oddSum) * p3 + weighted + ledgerHash) % p5;
  let permuted = (c * 1_000_003) % p5;
  let letters = '';
  for (let i = 0; i < 5; i++) {
    letters = String.fromCharCode(97 + (permuted % 26)) + letters;
    permuted = Math.floor(permuted / 26);
  }
  return letters;
}

function toEntityId(shard: bigint, realm: bigint, num: bigint, text: string): EntityId {
  if (shard > entityPartMax || realm > entityPartMax || num > entityPartMax) {
    throw new InvalidEntityIdError(`invalid Hedera id ${describe(text)}: each part must be at most 2^63 - 1`);
  }
  return Object.freeze({ shard, realm, num, id: `${shard}.${realm}.${num}` });
}

function verifyChecksum(id: string, checksum: string, network: HederaNetwork | null): void {
  if (network === null) {
    throw new EntityIdChecksumError(
      `cannot verify the checksum of ${id}-${checksum}: no Hedera network is configured (set HEDERA_NETWORK, or pass the id without its checksum)`,
    );
  }
  const expected = entityChecksum(id, network);
  if (checksum !== expected) {
    throw new EntityIdChecksumError(`checksum ${checksum} of ${id} is not valid on ${network} (typo, or an id from another network?)`);
  }
}

function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, entityIdCharsMax)) : `(${typeof value})`;
}
