-- ledger_events: the token's log after an entry id, optionally only entries touching an account.
--
-- KEYS[1]  token:{SYM}
-- ARGV     afterId ('-' for the start, else a stream id ms-seq, each part in 0..2^64-1),
--          count (1..1000), [account]
-- Reply    entries like XRANGE: [[id, [field, value, ...]], ...], oldest first, at most count.
--          With an account, at most 10000 entries are examined per call; when that bound stops
--          the scan before count matches are found, the reply ends with one extra entry
--          [lastExaminedId, ['type', 'cursor']]: call again with afterId = that id.
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT (count, afterId), INVALID_ACCOUNT, TOKEN_NOT_FOUND

local function entry_touches(fields, account)
  local kind
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1]
    if name == 'type' then kind = value end
    if (name == 'from' or name == 'to' or name == 'account') and value == account then return true end
    if name == 'legs' and kind == 'batch' then
      for _, leg in ipairs(cjson.decode(value)) do
        if leg[1] == account or leg[2] == account then return true end
      end
    end
  end
  return false
end

-- Stream ids are two integers in 0..2^64-1; XRANGE raises a plain Redis error for larger
-- ones (found by fuzzing: `ERR Invalid stream ID`), so afterId is checked here.
local STREAM_ID_PART_MAX = '18446744073709551615'

-- The part without leading zeros, or nil when it exceeds 2^64-1.
local function stream_id_part(digits)
  digits = string.match(digits, '^0*([0-9]+)$')
  if #digits > #STREAM_ID_PART_MAX or (#digits == #STREAM_ID_PART_MAX and compare(digits, STREAM_ID_PART_MAX) > 0) then
    return nil
  end
  return digits
end

local function ledger_events(keys, argv)
  local sym = token_symbol(keys)
  check_arg_count(argv, 2, 3)
  local after = argv[1]
  if after ~= '-' then
    local ms, seq = string.match(after, '^([0-9]+)%-([0-9]+)$')
    ms = ms and stream_id_part(ms)
    seq = seq and stream_id_part(seq)
    if not ms or not seq then
      fail('INVALID_ARGUMENT', "afterId must be '-' or a stream id like 1700000000000-0 (two integers up to 2^64-1)")
    end
    after = ms .. '-' .. seq
  end
  local count = check_limit(argv[2], 'count', EVENTS_COUNT_MAX)
  local account = argv[3] and check_account(argv[3])
  local k = token_keys(sym)
  require_token(k, sym)
  -- Nothing comes after the largest id (and XRANGE refuses an exclusive start there).
  if after == STREAM_ID_PART_MAX .. '-' .. STREAM_ID_PART_MAX then return {} end
  local start = (after == '-') and '-' or ('(' .. after)
  if not account then
    return redis.call('XRANGE', k.log, start, '+', 'COUNT', count)
  end

  local found, examined = {}, 0
  while examined < EVENTS_SCAN_MAX do
    local chunk = math.min(EVENTS_COUNT_MAX, EVENTS_SCAN_MAX - examined)
    local entries = redis.call('XRANGE', k.log, start, '+', 'COUNT', chunk)
    for _, entry in ipairs(entries) do
      examined = examined + 1
      if entry_touches(entry[2], account) then
        found[#found + 1] = entry
        if #found == count then return found end
      end
      start = '(' .. entry[1]
    end
    if #entries < chunk then return found end
  end
  found[#found + 1] = { string.sub(start, 2), { 'type', 'cursor' } }
  return found
end

register('ledger_events', ledger_events, { 'no-writes' })
