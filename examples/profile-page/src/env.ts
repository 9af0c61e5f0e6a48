// Vite replaces import.meta.env.VITE_* at build time; their types (without pulling in vite/client's).
declare global {
  interface ImportMetaEnv {
    /** The gateway's GraphQL endpoint when it is on another origin (CORS); unset → this origin's /graphql. */
    readonly VITE_GATEWAY_URL?: string;
  }
  interface ImportMeta {
    readonly env: ImportMetaEnv;
  }
}

export {};
