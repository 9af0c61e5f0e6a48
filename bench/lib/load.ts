// One measured load run with autocannon (programmatic): a warm-up, then the run, while the target
// process's memory and CPU time are sampled from /proc.
import autocannon, { type Request, type Result } from 'autocannon';
import { cpuSecondsOf, pollMemory } from './proc.js';

export interface LoadSpec {
  name: string;
  url: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  headers: Record<string, string>;
  /** A fixed body, or one built per request. */
  body: string | (() => string);
  /** False when a 200 answer is still a failure (GraphQL errors, userErrors). */
  verify?: (body: string) => boolean;
  /** The process serving the requests (memory and CPU are read from /proc). */
  serverPid: number;
}

export interface LoadResult {
  name: string;
  connections: number;
  seconds: number;
  requests: number;
  /** Mean requests per second over the run. */
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  /** 200 answers that carried GraphQL errors or userErrors. */
  failedBodies: number;
  /** CPU time of the serving process per request, in milliseconds (user + system). */
  serverCpuMsPerRequest: number;
  /** Share of one core the serving process used during the run. */
  serverCpuCores: number;
  /** Largest VmRSS of the serving process during the run, and its VmHWM at the end. */
  serverMaxRssMb: number;
  serverHwmMb: number;
}

/** Percentile of sorted values (nearest rank). */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * autocannon's latency histogram has a resolution of 1 ms; the response event carries the exact
 * time (hrtime, in ms), so every response time is kept and the percentiles computed from them.
 */
function cannon(spec: LoadSpec, seconds: number, times?: number[]): Promise<Result> {
  const requests: Request[] = [
    typeof spec.body === 'string'
      ? { method: 'POST', body: spec.body }
      : {
          method: 'POST',
          setupRequest: (req) => ({ ...req, body: (spec.body as () => string)() }),
        },
  ];
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: seconds,
    timeout: 30,
    headers: spec.headers,
    requests,
    ...(spec.verify ? { verifyBody: spec.verify } : {}),
  });
  if (times) instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => times.push(ms));
  return Promise.resolve(instance);
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupSeconds > 0) await cannon(spec, spec.warmupSeconds);
  const cpuBefore = cpuSecondsOf(spec.serverPid);
  const poll = pollMemory(spec.serverPid, 200);
  const times: number[] = [];
  const r = await cannon(spec, spec.seconds, times);
  const cpuAfter = cpuSecondsOf(spec.serverPid);
  const mem = poll.stop();
  const requests = r['2xx'] + r.non2xx;
  const cpu = cpuAfter - cpuBefore;
  const sorted = Float64Array.from(times).sort();
  const mean = times.reduce((a, b) => a + b, 0) / Math.max(1, times.length);
  return {
    name: spec.name,
    connections: spec.connections,
    seconds: r.duration,
    requests,
    rps: requests / r.duration,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
      mean,
    },
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    failedBodies: r.mismatches,
    serverCpuMsPerRequest: requests > 0 ? (cpu * 1000) / requests : Number.NaN,
    serverCpuCores: cpu / r.duration,
    serverMaxRssMb: mem.maxRssMb,
    serverHwmMb: mem.hwmMb,
  };
}
