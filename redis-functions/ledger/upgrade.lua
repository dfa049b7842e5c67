-- ledger_upgrade: one step of moving a token's ranking to layout 2 (run by migration 0003).
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     none
-- Reply    [moved, done]: moved members of small balances (below 2^53) that library 1.0 left
--          in `rank` (each is checked against the balances hash: the holder is ranked with its
--          balance of now, a stale member is dropped); done is 1 when none is left, and then the
--          token is marked rankLayout = 2. At most 1000 members per call: call until done.
--          Safe under traffic: each call is atomic, and library 2.0 writes both layouts
--          correctly in between. Safe to repeat.
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, TOKEN_NOT_FOUND

local UPGRADE_MEMBERS_MAX = 1000
-- The first `rank` member below 2^53: 16 digits (prefix 99 - 16 = 83) and 2^53 - 1 complemented.
local SMALL_RANK_START = '[830992800745259008'

local function ledger_upgrade(keys, argv)
  local k = declared_keys(keys, false)
  check_arg_count(argv, 0, 0)
  require_token(k)
  if not k.legacy_rank then return { 0, 1 } end
  check_types(k)
  local members = redis.call('ZRANGE', k.rank, SMALL_RANK_START, '+', 'BYLEX', 'LIMIT', 0, UPGRADE_MEMBERS_MAX)
  if #members > 0 then
    local accounts = {}
    for i = 1, #members do accounts[i] = rank_account(members[i]) end
    local balances = redis.call('HMGET', k.balances, unpack(accounts))
    redis.call('ZREM', k.rank, unpack(members))
    local zadd_small, zadd_lex, zrem_small = {}, {}, {}
    for i = 1, #accounts do
      local balance = balances[i]
      if not balance then
        zrem_small[#zrem_small + 1] = accounts[i]
      elseif is_small(balance) then
        zadd_small[#zadd_small + 1] = '-' .. balance
        zadd_small[#zadd_small + 1] = accounts[i]
      else
        zadd_lex[#zadd_lex + 1] = '0'
        zadd_lex[#zadd_lex + 1] = rank_member(accounts[i], balance)
      end
    end
    if #zrem_small > 0 then redis.call('ZREM', k.rank_small, unpack(zrem_small)) end
    if #zadd_small > 0 then redis.call('ZADD', k.rank_small, unpack(zadd_small)) end
    if #zadd_lex > 0 then redis.call('ZADD', k.rank, unpack(zadd_lex)) end
  end
  if #members < UPGRADE_MEMBERS_MAX then
    redis.call('HSET', k.token, 'rankLayout', '2')
    return { #members, 1 }
  end
  return { #members, 0 }
end

register('ledger_upgrade', ledger_upgrade)
