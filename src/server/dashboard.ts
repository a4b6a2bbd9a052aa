import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { compress } from 'hono/compress';
import type { Env } from './context.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');
const FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/charts.js': 'charts.js', '/style.css': 'style.css' };
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** The URL the dashboard loads Chart.js from (only on the Overview). */
export const CHART_JS_ROUTE = '/vendor/chart.umd.min.js';

/**
 * Chart.js's browser build, found where Node resolves the `chart.js` dependency: in this
 * repository's node_modules, or beside the installed `warden` package in a user's project. Its
 * exports map names no file of the browser build, so the build is taken from the folder of the
 * entry it does export (`dist/chart.js`).
 */
export function chartJsFile(): string {
  return join(dirname(fileURLToPath(import.meta.resolve('chart.js'))), 'chart.umd.min.js');
}

/** The dashboard: static files shipped with the package, no build step; it talks to /v1 with the key the person pastes. */
export function serveDashboard(app: Hono<Env>): void {
  const cache = new Map<string, string>();
  const read = (path: string) => {
    let body = cache.get(path);
    if (body === undefined) {
      body = readFileSync(path, 'utf8');
      cache.set(path, body);
    }
    return body;
  };
  const icon =
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#6ea8fe"/><path d="M4 5l2 7 2-5 2 5 2-7" stroke="#08121f" stroke-width="1.6" fill="none"/></svg>';
  app.get('/favicon.ico', (c) => c.body(icon, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }));
  for (const [route, file] of Object.entries(FILES)) {
    app.get(route, (c) =>
      c.body(read(join(DIR, file)), 200, {
        'content-type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
      }),
    );
  }
  // The pinned version changes only with Warden's own, so a day's caching is safe; the source map is
  // not served. Compressed for browsers that ask (about 210 KB, a third of that gzipped).
  app.get(CHART_JS_ROUTE, compress(), (c) =>
    c.body(read(chartJsFile()).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'), 200, {
      'content-type': TYPES.js ?? '',
      'cache-control': 'max-age=86400',
    }),
  );
}
