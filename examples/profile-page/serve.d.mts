// Types for serve.mjs (the tests start it in-process).
export interface ExampleServer {
  /** e.g. http://127.0.0.1:5173/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

export function startExampleServer(options?: {
  /** The built page (default: dist/ beside serve.mjs). */
  root?: string;
  /** Where POST /graphql goes (default http://localhost:4000/graphql); null: no proxy, /graphql is 404. */
  gatewayUrl?: string | null;
  /** Default 5173; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}): Promise<ExampleServer>;
