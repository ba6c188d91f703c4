import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { ASSETS_DIR } from './templates.ts';

/**
 * The JVM command line shared by the broker and the Connect worker: a bounded heap for a
 * two-core dev machine, log4j2 from our properties file, logs beside the service's data.
 */
export function javaArgs(config: Config, options: { readonly classpath: string; readonly logDir: string; readonly logName: string; readonly mainClass: string; readonly args: readonly string[] }): string[] {
  return [
    `-Xms256m`,
    `-Xmx${config.dev.javaHeap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    // Tiered compilation stopped at C1 would start faster but run slower; keep the default.
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(ASSETS_DIR, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${options.logDir}`,
    `-Dstream.migrate.log.name=${options.logName}`,
    '-cp',
    `${options.classpath}/*`,
    options.mainClass,
    ...options.args,
  ];
}
