-- Private helpers of the `ledger` library. Loaded first; every helper is `local`.
--
-- Amounts are canonical decimal strings (^(0|[1-9][0-9]*)$, at most 2^256 - 1) and never become
-- Lua numbers: a Lua number is a double, exact only to 2^53. Arithmetic works on 15-digit
-- chunks (every chunk sum stays below 2^53), compares by length and then chunk by chunk.

local LIBRARY_VERSION = '2.0.0'

local AMOUNT_DIGITS_MAX = 78
local AMOUNT_MAX = '115792089237316195423570985008687907853269984665640564039457584007913129639935'
local CHUNK_DIGITS = 15
local CHUNK_BASE = 1000000000000000 -- 10^15: a sum of two chunks stays below 2^53
local DECIMALS_MAX = 36
local NAME_BYTES_MAX = 128
local TOP_LIMIT_MAX = 1000
local EVENTS_COUNT_MAX = 1000
local EVENTS_LEGS_MAX = 250 -- legs (a batch counts its n legs, any other entry 1) examined by one ledger_events call
local BATCH_LEGS_MAX = 1000
local OP_TTL_SECONDS_DEFAULT = 86400
local OP_TTL_SECONDS_MAX = 31536000

-- The error codes of the contract, in precedence order (docs/ledger-functions.md).
local ERROR_CODES = {
  INVALID_TOKEN = true, INVALID_ARGUMENT = true, INVALID_ACCOUNT = true, INVALID_AMOUNT = true,
  SAME_ACCOUNT = true, TOKEN_NOT_FOUND = true, TOKEN_EXISTS = true, OP_CONFLICT = true,
  INSUFFICIENT_FUNDS = true, LOG_TRIMMED = true, LOG_NOT_ARCHIVED = true,
}

local function fail(code, message)
  error(code .. ' ' .. message, 0)
end

-- Registers a function whose `fail` errors reach the client as the plain error reply
-- `CODE message` (a raised error would get Redis' script location appended).
local function register(name, callback, flags)
  local function guarded(keys, argv)
    local ok, result = pcall(callback, keys, argv)
    if ok then return result end
    -- pcall hands back the message string; only the contract's codes become plain replies,
    -- anything else (a Redis command error, a bug) is raised again with its location.
    local code = type(result) == 'string' and string.match(result, '^([A-Z_]+) ')
    if code and (ERROR_CODES[code] or code == 'WRONGTYPE') then return redis.error_reply(result) end
    error(result, 0)
  end
  redis.register_function({ function_name = name, callback = guarded, flags = flags or {} })
end

-- Keys ---------------------------------------------------------------------------------------
-- A token's keys share the hash tag {SYM}, so they live in one cluster slot. The declared form
-- names them all in KEYS, so that Redis routes and guards every key the call touches (ASK,
-- TRYAGAIN while the slot migrates; a call is redirected or refused as a whole, never half run):
--   KEYS = token:{SYM}, token:{SYM}:balances, token:{SYM}:rank, token:{SYM}:rank:small,
--          token:{SYM}:log [, token:{SYM}:op:<opId> for a write that carries an opId]
-- The one-key form (KEYS = token:{SYM}) is accepted on standalone Redis only.

local DECLARED_SUFFIXES = { '', ':balances', ':rank', ':rank:small', ':log' }

-- The token's keys (k.token, k.balances, k.rank, k.rank_small, k.log), from KEYS when declared.
-- The Pub/Sub channels and the opId records' prefix are built where they are used.
local function token_keys(sym)
  local base = 'token:{' .. sym .. '}'
  return { sym = sym, token = base, balances = base .. ':balances', rank = base .. ':rank',
    rank_small = base .. ':rank:small', log = base .. ':log' }
end

local function op_prefix(k)
  return k.token .. ':op:'
end

local function declared_form(k, with_op)
  local names = {}
  for i, suffix in ipairs(DECLARED_SUFFIXES) do names[i] = k.token .. suffix end
  local form = #names .. ' ' .. table.concat(names, ' ')
  if with_op then form = form .. ' (then ' .. op_prefix(k) .. '<opId> as a 6th key with an opId)' end
  return form
end

-- Whether this server runs in cluster mode; asked once per library load (INFO is cheap, but not
-- free on the hot path).
local cluster_mode = nil
local function on_cluster()
  if cluster_mode == nil then
    cluster_mode = string.find(redis.call('INFO', 'cluster'), 'cluster_enabled:1', 1, true) ~= nil
  end
  return cluster_mode
end

-- Recent tokens' symbol and declared key names, by KEYS[1], so that a call checks its KEYS with
-- string comparisons only. Bounded: emptied when it holds DECLARED_CACHE_MAX tokens.
local DECLARED_CACHE_MAX = 1000
local declared_cache, declared_cached = {}, 0

local function declared_names(token)
  local names = declared_cache[token]
  if names then return names end
  local sym = type(token) == 'string' and string.match(token, '^token:{([A-Z0-9][A-Z0-9_%-]*)}$')
  if not sym or #sym > 32 then
    fail('INVALID_TOKEN', 'KEYS[1] must be token:{SYM} with SYM matching ^[A-Z0-9][A-Z0-9_-]{0,31}$')
  end
  names = { sym = sym }
  for i, suffix in ipairs(DECLARED_SUFFIXES) do names[i] = token .. suffix end
  if declared_cached >= DECLARED_CACHE_MAX then declared_cache, declared_cached = {}, 0 end
  declared_cache[token] = names
  declared_cached = declared_cached + 1
  return names
end

-- Checks KEYS and returns the token's keys, or fails with INVALID_TOKEN. `with_op`: the function
-- takes an opId, so the declared form may carry its record's key as KEYS[6] (see bind_op_key).
local function declared_keys(keys, with_op)
  local names = declared_names(keys[1])
  local count = #keys
  if count == 1 then
    local k = token_keys(names.sym)
    if on_cluster() then
      fail('INVALID_TOKEN', 'on Redis Cluster declare every key the function touches: KEYS = ' .. declared_form(k, with_op))
    end
    return k
  end
  if count < #DECLARED_SUFFIXES or count > #DECLARED_SUFFIXES + (with_op and 1 or 0) then
    fail('INVALID_TOKEN', 'expected KEYS = ' .. declared_form(token_keys(names.sym), with_op) .. ', got ' .. count .. ' keys')
  end
  for i = 2, #DECLARED_SUFFIXES do
    if keys[i] ~= names[i] then
      fail('INVALID_TOKEN', 'KEYS[' .. i .. '] must be ' .. names[i])
    end
  end
  return { sym = names.sym, token = names[1], balances = names[2], rank = names[3], rank_small = names[4], log = names[5],
    declared = true, op_declared = keys[6] }
end

-- In the declared form, the opId record's key must be declared exactly when an opId is given.
local function bind_op_key(k, op_id)
  if not k.declared then return end
  if op_id and k.op_declared ~= op_prefix(k) .. op_id then
    fail('INVALID_TOKEN', 'with opId ' .. op_id .. ', KEYS[6] must be ' .. op_prefix(k) .. op_id)
  end
  if not op_id and k.op_declared then
    fail('INVALID_TOKEN', 'KEYS[6] is only declared with an opId')
  end
end

-- Exact arithmetic ------------------------------------------------------------------------------

-- Note on string comparison: two canonical amounts of equal length compare like their digits, and
-- the ASCII digits are ordered the same in every locale Redis runs with; the helpers below still
-- compare chunk values (numbers) so that no locale collation is involved.

local CHUNK_FORMAT = '%015d' -- CHUNK_DIGITS wide

-- Amounts of at most this many digits are below 10^15: as Lua numbers their sums and
-- differences stay below 2^53, so plain arithmetic is exact for them.
local SMALL_DIGITS = 15

-- -1, 0, 1 for a < b, a == b, a > b.
local function compare(a, b)
  if a == b then return 0 end
  local n = #a
  if n ~= #b then return (n < #b) and -1 or 1 end
  if n <= SMALL_DIGITS then
    return (tonumber(a) < tonumber(b)) and -1 or 1
  end
  for start = 1, n, CHUNK_DIGITS do
    local stop = start + CHUNK_DIGITS - 1
    local x, y = tonumber(string.sub(a, start, stop)), tonumber(string.sub(b, start, stop))
    if x ~= y then return (x < y) and -1 or 1 end
  end
  return 0
end

-- a + b (sign 1) or a - b (sign -1, a >= b) for #a >= #b, chunk by chunk from the lowest. Once
-- b is used up and nothing carries or borrows, a's remaining digits are the result's. Returns
-- the canonical digits.
local function add_chunks(a, b, sign)
  local na, nb = #a, #b
  local shift = na - nb
  local digits, count, carry, stop = {}, 0, 0, na
  while stop > 0 and (carry ~= 0 or stop > shift) do
    local start = stop - CHUNK_DIGITS + 1
    local value = tonumber(string.sub(a, start > 0 and start or 1, stop)) + sign * carry
    local b_stop = stop - shift
    if b_stop > 0 then
      local b_start = b_stop - CHUNK_DIGITS + 1
      value = value + sign * tonumber(string.sub(b, b_start > 0 and b_start or 1, b_stop))
    end
    if value >= CHUNK_BASE then
      value, carry = value - CHUNK_BASE, 1
    elseif value < 0 then
      value, carry = value + CHUNK_BASE, 1
    else
      carry = 0
    end
    count = count + 1
    digits[count] = value
    stop = stop - CHUNK_DIGITS
  end
  if carry > 0 then -- only a sum carries past a's top digit
    count = count + 1
    digits[count] = carry
  end
  local parts = {}
  if stop > 0 then
    parts[1] = string.sub(a, 1, stop)
  else
    while count > 1 and digits[count] == 0 do count = count - 1 end
    parts[1] = string.format('%d', digits[count])
    count = count - 1
  end
  for i = count, 1, -1 do parts[#parts + 1] = string.format(CHUNK_FORMAT, digits[i]) end
  return table.concat(parts)
end

-- a + b, or nil when the sum exceeds 2^256 - 1.
local function add(a, b)
  local na, nb = #a, #b
  if na <= SMALL_DIGITS and nb <= SMALL_DIGITS then
    return string.format('%d', tonumber(a) + tonumber(b))
  end
  if na < nb then a, b, na, nb = b, a, nb, na end
  -- The common case, a long balance and a short amount that does not carry: only a's lowest
  -- chunk changes (a has more than SMALL_DIGITS digits here, so something of it stays in front).
  if nb <= CHUNK_DIGITS and na < AMOUNT_DIGITS_MAX then
    local low = tonumber(string.sub(a, -CHUNK_DIGITS)) + tonumber(b)
    if low < CHUNK_BASE then return string.sub(a, 1, na - CHUNK_DIGITS) .. string.format(CHUNK_FORMAT, low) end
  end
  local result = add_chunks(a, b, 1)
  if #result > AMOUNT_DIGITS_MAX or (#result == AMOUNT_DIGITS_MAX and compare(result, AMOUNT_MAX) > 0) then
    return nil
  end
  return result
end

-- a - b for a >= b (the caller checks).
local function sub(a, b)
  local na, nb = #a, #b
  if na <= SMALL_DIGITS then
    return string.format('%d', tonumber(a) - tonumber(b))
  end
  -- As in add, the short amount that does not borrow first.
  if nb <= CHUNK_DIGITS then
    local low = tonumber(string.sub(a, -CHUNK_DIGITS)) - tonumber(b)
    if low >= 0 then return string.sub(a, 1, na - CHUNK_DIGITS) .. string.format(CHUNK_FORMAT, low) end
  end
  return add_chunks(a, b, -1)
end

-- Validation (no reads) ------------------------------------------------------------------------

local function check_arg_count(argv, min, max)
  if #argv < min or #argv > max then
    local expected = (min == max) and tostring(min) or (min .. ' to ' .. max)
    fail('INVALID_ARGUMENT', 'expected ' .. expected .. ' arguments, got ' .. #argv)
  end
end

-- `leg`: the 1-based batch leg the value belongs to, named in the message (built only on failure).
local function named(what, leg)
  return leg and ('leg ' .. leg .. ' ' .. what) or what
end

local function check_account(account, what, leg)
  if type(account) ~= 'string' or #account > 128
    or not string.match(account, '^[A-Za-z0-9][A-Za-z0-9._:@%-]*$') then
    fail('INVALID_ACCOUNT', named(what or 'account', leg) .. ' must match ^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$')
  end
  return account
end

-- A canonical amount in 0..2^256-1; `positive` also rejects 0.
local function check_amount(amount, what, positive, leg)
  if type(amount) ~= 'string' or #amount == 0 or #amount > AMOUNT_DIGITS_MAX
    or not string.match(amount, '^[0-9]+$')
    or (#amount > 1 and string.sub(amount, 1, 1) == '0')
    or (#amount == AMOUNT_DIGITS_MAX and compare(amount, AMOUNT_MAX) > 0) then
    fail('INVALID_AMOUNT', named(what or 'amount', leg) .. ' must be a base-unit integer string in 0..2^256-1, without sign, exponent or leading zeros')
  end
  if positive and amount == '0' then
    fail('INVALID_AMOUNT', named(what or 'amount', leg) .. ' must be greater than 0')
  end
  return amount
end

-- An optional opId; '-' or absent means none.
local function check_op_id(op_id)
  if op_id == nil or op_id == '-' then return nil end
  if #op_id > 128 or not string.match(op_id, '^[A-Za-z0-9][A-Za-z0-9._:%-]*$') then
    fail('INVALID_ARGUMENT', 'opId must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$')
  end
  return op_id
end

-- A small decimal integer argument in 1..max.
local function check_limit(value, what, max)
  if type(value) ~= 'string' or not string.match(value, '^[1-9][0-9]*$') or #value > 7
    or tonumber(value) > max then
    fail('INVALID_ARGUMENT', what .. ' must be an integer in 1..' .. max)
  end
  return tonumber(value)
end

-- Stream ids are two integers in 0..2^64-1; XRANGE raises a plain Redis error for larger
-- ones (found by fuzzing: `ERR Invalid stream ID`), so ids given as arguments are checked here.
local STREAM_ID_PART_MAX = '18446744073709551615'

-- The part without leading zeros, or nil when it exceeds 2^64-1.
local function stream_id_part(digits)
  digits = string.match(digits, '^0*([0-9]+)$')
  if #digits > #STREAM_ID_PART_MAX or (#digits == #STREAM_ID_PART_MAX and compare(digits, STREAM_ID_PART_MAX) > 0) then
    return nil
  end
  return digits
end

-- A stream id `ms-seq` in canonical form, or fails with INVALID_ARGUMENT (`what` starts the message).
local function check_stream_id(value, what)
  local ms, seq = string.match(type(value) == 'string' and value or '', '^([0-9]+)%-([0-9]+)$')
  ms = ms and stream_id_part(ms)
  seq = seq and stream_id_part(seq)
  if not ms or not seq then
    fail('INVALID_ARGUMENT', what .. ' a stream id like 1700000000000-0 (two integers up to 2^64-1)')
  end
  return ms .. '-' .. seq
end

-- -1, 0, 1 for two canonical stream ids, in stream order (ms, then seq).
local function compare_ids(a, b)
  local ams, aseq = string.match(a, '^([0-9]+)%-([0-9]+)$')
  local bms, bseq = string.match(b, '^([0-9]+)%-([0-9]+)$')
  local order = compare(ams, bms)
  if order ~= 0 then return order end
  return compare(aseq, bseq)
end

-- Holder ranking ------------------------------------------------------------------------------
-- Two sorted sets rank the holders, so that ledger_top is exact in O(log N + limit):
-- - `token:{SYM}:rank:small` holds balances below 2^53, exact as doubles: member = account,
--   score = -balance. ZRANGE gives balance descending, ties by account ascending; a balance
--   change is one ZADD.
-- - `token:{SYM}:rank` holds balances of 2^53 and more: members all have score 0 and sort by
--   bytes: the balance's digit count and digits complemented to 9 (larger balances first), then
--   ':' and the account (ties by account ascending). ZRANGE BYLEX reads them in order with no
--   double involved.
-- Every balance in `rank` is larger than every balance in `rank:small`: top reads `rank` first.
-- Library 1.0 kept every balance in `rank`. A token whose hash lacks rankLayout = 2 may still
-- have such members of small balances: writes remove them as they go, ledger_top merges both
-- sets, and ledger_upgrade (run by migration 0003) moves the rest, then sets rankLayout = 2.

-- Each group of 1 to 3 digits and its complement to 9s (string.gsub with a table replaces a match
-- by its entry; groups of 3 need a third of the lookups of single digits). Built on first use:
-- the library's load code cannot reach the string library.
local COMPLEMENT = nil
local DIGIT_GROUP = '%d%d?%d?'

local function complement(digits)
  if not COMPLEMENT then
    COMPLEMENT = {}
    for width = 1, 3 do
      local top = 10 ^ width - 1
      local format = '%0' .. width .. 'd'
      for value = 0, top do COMPLEMENT[string.format(format, value)] = string.format(format, top - value) end
    end
  end
  return (string.gsub(digits, DIGIT_GROUP, COMPLEMENT))
end

local function rank_member(account, balance)
  return string.format('%02d', 99 - #balance) .. complement(balance) .. ':' .. account
end

-- The account of a `rank` member (its balance is read from the balances hash).
local function rank_account(member)
  return string.sub(member, 103 - tonumber(string.sub(member, 1, 2)))
end

-- The balance encoded in a `rank` member.
local function rank_balance(member)
  local digits = 99 - tonumber(string.sub(member, 1, 2))
  return complement(string.sub(member, 3, 2 + digits))
end

-- Reads ----------------------------------------------------------------------------------------

-- Fails with TOKEN_NOT_FOUND, else keeps what the writes need in `k`: the opId records' TTL and
-- whether the token still has library 1.0 members of small balances in `rank` (see Holder
-- ranking; ledger_upgrade moves them and sets rankLayout = 2). With `log_marks` (the log readers
-- and the archive functions only: the writes never need them, and the hot path reads no more
-- fields than it uses), also the log's archive marks.
local function require_token(k, log_marks)
  local fields = log_marks and redis.call('HMGET', k.token, 'symbol', 'opTtlSeconds', 'rankLayout', 'logTrimmedTo', 'logArchivedTo')
    or redis.call('HMGET', k.token, 'symbol', 'opTtlSeconds', 'rankLayout')
  if not fields[1] then
    fail('TOKEN_NOT_FOUND', 'token ' .. k.sym .. ' does not exist')
  end
  k.op_ttl = tonumber(fields[2]) or OP_TTL_SECONDS_DEFAULT
  k.legacy_rank = fields[3] ~= '2'
  -- The log's archive marks (log_trim.lua): nil for a log never archived or trimmed.
  k.log_trimmed = fields[4] or nil
  k.log_archived = fields[5] or nil
end

-- No partial writes: Redis does not roll back the writes made before a failing command, so every
-- key a call writes has its type checked before the first write. The token hash, balances and
-- opId record are read first (a wrong type fails the read); the log is the first key written
-- (XADD fails on a wrong type before anything changed); the rank sets a call will write are
-- checked with TYPE (plan_balances, below), and init checks every key.
local function check_type(key, expected)
  local actual = redis.call('TYPE', key).ok
  if actual ~= expected and actual ~= 'none' then
    fail('WRONGTYPE', key .. ' holds a ' .. actual .. ', not a ' .. expected .. ': nothing was written')
  end
end

local function check_types(k)
  check_type(k.balances, 'hash')
  check_type(k.rank, 'zset')
  check_type(k.rank_small, 'zset')
  check_type(k.log, 'stream')
end

local function balance_of(k, account)
  local balance = redis.call('HGET', k.balances, account)
  if not balance then return '0' end
  return balance
end

-- Milliseconds since the epoch as an integer string, from the server clock.
local function now_ms()
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end

-- Idempotency -----------------------------------------------------------------------------------
-- A committed operation with an opId records {p = sha1(parameters), r = reply} under
-- token:{SYM}:op:<opId> for the token's opTtlSeconds. Only committed operations are recorded.

local function op_params(parts)
  return redis.sha1hex(table.concat(parts, '\n'))
end

-- Returns the recorded reply of a repeat, fails with OP_CONFLICT on different parameters, or
-- returns nil when the opId is new.
local function op_replay(k, op_id, params)
  if not op_id then return nil end
  local recorded = redis.call('GET', k.op_declared or op_prefix(k) .. op_id)
  if not recorded then return nil end
  local record = cjson.decode(recorded)
  if record.p ~= params then
    fail('OP_CONFLICT', 'opId ' .. op_id .. ' was already used with different parameters')
  end
  return record.r
end

local function op_record(k, op_id, params, reply)
  if not op_id then return end
  redis.call('SET', k.op_declared or op_prefix(k) .. op_id, cjson.encode({ p = params, r = reply }), 'EX', k.op_ttl or OP_TTL_SECONDS_DEFAULT)
end

-- Writes -----------------------------------------------------------------------------------------

-- Where a balance ranks: `rank:small` below this, `rank` from it on (see Holder ranking).
local SMALL_BALANCE_LIMIT = '9007199254740992' -- 2^53

local function is_small(balance)
  return #balance < #SMALL_BALANCE_LIMIT or (#balance == #SMALL_BALANCE_LIMIT and compare(balance, SMALL_BALANCE_LIMIT) < 0)
end

-- Plans the writes of balance changes ({account, old, new} each, distinct accounts) as one
-- command per key and kind (HSET, HDEL, ZREM, ZADD), not per account, and checks the type of
-- each rank set the plan writes (no partial writes). Reads only; write_balances applies it.
local function plan_balances(k, changes)
  local hset, hdel, zrem_small, zadd_small, zrem_lex, zadd_lex = {}, {}, {}, {}, {}, {}
  local legacy = k.legacy_rank
  for i = 1, #changes do
    local change = changes[i]
    local account, old, new = change[1], change[2], change[3]
    local old_small = old ~= '0' and is_small(old)
    local new_small = new ~= '0' and is_small(new)
    if old ~= '0' and (not old_small or legacy) then zrem_lex[#zrem_lex + 1] = rank_member(account, old) end
    if old_small and not new_small then zrem_small[#zrem_small + 1] = account end
    if new == '0' then
      hdel[#hdel + 1] = account
    else
      hset[#hset + 1] = account
      hset[#hset + 1] = new
      if new_small then
        zadd_small[#zadd_small + 1] = '-' .. new
        zadd_small[#zadd_small + 1] = account
      else
        zadd_lex[#zadd_lex + 1] = '0'
        zadd_lex[#zadd_lex + 1] = rank_member(account, new)
      end
    end
  end
  if #zrem_small > 0 or #zadd_small > 0 then check_type(k.rank_small, 'zset') end
  if #zrem_lex > 0 or #zadd_lex > 0 then check_type(k.rank, 'zset') end
  return { hset, hdel, zrem_small, zadd_small, zrem_lex, zadd_lex }
end

local function write_balances(k, plan)
  local hset, hdel, zrem_small, zadd_small, zrem_lex, zadd_lex = plan[1], plan[2], plan[3], plan[4], plan[5], plan[6]
  if #zrem_lex > 0 then redis.call('ZREM', k.rank, unpack(zrem_lex)) end
  if #zrem_small > 0 then redis.call('ZREM', k.rank_small, unpack(zrem_small)) end
  if #hdel > 0 then redis.call('HDEL', k.balances, unpack(hdel)) end
  if #hset > 0 then redis.call('HSET', k.balances, unpack(hset)) end
  if #zadd_small > 0 then redis.call('ZADD', k.rank_small, unpack(zadd_small)) end
  if #zadd_lex > 0 then redis.call('ZADD', k.rank, unpack(zadd_lex)) end
end

-- Appends a log entry: the given field, value pairs, then opId (when given) and ts.
local function log_append(k, fields, op_id, ts)
  if op_id then
    fields[#fields + 1] = 'opId'
    fields[#fields + 1] = op_id
  end
  fields[#fields + 1] = 'ts'
  fields[#fields + 1] = ts
  return redis.call('XADD', k.log, '*', unpack(fields))
end

-- JSON for Pub/Sub payloads, with keys in a fixed order. Every value was validated against a
-- charset without quotes or backslashes, so no escaping is needed; nil becomes null and
-- {s} is written as the bare number s.
local function json_object(pairs_list)
  local parts = {}
  for i = 1, #pairs_list, 2 do
    local key, value = pairs_list[i], pairs_list[i + 1]
    local encoded
    if value == nil or value == false then
      encoded = 'null'
    elseif type(value) == 'table' then
      encoded = value[1] -- a number already formatted as an integer string
    else
      encoded = '"' .. value .. '"'
    end
    parts[#parts + 1] = '"' .. key .. '":' .. encoded
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
