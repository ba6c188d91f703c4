import fs from 'node:fs';
import path from 'node:path';
import { createClickHouse, pingClickHouse } from '../clients/clickhouse.ts';
import { ensureDebianPackages } from './install.ts';
import { runningPid, startDetached, stopProcess } from './processes.ts';
import type { LocalService, ServiceContext } from './service.ts';
import { renderTemplate } from './templates.ts';

const SERVER_BINARY = '/usr/sbin/clickhouse-server';

/**
 * Debian's clickhouse-server (18.16) from a minimal config of our own: own data directory and
 * ports, loopback only, UTC. The package's system service and /etc config are never used.
 */
export function clickhouseService(ctx: ServiceContext): LocalService {
  const { config, paths } = ctx;
  const { clickhouseHttp: httpPort, clickhouseTcp: tcpPort } = config.dev.ports;
  const serviceDir = paths.serviceDir('clickhouse');
  const configFile = path.join(serviceDir, 'config.xml');
  const usersFile = path.join(serviceDir, 'users.xml');
  const url = `http://127.0.0.1:${httpPort}`;
  const writeUsers = (): void => {
    const users = renderTemplate('clickhouse/users.xml.template', { DATABASE: config.clickhouse.database });
    if (!fs.existsSync(usersFile) || fs.readFileSync(usersFile, 'utf8') !== users) fs.writeFileSync(usersFile, users);
  };

  return {
    name: 'clickhouse',
    endpoint: url,
    ports: [
      { key: 'dev.ports.clickhouseHttp', port: httpPort },
      { key: 'dev.ports.clickhouseTcp', port: tcpPort },
    ],
    dependsOn: [],
    startTimeoutMs: 60_000,
    async install() {
      await ensureDebianPackages('ClickHouse server', ['clickhouse-server', 'clickhouse-client'], () => fs.existsSync(SERVER_BINARY), ctx.logger);
    },
    pid: () => runningPid(paths.pidFile('clickhouse'), configFile),
    async start() {
      writeUsers();
      fs.writeFileSync(
        configFile,
        renderTemplate('clickhouse/config.xml.template', {
          HTTP_PORT: httpPort,
          TCP_PORT: tcpPort,
          DATA_DIR: paths.dataDir('clickhouse'),
          LOG_DIR: serviceDir,
          USERS_XML: usersFile,
          LOG_LEVEL: 'warning',
        }),
      );
      return startDetached({
        command: SERVER_BINARY,
        args: [`--config-file=${configFile}`],
        logFile: paths.logFile('clickhouse'),
        pidFile: paths.pidFile('clickhouse'),
        cwd: serviceDir,
      });
    },
    async probe() {
      await pingClickHouse(url);
      const client = createClickHouse({ ...config.clickhouse, url, username: 'default', password: undefined }, 'default');
      try {
        const [row] = await client.query<{ version: string }>('SELECT version() AS version');
        return `ClickHouse ${row?.version ?? 'unknown'}, database ${config.clickhouse.database}`;
      } finally {
        await client.close();
      }
    },
    async afterHealthy() {
      // A running server reloads users.xml by itself, so a stack started by an older build gets the current users.
      writeUsers();
      const client = createClickHouse({ ...config.clickhouse, url, username: 'default', password: undefined }, 'default');
      try {
        await client.command(`CREATE DATABASE IF NOT EXISTS ${config.clickhouse.database}`);
      } finally {
        await client.close();
      }
    },
    async stop() {
      const pid = this.pid();
      if (pid !== undefined) await stopProcess(pid, 'SIGTERM', 20_000);
    },
  };
}
