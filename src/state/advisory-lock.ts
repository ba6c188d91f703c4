import type pg from 'pg';

/**
 * Runs `fn` while holding the session-level advisory lock `key` if nobody else holds it; `held`
 * says which. The lock lives on one pooled connection for the whole of `fn`, and is released after.
 * The holder's connection is named after `owner` (its application_name), so a command refused the
 * lock can say who holds it: `holder` describes that session when `held` is false.
 */
export async function withTryAdvisoryLock<T>(pool: pg.Pool, key: string, fn: (held: boolean, holder: string | undefined) => Promise<T>, owner?: string): Promise<T> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key]);
    const held = rows[0]?.locked === true;
    // application_name is at most 63 bytes; it is what pg_stat_activity shows other sessions.
    if (held && owner !== undefined) await client.query(`SELECT set_config('application_name', $1, false)`, [owner.slice(0, 63)]);
    const holder = held ? undefined : await lockHolder(client, key);
    try {
      return await fn(held, holder);
    } finally {
      if (held) {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
        if (owner !== undefined) await client.query(`SELECT set_config('application_name', 'stream-migrate', false)`);
      }
    }
  } finally {
    client.release();
  }
}

/** "stream-migrate rollback by alice@host (pid 4242, connected since 2026-11-25T10:00:00.000Z)", or undefined if it is gone. */
async function lockHolder(client: pg.PoolClient, key: string): Promise<string | undefined> {
  // A bigint advisory key is stored as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
  const { rows } = await client.query<{ application_name: string; pid: number; since: Date | null }>(
    `SELECT a.application_name, a.pid, a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = ((hashtext($1)::bigint >> 32) & 4294967295) AND l.objid::bigint = (hashtext($1)::bigint & 4294967295)
      LIMIT 1`,
    [key],
  );
  const row = rows[0];
  if (!row) return undefined;
  return `${row.application_name || 'an unnamed session'} (pid ${row.pid}${row.since ? `, connected since ${row.since.toISOString()}` : ''})`;
}
