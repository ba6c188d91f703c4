import type { Config } from '../config/schema.ts';

/** True when a URL points at this machine's loopback on `port` (WHATWG URLs keep IPv6 brackets: [::1]). */
function isLoopbackOn(url: string, port: number): boolean {
  try {
    const parsed = new URL(url);
    return ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) && Number(parsed.port) === port;
  } catch {
    return false;
  }
}

/** True when a PostgreSQL URL points at the embedded local stack (loopback, the dev port). */
export function isLocalStackPostgres(url: string, config: Pick<Config, 'dev'>): boolean {
  return isLoopbackOn(url, config.dev.ports.postgres);
}

/** True when a ClickHouse URL points at the embedded local stack (loopback, the dev HTTP port). */
export function isLocalStackClickHouse(url: string, config: Pick<Config, 'dev'>): boolean {
  return isLoopbackOn(url, config.dev.ports.clickhouseHttp);
}
