// Reads a V8 .cpuprofile (node --cpu-prof) and summarises where the time went: self time by
// function, self time by package or project file, and inclusive time of the project's own
// functions (src/…), which is what a fix would target.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  /** `function (file:line)`; line is 1-based. */
  frame: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of samples where the process was idle (waiting for requests). */
  idlePercent: number;
  topSelf: HotSpot[];
  byModule: HotSpot[];
  /** Inclusive time of functions in src/ (the project's code), biggest first. */
  projectInclusive: HotSpot[];
}

// tsx compiles each file with esbuild into whitespace-minified code (one line), so the profile's
// positions are columns of that line. Compiling the file again with the same esbuild and options
// (tsx's: minifyWhitespace, keepNames, source map) gives the same code and its source map, which
// turns a column back into the line of the .ts file.
type Transform = (code: string, opts: Record<string, unknown>) => { code: string; map: string };
let transform: Transform | null | undefined;
function esbuildTransform(root: string): Transform | null {
  if (transform === undefined) {
    try {
      const requireFromTsx = createRequire(join(root, 'node_modules/tsx/package.json'));
      transform = (requireFromTsx('esbuild') as { transformSync: Transform }).transformSync;
    } catch {
      transform = null;
    }
  }
  return transform;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Generated (line, column) → original line (1-based), from a source map's VLQ mappings. */
function lineMapper(mappings: string): (line: number, column: number) => number | null {
  const lines: { col: number; srcLine: number }[][] = [];
  let srcLine = 0;
  for (const lineText of mappings.split(';')) {
    const segs: { col: number; srcLine: number }[] = [];
    let col = 0;
    for (const seg of lineText.split(',')) {
      if (!seg) continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      col += values[0] ?? 0;
      if (values.length >= 4) {
        srcLine += values[2] ?? 0;
        segs.push({ col, srcLine });
      }
    }
    lines.push(segs);
  }
  return (line, column) => {
    const segs = lines[line];
    if (!segs || segs.length === 0) return null;
    let found: number | null = null;
    for (const s of segs) {
      if (s.col > column) break;
      found = s.srcLine + 1;
    }
    return found ?? (segs[0] as { srcLine: number }).srcLine + 1;
  };
}

const mappers = new Map<string, ((line: number, column: number) => number | null) | null>();
function originalLine(root: string, path: string, line: number, column: number): number | null {
  if (!path.startsWith('src/') && !path.startsWith('bench/')) return null;
  let mapper = mappers.get(path);
  if (mapper === undefined) {
    mapper = null;
    const t = esbuildTransform(root);
    if (t) {
      try {
        const out = t(readFileSync(join(root, path), 'utf8'), {
          loader: 'ts',
          format: 'esm',
          target: `node${process.versions.node}`,
          sourcemap: 'external',
          minifyWhitespace: true,
          keepNames: true,
          sourcefile: path,
        });
        mapper = lineMapper((JSON.parse(out.map) as { mappings: string }).mappings);
      } catch {
        mapper = null;
      }
    }
    mappers.set(path, mapper);
  }
  return mapper ? mapper(line, column) : null;
}

function pathOf(url: string, root: string): string {
  if (!url) return '';
  const p = url.startsWith('file://') ? fileURLToPath(url) : url;
  // Packages by their path inside node_modules (wherever that folder really is).
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) return p.slice(nm + 1);
  return p.startsWith(root) ? relative(root, p) : p;
}

/** A package name (node_modules/…), a project file, or a V8/node bucket. */
function moduleOf(path: string, functionName: string): string {
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  }
  if (path.startsWith('node:')) return 'node (built-in)';
  if (path === '') return functionName.startsWith('(') ? functionName : '(native)';
  return path;
}

export function summarizeProfile(file: string, root: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const c of node.children ?? []) parent.set(c, node.id);
  }
  const key = (n: ProfileNode) => {
    const path = pathOf(n.callFrame.url, root);
    const name = n.callFrame.functionName || '(anonymous)';
    const line = originalLine(root, path, n.callFrame.lineNumber, n.callFrame.columnNumber) ?? n.callFrame.lineNumber + 1;
    return path ? `${name} (${path}:${line})` : name;
  };
  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) return;
    total += dt;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      if (name === '(idle)') idle += dt;
    }
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const m = moduleOf(pathOf(node.callFrame.url, root), name);
    modules.set(m, (modules.get(m) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const path = pathOf(n.callFrame.url, root);
      if (!path.startsWith('src/')) continue;
      const nk = key(n);
      if (seen.has(nk)) continue;
      seen.add(nk);
      inclusive.set(nk, (inclusive.get(nk) ?? 0) + dt);
    }
  });
  const busy = total - idle;
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, ms]) => ({ frame, ms: Math.round(ms), percent: Math.round((ms / busy) * 1000) / 10 }));
  return {
    file: relative(root, file),
    totalMs: Math.round(total),
    idlePercent: Math.round((idle / total) * 1000) / 10,
    topSelf: rank(self),
    byModule: rank(modules),
    projectInclusive: rank(inclusive),
  };
}
