-- ledger_version: the library's version string.
--
-- KEYS     token:{SYM} by convention (any key, or none, is accepted: nothing is read)
-- ARGV     none
-- Reply    the version, e.g. "1.0.0"

local function ledger_version()
  return LIBRARY_VERSION
end

register('ledger_version', ledger_version, { 'no-writes' })
