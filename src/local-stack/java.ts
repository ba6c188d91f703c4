import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Config } from '../config/schema.ts';
import { DependencyError } from '../core/errors.ts';
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

const JVM_DIR = '/usr/lib/jvm';

export interface JavaRuntime {
  readonly bin: string;
  readonly major: number;
}

/**
 * A Java runtime of at least `min`: JAVA_HOME when it is new enough, else the newest JDK under
 * /usr/lib/jvm (this machine kind has Temurin there beside Debian's OpenJDK 17).
 */
export async function findJava(min: number): Promise<JavaRuntime> {
  const homes = [process.env.JAVA_HOME, ...jvmDirs()].filter((h): h is string => h !== undefined && h !== '');
  const found: JavaRuntime[] = [];
  for (const home of homes) {
    const bin = path.join(home, 'bin', 'java');
    if (!fs.existsSync(bin)) continue;
    const major = releaseMajor(home) ?? (await versionMajor(bin));
    if (major !== undefined) found.push({ bin, major });
  }
  const fit = found.filter((j) => j.major >= min).sort((a, b) => b.major - a.major);
  if (fit[0]) return fit[0];
  const seen = found.length > 0 ? found.map((j) => `${j.major}`).join(', ') : 'none';
  throw new DependencyError(
    `the schema registry (Apicurio 3.x) needs Java ${min} or newer and found Java ${seen}: install a JDK ${min}+ under ${JVM_DIR} (e.g. Temurin 21 or 25) or set JAVA_HOME to one`,
    { retriable: false },
  );
}

function jvmDirs(): string[] {
  try {
    return fs.readdirSync(JVM_DIR).map((d) => path.join(JVM_DIR, d));
  } catch {
    return [];
  }
}

/** JAVA_VERSION="25.0.1" or "1.8.0_412" from a JDK's `release` file, without starting a JVM. */
function releaseMajor(home: string): number | undefined {
  try {
    const match = /^JAVA_VERSION="(\d+)(?:\.(\d+))?/m.exec(fs.readFileSync(path.join(home, 'release'), 'utf8'));
    if (!match) return undefined;
    const first = Number(match[1]);
    return first === 1 ? Number(match[2]) : first;
  } catch {
    return undefined;
  }
}

async function versionMajor(bin: string): Promise<number | undefined> {
  try {
    const { stderr } = await execa(bin, ['-version']);
    const match = /version "(\d+)/.exec(stderr);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
