// Child processes and what /proc says about them: resident memory (VmRSS, and the kernel's own
// high-water mark VmHWM) and CPU time, so the gateway's memory and CPU per request are measured,
// not guessed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Started {
  child: ChildProcess;
  pid: number;
  /** The first stdout match of the ready pattern. */
  match: RegExpMatchArray;
  /** Everything the process wrote (stdout and stderr), for error messages. */
  output: () => string;
}

/** Spawns `command` and resolves once a line of its stdout matches `ready` (or rejects if it exits first). */
export function startProcess(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; ready: RegExp; timeoutMs?: number },
): Promise<Started> {
  const child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not start in time:\n${out}`));
    }, opts.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.length > 100_000) out = out.slice(-50_000);
      const match = opts.ready.exec(out);
      if (match && child.pid !== undefined) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining the pipes so the child never blocks on a full one.
        child.stdout?.on('data', (c: Buffer) => {
          out = (out + c.toString('utf8')).slice(-50_000);
        });
        resolve({ child, pid: child.pid, match, output: () => out });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      out = (out + c.toString('utf8')).slice(-50_000);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
}

/** Sends a signal and waits for the exit (SIGKILL after `graceMs`). */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(force);
      resolve(code);
    });
    child.kill(signal);
  });
}

export interface MemoryStatus {
  /** Resident set size now, in MB. */
  rssMb: number;
  /** The process's peak resident set size so far (VmHWM), in MB. */
  hwmMb: number;
}

export function memoryOf(pid: number): MemoryStatus | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

let ticks: number | null = null;
function clockTicks(): number {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU seconds the process has used so far (/proc/<pid>/stat). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** Polls a process's memory until stopped; returns the largest VmRSS seen and the VmHWM at the end. */
export function pollMemory(pid: number, intervalMs = 100): { stop(): { maxRssMb: number; hwmMb: number } } {
  let maxRss = 0;
  let hwm = 0;
  const sample = () => {
    const m = memoryOf(pid);
    if (m) {
      maxRss = Math.max(maxRss, m.rssMb);
      hwm = Math.max(hwm, m.hwmMb);
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      sample();
      clearInterval(timer);
      return { maxRssMb: maxRss, hwmMb: hwm };
    },
  };
}

/** The first child of a process (the program `/usr/bin/time` runs). */
function firstChildOf(pid: number): number | null {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    return children[0] ? Number(children[0]) : null;
  } catch {
    return null;
  }
}

export interface MeasuredRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  maxRssMb: number;
  how: string;
  /** VmRSS of the program every `sampleMs`, with the time since start. */
  samples: { seconds: number; rssMb: number }[];
}

/**
 * Runs a command to completion and measures its peak memory: `/usr/bin/time -v` when there is
 * one (the kernel's maximum RSS of the program), else /proc/<pid>/status VmHWM polling. VmRSS is
 * also sampled as it runs.
 */
export async function runMeasured(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; sampleMs?: number; onStderr?: (text: string) => void },
): Promise<MeasuredRun> {
  let timeBin: string | null = null;
  try {
    execFileSync('/usr/bin/time', ['-v', 'true'], { stdio: 'ignore' });
    timeBin = '/usr/bin/time';
  } catch {
    timeBin = null;
  }
  const started = performance.now();
  const child = timeBin
    ? spawn(timeBin, ['-v', command, ...args], { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    const text = c.toString('utf8');
    opts.onStderr?.(text);
    stderr = (stderr + text).slice(-200_000);
  });
  const samples: { seconds: number; rssMb: number }[] = [];
  let hwm = 0;
  let program: number | null = timeBin ? null : (child.pid ?? null);
  const timer = setInterval(() => {
    if (program === null && child.pid !== undefined) program = firstChildOf(child.pid);
    const m = program === null ? null : memoryOf(program);
    if (m) {
      hwm = Math.max(hwm, m.hwmMb);
      samples.push({ seconds: (performance.now() - started) / 1000, rssMb: m.rssMb });
    }
  }, opts.sampleMs ?? 250);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearInterval(timer);
  await new Promise((r) => setImmediate(r));
  const seconds = (performance.now() - started) / 1000;
  if (timeBin) {
    const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? Number.NaN);
    return { code, stdout, stderr, seconds, maxRssMb: kb / 1024, how: '/usr/bin/time -v (maximum resident set size)', samples };
  }
  return { code, stdout, stderr, seconds, maxRssMb: hwm, how: '/proc/<pid>/status VmHWM (polled)', samples };
}
