import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { UiNotBuiltError } from '../../errors.ts';
import { ErrorBody, TenantParams } from '../schemas/common.ts';

/**
 * The built web UI (Vite, `src/admin/ui` → `dist/admin-ui`): the admin page at `/admin/`, the tenant
 * search page at `/t/:tenant`, their hashed assets at `/ui/`. The path is the same from
 * `src/http/routes/` (tsx) and `dist/http/routes/` (compiled): three levels up is the package root.
 */
export const UI_DIR = fileURLToPath(new URL('../../../dist/admin-ui/', import.meta.url));
export const UI_ASSET_PREFIX = '/ui/';

export const uiRoutes: FastifyPluginAsyncTypebox<{ admin: boolean; uiDir?: string }> = async (app, options) => {
  const root = options.uiDir ?? UI_DIR;
  const built = existsSync(`${root}/index.html`);
  // Security headers for the pages and their assets only (this plugin is encapsulated). Everything
  // ships from this origin; logos are data: URLs; React sets theme colours as inline style values.
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
  if (built) {
    await app.register(fastifyStatic, {
      root,
      prefix: UI_ASSET_PREFIX,
      // The HTML pages are served by the routes below, with no-cache; this serves the hashed assets.
      index: false,
      // File names carry a content hash, so a new build never reuses a cached URL.
      immutable: true,
      maxAge: '365d',
    });
  }
  const page = (file: string) => async (_request: unknown, reply: FastifyReply) => {
    if (!built) throw new UiNotBuiltError();
    return reply.header('cache-control', 'no-cache').sendFile(file, root);
  };

  if (options.admin) {
    app.get('/admin', (_request, reply) => reply.redirect('/admin/'));
    app.get('/admin/', { schema: { response: { '5xx': ErrorBody } } }, page('index.html'));
  }
  app.get('/t/:tenant', { schema: { params: TenantParams, response: { '4xx': ErrorBody, '5xx': ErrorBody } } }, page('search.html'));
};
