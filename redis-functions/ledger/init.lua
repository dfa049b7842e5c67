-- ledger_init: create a token; the treasury receives the whole supply.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     name, decimals, totalSupply, treasury, [opTtlSeconds]
--          name: 1..128 bytes, no control characters; decimals: 0..36; totalSupply: > 0;
--          opTtlSeconds: how long opId records last (1..31536000, default 86400)
-- Reply    1 created; 0 the token exists with identical parameters, opTtlSeconds included
--          (omitted means 86400): an idempotent repeat
-- Errors   INVALID_TOKEN (key, name, decimals, supply), INVALID_ARGUMENT (count, opTtlSeconds),
--          INVALID_ACCOUNT (treasury), TOKEN_EXISTS (exists with other parameters)
-- Writes   token hash, treasury balance and rank, one `init` log entry.

local function ledger_init(keys, argv)
  local k = declared_keys(keys, false)
  local sym = k.sym
  check_arg_count(argv, 4, 5)
  local name, decimals, supply, treasury = argv[1], argv[2], argv[3], argv[4]
  if #name == 0 or #name > NAME_BYTES_MAX or string.find(name, '%c') then
    fail('INVALID_TOKEN', 'name must be 1..' .. NAME_BYTES_MAX .. ' bytes without control characters')
  end
  if not string.match(decimals, '^[0-9][0-9]?$') or (#decimals == 2 and string.sub(decimals, 1, 1) == '0')
    or tonumber(decimals) > DECIMALS_MAX then
    fail('INVALID_TOKEN', 'decimals must be an integer in 0..' .. DECIMALS_MAX)
  end
  local ok = pcall(check_amount, supply, 'totalSupply', true)
  if not ok then
    fail('INVALID_TOKEN', 'totalSupply must be a base-unit integer string in 1..2^256-1')
  end
  check_account(treasury, 'treasury')
  local op_ttl = OP_TTL_SECONDS_DEFAULT
  if argv[5] then op_ttl = check_limit(argv[5], 'opTtlSeconds', OP_TTL_SECONDS_MAX) end

  local existing = redis.call('HMGET', k.token, 'name', 'decimals', 'totalSupply', 'treasury', 'opTtlSeconds')
  if existing[1] then
    if existing[1] == name and existing[2] == decimals and existing[3] == supply and existing[4] == treasury
      and (tonumber(existing[5]) or OP_TTL_SECONDS_DEFAULT) == op_ttl then
      return 0
    end
    fail('TOKEN_EXISTS', 'token ' .. sym .. ' already exists with different parameters')
  end

  check_types(k)
  k.legacy_rank = false
  local ts = now_ms()
  redis.call('HSET', k.token, 'name', name, 'symbol', sym, 'decimals', decimals,
    'totalSupply', supply, 'circulatingSupply', supply, 'treasury', treasury,
    'createdAt', ts, 'opTtlSeconds', tostring(op_ttl), 'rankLayout', '2')
  write_balances(k, plan_balances(k, { { treasury, '0', supply } }))
  redis.call('XADD', k.log, '*', 'type', 'init', 'account', treasury, 'amount', supply,
    'name', name, 'decimals', decimals, 'ts', ts)
  return 1
end

register('ledger_init', ledger_init)
