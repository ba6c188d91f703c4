import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { DependencyError, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { ASSETS_DIR } from './templates.ts';

let aptUpdated = false;

/** Installs Debian packages when `present()` says they are missing; a no-op otherwise. */
export async function ensureDebianPackages(what: string, packages: readonly string[], present: () => boolean, logger: Logger): Promise<void> {
  if (present()) return;
  if (process.getuid?.() !== 0) {
    throw new DependencyError(`${what} is not installed and installing it needs root: run \`sudo apt-get install -y ${packages.join(' ')}\``, {
      retriable: false,
    });
  }
  logger.info(`installing ${what} (apt-get install ${packages.join(' ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    if (!aptUpdated) {
      await execa('apt-get', ['update', '-qq'], { env });
      aptUpdated = true;
    }
    await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  } catch (error) {
    throw new DependencyError(`apt-get could not install ${packages.join(' ')}: ${firstLine(error)}; run it by hand to see why`, {
      retriable: false,
      cause: error,
    });
  }
  if (!present()) throw new DependencyError(`${what} is still missing after installing ${packages.join(' ')}`, { retriable: false });
}

/** Fails with a clear line when Java 17+ or Maven is absent; both are prerequisites of Kafka's jars. */
export async function ensureJavaAndMaven(logger: Logger): Promise<void> {
  await ensureDebianPackages('java', ['openjdk-17-jre-headless'], () => onPath('java'), logger);
  await ensureDebianPackages('mvn', ['maven'], () => onPath('mvn'), logger);
  const { stderr } = await execa('java', ['-version']);
  const major = Number(/version "(\d+)/.exec(stderr)?.[1] ?? 0);
  if (major < 17) {
    throw new DependencyError(`java ${major} found but Kafka 4 needs Java 17 or newer: install openjdk-17-jre-headless or set JAVA_HOME`, {
      retriable: false,
    });
  }
}

/**
 * Resolves the runtime jars of an asset pom into `outputDir` with Maven (its ~/.m2 cache makes the
 * second time quick). A marker file records success so an interrupted copy is redone.
 */
export async function resolveJars(pomRelative: string, outputDir: string, logger: Logger, properties: Readonly<Record<string, string>> = {}): Promise<void> {
  const marker = path.join(outputDir, '.resolved');
  if (fs.existsSync(marker)) return;
  fs.rmSync(outputDir, { recursive: true, force: true });
  fs.mkdirSync(outputDir, { recursive: true });
  logger.info(`resolving ${path.dirname(pomRelative)} jars from Maven Central into ${outputDir}`);
  const args = [
    '-q',
    '-B',
    '-f',
    path.join(ASSETS_DIR, pomRelative),
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${outputDir}`,
    ...Object.entries(properties).map(([k, v]) => `-D${k}=${v}`),
  ];
  try {
    await execa('mvn', args);
  } catch (error) {
    throw new DependencyError(`mvn could not resolve ${pomRelative}: ${firstLine(error)}; check Maven Central is reachable (~/.m2/settings.xml)`, {
      retriable: true,
      cause: error,
    });
  }
  fs.writeFileSync(marker, new Date().toISOString() + '\n');
}

export function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && isExecutable(path.join(dir, binary)));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function firstLine(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === 'string' && stderr.trim() ? stderr : messageOf(error);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error/i.test(l)) ?? lines[0] ?? 'unknown error';
}
