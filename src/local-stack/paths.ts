import path from 'node:path';
import type { Config } from '../config/schema.ts';

export type ServiceName = 'postgres' | 'kafka' | 'connect' | 'clickhouse' | 'schema-registry';
export const SERVICE_NAMES: readonly ServiceName[] = ['postgres', 'kafka', 'connect', 'clickhouse', 'schema-registry'];

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

/** Where the local stack keeps data, logs, pid files (per working directory) and downloaded jars (shared). */
export interface StackPaths {
  readonly root: string;
  readonly cache: string;
  serviceDir(name: ServiceName): string;
  dataDir(name: ServiceName): string;
  logFile(name: ServiceName): string;
  pidFile(name: ServiceName): string;
  /** Resolved Kafka/Connect jars, shared by every checkout on the machine. */
  readonly kafkaLib: string;
  readonly connectPlugins: string;
  /** The unpacked Apicurio Registry (a Quarkus fast-jar: quarkus-run.jar and lib/). */
  readonly apicurioHome: string;
}

export function stackPaths(config: Config, cwd: string): StackPaths {
  const root = path.resolve(cwd, config.dev.dir);
  const cache = path.resolve(cwd, config.dev.cacheDir);
  const serviceDir = (name: ServiceName) => path.join(root, name);
  return {
    root,
    cache,
    serviceDir,
    dataDir: (name) => path.join(serviceDir(name), 'data'),
    logFile: (name) => path.join(serviceDir(name), `${name}.log`),
    pidFile: (name) => path.join(serviceDir(name), `${name}.pid`),
    kafkaLib: path.join(cache, `kafka-${config.dev.versions.kafka}`, 'lib'),
    connectPlugins: path.join(cache, `debezium-${config.dev.versions.debezium}`, 'plugins'),
    apicurioHome: path.join(cache, `apicurio-${config.dev.versions.apicurio}`),
  };
}
