import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { Env } from './context.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');
const FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** The dashboard: static files shipped with the package, no build step; it talks to /v1 with the key the person pastes. */
export function serveDashboard(app: Hono<Env>): void {
  const cache = new Map<string, string>();
  const icon =
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#6ea8fe"/><path d="M4 5l2 7 2-5 2 5 2-7" stroke="#08121f" stroke-width="1.6" fill="none"/></svg>';
  app.get('/favicon.ico', (c) => c.body(icon, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }));
  for (const [route, file] of Object.entries(FILES)) {
    app.get(route, (c) => {
      let body = cache.get(file);
      if (body === undefined) {
        body = readFileSync(join(DIR, file), 'utf8');
        cache.set(file, body);
      }
      return c.body(body, 200, { 'content-type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    });
  }
}
