// vitest globalSetup of the browser tests (run once, before them, only when they are selected):
// make sure there is a Chromium to drive. On a fresh Debian machine, as root (CI, a container),
// it installs Debian's `chromium` with apt-get, showing apt's output; anywhere else it fails with
// one line saying how to get one. Never a silent skip.
import { spawnSync } from 'node:child_process';
import { DEBIAN_CHROMIUM, findChromium, HOW_TO_GET_CHROMIUM } from './chromium.js';

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

function hasAptGet(): boolean {
  return spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
}

export default function setup(): void {
  if (findChromium()) return;
  if (process.env.CHROMIUM_PATH) {
    throw new Error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable file. ${HOW_TO_GET_CHROMIUM}`);
  }
  if (process.getuid?.() !== 0 || !hasAptGet()) throw new Error(HOW_TO_GET_CHROMIUM);

  console.log(`\nThe browser tests need Chromium and ${DEBIAN_CHROMIUM} is missing: installing Debian's chromium (apt-get, as root).\n`);
  // Another apt run on the same machine holds the lock for a while: wait for it rather than fail.
  const wait = ['-o', 'DPkg::Lock::Timeout=600'];
  const installed =
    run('apt-get', [...wait, 'update']) && run('apt-get', [...wait, 'install', '-y', 'chromium']);
  if (!installed || !findChromium()) throw new Error(`apt-get could not install chromium. ${HOW_TO_GET_CHROMIUM}`);
}
