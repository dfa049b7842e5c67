#!lua name=baseline
-- The original single-token design's ledger, loaded as a function library so that the benchmarks
-- compare like with like (FCALL against FCALL). It is deliberately what that design did: balances
-- as Lua numbers (tonumber, so exact only to 2^53) in `balance:{userId}` string keys, changed
-- with DECRBY/INCRBY (which stop at 2^63), and a `balances:zset` scored by the balance double.
-- No validation beyond the funds check, no log, no events, no idempotency. Benchmarks only.

-- baseline_transfer: move an amount between two users.
-- KEYS   balance:{from}, balance:{to}, balances:zset
-- ARGV   from, to, amount
-- Reply  [fromBalance, toBalance] as integers; error INSUFFICIENT_FUNDS when from is short.
local function baseline_transfer(keys, argv)
  local amount = tonumber(argv[3])
  local balance = tonumber(redis.call('GET', keys[1]) or '0')
  if balance < amount then
    return redis.error_reply('INSUFFICIENT_FUNDS balance lower than the amount')
  end
  local from_balance = redis.call('DECRBY', keys[1], amount)
  local to_balance = redis.call('INCRBY', keys[2], amount)
  redis.call('ZADD', keys[3], from_balance, argv[1])
  redis.call('ZADD', keys[3], to_balance, argv[2])
  return { from_balance, to_balance }
end

-- baseline_seed: set many users' balances at once (populating benchmarks): SET, which stores a
-- number that fits 64 bits as an integer, as INCRBY does, and any longer one (an 18-decimal
-- balance, which the design could not reach: INCRBY stops at 2^63) as its digits; ZADD scores
-- the double, as the design does.
-- KEYS   balances:zset, then balance:{user} for each user (not set before)
-- ARGV   user, amount for each user, in the order of KEYS[2..]
-- Reply  the number of users set
local function baseline_seed(keys, argv)
  for i = 2, #keys do
    redis.call('SET', keys[i], argv[2 * i - 2])
    redis.call('ZADD', keys[1], tonumber(argv[2 * i - 2]), argv[2 * i - 3])
  end
  return #keys - 1
end

-- baseline_noop: the ceiling, an FCALL that does nothing (same key and argument shape as a
-- transfer, so the request costs the same to send and parse).
-- KEYS   any; ARGV any; Reply 1
local function baseline_noop()
  return 1
end

redis.register_function('baseline_transfer', baseline_transfer)
redis.register_function('baseline_seed', baseline_seed)
redis.register_function('baseline_noop', baseline_noop)
