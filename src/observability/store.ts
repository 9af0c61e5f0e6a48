// Every store call timed (gateway_store_call_duration_seconds) and, inside a recorded trace, a
// span. A store call is one statement or one transaction, whatever the dialect: this wraps the
// Store interface, so the SQLite and PostgreSQL stores are measured alike.
import type { Store } from '../store/types.js';
import type { Metrics } from './metrics.js';
import { recording, SpanStatusCode, tracer } from './tracing.js';

type AnyFn = (...args: unknown[]) => unknown;

function timed(metrics: Metrics, dialect: string, call: string, fn: AnyFn, self: unknown): AnyFn {
  const spanName = `store ${call}`;
  return (...args: unknown[]) => {
    const started = performance.now();
    const done = () => metrics.storeCall(call, (performance.now() - started) / 1000);
    if (!recording()) {
      const result = fn.apply(self, args);
      if (result instanceof Promise) return result.finally(done);
      done();
      return result;
    }
    return tracer().startActiveSpan(spanName, { attributes: { 'db.system.name': dialect, 'db.operation.name': call } }, (span) => {
      const end = (err?: unknown) => {
        if (err !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
        span.end();
        done();
      };
      try {
        const result = fn.apply(self, args);
        if (result instanceof Promise) {
          return result.then(
            (value) => {
              end();
              return value;
            },
            (err: unknown) => {
              end(err);
              throw err;
            },
          );
        }
        end();
        return result;
      } catch (err) {
        end(err);
        throw err;
      }
    });
  };
}

function wrapObject<T extends object>(metrics: Metrics, dialect: string, prefix: string, target: T): T {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value: unknown = Reflect.get(obj, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      let wrapped = cache.get(key);
      if (!wrapped) {
        wrapped = timed(metrics, dialect, prefix ? `${prefix}.${key}` : key, value as AnyFn, obj);
        cache.set(key, wrapped);
      }
      return wrapped;
    },
  });
}

/** The store, with each aggregate's methods (users.apply, outbox.pending, …) measured. */
export function instrumentStore(store: Store, metrics: Metrics): Store {
  const parts = new Map<PropertyKey, unknown>();
  const root = wrapObject(metrics, store.dialect, '', store);
  return new Proxy(root, {
    get(obj, key, receiver) {
      const value: unknown = Reflect.get(obj, key, receiver);
      // Aggregates are wrapped; a key (cursorKey, a Buffer) is data, passed as it is.
      if (typeof value !== 'object' || value === null || typeof key !== 'string' || value instanceof Uint8Array) return value;
      let part = parts.get(key);
      if (!part) {
        part = wrapObject(metrics, store.dialect, key, value);
        parts.set(key, part);
      }
      return part;
    },
  });
}
