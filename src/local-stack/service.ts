import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { ServiceName, StackPaths } from './paths.ts';

export interface PortClaim {
  /** The configuration key that changes this port, named in the error when it is taken. */
  readonly key: string;
  readonly port: number;
}

export interface ServiceContext {
  readonly config: Config;
  readonly paths: StackPaths;
  readonly logger: Logger;
}

/**
 * One service of the embedded local stack. `install` and `start` are idempotent; `probe` asks the
 * service a real question (SQL, Kafka metadata, REST, HTTP ping) and returns a one-line detail.
 */
export interface LocalService {
  readonly name: ServiceName;
  readonly endpoint: string;
  readonly ports: readonly PortClaim[];
  /** Services that must be healthy before this one starts. */
  readonly dependsOn: readonly ServiceName[];
  /** How long a cold start may take before it counts as failed. */
  readonly startTimeoutMs: number;
  install(): Promise<void>;
  /** The pid of our running process, if any. */
  pid(): number | undefined;
  start(): Promise<number>;
  probe(): Promise<string>;
  /** Runs once the service is healthy: databases and other things the stack promises. */
  afterHealthy?(): Promise<void>;
  stop(): Promise<void>;
}
