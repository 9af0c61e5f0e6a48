// `npm run cluster -- --instances 3`: several gateways on one PostgreSQL (DATABASE_URL, default
// the machine's postgres://postgres@127.0.0.1:5432/test), on ports 4000, 4001, … (PORT: the first).
// They start together (one migrates, the others wait on its advisory lock), share one token secret,
// and the demo tenant is loaded once, by the instance that created the schema. Ctrl-C stops them all.
import { ALL_SCOPES, signToken } from '../src/auth/tokens.js';
import { startCluster } from './lib/cluster.js';

const args = process.argv.slice(2);
const at = args.indexOf('--instances');
const count = at >= 0 ? Number(args[at + 1]) : 3;
if (!Number.isInteger(count) || count < 1 || count > 16) {
  console.error('usage: npm run cluster -- --instances N   (1 to 16)');
  process.exit(2);
}
const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
  console.error('npm run cluster needs DATABASE_URL=postgres://…: instances share their database, which a SQLite file cannot be across processes.');
  process.exit(2);
}
const cluster = await startCluster({
  instances: count,
  databaseUrl,
  basePort: Number(process.env.PORT || 4000),
  env: { SEED_DEMO: process.env.SEED_DEMO ?? '', ...(process.env.AUTH_JWT_SECRET ? { AUTH_JWT_SECRET: process.env.AUTH_JWT_SECRET } : {}) },
});
const token = await signToken(cluster.secret, { sub: 'admin@tenant', scope: ALL_SCOPES, ttlSeconds: 12 * 3600, issuer: 'https://issuer.test/', audience: 'profile-gateway' });
for (const i of cluster.instances) console.log(`instance ${i.index}: ${i.url}`);
console.log(`\nA tenant-administrator token for every instance (12 hours):\n${token}`);
const stop = async () => {
  await cluster.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
