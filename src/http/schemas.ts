// Request schemas (zod 4): identifiers and amounts follow docs/ledger-functions.md exactly, as strings; objects
// are strict (unknown keys are rejected). The OpenAPI document reuses the body schemas.
import { z } from 'zod';
import { accountPattern, amountPattern, isAmount, opIdPattern, symbolPattern } from '../identifiers.ts';
import { RequestValidationError } from './errors.ts';

const tokenNameBytesMax = 128;
const decimalsMax = 36;
export const pageLimitMax = 1000;
export const batchLegsMax = 1000;

export const symbolSchema = z.string().regex(symbolPattern, { error: 'must match ^[A-Z0-9][A-Z0-9_-]{0,31}$' });
export const accountSchema = z.string().regex(accountPattern, { error: 'must match ^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$' });
export const opIdSchema = z.string().regex(opIdPattern, { error: 'must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' });

/** A base-unit amount > 0: a decimal string of at most 78 digits, at most 2^256 - 1. */
export const positiveAmountSchema = z.string()
  .regex(amountPattern, { error: 'must be a base-unit integer as a decimal string, e.g. "1500000"', abort: true })
  .refine((v) => v !== '0' && isAmount(v), { error: 'must be in 1..2^256-1' });

export const tokenNameSchema = z.string()
  .min(1, { error: 'must not be empty', abort: true })
  .refine((v) => Buffer.byteLength(v, 'utf8') <= tokenNameBytesMax, { error: `must be at most ${tokenNameBytesMax} bytes` })
  .refine((v) => !/[\x00-\x1f\x7f]/.test(v), { error: 'must not contain control characters' });

export const createTokenBody = z.strictObject({
  symbol: symbolSchema,
  name: tokenNameSchema,
  decimals: z.number().int().min(0).max(decimalsMax),
  totalSupply: positiveAmountSchema,
  treasury: accountSchema,
});

export const transferBody = z.strictObject({
  to: accountSchema,
  amount: positiveAmountSchema,
  from: accountSchema.optional(),
});

export const burnBody = z.strictObject({
  amount: positiveAmountSchema,
  account: accountSchema.optional(),
});

export const batchBody = z.strictObject({
  legs: z.array(z.strictObject({ from: accountSchema, to: accountSchema, amount: positiveAmountSchema }))
    .min(1, { error: 'must hold at least one leg' })
    .max(batchLegsMax, { error: `must hold at most ${batchLegsMax} legs` }),
});

/** `?limit=` as a decimal string in 1..max. */
export function limitSchema(fallback: number, max = pageLimitMax) {
  return z.string()
    .regex(/^[1-9][0-9]{0,5}$/, { error: `must be an integer in 1..${max}`, abort: true })
    .transform(Number)
    .refine((n) => n <= max, { error: `must be an integer in 1..${max}` })
    .optional()
    .transform((n) => n ?? fallback);
}

export const symbolParams = z.strictObject({ sym: symbolSchema });
export const balanceParams = z.strictObject({ sym: symbolSchema, account: accountSchema });

export const listTokensQuery = z.strictObject({
  cursor: z.string().regex(symbolPattern, { error: 'must be the next of a previous page (a token symbol)' }).optional(),
  prefix: z.string().regex(symbolPattern, { error: 'must be the start of a token symbol (^[A-Z0-9][A-Z0-9_-]{0,31}$)' }).optional(),
  limit: limitSchema(100),
});

/**
 * A holders cursor, `ranked.balance.account`: how many holders the pages so far covered, then
 * the balance and account of the last one (the account may hold dots; the balance cannot).
 */
const holdersCursorPattern = new RegExp(`^([0-9]{1,4})\\.(0|[1-9][0-9]{0,77})\\.(${accountPattern.source.replace(/^\^|\$$/g, '')})$`);
export const holdersCursorSchema = z.string()
  .regex(holdersCursorPattern, { error: 'must be the next of a previous page', abort: true })
  .transform((text) => {
    const [, ranked, balance, account] = holdersCursorPattern.exec(text)!;
    return { ranked: Number(ranked), balance: balance!, account: account! };
  });
export const encodeHoldersCursor = (c: { ranked: number; balance: string; account: string }): string => `${c.ranked}.${c.balance}.${c.account}`;

/** `?at=`: an event id or an ISO 8601 time (src/ledger/history.ts parses it); 64 characters at most. */
export const atQuerySchema = z.string().min(1).max(64);
export const holdersQuery = z.strictObject({ limit: limitSchema(100), cursor: holdersCursorSchema.optional(), at: atQuerySchema.optional() });
export const balanceQuery = z.strictObject({ at: atQuerySchema.optional() });

export const eventsQuery = z.strictObject({
  after: z.string().regex(/^(-|[0-9]{1,20}-[0-9]{1,20})$/, { error: "must be '-' or an event id such as 1700000000000-0" }).optional(),
  limit: limitSchema(100),
  account: accountSchema.optional(),
});

/** Parses one part of a request or throws a RequestValidationError naming the field. */
export function parse<T extends z.ZodType>(part: 'body' | 'query' | 'params' | 'headers', schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new RequestValidationError(part, result.error);
  return result.data;
}

// Built once: zod compiles a parser for each new object schema on its first parse.
const idempotencyHeaders = z.strictObject({ 'idempotency-key': opIdSchema });

/** The Idempotency-Key header, validated with the opId rule; undefined when absent. */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return parse('headers', idempotencyHeaders, { 'idempotency-key': header })['idempotency-key'];
}
