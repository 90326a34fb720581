/** How the load generator (load-client.ts) speaks HTTP in this run, for the printed reports. */
export function loadClientName(): string {
  if (process.env.BENCH_CLIENT === 'fetch') return 'fetch (undici), keep-alive';
  if (process.env.BENCH_CLIENT === 'http') return 'node:http, keep-alive';
  return 'HTTP/1.1 on bare keep-alive sockets';
}
