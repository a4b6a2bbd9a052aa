import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../../test/helpers.ts';
import { defineTool } from '../agent/tool.ts';
import { foldRun } from '../core/fold.ts';
import { z } from 'zod';
import { approvalCard, loadApprovalCard } from './approval-card.ts';

const refundTurn = {
  toolCalls: [{ tool: 'refund', args: { orderId: '1042', amount: 250 } }],
  rationale: 'Order found; refund the full amount.',
  confidence: 0.85,
};

async function parked(agent = scriptedAgent([refundTurn], supportTools(new SideEffects()))) {
  const { warden, store } = testWarden();
  const result = await warden.run(agent, 'Refund order 1042, it arrived broken');
  assert.equal(result.status, 'waiting_approval');
  const [record] = await store.listInterventions({ status: 'pending' });
  assert.ok(record);
  return { agent, record, state: foldRun(await warden.events(result.runId)), store };
}

describe('the approval card', () => {
  it('says what was asked, why the model proposed it, which predicate asked, what is at stake and how long it waited', async () => {
    const { agent, record, state } = await parked();
    const card = approvalCard({ state, record, agent, now: record.requestedAt + 90_000 });
    assert.equal(card.request, 'Refund order 1042, it arrived broken');
    assert.equal(card.rationale, 'Order found; refund the full amount.');
    assert.equal(card.statedConfidence, 0.85);
    assert.equal(card.rule, 'tool:refund.approval');
    assert.equal(card.ruleReason, 'approval predicate of refund returned true for {"orderId":"1042","amount":250}');
    assert.equal(card.undoable, 'irreversible');
    assert.match(card.undoableReason, /refund is a write-tier tool with no compensate/);
    assert.equal(card.planStep, null);
    assert.match(card.spend, /^\$[\d.]+ of \$[\d.]+ ceiling$/);
    assert.ok(card.spentUsd > 0 && card.spentUsd <= card.ceilingUsd);
    assert.equal(card.waitedMs, 90_000);
    assert.deepEqual([card.mayDecide, card.whyNot], [true, null]);
    assert.deepEqual([card.expiresAt, card.onTimeout], [null, null], 'no expiry until approvals can expire');
  });

  it('names the tier of a tier rule and calls a tool with compensate reversible', async () => {
    const wipe = defineTool({
      name: 'wipe',
      description: 'Wipe a cache',
      tier: 'delete',
      input: z.object({ key: z.string() }),
      execute: () => ({ ok: true }),
      compensate: () => ({ restored: true }),
    });
    const { agent, record, state } = await parked(scriptedAgent([{ toolCalls: [{ tool: 'wipe', args: { key: 'k' } }] }], [wipe]));
    const card = approvalCard({ state, record, agent, now: record.requestedAt });
    assert.equal(card.rule, 'tier:delete');
    assert.equal(card.ruleReason, 'wipe is a delete-tier tool: delete-tier tools always wait for a person');
    assert.equal(card.undoable, 'reversible');
    assert.equal(card.rationale, null);
  });

  it('refuses the key that submitted the run (four eyes) and a role that may not decide, saying why', async () => {
    const { agent, record, state } = await parked();
    const approver = { keyId: 'key_a', role: 'approver', roleMayDecide: true };
    const own = approvalCard({ state, record, agent, submittedBy: 'key_a', viewer: approver, now: record.requestedAt });
    assert.equal(own.mayDecide, false);
    assert.equal(own.whyNot, `you submitted run ${state.rootRunId}; another approver must decide (four eyes)`);
    const other = approvalCard({ state, record, agent, submittedBy: 'key_b', viewer: approver, now: record.requestedAt });
    assert.deepEqual([other.mayDecide, other.whyNot], [true, null]);
    const viewer = approvalCard({ state, record, agent, viewer: { keyId: 'key_v', role: 'viewer', roleMayDecide: false }, now: record.requestedAt });
    assert.match(viewer.whyNot ?? '', /role \(viewer\) may look but not decide/);
  });

  it('says less, never more, when the agent cannot be loaded', async () => {
    const { record, store } = await parked();
    const card = await loadApprovalCard(store, record, async () => Promise.reject(new Error('file gone')), { now: record.requestedAt });
    assert.equal(card.undoable, 'unknown');
    assert.equal(card.rule, 'tool:refund.approval');
    assert.equal(card.ruleReason, 'the tool asks for approval of these arguments');
  });
});
