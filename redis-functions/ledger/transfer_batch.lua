-- ledger_transfer_batch: several transfers applied atomically, in order: all or none.
--
-- KEYS[1]  token:{SYM}
-- ARGV     opId or '-', n (1..1000), then n triples: from, to, amount
-- Reply    [eventId, n]; a repeat of an opId with the same parameters returns the recorded
--          reply and changes nothing.
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT (count, n, shape, opId), INVALID_ACCOUNT,
--          INVALID_AMOUNT, SAME_ACCOUNT (each naming its leg), TOKEN_NOT_FOUND, OP_CONFLICT,
--          INSUFFICIENT_FUNDS (the first leg whose source, after the legs before it, is short)
-- Writes   final balances and rank of each touched account, one `batch` log entry whose
--          `legs` field is a JSON array of [from, to, amount], one message per leg on
--          token:{SYM}:transfers (with its `leg` index, 1-based), the opId record.
--          Cost O(n log N).

local function ledger_transfer_batch(keys, argv)
  local sym = token_symbol(keys)
  if #argv < 2 then
    fail('INVALID_ARGUMENT', 'expected opId, n and n triples from, to, amount')
  end
  local op_id = check_op_id(argv[1])
  local n = check_limit(argv[2], 'n', BATCH_LEGS_MAX)
  if #argv ~= 2 + 3 * n then
    fail('INVALID_ARGUMENT', 'expected ' .. (2 + 3 * n) .. ' arguments for ' .. n .. ' legs, got ' .. #argv)
  end
  local legs = {}
  for i = 1, n do
    local base = 2 + 3 * (i - 1)
    local leg = 'leg ' .. i .. ' '
    local from = check_account(argv[base + 1], leg .. 'from')
    local to = check_account(argv[base + 2], leg .. 'to')
    local amount = check_amount(argv[base + 3], leg .. 'amount', true)
    if from == to then
      fail('SAME_ACCOUNT', leg .. 'moves from and to the same account')
    end
    legs[i] = { from, to, amount }
  end

  local k = token_keys(sym)
  require_token(k, sym)
  local params = op_id and op_params({ 'batch', table.concat(argv, '\n', 2) })
  local replay = op_replay(k, op_id, params)
  if replay then return replay end

  -- Apply every leg to a copy of the balances first; write only when all legs hold.
  local original, current, touched = {}, {}, {}
  local function balance(account)
    if current[account] == nil then
      original[account] = balance_of(k, account)
      current[account] = original[account]
      touched[#touched + 1] = account
    end
    return current[account]
  end
  for i = 1, n do
    local from, to, amount = legs[i][1], legs[i][2], legs[i][3]
    local from_balance = balance(from)
    if compare(from_balance, amount) < 0 then
      fail('INSUFFICIENT_FUNDS', 'leg ' .. i .. ': balance of ' .. from .. ' is lower than ' .. amount)
    end
    current[from] = sub(from_balance, amount)
    current[to] = add(balance(to), amount)
  end

  local ts = now_ms()
  local changes = {}
  for _, account in ipairs(touched) do
    if original[account] ~= current[account] then
      changes[#changes + 1] = { account, original[account], current[account] }
    end
  end
  set_balances(k, changes)
  local id = log_append(k, { 'type', 'batch', 'n', tostring(n), 'legs', cjson.encode(legs) }, op_id, ts)
  -- The same JSON as json_object gives, with the parts every leg shares built once.
  local head = '{"token":"' .. sym .. '","id":"' .. id .. '","from":"'
  local tail = '","opId":' .. (op_id and ('"' .. op_id .. '"') or 'null') .. ',"ts":' .. ts .. ',"leg":'
  for i = 1, n do
    local leg = legs[i]
    redis.call('PUBLISH', k.transfers, head .. leg[1] .. '","to":"' .. leg[2] .. '","amount":"' .. leg[3] .. tail .. i .. '}')
  end
  local reply = { id, n }
  op_record(k, op_id, params, reply)
  return reply
end

register('ledger_transfer_batch', ledger_transfer_batch)
