import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { testServer, waitFor, WRITER_FINAL, writerGate, type TestServer } from './fixtures.ts';
import { launchChromium } from '../chromium.ts';
import { assertFits } from './browser-checks.ts';

let t: TestServer;
let browser: Browser;

before(async () => {
  mkdirSync('artifacts', { recursive: true });
  t = await testServer();
  browser = await launchChromium();
});
after(async () => {
  writerGate.open();
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
  await page.keyboard.press('Enter'); // the form works from the keyboard
  await page.waitForSelector('#who:not(:empty)');
  return { page, errors };
}

async function parkedDelete(input: string): Promise<string> {
  const { json } = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input });
  await waitFor('the delete waits for a person', async () => (await t.call(t.keys.viewer, 'GET', `/v1/runs/${json.runId}`)).json.status === 'waiting_approval');
  return json.runId;
}

describe('the dashboard in a real browser', () => {
  it('shows a conversation as its turns, each with what was said and its timeline', async () => {
    const first = await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-dash/messages', { agent: 'desk', input: 'please close c-42' });
    await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-dash/messages', { agent: 'desk', input: 'is it done?' });
    await waitFor(
      'the first turn waits for a person',
      async () => (await t.call(t.keys.viewer, 'GET', `/v1/runs/${first.json.runId}`)).json.status === 'waiting_approval',
    );
    const { page, errors } = await signedIn(t.keys.viewer);
    await page.click('a[href="#/conversations"]');
    await page.locator('[data-conversation="chat-dash"]').click();
    await page.locator('[data-testid=turn]').nth(1).waitFor();
    const turns = page.locator('[data-testid=turn]');
    assert.equal(await turns.count(), 2);
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    assert.match(await turns.nth(0).innerText(), /Turn 1\s+waiting approval[\s\S]*user\s+please close c-42/);
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    assert.match(await turns.nth(1).innerText(), /Turn 2\s+queued[\s\S]*user\s+is it done\?/);
    await turns.nth(0).locator('summary').click();
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    assert.match(await turns.nth(0).locator('.timeline').innerText(), /Waiting for a person/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('lets a person find a delete waiting for approval, approve it, and see the run complete', async () => {
    const runId = await parkedDelete('please delete c-42');
    const { page, errors } = await signedIn(t.keys.approver);
    await page.click('a[href="#/inbox"]');
    const card = page.locator(`[data-intervention][data-tool="delete_account"]`).filter({ hasText: runId });
    await card.waitFor();
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    const shown = await card.innerText();
    assert.match(shown, /"customerId": "c-42"/, 'the exact arguments are shown');
    assert.match(shown, /Request\s+please delete c-42/, 'the request that started the run');
    assert.match(shown, /Model's reason\s+“The customer asked to close the account\.”/);
    assert.match(shown, /Asked by\s+tier:delete delete_account is a delete-tier tool: delete-tier tools always wait for a person/);
    assert.match(shown, /Undo\s+irreversible delete_account is a delete-tier tool with no compensate/);
    assert.match(shown, /Spend\s+\$[\d.]+ of \$0\.0500 ceiling/);
    assert.match(shown, /Waiting\s+\d+s/);
    assert.equal(await card.locator('button[data-act=approve]').isEnabled(), true);
    await card.locator('textarea[name=reason]').fill('written request on file');
    await card.locator('button[data-act=approve]').click();
    await page.goto(`${t.server.url}/#/runs/${runId}`);
    await page.waitForSelector('h2 .s-completed', { timeout: 10_000 }).catch(async (e) => {
      throw new Error(
        `${e.message}; run: ${JSON.stringify((await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}`)).json.status)}; intervention: ${JSON.stringify((await t.call(t.keys.viewer, 'GET', '/v1/interventions?status=approved')).json.interventions.map((i: { runId: string }) => i.runId))}`,
      );
    });
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    const timeline = await page.locator('[data-testid=timeline]').innerText();
    assert.match(timeline, /approved/i);
    await page.screenshot({ path: 'artifacts/dashboard-run-approved.png', fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('lets another person deny one, and the run goes on without the delete', async () => {
    const runId = await parkedDelete('delete c-42 again');
    const { page, errors } = await signedIn(t.keys.approver2);
    await page.click('a[href="#/inbox"]');
    const card = page.locator('[data-intervention]').filter({ hasText: runId });
    await card.locator('textarea[name=reason]').fill('no written request');
    await card.locator('button[data-act=deny]').click();
    await waitFor('the run ends', async () => (await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}`)).json.status === 'completed');
    const run = (await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}`)).json;
    assert.equal(run.toolCalls[0].status, 'denied');
    await page.screenshot({ path: 'artifacts/dashboard-inbox-after-deny.png', fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('tells the person who submitted a run, before any click, that another approver must decide', async () => {
    const { json } = await t.call(t.keys.admin, 'POST', '/v1/runs', { agent: 'desk', input: 'delete my own c-7', tenant: 'acme' });
    await waitFor('parked', async () => (await t.call(t.keys.viewer, 'GET', `/v1/runs/${json.runId}`)).json.status === 'waiting_approval');
    const { page, errors } = await signedIn(t.keys.admin);
    await page.click('a[href="#/inbox"]');
    const card = page.locator('[data-intervention]').filter({ hasText: json.runId });
    await card.waitFor();
    const whyNot = `you submitted run ${json.runId}; another approver must decide (four eyes)`;
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    assert.equal(await card.locator('[data-testid=why-not]').innerText(), whyNot);
    for (const act of ['approve', 'deny']) {
      const button = card.locator(`button[data-act=${act}]`);
      assert.equal(await button.isDisabled(), true, `${act} is disabled`);
      assert.equal(await button.getAttribute('title'), whyNot);
    }
    const waitedAt = await card.locator('[data-waited-since]').textContent();
    await page.waitForTimeout(1_200);
    assert.notEqual(await card.locator('[data-waited-since]').textContent(), waitedAt, 'the wait ticks live');
    await page.screenshot({ path: 'artifacts/dashboard-inbox-four-eyes.png', fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
    assert.equal(
      (await t.call(t.keys.approver2, 'POST', `/v1/approvals/${(await t.call(t.keys.admin, 'GET', `/v1/runs/${json.runId}`)).json.pending.id}/deny`, {}))
        .status,
      200,
    );
  });

  it('shows the text of a live run as the model streams it, before the run completes', async () => {
    writerGate.close(); // the model streams "drafting …" until the gate opens
    const { json } = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'writer', input: 'draft a reply' });
    const { page, errors } = await signedIn(t.keys.viewer);
    await page.goto(`${t.server.url}/#/runs/${json.runId}`);
    const live = page.locator('[data-testid=live-text]');
    await live.waitFor({ timeout: 10_000 });
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    assert.match(await live.innerText(), /drafting/);
    assert.equal((await t.call(t.keys.viewer, 'GET', `/v1/runs/${json.runId}`)).json.status, 'running', 'the text showed while the run was live');
    await page.screenshot({ path: 'artifacts/dashboard-streaming.png', fullPage: true });
    writerGate.open();
    await page.waitForSelector('h2 .s-completed', { timeout: 10_000 });
    assert.equal(await live.count(), 0, 'once committed, the timeline shows the answer instead');
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    assert.match(await page.locator('[data-testid=timeline]').innerText(), /Step 1: the model gave its final answer: "drafting/);
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
    assert.ok((await page.locator('.kv').innerText()).includes(WRITER_FINAL), 'the whole answer, as committed');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('stops running runs with the kill switch, after a confirmation', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'slow', input: `scan ${i}` })).json.runId);
    await waitFor('the scans are running', async () => {
      const runs = await Promise.all(ids.map(async (id) => (await t.call(t.keys.viewer, 'GET', `/v1/runs/${id}`)).json.status));
      return runs.every((s) => s === 'running');
    });
    const { page, errors } = await signedIn(t.keys.admin);
    await page.click('a[href="#/controls"]');
    await page.selectOption('#scope-kind', 'agent');
    await page.fill('#scope-name', 'slow');
    await page.fill('#switch-reason', 'runaway scans');
    page.once('dialog', (d) => d.accept());
    await page.click('#engage');
    await page.waitForSelector('[role=status]:text-is("Stopped 3 runs.")');
    assert.equal(await page.locator('#switch-error').textContent(), '', 'a success is not shown as an error');
    for (const id of ids) assert.equal((await t.call(t.keys.viewer, 'GET', `/v1/runs/${id}`)).json.status, 'cancelled');
    await page.screenshot({ path: 'artifacts/dashboard-kill-switch.png', fullPage: true });
    const refused = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'slow', input: 'again' });
    assert.equal(refused.status, 409, 'new runs are refused while it is engaged');
    await page.click('[data-lift="agent:slow"]');
    await page.waitForSelector('text=None. Everything may run.');
    await page.click('a[href="#/overview"]');
    await page.waitForSelector('[data-chart=status] canvas');
    await page.screenshot({ path: 'artifacts/dashboard-overview.png', fullPage: true });
    await page.click('a[href="#/runs"]');
    await page.waitForSelector('#runs tr[data-run]');
    await page.screenshot({ path: 'artifacts/dashboard-runs.png', fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("shows each budget's spend against its maximum and the projection to the window end on the overview", async () => {
    const put = await t.call(t.keys.admin, 'PUT', '/v1/budgets', { scope: 'tenant:acme', window: 'month', maxUsd: 1_000, alertAt: [0.5] });
    assert.equal(put.status, 200);
    try {
      const { page, errors } = await signedIn(t.keys.viewer);
      await page.click('a[href="#/overview"]');
      const budget = page.locator('[data-testid=budget][data-scope="tenant:acme"][data-window=month]');
      await budget.waitFor();
      // biome-ignore lint/performance/useDomNodeTextContent: what a person sees
      const shown = await budget.innerText();
      assert.match(shown, /tenant:acme · month · stored/);
      assert.match(shown, /\$[\d.]+ of \$1000\.0000 \([\d.]+%\)/);
      assert.match(shown, /projected \$[\d.]+ \([\d.]+%\) by /);
      assert.equal(await budget.locator('.budget-bar .projected').count(), 1);
      await page.screenshot({ path: 'artifacts/dashboard-budgets.png', fullPage: true });
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await t.call(t.keys.admin, 'DELETE', '/v1/budgets?scope=tenant:acme');
    }
  });

  it('fits every page in a 390 px wide phone screen as well as on a desktop, with no horizontal overflow', async () => {
    const shots = mkdtempSync(join(tmpdir(), 'warden-dashboard-'));
    const runId = await parkedDelete('please delete c-4242424242424242424242424242424242424242');
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const at = (page: Page, name: string) => assertFits(page, name, join(shots, `${name}-${viewport.width}.png`));
      const login = await browser.newPage({ viewport });
      await login.goto(t.server.url);
      await login.waitForSelector('#key');
      assert.equal(await login.locator('nav').isVisible(), false, 'the sign-in page shows no navigation');
      await at(login, 'login');
      await login.close();

      const { page, errors } = await signedIn(t.keys.approver, viewport);
      await page.waitForSelector('#runs tr[data-run]');
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
      assert.doesNotMatch(await page.locator('#runs').innerText(), /\b(\w+)\s+\1\b/i, 'no status word twice in a row');
      await at(page, 'runs');
      await page.goto(`${t.server.url}/#/runs/${runId}`);
      await page.waitForSelector('[data-testid=timeline] li');
      await at(page, 'run');
      await page.goto(`${t.server.url}/#/inbox`);
      await page.locator('[data-intervention]').filter({ hasText: runId }).waitFor();
      await at(page, 'inbox');
      await page.goto(`${t.server.url}/#/overview`);
      await page.waitForSelector('[data-chart=status] canvas');
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a person sees, which is what this checks
      assert.doesNotMatch(await page.locator('main').innerText(), /\b1 runs\b|\b1 steps\b/, 'plurals read right');
      await at(page, 'overview');
      await page.goto(`${t.server.url}/#/controls`);
      await page.waitForSelector('#engage');
      await at(page, 'controls');
      assert.deepEqual(errors, []);
      await page.close();
    }
    const pending = (await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}`)).json.pending;
    assert.equal((await t.call(t.keys.approver2, 'POST', `/v1/approvals/${pending.id}/deny`, {})).status, 200);
  });
});
