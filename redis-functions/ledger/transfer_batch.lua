-- ledger_transfer_batch: several transfers applied atomically, in order: all or none.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log, and :op:<opId> with an opId; or token:{SYM} alone on standalone Redis
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
  local k = declared_keys(keys, true)
  local sym = k.sym
  if #argv < 2 then
    fail('INVALID_ARGUMENT', 'expected opId, n and n triples from, to, amount')
  end
  local op_id = check_op_id(argv[1])
  bind_op_key(k, op_id)
  local n = check_limit(argv[2], 'n', BATCH_LEGS_MAX)
  if #argv ~= 2 + 3 * n then
    fail('INVALID_ARGUMENT', 'expected ' .. (2 + 3 * n) .. ' arguments for ' .. n .. ' legs, got ' .. #argv)
  end
  -- Every leg's accounts, then every amount, then SAME_ACCOUNT: the contract's precedence holds
  -- across legs (leg 1's SAME_ACCOUNT does not hide leg 2's INVALID_ACCOUNT).
  local legs = {}
  for i = 1, n do
    legs[i] = { check_account(argv[3 * i], 'from', i), check_account(argv[3 * i + 1], 'to', i) }
  end
  for i = 1, n do
    legs[i][3] = check_amount(argv[3 * i + 2], 'amount', true, i)
  end
  for i = 1, n do
    if legs[i][1] == legs[i][2] then
      fail('SAME_ACCOUNT', 'leg ' .. i .. ' moves from and to the same account')
    end
  end

  require_token(k)
  local params = op_id and op_params({ 'batch', table.concat(argv, '\n', 2) })
  local replay = op_replay(k, op_id, params)
  if replay then return replay end

  -- Every touched account's balance, read with one HMGET; every leg is applied to a copy first,
  -- and written only when all legs hold.
  local touched, current = {}, {}
  for i = 1, n do
    local leg = legs[i]
    for side = 1, 2 do
      local account = leg[side]
      if not current[account] then
        current[account] = true
        touched[#touched + 1] = account
      end
    end
  end
  local read = redis.call('HMGET', k.balances, unpack(touched))
  local original = {}
  for i, account in ipairs(touched) do
    original[account] = read[i] or '0'
    current[account] = original[account]
  end
  for i = 1, n do
    local leg = legs[i]
    local from, to, amount = leg[1], leg[2], leg[3]
    local from_balance = current[from]
    if compare(from_balance, amount) < 0 then
      fail('INSUFFICIENT_FUNDS', 'leg ' .. i .. ': balance of ' .. from .. ' is lower than ' .. amount)
    end
    current[from] = sub(from_balance, amount)
    current[to] = add(current[to], amount)
  end

  local changes = {}
  for _, account in ipairs(touched) do
    if original[account] ~= current[account] then
      changes[#changes + 1] = { account, original[account], current[account] }
    end
  end
  local plan = plan_balances(k, changes)
  local ts = now_ms()
  local id = log_append(k, { 'type', 'batch', 'n', tostring(n), 'legs', cjson.encode(legs) }, op_id, ts)
  write_balances(k, plan)
  -- The same JSON as json_object gives, with the parts every leg shares built once.
  local head = '{"token":"' .. sym .. '","id":"' .. id .. '","from":"'
  local tail = '","opId":' .. (op_id and ('"' .. op_id .. '"') or 'null') .. ',"ts":' .. ts .. ',"leg":'
  for i = 1, n do
    local leg = legs[i]
    redis.call('PUBLISH', k.token .. ':transfers', head .. leg[1] .. '","to":"' .. leg[2] .. '","amount":"' .. leg[3] .. tail .. i .. '}')
  end
  local reply = { id, n }
  op_record(k, op_id, params, reply)
  return reply
end

register('ledger_transfer_batch', ledger_transfer_batch)
