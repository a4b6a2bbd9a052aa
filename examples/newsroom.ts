/**
 * Three agents: an editor that plans the work and hands it to a researcher and a writer.
 * - The editor runs in plan mode: it proposes the whole plan first, and Warden verifies it
 *   (tools exist, arguments fit, data needs met, cost fits the ceiling) before anything runs.
 * - Each delegation is a child run with its own log; the whole tree shares the editor's ceiling,
 *   deadline and kill switch.
 * - Steps the model is unsure of go to a person (confidence threshold).
 *
 * It runs on the simulated model, so it needs no API key:
 *   npx warden run examples/newsroom.ts --input "Write a short note on why checkouts fail"
 */
import { z } from 'zod';
import { defineAgent, defineTool, simulated } from 'warden';

const ARCHIVE = [
  { title: 'Payment provider timeouts', citations: 41 },
  { title: 'Expired saved cards', citations: 33 },
  { title: 'Address validation errors', citations: 27 },
];
const FINDINGS = 'Top causes: payment provider timeouts (41 citations), expired saved cards (33), address validation errors (27).';
const drafts = new Map<string, string>();

const searchArchive = defineTool({
  name: 'search_archive',
  description: 'Search past incident reports; returns titles with citation counts.',
  tier: 'read',
  idempotent: true,
  input: z.object({ query: z.string().min(3) }),
  output: z.object({ results: z.array(z.object({ title: z.string(), citations: z.number() })) }),
  execute: () => ({ results: ARCHIVE }),
});

const saveDraft = defineTool({
  name: 'save_draft',
  description: 'Save a draft note under a slug (overwrites the same slug).',
  tier: 'write',
  idempotent: true,
  input: z.object({ slug: z.string().regex(/^[a-z0-9-]+$/), body: z.string().min(20).max(5_000) }),
  lockKey: ({ slug }) => `draft:${slug}`,
  execute: ({ slug, body }) => {
    drafts.set(slug, body);
    return { saved: slug, words: body.split(/\s+/).length };
  },
});

export const researcher = defineAgent({
  name: 'researcher',
  description: 'Finds and ranks causes in the incident archive.',
  instructions: 'Search the archive and summarise the most cited causes in one sentence.',
  model: simulated.script([
    { toolCalls: [{ tool: 'search_archive', args: { query: 'checkout failures' } }], confidence: 0.9 },
    { text: FINDINGS, confidence: 0.85 },
  ]),
  tools: [searchArchive],
  limits: { maxSteps: 4, maxToolCalls: 3, maxRetries: 2, maxWallMs: 60_000, maxCostUsd: 0.02 },
  escalation: { threshold: 0.5 },
});

export const writer = defineAgent({
  name: 'writer',
  description: 'Turns findings into a short note and saves it as a draft.',
  instructions: 'Write a three-sentence note from the findings and save it as a draft.',
  model: simulated.script([
    {
      toolCalls: [
        {
          tool: 'save_draft',
          args: {
            slug: 'why-checkouts-fail',
            body: 'Most failed checkouts trace back to three causes. Payment provider timeouts lead, followed by expired saved cards. Address validation errors come third.',
          },
        },
      ],
      confidence: 0.8,
    },
    { text: 'Draft saved as why-checkouts-fail.', confidence: 0.9 },
  ]),
  tools: [saveDraft],
  limits: { maxSteps: 4, maxToolCalls: 3, maxRetries: 2, maxWallMs: 60_000, maxCostUsd: 0.02 },
  escalation: { threshold: 0.5 },
});

export default defineAgent({
  name: 'editor',
  description: 'Plans a note, delegates research and writing, and reports back.',
  instructions: 'Plan the work first, then delegate research and writing, then report what was drafted.',
  model: simulated.script([
    {
      toolCalls: [
        {
          tool: 'submit_plan',
          args: {
            steps: [
              { id: 'research', tool: 'delegate_researcher', args: { task: 'Find the most cited causes of checkout failures.' }, why: 'facts first' },
              { id: 'write', tool: 'delegate_writer', args: { task: { $ref: 'research.output' } }, dependsOn: ['research'], why: 'write from the findings' },
            ],
          },
        },
      ],
      rationale: 'Research must come before writing.',
      confidence: 0.9,
    },
    { toolCalls: [{ tool: 'delegate_researcher', args: { task: 'Find the most cited causes of checkout failures.' } }], confidence: 0.9 },
    { toolCalls: [{ tool: 'delegate_writer', args: { task: FINDINGS } }], confidence: 0.85 },
    { text: 'A draft note "why-checkouts-fail" is ready for review: it covers timeouts, expired cards and address errors.', confidence: 0.9 },
  ]),
  tools: [],
  delegates: [researcher, writer],
  delegation: { maxDepth: 2, maxChildren: 4, maxChildrenInFlight: 2 },
  plan: { maxRejections: 2, onDeviation: 'reverify' },
  escalation: { threshold: 0.5 },
  limits: { maxSteps: 6, maxToolCalls: 4, maxRetries: 3, maxWallMs: 120_000, maxCostUsd: 0.05 },
});
