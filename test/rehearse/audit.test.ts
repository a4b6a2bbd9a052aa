import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import careless from '../../examples/careless-agent.ts';
import supportDesk from '../../examples/support-desk.ts';
import fallbackDesk from '../../examples/fallback-desk.ts';
import { auditAgent } from '../../src/rehearse/audit.ts';
import { runCli } from '../helpers.ts';

describe('warden audit', () => {
  it('lists each fallback model with its own price, and bounds the limits alone at the dearest model', () => {
    const withFallback = auditAgent(fallbackDesk).cost;
    assert.deepEqual(
      withFallback.fallbacks.map((f) => [f.model, f.pricing.inputPerMTok, f.pricing.outputPerMTok]),
      [['warden.simulated/large', 3, 12]],
    );
    assert.deepEqual(auditAgent(supportDesk).cost.fallbacks, []);
    // Same limits, a dearer second model that every step may fall back to: the bound without the ceiling grows.
    assert.ok(withFallback.limitsAloneAllowUsd > 10 * auditAgent(supportDesk).cost.limitsAloneAllowUsd, JSON.stringify(withFallback));
  });

  it('passes the example agent, with the evidence for each question', () => {
    const report = auditAgent(supportDesk);
    assert.equal(report.ready, true);
    assert.deepEqual(report.pushBack, []);
    assert.deepEqual(
      report.permissions.tools.map((t) => [t.name, t.tier, t.idempotent, t.lockKey]),
      [
        ['lookup_order', 'read', true, false],
        ['refund', 'write', true, true],
        ['delete_account', 'delete', false, false],
      ],
    );
    assert.match(report.permissions.tools[2]!.approval, /a person, always \(delete tier\)/);
    assert.equal(report.cost.ceilingUsd, 0.05);
    assert.ok(report.stopConditions.limits.every((l) => !l.isDefault));
    assert.equal(report.stopConditions.escalationThreshold, 0.6);
  });

  it('fails the careless agent with every reason it has', () => {
    const report = auditAgent(careless);
    assert.equal(report.ready, false);
    assert.deepEqual(
      report.pushBack.map((f) => [f.id, f.subject, f.blocking]),
      [
        ['irreversible_without_approval', 'send_payment', true],
        ['write_not_idempotent_or_reversible', 'send_payment', true],
        ['delete_without_approval', 'purge_customer', true],
        ['irreversible_without_approval', 'purge_customer', true],
        ['no_explicit_ceiling', 'limits.maxCostUsd', true],
        ['limits_at_defaults', 'maxSteps, maxToolCalls, maxRetries, maxWallMs, maxOutputTokens', false],
        ['no_plan_verification', 'plan', true],
        ['no_escalation_threshold', 'escalation', true],
      ],
    );
    assert.match(report.permissions.tools[2]!.approval, /^NOBODY/);
  });

  it('exits 0 for a ready agent and 3 with the reasons for one that is not', async () => {
    const ready = await runCli(['audit', 'examples/support-desk.ts']);
    assert.equal(ready.code, 0, ready.stderr);
    assert.match(ready.stdout, /READY — no blocking item/);
    assert.match(ready.stdout, /Nothing to push back on/);

    const notReady = await runCli(['audit', 'examples/careless-agent.ts', '--json']);
    assert.equal(notReady.code, 3, notReady.stderr);
    const json = JSON.parse(notReady.stdout);
    assert.equal(json.ready, false);
    assert.equal(json.pushBack.filter((f: { blocking: boolean }) => f.blocking).length, 7);
  });
});

describe('warden rehearse (CLI)', () => {
  it('prints the report as JSON, with the progress on stderr as plain lines when not a terminal', async () => {
    const run = await runCli(['rehearse', 'examples/support-desk.ts', '--requests', '300', '--seed', '4', '--faults', 'calm', '--volume', '1000', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.requests, 300);
    assert.equal(report.profile.name, 'calm');
    assert.equal(report.cost.projection.volumePerDay, 1000);
    for (const section of ['stopConditions', 'permissions', 'observability', 'cost', 'coordination', 'answers', 'timing'])
      assert.ok(section in report, section);
    assert.match(run.stderr, /rehearsal 300\/300 · [\d,]+\/s · completed/);
    assert.doesNotMatch(run.stderr, /\r/);
  });

  it('answers bad options with exit 2 and a typed error', async () => {
    const badProfile = await runCli(['rehearse', 'examples/support-desk.ts', '--faults', 'hurricane']);
    assert.equal(badProfile.code, 2);
    assert.match(badProfile.stderr, /INVALID_ARGUMENT: Unknown fault profile "hurricane"/);
    const badCount = await runCli(['rehearse', 'examples/support-desk.ts', '--requests', 'lots']);
    assert.equal(badCount.code, 2);
    assert.match(badCount.stderr, /--requests must be an integer/);
    assert.doesNotMatch(badProfile.stderr + badCount.stderr, /\n\s+at /);
  });
});
