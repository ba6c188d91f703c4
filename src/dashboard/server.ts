/**
 * The dashboard's web server (node:http, no framework): one static page, its ES module script,
 * uPlot served from node_modules, and `/events`, a server-sent event stream of snapshots. It
 * collects only while a page is open, one collection at a time, starting one every `intervalMs`
 * (or right after a slower one ends).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { decideAccess, type AccessPolicy } from './auth.ts';

export interface DashboardServerOptions<S> {
  readonly host: string;
  readonly port: number;
  /** null: no token (loopback only). */
  readonly token: string | null;
  readonly intervalMs: number;
  collect(): Promise<S>;
  /** Applied to every serialized snapshot (secrets registered with the command's redactor). */
  readonly redact: (text: string) => string;
  readonly logger: Logger;
}

export interface DashboardServer {
  /** The address to open, without the token. */
  readonly url: string;
  close(): Promise<void>;
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

/** The page's files and uPlot's, read once at start: the server never reads a path a request names. */
function loadAssets(): ReadonlyMap<string, Asset> {
  const uplot = path.join(path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  const files: readonly [string, string, string][] = [
    ['/', path.join(STATIC_DIR, 'index.html'), 'text/html; charset=utf-8'],
    ['/app.js', path.join(STATIC_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
    ['/style.css', path.join(STATIC_DIR, 'style.css'), 'text/css; charset=utf-8'],
    ['/vendor/uplot.esm.js', path.join(uplot, 'uPlot.esm.js'), 'text/javascript; charset=utf-8'],
    ['/vendor/uplot.min.css', path.join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([route, file, type]) => [route, { type, body: fs.readFileSync(file) }]));
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // uPlot sizes its canvases through element styles, hence 'unsafe-inline' for styles only.
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
} as const;

/** Starts listening; resolves once the port is bound (rejects when it cannot be). */
export async function startDashboardServer<S>(options: DashboardServerOptions<S>): Promise<DashboardServer> {
  const assets = loadAssets();
  const clients = new Set<http.ServerResponse>();
  let latest: { readonly json: string; readonly at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let collecting: Promise<void> | undefined;
  let closed = false;
  let policy: AccessPolicy = { token: options.token, cookieName: 'sm_dashboard' };

  const broadcast = (event: string, data: string): void => {
    for (const res of clients) res.write(`event: ${event}\ndata: ${data}\n\n`);
  };

  const cycle = (): void => {
    if (closed || clients.size === 0 || collecting) return;
    const started = Date.now();
    collecting = (async () => {
      try {
        const json = options.redact(JSON.stringify(await options.collect()));
        latest = { json, at: Date.now() };
        broadcast('snapshot', json);
      } catch (error) {
        // Sections never throw; this is a defect, shown on the page rather than a silent stall.
        broadcast('failure', JSON.stringify({ error: options.redact(messageOf(error)) }));
      }
    })().finally(() => {
      collecting = undefined;
      if (!closed && clients.size > 0) timer = setTimeout(cycle, Math.max(0, options.intervalMs - (Date.now() - started)));
    });
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const decision = decideAccess(policy, {
      host: req.headers.host,
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      queryToken: url.searchParams.get('token'),
    });
    if (decision === 'forbidden-host') return plain(res, 403, 'forbidden: open the dashboard through a loopback address (127.0.0.1, localhost), or start it with --host and a token');
    if (decision === 'unauthorized') return plain(res, 401, 'unauthorized: this dashboard needs its token; open the URL it printed (with ?token=...) or send Authorization: Bearer <token>');
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed');
    if (decision === 'allow-and-set-cookie' && url.pathname === '/') {
      // The token moves into an HttpOnly cookie and out of the address bar (and history).
      res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': `${policy.cookieName}=${encodeURIComponent(policy.token ?? '')}; HttpOnly; SameSite=Strict; Path=/` });
      return void res.end();
    }
    if (url.pathname === '/events') return openStream(res);
    if (url.pathname === '/api/snapshot') {
      if (!latest) return plain(res, 503, 'no snapshot yet: open the page (or /events) and retry');
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
      return void res.end(latest.json);
    }
    // Browsers ask for it unprompted; an empty answer keeps a 404 out of the console.
    if (url.pathname === '/favicon.ico') return void res.writeHead(204, SECURITY_HEADERS).end();
    const asset = assets.get(url.pathname);
    if (!asset) return plain(res, 404, 'not found');
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'content-length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  });

  const openStream = (res: http.ServerResponse): void => {
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    // The browser reconnects by itself after this long when the stream drops.
    res.write(`retry: ${options.intervalMs}\n\n`);
    if (latest) res.write(`event: snapshot\ndata: ${latest.json}\n\n`);
    clients.add(res);
    res.on('close', () => clients.delete(res));
    cycle();
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  policy = { ...policy, cookieName: `sm_dashboard_${address.port}` };
  const hostText = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostText}:${address.port}/`;
  options.logger.debug(`dashboard listening on ${url}`);

  return {
    url,
    async close() {
      closed = true;
      clearTimeout(timer);
      for (const res of clients) res.end();
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // A collection in flight finishes (or times out section by section) before its clients close.
      await collecting;
    },
  };
}

function plain(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}
