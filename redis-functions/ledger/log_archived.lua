-- ledger_log_archived: records that the log is archived up to an entry (the archives themselves
-- live outside Redis: src/snapshots/log-archives.ts stores each segment on IPFS, reads it back
-- and records it in the metadata store before it calls this). ledger_log_trim never trims past
-- the id recorded here.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     lastId: the last entry the archives hold (an entry of the log, or one already
--          recorded: the mark only moves forward)
-- Reply    the id recorded (field logArchivedTo of token:{SYM}): lastId, or the mark already
--          recorded when that is later (a repeat changes nothing)
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT (lastId malformed or not an entry of the log),
--          TOKEN_NOT_FOUND

local function ledger_log_archived(keys, argv)
  local k = declared_keys(keys, false)
  check_arg_count(argv, 1, 1)
  local last = check_stream_id(argv[1], 'lastId must be')
  require_token(k, true)
  if k.log_archived and compare_ids(last, k.log_archived) <= 0 then return k.log_archived end
  local entry = redis.call('XRANGE', k.log, last, last)
  if #entry == 0 then
    fail('INVALID_ARGUMENT', 'lastId ' .. last .. ' is not an entry of the log of ' .. k.sym)
  end
  redis.call('HSET', k.token, 'logArchivedTo', last)
  return last
end

register('ledger_log_archived', ledger_log_archived)
