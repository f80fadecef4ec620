import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The web UI: two pages from one Vite root. `index.html` is the admin UI (served at /admin/),
 * `search.html` the tenant search page (served at /t/:tenant). Assets are hashed and served from
 * /ui/ (src/http/routes/ui.ts); nothing is loaded from a CDN.
 */
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/ui/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: here('../../../dist/admin-ui'),
    emptyOutDir: true,
    rollupOptions: { input: { admin: here('index.html'), search: here('search.html') } },
  },
});
