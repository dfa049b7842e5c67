// The limits a Hedera airdrop plan is built within (docs/hedera-airdrops.md, Limits), each with
// where it comes from. HIP-904's TokenAirdropTransaction keeps CryptoTransfer's bounds: at most
// 10 token balance adjustments in the body (ledger.tokenTransfers.maxLen: the sender's debit
// counts as one, so 9 recipients), 1..10 token transfer lists (tokens.maxAllowedAirdropTransfersPerTx),
// at most 20 adjustments once custom fees are assessed, and 6,144 bytes per signed transaction
// (hedera.transactionMaxBytes). Amounts are int64 in the protobufs.

/** Balance adjustments in one TokenAirdropTransaction body: the debit plus the credits. */
export const accountAmountsPerTransactionMax = 10;
/** Recipients per transaction: every adjustment but the sender's debit. */
export const legsPerTransactionMax = accountAmountsPerTransactionMax - 1;
/** A signed transaction as one node receives it (body, signatures and their framing). */
export const transactionBytesMax = 6144;
/** Room left for signatures: a body may use this much of transactionBytesMax (about 10 signature pairs stay free). */
export const bodyBytesMax = transactionBytesMax - 1024;
/** int64, the type of every amount in Hedera's protobufs. */
export const int64Max = 2n ** 63n - 1n;
/** The longest valid duration the network accepts (the SDK's default is 120). */
export const validDurationSecondsMax = 180;
/** A plan of more transactions than this is refused (900,000 recipients); the file would be about 1 GB. */
export const planTransactionsMax = 100_000;
/** Node account ids per transaction: each costs one signed copy of the body in the bytes. */
export const nodesPerTransactionMax = 10;
export const nodesPerTransactionDefault = 3;
/** Default cap on what one transaction may charge its payer, in tinybars (20 hbar); the network charges the real fee. */
export const maxFeeTinybarDefault = 20n * 100_000_000n;
/** Default distance between the valid starts of consecutive transactions of a plan. */
export const validStartSpacingMsDefault = 1_000;
/** A plan file larger than this is not read (about 2,000 bytes per transaction). */
export const planFileBytesMax = 512 * 1024 * 1024;
