import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import supportDesk from '../../examples/support-desk.ts';
import { rehearse } from '../../src/rehearse/rehearsal.ts';
import { buildReport } from '../../src/rehearse/report.ts';
import { reportHtml } from '../../src/rehearse/report-html.ts';
import { tempDir } from '../helpers.ts';
import { launchChromium } from '../chromium.ts';

describe('the HTML rehearsal report', () => {
  it('renders in a real headless Chromium with the four answers, four drawn charts, no console error and no network', async () => {
    const report = buildReport(await rehearse({ agent: supportDesk, requests: 600, seed: 2 }));
    const file = join(tempDir(), 'report.html');
    writeFileSync(file, reportHtml(report));

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

      assert.equal(await page.title(), 'Rehearsal of support-desk');
      const questions = await page.locator('.question').allInnerTexts();
      assert.equal(questions.length, 4);
      assert.match(questions[1]!, /0 destructive calls ran without approval/);
      assert.equal(await page.locator('svg.chart').count(), 4);
      // Drawn, not just present: every chart has bars with a real size on screen.
      for (const chart of await page.locator('svg.chart').all()) {
        const box = await chart.boundingBox();
        assert.ok(box && box.width > 100 && box.height > 100);
        assert.ok((await chart.locator('rect.bar').count()) > 0);
      }
      const tallest = await page.locator('svg.chart rect.bar').evaluateAll((rects) => Math.max(...rects.map((r) => r.getBoundingClientRect().height)));
      assert.ok(tallest > 50, `tallest bar ${tallest}px`);
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, []);

      mkdirSync(resolve('artifacts'), { recursive: true });
      await page.screenshot({ path: resolve('artifacts/rehearsal-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
