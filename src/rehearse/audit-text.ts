import { formatUsd, usdToNano } from '../core/money.ts';
import type { ModelPricing } from '../model/model-pricing.ts';
import type { AuditReport } from './audit.ts';

const yes = (b: boolean) => (b ? 'yes' : 'no');

/** The audit as a person reads it: the four questions with their evidence, then what to push back on. */
export function auditText(r: AuditReport): string {
  const s = r.stopConditions;
  const lines: string[] = [
    `Audit of ${r.agent}: ${r.ready ? 'READY — no blocking item' : `NOT READY — ${r.pushBack.filter((f) => f.blocking).length} blocking item(s)`}`,
    '',
    '1. What stops this agent looping forever?',
    ...s.limits.map((l) => `   ${l.name.padEnd(16)} ${String(l.value).padStart(8)}${l.isDefault ? '  (default)' : ''}`),
    `   loop detection   same call and result ${s.loopDetection.repeats}×, or ${s.loopDetection.noProgressSteps} steps without progress`,
    `   plan mode        ${s.planMode ? 'on: the plan is verified before anything runs' : 'off'}`,
    `   escalation       ${s.escalationThreshold === null ? 'none' : `steps below confidence ${s.escalationThreshold} wait for a person`}`,
    '',
    '2. What may each tool do, and which actions wait for a person?',
    ...r.permissions.tools.map(
      (t) =>
        `   ${t.name} (${t.tier}): approval by ${t.approval}; idempotent ${yes(t.idempotent)}; reversible ${yes(t.reversible)}; lock key ${yes(t.lockKey)}` +
        `; ${t.costUsd === null ? 'unpriced' : t.costUsd === 'per call' ? 'priced per call' : `${formatUsd(usdToNano(t.costUsd))} a call`}; timeout ${t.timeoutMs} ms, ${t.retries} retries` +
        (t.requires.length ? `; requires ${t.requires.join(', ')}` : '') +
        (t.provides.length ? `; provides ${t.provides.join(', ')}` : '') +
        (t.origin ? `\n      from ${t.origin}` : ''),
    ),
    ...r.permissions.rules.map(
      (p) =>
        `   rule ${p.name}: ${p.decision} for ${p.tools === 'all' ? 'all tools' : p.tools.join(', ')}${p.tiers === 'all' ? '' : ` (tiers ${p.tiers.join(', ')})`}`,
    ),
    `   after a denial   ${r.permissions.onDeny === 'stop' ? 'the run stops' : 'the model is told and may try something else'}`,
    `   content guards   ${guardWords(r.permissions.guards)}`,
    `   reversibility    ${r.reversibleTools.length} reversible (${r.reversibleTools.join(', ') || 'none'}), ${r.irreversibleTools.length} irreversible (${r.irreversibleTools.join(', ') || 'none'}) write/delete tools`,
    '',
    '3. When something goes wrong, can we see why each step was chosen?',
    `   decision trace   ${r.observability.decisionTrace}`,
    `   OpenTelemetry    ${r.observability.openTelemetry}`,
    '',
    '4. What is the most one request can cost?',
    `   ceiling          ${formatUsd(usdToNano(r.cost.ceilingUsd))} per request${r.cost.explicit ? '' : ' (default)'}`,
    `   worst case       ${r.cost.detail}`,
    `   model price      ${priceWords(r.cost.price.pricing)}; from ${r.cost.price.from}`,
    ...r.cost.fallbacks.map(
      (f, i) => `   ${i === 0 ? 'fallbacks' : '         '}        ${f.model}: ${priceWords(f.pricing)}; from ${f.from} (each call reserved at this price)`,
    ),
    '',
    r.pushBack.length === 0 ? 'Nothing to push back on.' : 'Push back on:',
    ...r.pushBack.map((f) => `   ${f.blocking ? 'BLOCKING' : 'advisory'}  [${f.id}] ${f.message}\n             fix: ${f.fix}`),
  ];
  return `${lines.join('\n')}\n`;
}

function priceWords(p: ModelPricing): string {
  const rate = (usdPerMTok: number) => `$${usdPerMTok}`;
  return [
    `input ${rate(p.inputPerMTok)}`,
    ...(p.cachedInputPerMTok !== undefined ? [`cached input ${rate(p.cachedInputPerMTok)}`] : []),
    ...(p.cacheWriteInputPerMTok !== undefined ? [`cache write ${rate(p.cacheWriteInputPerMTok)}`] : []),
    `output ${rate(p.outputPerMTok)} per million tokens`,
  ].join(', ');
}

function guardWords(g: { input: string[]; output: string[]; toolResult: string[] }): string {
  const parts = [
    g.input.length ? `request: ${g.input.join(', ')}` : '',
    g.output.length ? `final answer: ${g.output.join(', ')}` : '',
    g.toolResult.length ? `tool results: ${g.toolResult.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? `${parts.join('; ')} (guard decisions are events in the trace)` : 'none';
}
