/* global fetch, URL */
// `npm run example`: serves the built page (dist/) and proxies POST /graphql to the gateway, so
// the page and its API share one origin and no CORS is needed. (A page built with
// VITE_GATEWAY_URL calls the gateway directly instead, across origins: see the README's CORS.)
//   GATEWAY_URL   the gateway's GraphQL endpoint (default http://localhost:4000/graphql)
//   EXAMPLE_PORT  this server's port (default 5173)
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};
const MAX_BODY_BYTES = 1024 * 1024;
/** Request headers the gateway needs; cookies and the rest stay here. */
const FORWARDED = ['authorization', 'content-type', 'accept', 'x-request-id'];
/** Response headers the page reads: rate limits and the request id. */
const RETURNED = ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-request-id'];

function send(res, status, body, type = 'text/plain; charset=utf-8', extra = {}) {
  res.writeHead(status, { ...extra, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function proxy(req, res, gatewayUrl) {
  let body;
  try {
    body = await readBody(req);
  } catch {
    return send(res, 413, 'Request body too large.');
  }
  const headers = {};
  for (const name of FORWARDED) if (req.headers[name]) headers[name] = req.headers[name];
  let upstream;
  try {
    upstream = await fetch(gatewayUrl, { method: 'POST', headers, body });
  } catch (err) {
    const message = `The gateway at ${gatewayUrl} did not answer (${err.cause?.code ?? err.message}). Is \`npm start\` running?`;
    return send(res, 502, JSON.stringify({ errors: [{ message, extensions: { code: 'GATEWAY_UNREACHABLE' } }] }), 'application/json; charset=utf-8');
  }
  const text = await upstream.text();
  const returned = {};
  for (const name of RETURNED) {
    const value = upstream.headers.get(name);
    if (value !== null) returned[name] = value;
  }
  send(res, upstream.status, text, upstream.headers.get('content-type') ?? 'application/json; charset=utf-8', returned);
}

function serveFile(req, res, root) {
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    return send(res, 400, 'Malformed path.');
  }
  const file = resolve(join(root, path.endsWith('/') ? `${path}index.html` : path));
  // Never outside the build folder.
  if (file !== root && !file.startsWith(root + sep)) return send(res, 404, 'Not found.');
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return send(res, 404, 'Not found.');
  }
  if (!stat.isFile()) return send(res, 404, 'Not found.');
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': stat.size,
    // Vite's hashed assets never change; the page itself must be fetched again.
    'cache-control': path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
}

/**
 * Starts the server; resolves once it listens. `port` 0 picks a free one.
 * @param {{ root?: string, gatewayUrl?: string | null, port?: number, host?: string }} [options]
 */
export function startExampleServer(options = {}) {
  const root = resolve(options.root ?? fileURLToPath(new URL('./dist', import.meta.url)));
  // null: no proxy at all (a page built with VITE_GATEWAY_URL talks to the gateway itself).
  const gatewayUrl = options.gatewayUrl === undefined ? 'http://localhost:4000/graphql' : options.gatewayUrl;
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname === '/graphql' && gatewayUrl !== null) {
      if (req.method === 'POST') {
        proxy(req, res, gatewayUrl).catch(() => {
          if (!res.headersSent) send(res, 502, 'Proxy error.');
          else res.end();
        });
        return;
      }
      return send(res, 405, 'POST only: the playground is on the gateway itself.');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed.');
    serveFile(req, res, root);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 5173, options.host ?? '127.0.0.1', () => {
      const { port } = server.address();
      resolvePromise({
        url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
        port,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const gatewayUrl = process.env.GATEWAY_URL || 'http://localhost:4000/graphql';
  const port = Number(process.env.EXAMPLE_PORT || 5173);
  const host = process.env.EXAMPLE_HOST || '127.0.0.1';
  try {
    statSync(fileURLToPath(new URL('./dist/index.html', import.meta.url)));
  } catch {
    console.error('No build found: run `npm run example` (it builds the page first).');
    process.exit(1);
  }
  const server = await startExampleServer({ gatewayUrl, port, host });
  console.log(`Profile page: ${server.url.replace('127.0.0.1', 'localhost')} (POST /graphql goes to ${gatewayUrl})`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
