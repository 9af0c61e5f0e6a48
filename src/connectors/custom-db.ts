// Custom-database scripts: a connection whose `customScripts` option is NAME loads NAME.js,
// NAME.mjs or NAME.ts from CUSTOM_DB_SCRIPTS_DIR. Loaded once and validated at load (a missing
// `login` is an error when the connection is created, not at the first login); every call is
// bounded by the script timeout. Reads never call a script.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Metadata } from '../domain/types.js';
import { traced } from '../observability/tracing.js';

/** The profile shape a script resolves to (Auth0's normalized snake_case keys). */
export interface ScriptProfile {
  user_id: string | number;
  email?: string | null;
  email_verified?: boolean;
  username?: string | null;
  phone_number?: string | null;
  phone_verified?: boolean;
  name?: string | null;
  nickname?: string | null;
  given_name?: string | null;
  family_name?: string | null;
  picture?: string | null;
  user_metadata?: Metadata;
  app_metadata?: Metadata;
  [key: string]: unknown;
}

export interface CustomDbScript {
  login(identifier: string, password: string): Promise<ScriptProfile | null>;
  getUser(identifier: string): Promise<ScriptProfile | null>;
  create?(user: Record<string, unknown>): Promise<ScriptProfile | null>;
  changePassword?(identifier: string, newPassword: string): Promise<unknown>;
  changeEmail?(identifier: string, newEmail: string, verified: boolean): Promise<unknown>;
}

export interface ScriptCapabilities {
  create: boolean;
  changeEmail: boolean;
  changePassword: boolean;
}

export const NO_SCRIPTS: ScriptCapabilities = { create: false, changeEmail: false, changePassword: false };

export class ScriptLoadError extends Error {}
/** The legacy database did not answer: it threw, or the call outlived the timeout. */
export class ScriptUnavailableError extends Error {}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const EXTENSIONS = ['.js', '.mjs', '.ts'];

/** Told of every script call's end: for metrics and the failure log line. */
export type ScriptCallObserver = (call: {
  connection: string;
  fn: string;
  outcome: 'ok' | 'error' | 'timeout';
  seconds: number;
  err?: unknown;
}) => void;

const FUNCTIONS = new Set(['login', 'getUser', 'create', 'changePassword', 'changeEmail']);

export class ScriptRegistry {
  private readonly loaded = new Map<string, Promise<CustomDbScript>>();

  constructor(
    private readonly dir: string,
    readonly timeoutMs: number,
    private readonly observe?: ScriptCallObserver,
  ) {}

  /** Loads (once) and validates the script module NAME. Rejects with ScriptLoadError. */
  load(name: string): Promise<CustomDbScript> {
    let pending = this.loaded.get(name);
    if (!pending) {
      pending = this.import(name);
      this.loaded.set(name, pending);
      // A failed load is not cached: fixing the file and retrying must work.
      pending.catch(() => this.loaded.delete(name));
    }
    return pending;
  }

  async capabilities(name: string | undefined | null): Promise<ScriptCapabilities> {
    if (!name) return NO_SCRIPTS;
    try {
      const script = await this.load(name);
      return {
        create: typeof script.create === 'function',
        changeEmail: typeof script.changeEmail === 'function',
        changePassword: typeof script.changePassword === 'function',
      };
    } catch {
      return NO_SCRIPTS;
    }
  }

  /**
   * Calls one script function within the timeout; a throw or a timeout is ScriptUnavailableError.
   * `connection` names the caller's connection in metrics and logs (the script's name otherwise).
   */
  async call<T>(name: string, fn: (script: CustomDbScript) => Promise<T>, connection = name): Promise<T> {
    let called = 'unknown';
    return traced('custom_db.call', { 'custom_db.connection': connection, 'custom_db.script': name }, async (span) => {
      const started = performance.now();
      const end = (outcome: 'ok' | 'error' | 'timeout', err?: unknown) => {
        span?.setAttribute('custom_db.function', called);
        span?.setAttribute('custom_db.outcome', outcome);
        this.observe?.({ connection, fn: called, outcome, seconds: (performance.now() - started) / 1000, err });
      };
      let script: CustomDbScript;
      try {
        script = await this.load(name);
      } catch (err) {
        end('error', err);
        throw new ScriptUnavailableError(err instanceof Error ? err.message : 'script did not load');
      }
      // Which function the caller invokes, for the label (a closed set: the module's contract).
      const watched = new Proxy(script, {
        get(target, key, receiver) {
          const value: unknown = Reflect.get(target, key, receiver);
          if (typeof key === 'string' && typeof value === 'function') called = FUNCTIONS.has(key) ? key : 'other';
          return value;
        },
      });
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new ScriptUnavailableError(`custom database did not answer within ${this.timeoutMs} ms`));
        }, this.timeoutMs);
      });
      try {
        const result = await Promise.race([Promise.resolve().then(() => fn(watched)), timeout]);
        end('ok');
        return result;
      } catch (err) {
        end(timedOut ? 'timeout' : 'error', err);
        if (err instanceof ScriptUnavailableError) throw err;
        throw new ScriptUnavailableError(err instanceof Error ? err.message : 'custom database script failed');
      } finally {
        clearTimeout(timer);
      }
    });
  }

  private async import(name: string): Promise<CustomDbScript> {
    if (!NAME_PATTERN.test(name)) throw new ScriptLoadError(`"${name}" is not a valid script name.`);
    const file = EXTENSIONS.map((ext) => join(this.dir, name + ext)).find((f) => existsSync(f));
    if (!file) throw new ScriptLoadError(`No script ${name}.js, ${name}.mjs or ${name}.ts in CUSTOM_DB_SCRIPTS_DIR.`);
    let mod: Record<string, unknown>;
    try {
      // A .ts script loads through tsx's API, so it works from the compiled `npm start` too.
      mod = (
        file.endsWith('.ts')
          ? await (await import('tsx/esm/api')).tsImport(pathToFileURL(file).href, import.meta.url)
          : await import(pathToFileURL(file).href)
      ) as Record<string, unknown>;
    } catch (err) {
      throw new ScriptLoadError(
        `Script ${name} failed to load: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const exports = (
      mod.default && typeof mod.default === 'object' && typeof mod.login !== 'function' ? mod.default : mod
    ) as Record<string, unknown>;
    for (const required of ['login', 'getUser']) {
      if (typeof exports[required] !== 'function') {
        throw new ScriptLoadError(`Script ${name} must export a function ${required}().`);
      }
    }
    return exports as unknown as CustomDbScript;
  }
}
