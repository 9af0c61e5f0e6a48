// F0: the floor. A bare node:http server that reads each request's body and answers with the exact
// bytes (and content type) of the gateway's answer to scenario 1. Nothing on this machine that
// speaks HTTP and JSON from Node can be faster: it is the ceiling for the gateway.
// Usage: node --import tsx bench/floor-server.ts BODY_FILE  (prints "floor listening on PORT")
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const file = process.argv[2];
if (!file) {
  console.error('Usage: floor-server.ts BODY_FILE');
  process.exit(2);
}
const body = readFileSync(file);
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  // Read the request as the gateway must (a GraphQL POST body), then answer.
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => {
  console.log(`floor listening on ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
