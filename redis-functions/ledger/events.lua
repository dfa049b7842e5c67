-- ledger_events: the token's log after an entry id, optionally only what touches an account.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     afterId ('-' for the start, else a stream id ms-seq, each part in 0..2^64-1),
--          count (1..1000), [account]
-- Reply    entries like XRANGE: [[id, [field, value, ...]], ...], oldest first, at most count.
--          One call examines at most 250 legs (a batch entry counts its n legs, any other
--          entry 1; at least one entry): when that bound stops it first, the reply ends with one extra entry
--          [lastExaminedId, ['type', 'cursor']]: call again with afterId = that id.
--          With an account, only entries touching it, and a batch entry shows only the legs
--          touching it: `legs` holds those, `legIndexes` (JSON) their 1-based places in the
--          batch, and `n` stays the batch's leg count.
--          A trimmed log (ledger_log_trim) answers an afterId before its trim point ('-' included)
--          with LOG_TRIMMED, whose message begins with the last trimmed id T: the log holds every
--          entry after T, so afterId = T reads on. An untrimmed log answers exactly as before.
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT (count, afterId), INVALID_ACCOUNT, TOKEN_NOT_FOUND,
--          LOG_TRIMMED
-- Cost     bounded by the leg bound, not by the log's length: a few ms (test/ledger/events-bounds.test.ts
--          asserts under 10 ms of server time with SLOWLOG). Lua's copy of each entry is the cost:
--          about 5-10 µs an entry on a slow 2-core VM (more while Lua's collector catches up), so an
--          unfiltered count of 1000 would take 8 ms and more.

-- Entries read per XRANGE: 1 first, then twice as many each time up to this many, and never more
-- than the leg bound has left at the largest entry seen: a read fetches about what the call
-- will examine (a 1,000-leg batch is 40 kB), while runs of small entries take few XRANGEs.
local EVENTS_READ_MAX = 32

local function field_index(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return i + 1 end
  end
  return nil
end

-- Legs an entry counts for (the bound above): a batch's n, else 1.
local function entry_weight(fields)
  if fields[2] ~= 'batch' then return 1 end
  local n = field_index(fields, 'n')
  return (n and tonumber(fields[n])) or 1
end

-- The entry as `account` sees it, or nil when it does not touch the account. The library writes
-- every entry's fields in one order (type first, then the accounts): an init or burn entry names
-- its account 4th, a transfer its from and to 4th and 6th.
local function entry_view(fields, account)
  local kind = fields[2]
  if kind ~= 'batch' then
    if fields[4] == account or (kind == 'transfer' and fields[6] == account) then return fields end
    return nil
  end
  local legs_at = field_index(fields, 'legs')
  -- Accounts and amounts are JSON strings without escapes: no quoted match, no leg of theirs.
  if not legs_at or not string.find(fields[legs_at], '"' .. account .. '"', 1, true) then return nil end
  local mine, indexes = {}, {}
  for i, leg in ipairs(cjson.decode(fields[legs_at])) do
    if leg[1] == account or leg[2] == account then
      mine[#mine + 1] = leg
      indexes[#indexes + 1] = i
    end
  end
  if #mine == 0 then return nil end
  local view = {}
  for i = 1, #fields, 2 do
    view[#view + 1] = fields[i]
    if i + 1 == legs_at then
      view[#view + 1] = cjson.encode(mine)
      view[#view + 1] = 'legIndexes'
      view[#view + 1] = cjson.encode(indexes)
    else
      view[#view + 1] = fields[i + 1]
    end
  end
  return view
end

local function ledger_events(keys, argv)
  local k = declared_keys(keys, false)
  check_arg_count(argv, 2, 3)
  local after = argv[1]
  if after ~= '-' then after = check_stream_id(after, "afterId must be '-' or") end
  local count = check_limit(argv[2], 'count', EVENTS_COUNT_MAX)
  local account = argv[3] and check_account(argv[3])
  require_token(k, true)
  -- A trimmed log (ledger_log_trim) no longer holds the entries up to k.log_trimmed: a reader
  -- asking for any of them is told where the log now starts instead of silently skipping them.
  if k.log_trimmed and (after == '-' or compare_ids(after, k.log_trimmed) < 0) then
    fail('LOG_TRIMMED', k.log_trimmed .. ' is the last entry archived and trimmed from the log of ' .. k.sym
      .. ' (its first entry now follows it): read the entries up to it from the archives and call again with afterId = ' .. k.log_trimmed)
  end
  -- Nothing comes after the largest id (and XRANGE refuses an exclusive start there).
  if after == STREAM_ID_PART_MAX .. '-' .. STREAM_ID_PART_MAX then return {} end
  local start = (after == '-') and '-' or ('(' .. after)

  local found, examined, largest, reads = {}, 0, 1, 1
  while true do
    reads = math.min(EVENTS_READ_MAX, reads * 2)
    local chunk = math.min(reads / 2, math.floor((EVENTS_LEGS_MAX - examined) / largest))
    if not account then chunk = math.min(chunk, count - #found) end
    chunk = math.max(1, chunk)
    local entries = redis.call('XRANGE', k.log, start, '+', 'COUNT', chunk)
    for _, entry in ipairs(entries) do
      local fields = entry[2]
      local weight = entry_weight(fields)
      if weight > largest then largest = weight end
      examined = examined + weight
      if account then
        local view = entry_view(fields, account)
        if view then found[#found + 1] = { entry[1], view } end
      else
        found[#found + 1] = entry
      end
      if #found == count then return found end
      if examined >= EVENTS_LEGS_MAX then
        found[#found + 1] = { entry[1], { 'type', 'cursor' } }
        return found
      end
    end
    if #entries > 0 then start = '(' .. entries[#entries][1] end
    if #entries < chunk then return found end
  end
end

register('ledger_events', ledger_events, { 'no-writes' })
