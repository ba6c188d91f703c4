import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ensureJavaAndMaven, resolveJars } from './install.ts';
import { javaArgs } from './java.ts';
import { runningPid, startDetached, stopProcess } from './processes.ts';
import type { LocalService, ServiceContext } from './service.ts';
import { renderTemplate } from './templates.ts';

const NODE_ID = 1;

/**
 * One Kafka broker in KRaft combined mode (broker + controller), replication factors 1 and
 * transactions enabled, from Maven Central jars run with `java -cp`.
 */
export function kafkaService(ctx: ServiceContext): LocalService {
  const { config, paths } = ctx;
  const { kafka: port, kafkaController: controllerPort } = config.dev.ports;
  const serviceDir = paths.serviceDir('kafka');
  const dataDir = paths.dataDir('kafka');
  const propertiesFile = path.join(serviceDir, 'server.properties');

  const writeProperties = (): void => {
    fs.writeFileSync(
      propertiesFile,
      renderTemplate('kafka/server.properties.template', { NODE_ID, BROKER_PORT: port, CONTROLLER_PORT: controllerPort, DATA_DIR: dataDir }),
    );
  };

  const formatStorage = async (): Promise<void> => {
    if (fs.existsSync(path.join(dataDir, 'meta.properties'))) return;
    const tool = (args: string[]) => execa('java', ['-cp', `${paths.kafkaLib}/*`, 'kafka.tools.StorageTool', ...args]);
    const { stdout } = await tool(['random-uuid']);
    const clusterId = stdout.trim().split('\n').at(-1) ?? '';
    await tool(['format', '-t', clusterId, '-c', propertiesFile, '--ignore-formatted']);
  };

  return {
    name: 'kafka',
    endpoint: `127.0.0.1:${port}`,
    ports: [
      { key: 'dev.ports.kafka', port },
      { key: 'dev.ports.kafkaController', port: controllerPort },
    ],
    dependsOn: [],
    startTimeoutMs: 90_000,
    async install() {
      await ensureJavaAndMaven(ctx.logger);
      await resolveJars('kafka/pom.xml', paths.kafkaLib, ctx.logger, { 'kafka.version': config.dev.versions.kafka });
    },
    pid: () => runningPid(paths.pidFile('kafka'), propertiesFile),
    async start() {
      fs.mkdirSync(dataDir, { recursive: true });
      writeProperties();
      await formatStorage();
      return startDetached({
        command: 'java',
        args: javaArgs(config, { classpath: paths.kafkaLib, logDir: serviceDir, logName: 'kafka', mainClass: 'kafka.Kafka', args: [propertiesFile] }),
        logFile: paths.logFile('kafka'),
        pidFile: paths.pidFile('kafka'),
        cwd: serviceDir,
      });
    },
    async probe() {
      // Loaded on demand: the Kafka client library takes half a second to import.
      const { createKafkaAdmin } = await import('../clients/kafka.ts');
      const admin = createKafkaAdmin({ brokers: [`127.0.0.1:${port}`], clientId: 'stream-migrate-dev' }, 'probe');
      try {
        const cluster = await admin.cluster();
        return `Kafka ${config.dev.versions.kafka} KRaft, cluster ${cluster.clusterId}, ${cluster.brokers} broker`;
      } finally {
        await admin.close().catch(() => undefined);
      }
    },
    async stop() {
      const pid = this.pid();
      if (pid !== undefined) await stopProcess(pid, 'SIGTERM', 30_000);
    },
  };
}
