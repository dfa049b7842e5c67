// Superseded by 0003-rank-layout-2, and now a no-op. It used to move library 1.0's rank members
// of small balances to `token:{SYM}:rank:small` page by page, each page read first and written
// in a later transaction: a transfer in between left a stale member that it then re-added (a
// holder ranked with an old balance, or with none). 0003 does the same move inside one
// function call per step (ledger_upgrade, atomic, checked against the balances hash), and
// library 2.0 reads and writes both layouts correctly until it is done. Kept so that its id
// stays recorded in order on servers that ran it.
export default {
  description: 'no-op: superseded by 0003-rank-layout-2 (an atomic, traffic-safe move)',
  async up() {},
} satisfies import('../src/migrate/migrations.ts').MigrationModule;
