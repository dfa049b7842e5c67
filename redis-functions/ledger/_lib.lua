-- Private helpers of the `ledger` library. Loaded first; every helper is `local`.
--
-- Amounts are canonical decimal strings (^(0|[1-9][0-9]*)$, at most 2^256 - 1) and never become
-- Lua numbers: a Lua number is a double, exact only to 2^53. Arithmetic works on 14-digit
-- chunks (every chunk sum stays below 2^53), compares by length and then chunk by chunk.

local LIBRARY_VERSION = '2.0.0'

local AMOUNT_DIGITS_MAX = 78
local AMOUNT_MAX = '115792089237316195423570985008687907853269984665640564039457584007913129639935'
local CHUNK_DIGITS = 14
local CHUNK_BASE = 100000000000000 -- 10^14
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
  INSUFFICIENT_FUNDS = true,
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

local function token_keys(sym)
  local base = 'token:{' .. sym .. '}'
  return {
    sym = sym,
    token = base,
    balances = base .. ':balances',
    rank = base .. ':rank',
    rank_small = base .. ':rank:small',
    log = base .. ':log',
    op_prefix = base .. ':op:',
    transfers = base .. ':transfers',
    burns = base .. ':burns',
  }
end

local function declared_form(k, with_op)
  local names = {}
  for i, suffix in ipairs(DECLARED_SUFFIXES) do names[i] = k.token .. suffix end
  local form = #names .. ' ' .. table.concat(names, ' ')
  if with_op then form = form .. ' (then ' .. k.op_prefix .. '<opId> as a 6th key with an opId)' end
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

-- Checks KEYS and returns the token's keys, or fails with INVALID_TOKEN. `with_op`: the function
-- takes an opId, so the declared form may carry its record's key as KEYS[6] (see bind_op_key).
local function declared_keys(keys, with_op)
  local sym = type(keys[1]) == 'string' and string.match(keys[1], '^token:{([A-Z0-9][A-Z0-9_%-]*)}$')
  if not sym or #sym > 32 then
    fail('INVALID_TOKEN', 'KEYS[1] must be token:{SYM} with SYM matching ^[A-Z0-9][A-Z0-9_-]{0,31}$')
  end
  local k = token_keys(sym)
  if #keys == 1 then
    if on_cluster() then
      fail('INVALID_TOKEN', 'on Redis Cluster declare every key the function touches: KEYS = ' .. declared_form(k, with_op))
    end
    return k
  end
  if #keys < #DECLARED_SUFFIXES or #keys > #DECLARED_SUFFIXES + (with_op and 1 or 0) then
    fail('INVALID_TOKEN', 'expected KEYS = ' .. declared_form(k, with_op) .. ', got ' .. #keys .. ' keys')
  end
  for i = 2, #DECLARED_SUFFIXES do
    if keys[i] ~= k.token .. DECLARED_SUFFIXES[i] then
      fail('INVALID_TOKEN', 'KEYS[' .. i .. '] must be ' .. k.token .. DECLARED_SUFFIXES[i])
    end
  end
  k.declared = true
  k.op_declared = keys[#DECLARED_SUFFIXES + 1]
  return k
end

-- In the declared form, the opId record's key must be declared exactly when an opId is given.
local function bind_op_key(k, op_id)
  if not k.declared then return end
  if op_id and k.op_declared ~= k.op_prefix .. op_id then
    fail('INVALID_TOKEN', 'with opId ' .. op_id .. ', KEYS[6] must be ' .. k.op_prefix .. op_id)
  end
  if not op_id and k.op_declared then
    fail('INVALID_TOKEN', 'KEYS[6] is only declared with an opId')
  end
end

-- Exact arithmetic ------------------------------------------------------------------------------

-- Note on string comparison: two canonical amounts of equal length compare like their digits, and
-- the ASCII digits are ordered the same in every locale Redis runs with; the helpers below still
-- compare chunk values (numbers) so that no locale collation is involved.

-- Least significant chunk first.
local function to_chunks(s)
  local chunks = {}
  local stop = #s
  while stop > 0 do
    local start = stop - CHUNK_DIGITS + 1
    if start < 1 then start = 1 end
    chunks[#chunks + 1] = tonumber(string.sub(s, start, stop))
    stop = start - 1
  end
  return chunks
end

local function from_chunks(chunks)
  local top = #chunks
  while top > 1 and chunks[top] == 0 do top = top - 1 end
  local parts = { string.format('%d', chunks[top]) }
  for i = top - 1, 1, -1 do
    parts[#parts + 1] = string.format('%014d', chunks[i])
  end
  return table.concat(parts)
end

-- Amounts of at most this many digits are below 10^15: as Lua numbers their sums and
-- differences stay below 2^53, so plain arithmetic is exact for them.
local SMALL_DIGITS = 15

-- -1, 0, 1 for a < b, a == b, a > b.
local function compare(a, b)
  if #a ~= #b then return (#a < #b) and -1 or 1 end
  if #a <= SMALL_DIGITS then
    local x, y = tonumber(a), tonumber(b)
    if x == y then return 0 end
    return (x < y) and -1 or 1
  end
  for start = 1, #a, CHUNK_DIGITS do
    local x = tonumber(string.sub(a, start, start + CHUNK_DIGITS - 1))
    local y = tonumber(string.sub(b, start, start + CHUNK_DIGITS - 1))
    if x ~= y then return (x < y) and -1 or 1 end
  end
  return 0
end

-- a + b, or nil when the sum exceeds 2^256 - 1.
local function add(a, b)
  if #a <= SMALL_DIGITS and #b <= SMALL_DIGITS then
    return string.format('%d', tonumber(a) + tonumber(b))
  end
  local x, y = to_chunks(a), to_chunks(b)
  local sum, carry = {}, 0
  for i = 1, math.max(#x, #y) do
    local s = (x[i] or 0) + (y[i] or 0) + carry
    if s >= CHUNK_BASE then
      s = s - CHUNK_BASE
      carry = 1
    else
      carry = 0
    end
    sum[i] = s
  end
  if carry > 0 then sum[#sum + 1] = carry end
  local result = from_chunks(sum)
  if #result > AMOUNT_DIGITS_MAX or (#result == AMOUNT_DIGITS_MAX and compare(result, AMOUNT_MAX) > 0) then
    return nil
  end
  return result
end

-- a - b for a >= b (the caller checks).
local function sub(a, b)
  if #a <= SMALL_DIGITS then
    return string.format('%d', tonumber(a) - tonumber(b))
  end
  local x, y = to_chunks(a), to_chunks(b)
  local diff, borrow = {}, 0
  for i = 1, #x do
    local d = x[i] - (y[i] or 0) - borrow
    if d < 0 then
      d = d + CHUNK_BASE
      borrow = 1
    else
      borrow = 0
    end
    diff[i] = d
  end
  return from_chunks(diff)
end

-- Validation (no reads) ------------------------------------------------------------------------

local function check_arg_count(argv, min, max)
  if #argv < min or #argv > max then
    local expected = (min == max) and tostring(min) or (min .. ' to ' .. max)
    fail('INVALID_ARGUMENT', 'expected ' .. expected .. ' arguments, got ' .. #argv)
  end
end

local function check_account(account, what)
  if type(account) ~= 'string' or #account > 128
    or not string.match(account, '^[A-Za-z0-9][A-Za-z0-9._:@%-]*$') then
    fail('INVALID_ACCOUNT', (what or 'account') .. ' must match ^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$')
  end
  return account
end

-- A canonical amount in 0..2^256-1; `positive` also rejects 0.
local function check_amount(amount, what, positive)
  what = what or 'amount'
  if type(amount) ~= 'string' or #amount == 0 or #amount > AMOUNT_DIGITS_MAX
    or not string.match(amount, '^[0-9]+$')
    or (#amount > 1 and string.sub(amount, 1, 1) == '0')
    or (#amount == AMOUNT_DIGITS_MAX and compare(amount, AMOUNT_MAX) > 0) then
    fail('INVALID_AMOUNT', what .. ' must be a base-unit integer string in 0..2^256-1, without sign, exponent or leading zeros')
  end
  if positive and amount == '0' then
    fail('INVALID_AMOUNT', what .. ' must be greater than 0')
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

local COMPLEMENT = { ['0'] = '9', ['1'] = '8', ['2'] = '7', ['3'] = '6', ['4'] = '5',
  ['5'] = '4', ['6'] = '3', ['7'] = '2', ['8'] = '1', ['9'] = '0' }

local function rank_member(account, balance)
  return string.format('%02d', 99 - #balance) .. string.gsub(balance, '%d', COMPLEMENT) .. ':' .. account
end

-- The account of a `rank` member (its balance is read from the balances hash).
local function rank_account(member)
  return string.sub(member, 103 - tonumber(string.sub(member, 1, 2)))
end

-- The balance encoded in a `rank` member.
local function rank_balance(member)
  local digits = 99 - tonumber(string.sub(member, 1, 2))
  return (string.gsub(string.sub(member, 3, 2 + digits), '%d', COMPLEMENT))
end

-- Reads ----------------------------------------------------------------------------------------

-- Fails with TOKEN_NOT_FOUND, else keeps what the writes need in `k`: the opId records' TTL and
-- whether the token still has library 1.0 members of small balances in `rank` (see Holder
-- ranking; ledger_upgrade moves them and sets rankLayout = 2).
local function require_token(k)
  local fields = redis.call('HMGET', k.token, 'symbol', 'opTtlSeconds', 'rankLayout')
  if not fields[1] then
    fail('TOKEN_NOT_FOUND', 'token ' .. k.sym .. ' does not exist')
  end
  k.op_ttl = tonumber(fields[2]) or OP_TTL_SECONDS_DEFAULT
  k.legacy_rank = fields[3] ~= '2'
end

-- No partial writes: Redis does not roll back the writes made before a failing command, so every
-- key a call writes has its type checked before the first write. The token hash, balances and
-- opId record are read first (a wrong type fails the read); the log is the first key written
-- (XADD fails on a wrong type before anything changed); the rank sets a call will write are
-- checked with TYPE (check_rank_types, below), and init checks every key.
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
  local recorded = redis.call('GET', k.op_prefix .. op_id)
  if not recorded then return nil end
  local record = cjson.decode(recorded)
  if record.p ~= params then
    fail('OP_CONFLICT', 'opId ' .. op_id .. ' was already used with different parameters')
  end
  return record.r
end

local function op_record(k, op_id, params, reply)
  if not op_id then return end
  redis.call('SET', k.op_prefix .. op_id, cjson.encode({ p = params, r = reply }), 'EX', k.op_ttl or OP_TTL_SECONDS_DEFAULT)
end

-- Writes -----------------------------------------------------------------------------------------

-- Where a balance ranks: `rank:small` below this, `rank` from it on (see Holder ranking).
local SMALL_BALANCE_LIMIT = '9007199254740992' -- 2^53

local function is_small(balance)
  return #balance < #SMALL_BALANCE_LIMIT or (#balance == #SMALL_BALANCE_LIMIT and compare(balance, SMALL_BALANCE_LIMIT) < 0)
end

-- Checks the type of the rank sets that the balance changes ({account, old, new} each) will write.
local function check_rank_types(k, changes)
  local small, lex = false, false
  for _, change in ipairs(changes) do
    local old, new = change[2], change[3]
    if old ~= '0' then
      if is_small(old) then
        small = true
        lex = lex or k.legacy_rank
      else
        lex = true
      end
    end
    if new ~= '0' then
      if is_small(new) then small = true else lex = true end
    end
  end
  if small then check_type(k.rank_small, 'zset') end
  if lex then check_type(k.rank, 'zset') end
end

-- Sets an account's balance in the balances hash and the rank, given its previous balance.
local function set_balance(k, account, old, new)
  local old_small = old ~= '0' and is_small(old)
  local new_small = new ~= '0' and is_small(new)
  if old ~= '0' and not old_small then redis.call('ZREM', k.rank, rank_member(account, old)) end
  if old_small and not new_small then redis.call('ZREM', k.rank_small, account) end
  if old_small and k.legacy_rank then redis.call('ZREM', k.rank, rank_member(account, old)) end
  if new == '0' then
    redis.call('HDEL', k.balances, account)
    return
  end
  redis.call('HSET', k.balances, account, new)
  if new_small then
    redis.call('ZADD', k.rank_small, '-' .. new, account)
  else
    redis.call('ZADD', k.rank, 0, rank_member(account, new))
  end
end

-- Sets many balances with one command per key and kind (HSET, HDEL, ZADD, ZREM), not per account.
-- `changes` is a list of {account, old, new} with distinct accounts.
local function set_balances(k, changes)
  local hset, hdel, zrem_small, zadd_small, zrem_lex, zadd_lex = {}, {}, {}, {}, {}, {}
  local function push(list, a, b)
    list[#list + 1] = a
    if b then list[#list + 1] = b end
  end
  for _, change in ipairs(changes) do
    local account, old, new = change[1], change[2], change[3]
    local old_small = old ~= '0' and is_small(old)
    local new_small = new ~= '0' and is_small(new)
    if old ~= '0' and not old_small then push(zrem_lex, rank_member(account, old)) end
    if old_small and not new_small then push(zrem_small, account) end
    if old_small and k.legacy_rank then push(zrem_lex, rank_member(account, old)) end
    if new == '0' then
      push(hdel, account)
    else
      push(hset, account, new)
      if new_small then push(zadd_small, '-' .. new, account) else push(zadd_lex, '0', rank_member(account, new)) end
    end
  end
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
