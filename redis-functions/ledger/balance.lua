-- ledger_balance: one account's balance.
--
-- KEYS[1]  token:{SYM}
-- ARGV     account
-- Reply    the balance as a canonical integer string, "0" for an unknown account
-- Errors   INVALID_TOKEN, INVALID_ARGUMENT, INVALID_ACCOUNT, TOKEN_NOT_FOUND

local function ledger_balance(keys, argv)
  local sym = token_symbol(keys)
  check_arg_count(argv, 1, 1)
  local account = check_account(argv[1])
  local k = token_keys(sym)
  require_token(k, sym)
  return balance_of(k, account)
end

register('ledger_balance', ledger_balance, { 'no-writes' })
