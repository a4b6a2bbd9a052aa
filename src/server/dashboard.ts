import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { Env } from './app.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');
const FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** The dashboard: static files shipped with the package, no build step; it talks to /v1 with the key the person pastes. */
export function serveDashboard(app: Hono<Env>): void {
  const cache = new Map<string, string>();
  for (const [route, file] of Object.entries(FILES)) {
    app.get(route, (c) => {
      let body = cache.get(file);
      if (body === undefined) cache.set(file, (body = readFileSync(join(DIR, file), 'utf8')));
      return c.body(body, 200, { 'content-type': TYPES[file.split('.').pop()!], 'cache-control': 'no-cache' });
    });
  }
}
