import { defineConfig } from 'drizzle-kit';

// The PostgreSQL store's migrations (drizzle.config.ts is SQLite's): `npm run db:generate` runs both.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/pg/tables.ts',
  out: './drizzle/pg',
});
