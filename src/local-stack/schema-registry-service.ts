import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { DependencyError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { ensureJavaAndMaven } from './install.ts';
import { findJava } from './java.ts';
import { runningPid, startDetached, stopProcess } from './processes.ts';
import type { LocalService, ServiceContext } from './service.ts';
import { ASSETS_DIR } from './templates.ts';

/** Apicurio Registry 3.x is built for Java 21; the machine's default Java (17) refuses its classes. */
const REGISTRY_MIN_JAVA = 21;

/**
 * Apicurio Registry 3.x from Maven Central (a Quarkus fast-jar run with `java -jar`), serving its
 * Confluent-compatible API on `dev.ports.schemaRegistry`. Storage is a file-backed H2 database
 * under `.stream-migrate/schema-registry/data/`, so subjects survive a restart. Healthy means the
 * ccompat API answers `GET /subjects`.
 */
export function schemaRegistryService(ctx: ServiceContext): LocalService {
  const { config, paths } = ctx;
  const { schemaRegistry: port, schemaRegistryManagement: managementPort } = config.dev.ports;
  const serviceDir = paths.serviceDir('schema-registry');
  const dataDir = paths.dataDir('schema-registry');
  // Part of the command line, so a recorded pid is recognised as this stack's registry only.
  const marker = `-Dstream.migrate.registry.dir=${serviceDir}`;

  return {
    name: 'schema-registry',
    endpoint: `http://127.0.0.1:${port}`,
    ports: [
      { key: 'dev.ports.schemaRegistry', port },
      { key: 'dev.ports.schemaRegistryManagement', port: managementPort },
    ],
    dependsOn: [],
    // About 10 s on an idle machine; three times that while Kafka and Connect start beside it.
    startTimeoutMs: 180_000,
    async install() {
      await ensureJavaAndMaven(ctx.logger);
      await findJava(REGISTRY_MIN_JAVA);
      await unpackApicurio(paths.apicurioHome, config.dev.versions.apicurio, ctx.logger);
    },
    pid: () => runningPid(paths.pidFile('schema-registry'), marker),
    async start() {
      fs.mkdirSync(dataDir, { recursive: true });
      const java = await findJava(REGISTRY_MIN_JAVA);
      return startDetached({
        command: java.bin,
        args: [
          '-Xms64m',
          '-Xmx256m',
          '-XX:+UseSerialGC',
          '-XX:+ExitOnOutOfMemoryError',
          marker,
          `-Dquarkus.http.host=127.0.0.1`,
          `-Dquarkus.http.port=${port}`,
          `-Dquarkus.management.host=127.0.0.1`,
          `-Dquarkus.management.port=${managementPort}`,
          // The default is an in-memory H2 database, lost on every restart.
          `-Dapicurio.datasource.url=jdbc:h2:file:${path.join(dataDir, 'registry')}`,
          // Twenty pooled connections by default: a dev stack needs a few.
          '-Dapicurio.datasource.jdbc.initial-size=2',
          '-Dapicurio.datasource.jdbc.min-size=2',
          '-Dapicurio.datasource.jdbc.max-size=10',
          `-Dapicurio.storage.snapshot.location=${serviceDir}`,
          `-Dapicurio.import.work-dir=${serviceDir}`,
          // No OpenTelemetry collector runs here; without this it logs export failures.
          '-Dquarkus.otel.enabled=false',
          '-jar',
          path.join(paths.apicurioHome, 'quarkus-run.jar'),
        ],
        logFile: paths.logFile('schema-registry'),
        pidFile: paths.pidFile('schema-registry'),
        cwd: serviceDir,
      });
    },
    async probe() {
      const base = `http://127.0.0.1:${port}`;
      const subjects = await fetch(`${base}/apis/ccompat/v7/subjects`, { signal: AbortSignal.timeout(5_000) });
      if (!subjects.ok) throw new Error(`GET /apis/ccompat/v7/subjects answered ${subjects.status}`);
      const list = (await subjects.json()) as unknown;
      const count = Array.isArray(list) ? list.length : 0;
      const info = await fetch(`${base}/apis/registry/v3/system/info`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      const version = info?.ok ? ((await info.json()) as { version?: unknown }).version : undefined;
      return `Apicurio Registry ${typeof version === 'string' ? version : config.dev.versions.apicurio} (Confluent-compatible API), ${count} subject${count === 1 ? '' : 's'}`;
    },
    async stop() {
      const pid = this.pid();
      if (pid !== undefined) await stopProcess(pid, 'SIGTERM', 30_000);
    },
  };
}

/**
 * Unpacks `io.apicurio:apicurio-registry-app:<version>:tar.gz:all` into `home` with Maven (its
 * ~/.m2 cache makes a second time quick). A marker file records success, so an interrupted
 * unpack is redone and a finished one skipped.
 */
async function unpackApicurio(home: string, version: string, logger: Logger): Promise<void> {
  const marker = path.join(home, '.resolved');
  if (fs.existsSync(marker)) return;
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(home, { recursive: true });
  logger.info(`resolving Apicurio Registry ${version} from Maven Central into ${home}`);
  try {
    await execa('mvn', [
      '-q',
      '-B',
      '-f',
      path.join(ASSETS_DIR, 'apicurio', 'pom.xml'),
      'dependency:unpack',
      `-Dapicurio.version=${version}`,
      // Output and the plugin's markers both go there (the pom says so), never into the source tree.
      `-Dapicurio.home=${home}`,
    ]);
  } catch (error) {
    const stderr = String((error as { stdout?: unknown }).stdout ?? '') + String((error as { stderr?: unknown }).stderr ?? '');
    const line = stderr.split('\n').find((l) => /ERROR/.test(l))?.trim() ?? 'unknown error';
    throw new DependencyError(`mvn could not unpack io.apicurio:apicurio-registry-app:${version}: ${line.slice(0, 300)}; check Maven Central is reachable (~/.m2/settings.xml)`, {
      retriable: true,
      cause: error,
    });
  }
  if (!fs.existsSync(path.join(home, 'quarkus-run.jar'))) {
    throw new DependencyError(`io.apicurio:apicurio-registry-app:${version} unpacked into ${home} without quarkus-run.jar; is ${version} a 3.x release?`, { retriable: false });
  }
  fs.writeFileSync(marker, new Date().toISOString() + '\n');
}
