import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { newEvent } from '../../src/core/events.ts';
import { launchChromium } from '../chromium.ts';
import { approvalRequest, newRun, toolDenied, uid } from '../store/conformance/fixtures.ts';
import { assertFits } from './browser-checks.ts';
import { testServer, type TestServer } from './fixtures.ts';

// The operator's desk in a real browser: the Overview's charts, the webhook delivery log, and
// the countdown on an approval that expires. The store is seeded directly (no worker runs).

let t: TestServer;
let browser: Browser;
const NANO = 1_000_000_000;
const HOOK = 'ops-slack';

async function seed(): Promise<void> {
  const now = Date.now();
  const costs = [0.004, 0.006, 0.011, 0.013, 0.019, 0.042];
  for (const [i, usd] of costs.entries()) {
    const run = newRun({ agent: 'ledger', tenant: 'acme', ceilingNano: 0.05 * NANO, createdAt: now - i * 7 * 60_000 });
    await t.store.createRun(run);
    const stopped = i === 5;
    await t.store.commit({
      runId: run.runId,
      expectedSeq: 1,
      events: [stopped ? newEvent('run.stopped', { reason: 'max_steps', detail: 'step limit' }) : newEvent('run.completed', { output: 'done' })],
      run: { status: stopped ? 'stopped' : 'completed', costNano: usd * NANO, ...(stopped ? { stopReason: 'max_steps' as const } : {}) },
    });
  }
  // One approval, decided after three minutes.
  const parked = newRun({ agent: 'ledger', tenant: 'acme', ceilingNano: 0.05 * NANO, createdAt: now - 10 * 60_000 });
  await t.store.createRun(parked);
  const asked = approvalRequest({ requestedAt: now - 9 * 60_000 });
  await t.store.commit({ runId: parked.runId, expectedSeq: 1, events: [toolDenied()], interventions: [asked], run: { status: 'waiting_approval' } });
  await t.store.appendExternal(
    parked.runId,
    [
      newEvent('approval.decided', {
        approvalId: asked.id,
        callId: asked.callId ?? '',
        decision: 'approved',
        by: 'alice',
        reason: 'ok',
        argsHash: 'sha256:abc',
      }),
    ],
    { intervention: { id: asked.id, status: 'approved', decidedBy: 'alice', decisionReason: 'ok', decidedAt: now - 6 * 60_000 } },
  );
  await t.store.appendAgentEvent?.({ agent: 'ledger', type: 'drift.detected', at: now - 20 * 60_000, v: 1, data: { dimensions: [{ dimension: 'cost' }] } });

  await t.store.addWebhookEndpoint({
    id: HOOK,
    url: 'https://hooks.example.com/services/T0/B0/token',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    events: ['kill_switch.changed'],
    format: 'slack',
    createdAt: now,
  });
  for (const n of [1, 2, 3]) await t.store.enqueueWebhook('kill_switch.changed', `msg_ks_${n}`, { type: 'kill_switch.changed', data: { n } });
  const claimed = await t.store.claimWebhookMessages(10, 60_000);
  const id = (n: number) => claimed.find((m) => m.id === `msg_ks_${n}.${HOOK}`)?.id ?? '';
  await t.store.recordWebhookAttempt(id(1), { delivered: true, status: 204 });
  await t.store.recordWebhookAttempt(id(2), { delivered: false, status: 503, error: 'HTTP 503', retryAt: now + 5 * 60_000 });
  await t.store.recordWebhookAttempt(id(3), { delivered: false, status: null, error: 'connect ECONNREFUSED 10.0.0.9:443', retryAt: null });
}

before(async () => {
  mkdirSync('artifacts', { recursive: true });
  t = await testServer({ execute: false });
  await seed();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await t?.close();
});

async function signedIn(key: string, viewport = { width: 1280, height: 860 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(t.server.url);
  await page.fill('#key', key);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#who:not(:empty)');
  return { page, errors };
}

/** The parts of a Chart.js chart the checks read. */
interface DrawnChart {
  options: { scales: Record<string, { title: { text: string } }>; plugins: { driftMarks?: { buckets?: number[] } } };
  scales: Record<string, { ticks: { label: string | string[] }[] }>;
  data: { datasets: { label: string }[] };
}

/** What each chart on the page drew: its axes' tick labels and titles, its datasets, and how many pixels it painted. */
function drawnCharts(page: Page) {
  return page.evaluate(() => {
    const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): DrawnChart } }).Chart;
    return Array.from(document.querySelectorAll<HTMLCanvasElement>('[data-chart] canvas'), (canvas) => {
      const chart = Chart.getChart(canvas);
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
      const scale = (id: string) => ({
        title: chart.options.scales[id]?.title.text ?? '',
        ticks: (chart.scales[id]?.ticks ?? []).map((tick) => String(tick.label)),
      });
      return {
        id: canvas.closest<HTMLElement>('[data-chart]')?.dataset.chart ?? '',
        painted,
        x: scale('x'),
        y: scale('y'),
        datasets: chart.data.datasets.map((d) => d.label),
        drift: chart.options.plugins.driftMarks?.buckets ?? [],
      };
    });
  });
}

describe('the operator’s desk in a real browser', () => {
  it('loads Chart.js only on the Overview, and draws every chart with labelled axes, the ceiling and the drift alert', async () => {
    const { page, errors } = await signedIn(t.keys.viewer);
    await page.waitForSelector('#runs');
    const loaded = () => page.evaluate(() => performance.getEntriesByType('resource').some((r) => r.name.includes('/vendor/chart')));
    assert.equal(await loaded(), false, 'the runs page does not load the chart library');
    await page.click('a[href="#/overview"]');
    await page.waitForSelector('[data-chart=status] canvas');
    assert.equal(await loaded(), true);
    await page.selectOption('#ov-filters [name=window]', '1h');
    await page.selectOption('#ov-filters [name=agent]', 'ledger');
    await page.waitForFunction(() => document.querySelector('[data-chart=cost-time] .muted')?.textContent?.includes('ceiling of $0.05'));

    const charts = Object.fromEntries((await drawnCharts(page)).map((c) => [c.id, c]));
    assert.deepEqual(Object.keys(charts).sort(), ['cost-histogram', 'cost-time', 'decision', 'per100', 'status', 'stops']);
    for (const c of Object.values(charts)) {
      assert.ok(c.painted > 500, `${c.id} painted ${c.painted} pixels`);
      assert.ok(c.x.title && c.y.title, `${c.id} titles both axes`);
      assert.ok(
        c.x.ticks.length >= 1 && c.y.ticks.length >= 1 && c.x.ticks.length + c.y.ticks.length > 2,
        `${c.id} labels its ticks: ${JSON.stringify([c.x.ticks, c.y.ticks])}`,
      );
    }
    assert.equal(charts.status?.y.title, 'runs');
    assert.deepEqual(charts.status?.datasets, ['completed', 'waiting approval', 'stopped']);
    assert.equal(charts['cost-histogram']?.x.title, 'cost per request (USD)');
    assert.ok(
      charts['cost-histogram']?.x.ticks.every((l) => /^\$[\d.]+–\$[\d.]+$/.test(l)),
      `USD bins: ${charts['cost-histogram']?.x.ticks}`,
    );
    assert.deepEqual(charts['cost-time']?.datasets, ['p50', 'p99', 'ceiling']);
    assert.ok(
      charts['cost-time']?.y.ticks.every((l) => l.startsWith('$')),
      `USD ticks: ${charts['cost-time']?.y.ticks}`,
    );
    assert.deepEqual(charts.stops?.y.ticks, ['max steps']);
    assert.ok((charts.status?.drift.length ?? 0) === 1 && charts['cost-time']?.drift.length === 1, 'the drift alert is marked on the time axis');
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    const text = await page.locator('main').innerText();
    assert.match(text, /ledger, last hour: 7 runs, 6 settled requests\./);
    assert.match(text, /1 approval decided · p50 3 min · p99 3 min/);
    assert.match(text, /1 approval and 0 escalations asked/);
    assert.match(text, /Drift alerts[\s\S]*ledger: cost/);
    assert.doesNotMatch(text, /\b1 (runs|approvals|requests|escalations)\b|\b(\w+) \2\b/, 'plurals read right, no word twice');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('lists webhook deliveries with their status, attempts and last response, and filters the failed ones', async () => {
    const { page, errors } = await signedIn(t.keys.admin);
    await page.click('a[href="#/deliveries"]');
    await page.waitForSelector('tr[data-delivery]');
    const rows = async () =>
      page.$$eval('tr[data-delivery]', (trs) =>
        trs.map((tr) =>
          Array.from(
            tr.querySelectorAll('td'),
            // biome-ignore lint/performance/useDomNodeTextContent: innerText is what a person sees, which is what this checks
            (td) => (td as HTMLElement).innerText.trim(),
          ).slice(0, 5),
        ),
      );
    const byEvent = Object.fromEntries((await rows()).map((r) => [r[0]?.split(' ')[1], r]));
    assert.deepEqual(byEvent.msg_ks_1?.slice(2), ['delivered', '1 attempt', 'HTTP 204']);
    assert.deepEqual(byEvent.msg_ks_2?.slice(2), ['retrying', '1 attempt', 'HTTP 503']);
    assert.deepEqual(byEvent.msg_ks_3?.slice(2), ['gave up', '1 attempt', 'connect ECONNREFUSED 10.0.0.9:443']);
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    assert.match(await page.locator('.endpoints').innerText(), /ops-slack → https:\/\/hooks\.example\.com\/…/);
    const green = await page.locator('tr[data-status=delivered] .badge').evaluate((el) => getComputedStyle(el).color);
    assert.equal(green, 'rgb(76, 195, 138)', 'a delivery that went through reads as a success, not an error');
    await page.check('#dl-filters [name=failed]');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-delivery]').length === 2);
    assert.deepEqual((await rows()).map((r) => r[2]).sort(), ['gave up', 'retrying']);
    assert.deepEqual(errors, []);
    await page.close();

    const viewer = await signedIn(t.keys.viewer);
    assert.equal(await viewer.page.locator('[data-nav=deliveries]').isVisible(), false, 'only an admin of every tenant sees the page');
    await viewer.page.close();
  });

  it('counts down to an approval’s expiry and says what happens then, and says “expired” once it has passed', async () => {
    const { page, errors } = await signedIn(t.keys.approver);
    const now = Date.now();
    const card = (id: string, expiresAt: number | null, onTimeout: 'deny' | 'escalate' | null) => ({
      id,
      kind: 'approval',
      runId: uid('run'),
      agent: 'ledger',
      tenant: 'acme',
      tool: 'refund',
      args: { orderId: 'o-1' },
      reason: 'refunds need a person',
      requestedAt: now - 60_000,
      card: {
        request: 'Refund o-1',
        rationale: null,
        statedConfidence: null,
        assessedConfidence: null,
        rule: 'tier:write',
        ruleReason: 'refund is a write-tier tool',
        undoable: 'reversible',
        undoableReason: 'refund declares compensate',
        planStep: null,
        spend: '$0.001 of $0.05 ceiling',
        requestedAt: now - 60_000,
        waitedMs: 60_000,
        mayDecide: true,
        whyNot: null,
        expiresAt,
        onTimeout,
      },
    });
    // The lead's approval expiry fills expiresAt and onTimeout; until then the browser is handed cards that carry them.
    await page.route('**/v1/interventions?status=pending', (route) =>
      route.fulfill({
        json: {
          interventions: [
            card('appr_deny', now + 4 * 60_000 + 12_000, 'deny'),
            card('appr_escalate', now + 2 * 3_600_000 + 5 * 60_000, 'escalate'),
            card('appr_gone', now - 1000, 'deny'),
            card('appr_never', null, null),
          ],
        },
      }),
    );
    await page.click('a[href="#/inbox"]');
    await page.waitForSelector('[data-intervention=appr_deny] [data-field=expires]');
    const expires = (id: string) => page.locator(`[data-intervention=${id}] [data-field=expires]`).textContent();
    assert.match((await expires('appr_deny')) ?? '', /^expires in 4 min (\d|1[0-2]) s — then denied$/);
    assert.match((await expires('appr_escalate')) ?? '', /^expires in 2 h [45] min — then escalated to a person$/);
    assert.equal(await expires('appr_gone'), 'expired');
    assert.equal(await page.locator('[data-intervention=appr_never] [data-field=expires]').count(), 0, 'no expiry, no countdown');
    const before = await expires('appr_deny');
    await page.waitForTimeout(1_200);
    assert.notEqual(await expires('appr_deny'), before, 'the countdown ticks');
    await page.screenshot({ path: 'artifacts/dashboard-inbox-expiry.png', fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('fits the Overview and the delivery log in a 390 px phone screen and on a 1280 px desktop', async () => {
    for (const viewport of [
      { width: 1280, height: 860 },
      { width: 390, height: 844 },
    ]) {
      const { page, errors } = await signedIn(t.keys.admin, viewport);
      await page.click('a[href="#/overview"]');
      await page.waitForSelector('[data-chart=cost-histogram] canvas');
      const charts = await drawnCharts(page);
      assert.ok(charts.length === 6 && charts.every((c) => c.painted > 500), `${viewport.width} px: every chart drew`);
      await assertFits(page, 'overview', `artifacts/dashboard-overview-${viewport.width}.png`);
      await page.click('a[href="#/deliveries"]');
      await page.waitForSelector('tr[data-delivery]');
      await assertFits(page, 'deliveries', `artifacts/dashboard-deliveries-${viewport.width}.png`);
      assert.deepEqual(errors, []);
      await page.close();
    }
  });
});
