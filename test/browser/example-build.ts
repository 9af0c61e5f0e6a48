// Builds examples/profile-page with Vite into a temporary folder, optionally for a gateway on
// another origin (VITE_GATEWAY_URL, as a deployment would build it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';

export const EXAMPLE_ROOT = join(import.meta.dirname, '../../examples/profile-page');

export interface ExampleBuild {
  outDir: string;
  remove(): void;
}

/** The folder exists at once (servers may start on it); the promise resolves when the build is in it. */
export function examplePageFolder(): ExampleBuild {
  const outDir = mkdtempSync(join(tmpdir(), 'profile-page-'));
  return { outDir, remove: () => rmSync(outDir, { recursive: true, force: true }) };
}

export async function buildExamplePage(outDir: string, gatewayUrl?: string): Promise<void> {
  await build({
    root: EXAMPLE_ROOT,
    configFile: false,
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
    ...(gatewayUrl ? { define: { 'import.meta.env.VITE_GATEWAY_URL': JSON.stringify(gatewayUrl) } } : {}),
  });
}
