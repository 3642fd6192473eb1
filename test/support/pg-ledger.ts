// A PostgreSQL ledger for daemon tests: a fresh schema in the run's throwaway cluster, as the
// config takes it (the URL without its password, which goes in ledger.password or the environment).

import { clusterFromEnv } from './pg-cluster';

export interface PgLedgerConfig {
  /** The schema's URL with the password in it (for the test's own connections). */
  full: string;
  /** The same without the password: what ledger.url takes. */
  url: string;
  password: string;
}

export async function pgLedger(prefix: string): Promise<PgLedgerConfig> {
  const full = await clusterFromEnv().freshSchema(prefix);
  const u = new URL(full);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { full, url: u.toString(), password };
}
