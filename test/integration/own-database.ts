import { withPostgres, type PostgresTarget } from '../../src/clients/postgres.ts';

/** A PostgreSQL database of one test's own, on the server of the target it was made from. */
export interface OwnDatabase {
  readonly name: string;
  /** The target's URL with this database in place of the target's. */
  readonly url: string;
  create(): Promise<void>;
  /** Drops the database, ending whatever sessions are still connected to it. */
  drop(): Promise<void>;
}

/**
 * A database `name` beside `server`'s (same host, port and credentials), created and dropped
 * through the server's `postgres` database, so a test's rows and tables are nobody else's.
 */
export function ownDatabase(server: PostgresTarget, name: string): OwnDatabase {
  const on = (database: string): PostgresTarget => {
    const url = new URL(server.url);
    url.pathname = `/${database}`;
    return { ...server, url: url.toString() };
  };
  const admin = on('postgres');
  return {
    name,
    url: on(name).url,
    create: () => withPostgres(admin, 'admin', async (c) => void (await c.query(`CREATE DATABASE ${name}`))),
    drop: () => withPostgres(admin, 'admin', async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
