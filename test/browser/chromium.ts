// Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with a fresh
// profile and none of the browser's own background traffic, so every request it makes is the page's.
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Request } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser; `CHROMIUM_PATH` names another binary. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** The one line a person reads when no browser can be had: how to get one. */
export const HOW_TO_GET_CHROMIUM =
  "The browser tests need Chromium: install Debian's (`sudo apt-get install chromium`), or set CHROMIUM_PATH to a Chromium or Chrome binary.";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The browser to drive: CHROMIUM_PATH when set, else Debian's; undefined when it is not there. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.CHROMIUM_PATH || DEBIAN_CHROMIUM;
  return isExecutable(path) ? path : undefined;
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  /** Every URL any page of this browser requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(HOW_TO_GET_CHROMIUM);
  // Playwright refuses --user-data-dir in args: a persistent context is how it takes a fresh one.
  const userDataDir = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 860 },
  });
  const requests: string[] = [];
  context.on('request', (request: Request) => requests.push(request.url()));
  return {
    context,
    requests,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** True for a request that stays on this machine (data: and blob: URLs never leave the page). */
export function isLocal(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:') return true;
  if (protocol === 'blob:') return isLocal(url.slice('blob:'.length));
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}
