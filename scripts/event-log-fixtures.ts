/**
 * Writes the event-log fixtures: real runs on the simulated model through the public API, each
 * exported from the store in the `warden runs export` format, beside the state its log folds to.
 *
 *   node --conditions=warden-source scripts/event-log-fixtures.ts
 *
 * Files go to test/fixtures/event-logs/v<EVENT_SCHEMA_VERSION>/ as `<name>.json` (the export) and
 * `<name>.expected.json` (test/core/run-state-summary.ts of the folded state). A fixture that
 * exists is never overwritten: fixtures are history (see the README in that folder). To record a
 * new scenario, add it below and run the script; only the new files are written.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { createSqliteStore, createWarden, defineAgent, defineTool, simulated } from '../src/index.ts';
import type { Agent } from '../src/agent/agent.ts';
import { EVENT_SCHEMA_VERSION } from '../src/core/events.ts';
import { foldRun } from '../src/core/fold.ts';
import { exportRun } from '../src/observe/replay/run-export.ts';
import supportDesk from '../examples/support-desk.ts';
import { lyingModel } from '../test/invariants/lying-model.ts';
import { summarizeRunState } from '../test/core/run-state-summary.ts';

const DIR = resolve(import.meta.dirname, '..', 'test', 'fixtures', 'event-logs', `v${EVENT_SCHEMA_VERSION}`);

const store = createSqliteStore({ path: ':memory:' });
const warden = createWarden({ store, sleep: async () => {}, scheduler: { breaker: false, retryBudget: false } });
const written: string[] = [];
const kept: string[] = [];

async function save(name: string, runId: string): Promise<void> {
  const exported = await exportRun(store, runId);
  const expected = summarizeRunState(foldRun(exported.events));
  for (const [file, doc] of [
    [`${name}.json`, exported],
    [`${name}.expected.json`, expected],
  ] as const) {
    const path = join(DIR, file);
    if (existsSync(path)) {
      kept.push(file);
      continue;
    }
    writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
    written.push(file);
  }
}

const lookup = defineTool({
  name: 'lookup_order',
  description: 'Find an order',
  tier: 'read',
  idempotent: true,
  input: z.object({ orderId: z.string() }),
  execute: ({ orderId }) => ({ id: orderId, total: 40 }),
});

function scripted(name: string, turns: Parameters<typeof simulated.script>[0], extra: Partial<Parameters<typeof defineAgent>[0]> = {}): Agent {
  return defineAgent({
    name,
    instructions: `${name} (event-log fixture)`,
    model: simulated.script(turns),
    tools: [lookup],
    limits: { maxSteps: 6, maxToolCalls: 6, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: 0.05 },
    backoff: { baseMs: 0, maxMs: 0 },
    ...extra,
  });
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });

  // The example agent: a verified plan, a lookup and a small refund that needs no person.
  const completed = await warden.run(supportDesk, 'Refund order 2001');
  await save('support-desk-completed', completed.runId);

  // A $250 refund parks for a person, who approves it; the run is then driven to its end.
  const approved = await warden.run(supportDesk, 'Refund order 1042');
  await warden.approve(approved.pending!.id, { by: 'ana', reason: 'receipt checked' });
  await warden.execute(supportDesk, approved.runId);
  await save('support-desk-approved', approved.runId);

  // The same request, denied: the model is told and answers without refunding.
  const denied = await warden.run(supportDesk, 'Refund order 1042 (broken)');
  await warden.deny(denied.pending!.id, { by: 'ana', reason: 'outside the refund window' });
  await warden.execute(supportDesk, denied.runId);
  await save('support-desk-denied', denied.runId);

  // A completed run, then undone: the refund's compensation runs, newest call first.
  const toUndo = await warden.run(supportDesk, 'Refund order 2001');
  await warden.undo(supportDesk, toUndo.runId, { by: 'ana', reason: 'refunded the wrong order' });
  await save('support-desk-undo', toUndo.runId);

  // Stopped by a limit: every step looks up another order until maxSteps.
  const busy = scripted(
    'busy',
    [1, 2, 3, 4].map((n) => ({ toolCalls: [{ tool: 'lookup_order', args: { orderId: `o-${n}` } }] })),
    {
      limits: { maxSteps: 2, maxToolCalls: 6, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: 0.05 },
    },
  );
  await save('limit-max-steps', (await warden.run(busy, 'look everything up')).runId);

  // Stopped by the loop detector: the same call, the same result, three times.
  const looping = scripted(
    'looping',
    [1, 2, 3, 4, 5].map(() => ({ toolCalls: [{ tool: 'lookup_order', args: { orderId: 'o-1' } }] })),
  );
  await save('loop-detected', (await warden.run(looping, 'check order o-1')).runId);

  // A delegation: the lead starts a child run (its own log, the lead's ceiling).
  const researcher = scripted('researcher', [{ toolCalls: [{ tool: 'lookup_order', args: { orderId: 'o-7' } }] }, { text: 'Order o-7 totals $40.' }]);
  const lead = scripted(
    'lead',
    [{ toolCalls: [{ tool: 'delegate_researcher', args: { task: 'find order o-7' } }] }, { text: 'The researcher says o-7 totals $40.' }],
    {
      tools: [],
      delegates: [researcher],
    },
  );
  const parent = await warden.run(lead, 'what does o-7 cost?');
  await save('delegation-parent', parent.runId);
  const [child] = (await store.listRuns({ rootRunId: parent.runId })).filter((r) => r.runId !== parent.runId);
  if (!child) throw new Error(`run ${parent.runId} started no child run`);
  await save('delegation-child', child.runId);

  // A provider that bills more output than the request allowed: the overrun is recorded and the run stops at the ceiling.
  const overrun = defineAgent({
    name: 'overrun',
    instructions: 'Answer.',
    model: lyingModel([{ kind: 'answer', calls: [], extraInput: 0, output: 'over', overBy: 5_000 }]),
    pricing: { inputPerMTok: 1, outputPerMTok: 4 },
    tools: [],
    limits: { maxSteps: 3, maxToolCalls: 3, maxRetries: 1, maxWallMs: 60_000, maxCostUsd: 0.01, maxOutputTokens: 256 },
  });
  await save('budget-overrun', (await warden.run(overrun, 'say something')).runId);

  // A low-confidence step escalates; a person edits its arguments and the run goes on.
  const unsure = scripted(
    'unsure',
    [
      { toolCalls: [{ tool: 'lookup_order', args: { orderId: 'o-1' } }], confidence: 0.2 },
      { text: 'Order o-2 totals $40.', confidence: 0.9 },
    ],
    {
      escalation: { threshold: 0.6 },
    },
  );
  const escalated = await warden.run(unsure, 'look up o-2');
  await warden.decideEscalation(escalated.pending!.id, { decision: 'edit', args: { orderId: 'o-2' }, by: 'ana', reason: 'wrong order' });
  await warden.execute(unsure, escalated.runId);
  await save('escalation-edited', escalated.runId);

  // Plan mode: a plan naming a tool the agent lacks is rejected, and with no re-plans left the run stops.
  const planner = scripted('planner', [{ toolCalls: [{ tool: 'submit_plan', args: { steps: [{ id: 'x', tool: 'launch_rocket', args: {} }] } }] }], {
    plan: { maxRejections: 0 },
  });
  await save('plan-rejected', (await warden.run(planner, 'plan something')).runId);

  // A run parked for approval, cancelled by a person instead of decided.
  const cautious = scripted('cautious', [{ toolCalls: [{ tool: 'lookup_order', args: { orderId: 'o-1' } }] }, { text: 'Done.' }], {
    policy: { rules: [{ name: 'ask-first', decision: 'approve' }] },
  });
  const parked = await warden.run(cautious, 'look up o-1');
  await warden.cancel(parked.runId, { by: 'bob', reason: 'customer withdrew' });
  await save('cancelled-while-parked', parked.runId);

  // v2: approvals with a deadline nobody met. One is denied (the model is told), one becomes an
  // escalation a person approves, and the call then runs on that person's word.
  let clock = Date.now();
  const timed = createWarden({ store, sleep: async () => {}, now: () => clock, scheduler: { breaker: false, retryBudget: false } });
  const deadline = (onTimeout: 'deny' | 'escalate') =>
    scripted(
      `deadline-${onTimeout}`,
      [
        { toolCalls: [{ tool: 'lookup_order', args: { orderId: 'o-3' } }] },
        { text: onTimeout === 'deny' ? 'Nobody approved the lookup.' : 'Order o-3 totals $40.' },
      ],
      { policy: { rules: [{ name: 'ask-first', decision: 'approve' }], approvalTimeoutMs: 60_000, onApprovalTimeout: onTimeout } },
    );
  const denyAgent = deadline('deny');
  const expiredDenied = await timed.run(denyAgent, 'look up o-3');
  clock += 61_000;
  await timed.execute(denyAgent, expiredDenied.runId);
  await save('approval-expired-denied', expiredDenied.runId);
  const escalateAgent = deadline('escalate');
  const expiredEscalated = await timed.run(escalateAgent, 'look up o-3');
  clock += 61_000;
  const [turned] = await timed.expireApprovals({ runId: expiredEscalated.runId });
  clock += 5_000;
  await timed.decideEscalation(turned!.escalationId!, { decision: 'approve', by: 'ana', reason: 'fine to look up' });
  await timed.execute(escalateAgent, expiredEscalated.runId);
  await save('approval-expired-escalated', expiredEscalated.runId);

  // v2: the primary refuses the request (401, not retryable), so the step falls back to the next
  // model of the list, which answers at its own price (`model.fallback`, `model.called.model`).
  const fallsBack = defineAgent({
    name: 'falls-back',
    instructions: 'falls-back (event-log fixture)',
    model: [
      simulated.script([{ text: 'never', error: { status: 401, times: 100 } }], { modelId: 'primary' }),
      simulated.script([{ text: 'Order o-4 ships Friday.' }], { modelId: 'fallback', inputPerMTok: 3, outputPerMTok: 15 }),
    ],
    tools: [],
    limits: { maxSteps: 4, maxRetries: 2, maxCostUsd: 0.05 },
  });
  await save('model-fallback', (await warden.run(fallsBack, 'when does o-4 ship?')).runId);

  // v2: a conversation of three turns whose history policy summarizes: the third turn's model
  // summarizes the first (conversation.summarized, with its reservation) and records the history.
  const chat = defineAgent({
    name: 'chat',
    instructions: 'chat (event-log fixture)',
    model: simulated.respond(({ userMessages }) => ({ text: `Noted: ${userMessages.at(-1)?.slice(0, 40)}` })),
    tools: [],
    limits: { maxSteps: 3, maxCostUsd: 0.05 },
    conversation: { history: { summarize: { maxTokens: 200, keepTurns: 1 } } },
  });
  let turn = null;
  for (const said of ['My order 1042 came damaged, the box was crushed.', 'I would like a refund rather than a new one.', 'How long will it take?'])
    turn = await warden.run(chat, said, { conversation: 'fixture-chat' });
  await save('conversation-turn-summarized', turn!.runId);

  await store.close();
  console.log(`v${EVENT_SCHEMA_VERSION}: wrote ${written.length} file(s)${written.length ? `: ${written.join(', ')}` : ''}; kept ${kept.length} that exist.`);
}

await main();
