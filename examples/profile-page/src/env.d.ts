// Vite replaces import.meta.env.VITE_* at build time (without pulling in vite/client's types).
interface ImportMetaEnv {
  /** The gateway's GraphQL endpoint when it is on another origin (CORS); unset → this origin's /graphql. */
  readonly VITE_GATEWAY_URL?: string;
}
interface ImportMeta {
  readonly env: ImportMetaEnv;
}
