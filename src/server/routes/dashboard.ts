import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { responds } from '../openapi.ts';

/** The built dashboard (web/, built into web/dist by `npm install` / `npm run build:web`). */
const distDir = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

interface Asset {
  type: string;
  plain: Buffer;
  gzip: Buffer | null;
  brotli: Buffer | null;
}

/** Every built file with its precompressed forms, read once at start. */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(distDir)) return assets;
  for (const name of readdirSync(distDir)) {
    if (name.endsWith('.gz') || name.endsWith('.br')) continue;
    const path = join(distDir, name);
    const read = (suffix: string) => (existsSync(path + suffix) ? readFileSync(path + suffix) : null);
    assets.set(name, { type: types[extname(name)] ?? 'application/octet-stream', plain: readFileSync(path), gzip: read('.gz'), brotli: read('.br') });
  }
  return assets;
}

const Session = Type.Object({
  object: Type.Literal('session'),
  scopes: Type.Array(Type.String()),
  customer: Type.Union([Type.String(), Type.Null()], { description: 'The customer a portal token is bound to; null for other keys.' }),
}, { additionalProperties: false, description: 'Who the API key is.' });

/**
 * The dashboard at /dashboard: static files from web/dist, served compressed (brotli or gzip, as
 * the browser accepts) and cached (hashed asset names are immutable; the page itself is
 * revalidated). Plus GET /v1/session, which tells the dashboard what a key may see.
 */
export function dashboardRoutes(app: FastifyInstance): void {
  const assets = loadAssets();

  app.get('/v1/session', {
    config: { scope: 'read' },
    schema: { tags: ['api keys'], operationId: 'getSession', summary: 'Who the calling key is: its scopes and, for a portal token, its customer', response: responds(200, Session, 'The calling key.') },
  }, async (req) => ({ object: 'session', scopes: [...(req.caller?.scopes ?? [])], customer: req.caller?.customerId ?? null }));

  const serve = async (req: FastifyRequest, reply: FastifyReply, name: string) => {
    const asset = assets.get(name) ?? (name.includes('.') ? undefined : assets.get('index.html'));
    if (!asset) {
      const built = assets.size > 0;
      return reply.code(built ? 404 : 503).send({ error: built
        ? { code: 'route_not_found', message: `No dashboard file ${name}.` }
        : { code: 'dashboard_not_built', message: 'The dashboard is not built: run npm run build:web.' } });
    }
    const accepts = String(req.headers['accept-encoding'] ?? '');
    const immutable = /\.[0-9a-f]{8,}\./.test(name);
    reply.header('content-type', asset.type).header('vary', 'accept-encoding')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff');
    if (asset.brotli && accepts.includes('br')) return reply.header('content-encoding', 'br').send(asset.brotli);
    if (asset.gzip && accepts.includes('gzip')) return reply.header('content-encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.plain);
  };
  app.get('/dashboard', { config: { scope: 'public' }, schema: { hide: true } }, async (req, reply) => serve(req, reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/dashboard/*', { config: { scope: 'public' }, schema: { hide: true } }, async (req, reply) => serve(req, reply, req.params['*'] || 'index.html'));
}
