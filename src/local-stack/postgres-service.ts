import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { withPostgres } from '../clients/postgres.ts';
import { DependencyError } from '../core/errors.ts';
import { ensureDebianPackages } from './install.ts';
import { runningPid, startDetached, stopProcess } from './processes.ts';
import type { LocalService, ServiceContext } from './service.ts';

/** Databases the stack promises: the OLTP source and the warehouse (batch outputs + state). */
const DATABASES = ['source', 'warehouse'] as const;

/**
 * The local PostgreSQL: Debian's server binaries, a cluster of our own under .stream-migrate/
 * with wal_level=logical so Debezium can stream from it. initdb and postgres refuse to run as
 * root, so as root the cluster belongs to the `postgres` system user.
 */
export function postgresService(ctx: ServiceContext): LocalService {
  const { config, paths } = ctx;
  const port = config.dev.ports.postgres;
  const linkedDataDir = paths.dataDir('postgres');
  // The real cluster directory: .stream-migrate/postgres/data, or where its symlink points (see initCluster).
  const dataDirOf = (): string => (fs.existsSync(linkedDataDir) ? fs.realpathSync(linkedDataDir) : linkedDataDir);
  let dataDir = dataDirOf();
  const serviceDir = paths.serviceDir('postgres');
  const target = { url: `postgresql://postgres@127.0.0.1:${port}/postgres` };

  const owner = (): { uid: number; gid: number } | undefined => {
    if (process.getuid?.() !== 0) return undefined;
    const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
    const [, , uid, gid] = line?.split(':') ?? [];
    if (uid === undefined || gid === undefined) {
      throw new DependencyError('running as root needs the `postgres` system user to own the local cluster; install the postgresql package', {
        retriable: false,
      });
    }
    return { uid: Number(uid), gid: Number(gid) };
  };

  const initCluster = async (): Promise<void> => {
    if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return;
    fs.mkdirSync(serviceDir, { recursive: true });
    const user = owner();
    if (user) {
      fs.chownSync(serviceDir, user.uid, user.gid);
      const blocked = untraversable(serviceDir, user.uid);
      if (blocked) {
        // The postgres user cannot reach the working directory (e.g. under /root): keep the cluster
        // where it can, and link it from .stream-migrate/postgres/data so it is still found there.
        const real = path.join('/var/tmp/stream-migrate', createHash('sha1').update(serviceDir).digest('hex').slice(0, 16), 'data');
        fs.mkdirSync(path.dirname(real), { recursive: true });
        fs.chownSync(path.dirname(real), user.uid, user.gid);
        fs.rmSync(linkedDataDir, { recursive: true, force: true });
        fs.symlinkSync(real, linkedDataDir);
        dataDir = real;
        ctx.logger.info(`postgres: the postgres user cannot enter ${blocked}; the cluster lives in ${real} (linked from ${linkedDataDir})`);
      }
    }
    ctx.logger.info(`postgres: creating cluster in ${dataDir}`);
    await execa(path.join(binDir(), 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-instructions'], {
      ...(user ?? {}),
      cwd: os.tmpdir(),
    });
    fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), "\ninclude_if_exists = 'stream-migrate.conf'\n");
  };

  const writeSettings = (): void => {
    // Rewritten at each start so a changed port in the configuration takes effect.
    const settings = [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'wal_level = logical',
      'max_replication_slots = 16',
      'max_wal_senders = 16',
      // A stopped connector must not fill a developer's disk: the slot is invalidated instead.
      'max_slot_wal_keep_size = 4GB',
      'max_connections = 200',
      'shared_buffers = 256MB',
      // Local stack only: fast commits for the load generator; a crash may lose the last ms, never corrupt.
      'synchronous_commit = off',
      // With asynchronous commits WAL is flushed by the WAL writer every wal_writer_delay (200 ms by
      // default), and logical decoding sends only flushed WAL: Debezium saw each commit 0-200 ms late
      // (the commit -> CDC topic leg was ~215 ms at its median). 10 ms bounds that at 100 flushes/s.
      'wal_writer_delay = 10ms',
      "timezone = 'UTC'",
      "log_timezone = 'UTC'",
    ];
    const file = path.join(dataDir, 'stream-migrate.conf');
    fs.writeFileSync(file, settings.join('\n') + '\n');
    const user = owner();
    if (user) fs.chownSync(file, user.uid, user.gid);
  };

  return {
    name: 'postgres',
    endpoint: `127.0.0.1:${port}`,
    ports: [{ key: 'dev.ports.postgres', port }],
    dependsOn: [],
    startTimeoutMs: 60_000,
    async install() {
      await ensureDebianPackages('PostgreSQL server', ['postgresql'], () => findBinDir() !== undefined, ctx.logger);
      if (process.getuid?.() === 0) owner();
    },
    pid: () => runningPid(paths.pidFile('postgres'), dataDirOf()),
    async start() {
      dataDir = dataDirOf();
      await initCluster();
      writeSettings();
      const user = owner();
      return startDetached({
        command: path.join(binDir(), 'postgres'),
        args: ['-D', dataDir],
        logFile: paths.logFile('postgres'),
        pidFile: paths.pidFile('postgres'),
        cwd: os.tmpdir(),
        ...(user ?? {}),
      });
    },
    async probe() {
      return withPostgres(target, 'local', async (client) => {
        const { rows } = await client.query<{ version: string; wal_level: string }>(
          "SELECT current_setting('server_version') AS version, current_setting('wal_level') AS wal_level",
        );
        const row = rows[0];
        return `PostgreSQL ${row?.version}, wal_level=${row?.wal_level}, databases ${DATABASES.join(', ')}`;
      });
    },
    async afterHealthy() {
      await withPostgres(target, 'local', async (client) => {
        for (const name of DATABASES) {
          const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
          if (rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
        }
      });
    },
    async stop() {
      const pid = this.pid();
      dataDir = dataDirOf();
      // SIGINT is PostgreSQL's "fast" shutdown: clean, without waiting for clients to leave.
      if (pid !== undefined) await stopProcess(pid, 'SIGINT', 30_000);
    },
  };
}

function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

function binDir(): string {
  const dir = findBinDir();
  if (!dir) throw new DependencyError('PostgreSQL server binaries not found under /usr/lib/postgresql; install the postgresql package', { retriable: false });
  return dir;
}

/** The first parent folder the postgres user cannot pass through, if any. */
function untraversable(dir: string, uid: number): string | undefined {
  for (let current = path.dirname(dir); current !== path.dirname(current); current = path.dirname(current)) {
    const stat = fs.statSync(current);
    const othersCanEnter = (stat.mode & 0o001) !== 0;
    if (stat.uid !== uid && !othersCanEnter) return current;
  }
  return undefined;
}
