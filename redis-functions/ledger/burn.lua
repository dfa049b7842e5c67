-- ledger_burn: destroy an amount held by an account, lowering the circulating supply.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log, and :op:<opId> with an opId; or token:{SYM} alone on standalone Redis
-- ARGV     account, amount, [opId]   (opId '-' means none)
-- Reply    [eventId, balance, circulatingSupply]; a repeat of an opId with the same parameters
--          returns the recorded reply and changes nothing.
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT (count, opId), INVALID_ACCOUNT, INVALID_AMOUNT
--          (not in 1..2^256-1), TOKEN_NOT_FOUND, OP_CONFLICT, INSUFFICIENT_FUNDS
-- Writes   balance, rank, circulatingSupply, one `burn` log entry, a message on
--          token:{SYM}:burns, the opId record. Cost O(log N).

local function ledger_burn(keys, argv)
  local k = declared_keys(keys, true)
  local sym = k.sym
  check_arg_count(argv, 2, 3)
  local op_id = check_op_id(argv[3])
  bind_op_key(k, op_id)
  local account = check_account(argv[1])
  local amount = check_amount(argv[2], 'amount', true)

  require_token(k)
  local params = op_id and op_params({ 'burn', account, amount })
  local replay = op_replay(k, op_id, params)
  if replay then return replay end

  local old = balance_of(k, account)
  if compare(old, amount) < 0 then
    fail('INSUFFICIENT_FUNDS', 'balance of ' .. account .. ' is lower than ' .. amount)
  end
  local new = sub(old, amount)
  local circulating = sub(redis.call('HGET', k.token, 'circulatingSupply'), amount)

  local plan = plan_balances(k, { { account, old, new } })
  local ts = now_ms()
  local id = log_append(k, { 'type', 'burn', 'account', account, 'amount', amount }, op_id, ts)
  write_balances(k, plan)
  redis.call('HSET', k.token, 'circulatingSupply', circulating)
  redis.call('PUBLISH', k.token .. ':burns', json_object({ 'token', sym, 'id', id, 'account', account,
    'amount', amount, 'circulatingSupply', circulating, 'opId', op_id, 'ts', { ts } }))
  local reply = { id, new, circulating }
  op_record(k, op_id, params, reply)
  return reply
end

register('ledger_burn', ledger_burn)
