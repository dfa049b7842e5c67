-- ledger_log_trim: removes the log's entries up to an id that the archives hold, and records
-- the log's new start in the same call (atomic: no reader sees one without the other).
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     upToId: the last entry to remove; at most the id ledger_log_archived recorded
-- Reply    [removed, trimmedTo, firstId]: entries removed by this call, the last id removed so
--          far (field logTrimmedTo of token:{SYM}) and the log's first entry now. upToId at or
--          before the current trim point removes nothing (a repeat is harmless). The log keeps
--          its last entry: upToId must have an entry after it.
--          XTRIM MINID with the id of the entry after upToId: exact, never approximate.
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT (upToId malformed, or the log's last entry),
--          TOKEN_NOT_FOUND, LOG_NOT_ARCHIVED (upToId is after the archived mark)

local function ledger_log_trim(keys, argv)
  local k = declared_keys(keys, false)
  check_arg_count(argv, 1, 1)
  local up_to = check_stream_id(argv[1], 'upToId must be')
  require_token(k, true)
  if not k.log_archived or compare_ids(up_to, k.log_archived) > 0 then
    fail('LOG_NOT_ARCHIVED', 'the log of ' .. k.sym .. ' is archived up to ' .. (k.log_archived or 'no entry')
      .. ', not ' .. up_to .. ': store and record the archive (ledger_log_archived) before trimming')
  end
  local first = redis.call('XRANGE', k.log, '-', '+', 'COUNT', 1)
  if k.log_trimmed and compare_ids(up_to, k.log_trimmed) <= 0 then
    return { 0, k.log_trimmed, first[1] and first[1][1] or false }
  end
  local after = redis.call('XRANGE', k.log, '(' .. up_to, '+', 'COUNT', 1)
  if #after == 0 then
    fail('INVALID_ARGUMENT', 'upToId ' .. up_to .. ' leaves the log of ' .. k.sym .. ' empty: the log keeps its last entry')
  end
  local start = after[1][1]
  local removed = redis.call('XTRIM', k.log, 'MINID', '=', start)
  redis.call('HSET', k.token, 'logTrimmedTo', up_to)
  return { removed, up_to, start }
end

register('ledger_log_trim', ledger_log_trim)
