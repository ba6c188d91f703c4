import type pg from 'pg';

/**
 * Runs `fn` while holding the session-level advisory lock `key` if nobody else holds it; `held`
 * says which. The lock lives on one pooled connection for the whole of `fn`, and is released after.
 */
export async function withTryAdvisoryLock<T>(pool: pg.Pool, key: string, fn: (held: boolean) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key]);
    const held = rows[0]?.locked === true;
    try {
      return await fn(held);
    } finally {
      if (held) await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
    }
  } finally {
    client.release();
  }
}
