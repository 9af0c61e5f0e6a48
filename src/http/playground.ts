// The playground (GraphiQL at GET /graphql from a browser) as a small page and cacheable files.
// GraphiQL comes from @graphql-yoga/render-graphiql, whose renderGraphiQL() inlines all of it
// (about 9 MB) into one page. Its parts are served here as separate files from the gateway itself
// (offline, no CDN), each named by a hash of its content, so a browser keeps them for a year and
// fetches only the page again; the page is revalidated by ETag (304). Files go out brotli- or
// gzip-compressed when the browser accepts it, each compressed once per process on first demand
// (compressing all of GraphiQL costs seconds of CPU, which a gateway that never serves it should
// not pay at start).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import Negotiator from 'negotiator';

/** Where the page's files are served; each name carries a hash of its content. */
export const PLAYGROUND_ASSETS_PATH = '/graphql/playground/';

/** The parts of GraphiQL that render-graphiql inlines (its internal module, pinned by version). */
interface YogaGraphiQLParts {
  js: string;
  css: string;
  favicon: string;
  editorWorkerService: string;
  jsonWorker: string;
  graphqlWorker: string;
}

// The playground opens on one user and what the caller may change in that profile, and why not.
export const PLAYGROUND_QUERY = `# A user, and which profile fields the caller
# may change, and why not.
# 1. Paste a token after "Bearer " in Headers:
#    npm start prints an administrator's token;
#    npm run token -- --sub USER_ID: a user's.
# 2. Run: Ctrl+Enter. Docs: the book icon.
query UserWithPolicies($email: String) {
  users(first: 1, filter: { email: $email }) {
    edges {
      node {
        id
        email
        name
        connection {
          name
          kind
          syncUserRootAttributes
        }
        fieldPolicies {
          field
          editable
          reason
          message
        }
      }
    }
  }
}
`;
/** The demo tenant's Google user (its name is synced from the provider); any email works. */
const PLAYGROUND_VARIABLES = JSON.stringify({ email: 'gabriel.silva@gmail.example' }, null, 2);
const PLAYGROUND_HEADERS = JSON.stringify({ Authorization: 'Bearer ' }, null, 2);

/** What YogaGraphiQL.renderYogaGraphiQL() is given (the options renderGraphiQL() takes). */
const PLAYGROUND_OPTIONS = {
  title: 'Profile gateway',
  defaultTabs: [{ query: PLAYGROUND_QUERY, variables: PLAYGROUND_VARIABLES, headers: PLAYGROUND_HEADERS }],
  defaultQuery: PLAYGROUND_QUERY,
  // The variables editor's initial value (defaultTabs alone leaves that editor empty).
  variables: PLAYGROUND_VARIABLES,
  headers: PLAYGROUND_HEADERS,
  defaultHeaders: PLAYGROUND_HEADERS,
  // The headers pane is open at start; tokens are not kept in the browser's storage.
  isHeadersEditorEnabled: true,
  defaultEditorToolsVisibility: 'headers',
  shouldPersistHeaders: false,
};

type Encoding = 'br' | 'gzip';
const compressors: Record<Encoding, (body: Buffer) => Promise<Buffer>> = {
  // Quality 5: about 4x smaller than the source in about a second for all of GraphiQL (11 takes a minute).
  br: (body) =>
    promisify(brotliCompress)(body, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length },
    }),
  gzip: (body) => promisify(gzip)(body, { level: 6 }),
};

interface Asset {
  body: Buffer;
  type: string;
  /** A hash of the body: the ETag, and (for the files) part of the name. */
  hash: string;
  /** Cache-Control: a hashed file never changes; the page is revalidated at every visit. */
  cacheControl: string;
  compressed: Partial<Record<Encoding, Promise<Buffer>>>;
}

function asset(body: Buffer, type: string, cacheControl: string): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { body, type, hash, cacheControl, compressed: {} };
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

export interface Playground {
  /** Answers GET /graphql from a browser: the page. */
  servePage(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Answers a request under PLAYGROUND_ASSETS_PATH: one of the page's files, or 404. */
  serveAsset(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
}

async function loadParts(): Promise<YogaGraphiQLParts> {
  // The package exports only renderGraphiQL(), which inlines everything; its parts sit beside it.
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@graphql-yoga/render-graphiql');
  return (await import(pathToFileURL(join(entry, '../graphiql.js')).href)) as YogaGraphiQLParts;
}

export async function createPlayground(): Promise<Playground> {
  const parts = await loadParts();
  const files = new Map<string, Asset>();
  const file = (name: string, ext: string, body: Buffer, type: string): string => {
    const a = asset(body, type, IMMUTABLE);
    const fileName = `${name}-${a.hash}.${ext}`;
    files.set(fileName, a);
    return PLAYGROUND_ASSETS_PATH + fileName;
  };
  const JS = 'text/javascript; charset=utf-8';
  const favicon = /^data:([^;,]+);base64,(.*)$/s.exec(parts.favicon);
  const faviconUrl = favicon ? file('favicon', 'ico', Buffer.from(favicon[2] ?? '', 'base64'), favicon[1] ?? 'image/x-icon') : parts.favicon;
  const cssUrl = file('graphiql', 'css', Buffer.from(parts.css), 'text/css; charset=utf-8');
  const jsUrl = file('graphiql', 'js', Buffer.from(parts.js), JS);
  // Monaco's workers, which render-graphiql turns into blob: URLs, are files of their own too.
  const workers = {
    editorWorkerService: file('editor.worker', 'js', Buffer.from(parts.editorWorkerService), JS),
    json: file('json.worker', 'js', Buffer.from(parts.jsonWorker), JS),
    graphql: file('graphql.worker', 'js', Buffer.from(parts.graphqlWorker), JS),
  };

  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${PLAYGROUND_OPTIONS.title}</title>
    <link rel="icon" href="${faviconUrl}" />
    <link rel="stylesheet" href="${cssUrl}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script>
      const workers = ${scriptJson(workers)};
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (moduleId, label) => workers[label] };
    </script>
    <script src="${jsUrl}"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${scriptJson(PLAYGROUND_OPTIONS)});
    </script>
  </body>
</html>
`;
  const page = asset(Buffer.from(html), 'text/html; charset=utf-8', 'no-cache');

  async function send(req: IncomingMessage, res: ServerResponse, a: Asset, vary: string): Promise<void> {
    const accepted = new Negotiator(req).encodings(['br', 'gzip']);
    const encoding: Encoding | undefined = accepted.includes('br') ? 'br' : accepted.includes('gzip') ? 'gzip' : undefined;
    const etag = `"${a.hash}${encoding ? `-${encoding}` : ''}"`;
    const headers: Record<string, string | number> = { 'cache-control': a.cacheControl, etag, vary };
    // Any representation of the same content is still fresh: compare the hash, not the encoding.
    const ifNoneMatch = req.headers['if-none-match'] ?? '';
    if (ifNoneMatch === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '').slice(1, 17) === a.hash)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    let body = a.body;
    if (encoding) {
      body = await (a.compressed[encoding] ??= compressors[encoding](a.body));
      headers['content-encoding'] = encoding;
    }
    res.writeHead(200, { ...headers, 'content-type': a.type, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return {
    servePage: (req, res) => send(req, res, page, 'Accept, Accept-Encoding'),
    async serveAsset(req, res, pathname) {
      const a = files.get(pathname.slice(PLAYGROUND_ASSETS_PATH.length));
      if (!a || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"error":"not found"}');
        return;
      }
      await send(req, res, a, 'Accept-Encoding');
    },
  };
}
