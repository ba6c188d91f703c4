import fs from 'node:fs';
import path from 'node:path';
import { ensureJavaAndMaven, resolveJars } from './install.ts';
import { javaArgs } from './java.ts';
import { runningPid, startDetached, stopProcess } from './processes.ts';
import type { LocalService, ServiceContext } from './service.ts';
import { renderTemplate } from './templates.ts';

export const DEBEZIUM_POSTGRES_CONNECTOR = 'io.debezium.connector.postgresql.PostgresConnector';
const GROUP_ID = 'stream-migrate-connect';

/**
 * One Kafka Connect worker in distributed mode with the Debezium PostgreSQL connector on its
 * plugin path. Healthy means its REST API lists that connector class.
 */
export function connectService(ctx: ServiceContext): LocalService {
  const { config, paths } = ctx;
  const port = config.dev.ports.connect;
  const serviceDir = paths.serviceDir('connect');
  const propertiesFile = path.join(serviceDir, 'connect-distributed.properties');
  const secretsDir = path.join(paths.root, 'secrets');

  return {
    name: 'connect',
    endpoint: `http://127.0.0.1:${port}`,
    ports: [{ key: 'dev.ports.connect', port }],
    dependsOn: ['kafka'],
    startTimeoutMs: 120_000,
    async install() {
      await ensureJavaAndMaven(ctx.logger);
      await resolveJars('debezium/pom.xml', path.join(paths.connectPlugins, 'debezium-connector-postgres'), ctx.logger, {
        'debezium.version': config.dev.versions.debezium,
      });
    },
    pid: () => runningPid(paths.pidFile('connect'), propertiesFile),
    async start() {
      fs.mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(
        propertiesFile,
        renderTemplate('kafka/connect-distributed.properties.template', {
          BROKER_PORT: config.dev.ports.kafka,
          CONNECT_PORT: port,
          CONNECT_GROUP_ID: GROUP_ID,
          PLUGIN_PATH: paths.connectPlugins,
          // Connector passwords reach the worker as STREAM_MIGRATE_* variables or files in secrets/.
          ENV_ALLOWLIST_PATTERN: 'STREAM_MIGRATE_.*',
          FILE_ALLOWED_PATHS: secretsDir,
        }),
      );
      return startDetached({
        command: 'java',
        args: javaArgs(config, {
          classpath: paths.kafkaLib,
          logDir: serviceDir,
          logName: 'connect',
          mainClass: 'org.apache.kafka.connect.cli.ConnectDistributed',
          args: [propertiesFile],
        }),
        logFile: paths.logFile('connect'),
        pidFile: paths.pidFile('connect'),
        cwd: serviceDir,
      });
    },
    async probe() {
      const response = await fetch(`http://127.0.0.1:${port}/connector-plugins`, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`GET /connector-plugins answered ${response.status}`);
      const plugins = (await response.json()) as unknown;
      const debezium = Array.isArray(plugins)
        ? plugins.find((p): p is { class: string; version?: string } => typeof p === 'object' && p !== null && (p as { class?: unknown }).class === DEBEZIUM_POSTGRES_CONNECTOR)
        : undefined;
      if (!debezium) throw new Error(`Connect is up but ${DEBEZIUM_POSTGRES_CONNECTOR} is not on its plugin path (${paths.connectPlugins})`);
      return `Kafka Connect, Debezium PostgreSQL connector ${debezium.version ?? '(version unknown)'}`;
    },
    async stop() {
      const pid = this.pid();
      if (pid !== undefined) await stopProcess(pid, 'SIGTERM', 30_000);
    },
  };
}
