-- ledger_transfer: move an amount from one account to another.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log, and :op:<opId> with an opId; or token:{SYM} alone on standalone Redis
-- ARGV     from, to, amount, [opId]   (opId '-' means none)
-- Reply    [eventId, fromBalance, toBalance]; eventId is the log entry id. A repeat of an opId
--          with the same parameters returns the recorded reply and changes nothing.
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT (count, opId), INVALID_ACCOUNT, INVALID_AMOUNT
--          (not in 1..2^256-1), SAME_ACCOUNT, TOKEN_NOT_FOUND, OP_CONFLICT, INSUFFICIENT_FUNDS
-- Writes   balances, rank, one `transfer` log entry, a message on token:{SYM}:transfers, the
--          opId record. Cost O(log N) in the number of holders.

local function ledger_transfer(keys, argv)
  local k = declared_keys(keys, true)
  local sym = k.sym
  check_arg_count(argv, 3, 4)
  local op_id = check_op_id(argv[4])
  bind_op_key(k, op_id)
  local from = check_account(argv[1], 'from')
  local to = check_account(argv[2], 'to')
  local amount = check_amount(argv[3], 'amount', true)
  if from == to then
    fail('SAME_ACCOUNT', 'from and to are the same account')
  end

  require_token(k)
  local params = op_id and op_params({ 'transfer', from, to, amount })
  local replay = op_replay(k, op_id, params)
  if replay then return replay end

  local balances = redis.call('HMGET', k.balances, from, to)
  local from_old, to_old = balances[1] or '0', balances[2] or '0'
  if compare(from_old, amount) < 0 then
    fail('INSUFFICIENT_FUNDS', 'balance of ' .. from .. ' is lower than ' .. amount)
  end
  -- Balances sum to circulatingSupply <= 2^256 - 1, so this sum cannot overflow.
  local from_new, to_new = sub(from_old, amount), add(to_old, amount)

  local plan = plan_balances(k, { { from, from_old, from_new }, { to, to_old, to_new } })
  local ts = now_ms()
  local id = log_append(k, { 'type', 'transfer', 'from', from, 'to', to, 'amount', amount }, op_id, ts)
  write_balances(k, plan)
  redis.call('PUBLISH', k.token .. ':transfers', '{"token":"' .. sym .. '","id":"' .. id .. '","from":"' .. from ..
    '","to":"' .. to .. '","amount":"' .. amount .. '","opId":' .. (op_id and ('"' .. op_id .. '"') or 'null') ..
    ',"ts":' .. ts .. '}')
  local reply = { id, from_new, to_new }
  op_record(k, op_id, params, reply)
  return reply
end

register('ledger_transfer', ledger_transfer)
