// A source tree the benchmark runs: this working tree, or any git commit extracted into a temporary
// directory (`git archive`, so the repository's worktree list is never touched and a killed run
// leaves nothing registered). Each tree is built and started the way its own package.json says
// (`npm run build` when it has one, then the command of its `start` or `import` script), so an
// older commit runs exactly as it was deployed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tree {
  /** What the report calls it: the ref as given, or "this tree". */
  label: string;
  dir: string;
  commit: string;
  /** How its node_modules came to be: shared with this tree, or installed. */
  modules: 'shared' | 'npm ci' | 'own';
  /** The command line of one of its npm scripts, run without npm (so the measured pid is node's). */
  command(script: 'start' | 'import'): { command: string; args: string[] };
  remove(): void;
}

interface PackageJson {
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  overrides?: unknown;
}

const readPackage = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** `exec node --import tsx src/cli/start.ts` → node and its arguments (only plain node scripts are supported). */
function scriptCommand(pkg: PackageJson, script: string): { command: string; args: string[] } {
  const line = pkg.scripts?.[script];
  if (!line) throw new Error(`package.json has no "${script}" script`);
  const words = line.replace(/^exec\s+/, '').trim().split(/\s+/);
  if (words[0] !== 'node' || words.some((w) => /[&|;<>$`'"]/.test(w))) {
    throw new Error(`the "${script}" script is not a plain node command: ${line}`);
  }
  return { command: process.execPath, args: words.slice(1) };
}

/** Whether every dependency the other tree pins is installed here at exactly that version. */
function modulesCover(root: string, pkg: PackageJson): boolean {
  const own = readPackage(root);
  if (JSON.stringify(own.overrides ?? null) !== JSON.stringify(pkg.overrides ?? null)) return false;
  for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    const file = join(root, 'node_modules', name, 'package.json');
    if (!existsSync(file)) return false;
    const installed = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    // A range (only @types/node has one) is satisfied by what this tree resolved for it.
    if (/^\d/.test(version) && installed !== version) return false;
  }
  return true;
}

function build(dir: string, pkg: PackageJson, log: (line: string) => void): void {
  if (!pkg.scripts?.build) return;
  log(`  npm run build in ${dir}`);
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`npm run build failed in ${dir}:\n${r.stdout}\n${r.stderr}`);
}

/** This working tree, built. */
export function currentTree(root: string, log: (line: string) => void): Tree {
  const pkg = readPackage(root);
  build(root, pkg, log);
  let commit = 'unknown';
  try {
    commit = git(root, ['rev-parse', 'HEAD']);
  } catch {
    // not a git checkout: the report says "unknown"
  }
  return {
    label: 'this tree',
    dir: root,
    commit,
    modules: 'own',
    command: (script) => scriptCommand(pkg, script),
    remove() {},
  };
}

/**
 * `ref` extracted into a temporary directory and built. Its node_modules is a link to this tree's
 * when this tree has every package it pins at the same version (no network, no 80 s rebuild of
 * better-sqlite3); otherwise `npm ci --prefer-offline` installs its own.
 */
export function checkoutTree(root: string, ref: string, log: (line: string) => void): Tree {
  const commit = git(root, ['rev-parse', '--verify', `${ref}^{commit}`]);
  const dir = mkdtempSync(join(tmpdir(), `gateway-bench-${commit.slice(0, 8)}-`));
  try {
    log(`extracting ${ref} (${commit.slice(0, 12)}) into ${dir}`);
    const archive = spawnSync('git', ['archive', '--format=tar', commit], { cwd: root, maxBuffer: 512 * 1024 * 1024 });
    if (archive.status !== 0) throw new Error(`git archive ${ref} failed: ${archive.stderr.toString()}`);
    const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr.toString()}`);
    const pkg = readPackage(dir);
    let modules: Tree['modules'];
    if (modulesCover(root, pkg)) {
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
      modules = 'shared';
    } else {
      log(`  ${ref} pins packages this tree lacks: npm ci --prefer-offline (may take minutes)`);
      const r = spawnSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`npm ci failed for ${ref}:\n${r.stderr.slice(-4000)}`);
      modules = 'npm ci';
    }
    build(dir, pkg, log);
    return {
      label: ref,
      dir,
      commit,
      modules,
      command: (script) => scriptCommand(pkg, script),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
