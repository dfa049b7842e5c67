-- ledger_balance: one account's balance.
--
-- KEYS     the declared form (docs/ledger-functions.md, Keys): token:{SYM}, :balances, :rank,
--          :rank:small, :log; or token:{SYM} alone on standalone Redis
-- ARGV     account
-- Reply    the balance as a canonical integer string, "0" for an unknown account
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, INVALID_ACCOUNT, TOKEN_NOT_FOUND

local function ledger_balance(keys, argv)
  local k = declared_keys(keys, false)
  local sym = k.sym
  check_arg_count(argv, 1, 1)
  local account = check_account(argv[1])
  require_token(k)
  return balance_of(k, account)
end

register('ledger_balance', ledger_balance, { 'no-writes' })
