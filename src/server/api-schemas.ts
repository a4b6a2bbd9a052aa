import { z } from '@hono/zod-openapi';

// The request and response bodies of the HTTP API. The route definitions (routes-*.ts) name them,
// so the OpenAPI document served at /v1/openapi.json is generated from the code that answers.
// Response bodies list the fields clients rely on and allow more (`looseObject`): the runtime may
// add fields without breaking a generated client.

/** Every error: `{error: {code, message}}`, with the code from the one table in errors.ts. */
export const ErrorBody = z.object({ error: z.object({ code: z.string().openapi({ example: 'INVALID_ARGUMENT' }), message: z.string() }) }).openapi('Error');

const nonEmpty = (field: string) => z.string({ error: `"${field}" must be a non-empty string` }).min(1, { error: `"${field}" must be a non-empty string` });

export const SubmitBody = z
  .object({
    agent: nonEmpty('agent').openapi({ description: 'An agent this server can run (GET /v1/agents)' }),
    input: nonEmpty('input').openapi({ description: 'The request, as text' }),
    tenant: nonEmpty('tenant').optional().openapi({ description: "Default: the key's only tenant, or `default` for a key of every tenant" }),
    shadow: z.boolean({ error: '"shadow" must be true or false' }).optional().openapi({ description: 'Record writes and deletes instead of making them' }),
  })
  .openapi('Submit');

export const Submitted = z
  .object({
    runId: z.string(),
    status: z.string(),
    replayed: z.boolean().optional().openapi({ description: 'True when an Idempotency-Key returned an earlier run' }),
  })
  .openapi('Submitted');

export const RunRecord = z
  .looseObject({
    runId: z.string(),
    agent: z.string(),
    tenant: z.string(),
    mode: z.string(),
    status: z.string(),
    stopReason: z.string().nullable(),
    parentRunId: z.string().nullable(),
    rootRunId: z.string(),
    input: z.string(),
    output: z.string().nullable(),
    error: z.string().nullable(),
    costNano: z.number(),
    steps: z.number().openapi({ description: 'Model turns that returned an answer' }),
    toolCalls: z.number().openapi({ description: 'Tool calls that started (first attempts); the plan submission and shadowed calls never start' }),
    undo: z.enum(['none', 'running', 'waiting_for_person', 'done']).openapi({ description: 'Where an undo of the run stands; done: undone' }),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .openapi('RunRecord');

export const RunList = z.object({ runs: z.array(RunRecord.extend({ costUsd: z.number().optional() })) }).openapi('RunList');

export const RunResult = z
  .looseObject({
    runId: z.string(),
    agent: z.string(),
    tenant: z.string(),
    status: z.string(),
    stopReason: z.string().nullable(),
    stopDetail: z.string().nullable(),
    output: z.unknown().openapi({ description: "The final answer: its text, or the value the agent's output schema accepted (null until completed)" }),
    outputText: z.string().nullable().openapi({ description: 'The final answer as the model wrote it' }),
    error: z.looseObject({ code: z.string(), message: z.string() }).nullable(),
    costUsd: z.number(),
    ceilingUsd: z.number(),
    steps: z.number(),
    retries: z.number(),
    toolCalls: z
      .array(z.looseObject({ callId: z.string(), tool: z.string() }))
      .openapi({ description: 'Every call the model proposed, the plan submission (submit_plan) included' }),
    figures: z.string().optional().openapi({ description: "The summary's figures in words, as `warden runs show` prints them (GET /v1/runs/{id})" }),
    summary: z.looseObject({}).openapi({
      description:
        "The run's figures (core/projection.ts), the same in every view: steps, modelCalls, models {answeredBy, fallbacks, fallbacksByReason}, toolCalls {ran, ranByTier, proposed, byStatus}, plan, decisions, retries, approvals, escalations, assessments, shadowed, children, undo, costUsd, overruns",
    }),
    pending: z
      .object({
        kind: z.enum(['approval', 'escalation']),
        id: z.string(),
        callId: z.string().nullable(),
        tool: z.string().nullable(),
        args: z.unknown(),
        reason: z.string(),
      })
      .nullable(),
    parentRunId: z.string().nullable(),
  })
  .openapi('RunResult');

export const EventList = z
  .object({
    events: z.array(
      z.looseObject({
        seq: z.number(),
        type: z.string(),
        at: z.number(),
        data: z.unknown(),
        explain: z.string().openapi({ description: 'The event in plain words' }),
      }),
    ),
  })
  .openapi('EventList');

export const Intervention = z
  .looseObject({
    id: z.string(),
    runId: z.string(),
    agent: z.string(),
    tenant: z.string(),
    kind: z.enum(['approval', 'escalation']),
    status: z.string().openapi({ description: 'pending, approved, denied, decided or expired' }),
    callId: z.string().nullable(),
    tool: z.string().nullable(),
    args: z.unknown(),
    reason: z.string(),
    requestedAt: z.number(),
    expiresAt: z
      .number()
      .nullable()
      .openapi({ description: 'ms since the epoch: an approval not decided by then expires (denied or escalated, per evidence.onTimeout); null waits' }),
    decidedAt: z.number().nullable(),
    decidedBy: z.string().nullable(),
    decisionReason: z.string().nullable(),
  })
  .openapi('Intervention');

export const ApprovalCard = z
  .looseObject({
    request: z.string().openapi({ description: 'The request that started the run' }),
    rationale: z.string().nullable().openapi({ description: "The model's stated reason for the turn that proposed the call" }),
    statedConfidence: z.number().nullable().openapi({ description: "The model's self-reported confidence in [0, 1]" }),
    assessedConfidence: z.number().nullable().openapi({ description: "The runtime's confidence score for the call (step.assessed)" }),
    rule: z.string().nullable().openapi({ description: 'The policy rule that asked, e.g. tier:delete or tool:refund.approval' }),
    ruleReason: z.string().openapi({ description: 'Why a person is asked, as concretely as the declarations allow' }),
    undoable: z.enum(['reversible', 'irreversible', 'changes_nothing', 'unknown']),
    undoableReason: z.string(),
    planStep: z.object({ id: z.string(), why: z.string().nullable() }).nullable(),
    spentUsd: z.number(),
    ceilingUsd: z.number(),
    spend: z.string().openapi({ example: '$0.000251 of $0.0500 ceiling' }),
    requestedAt: z.number(),
    waitedMs: z.number().openapi({ description: 'How long it waited, until decided or until the response' }),
    mayDecide: z.boolean().openapi({ description: 'Whether the calling key may decide it' }),
    whyNot: z.string().nullable().openapi({ example: 'you submitted run run_…; another approver must decide (four eyes)' }),
    expiresAt: z.number().nullable().openapi({ description: 'When a pending approval times out, ms since the epoch; null when it never does' }),
    onTimeout: z.enum(['deny', 'escalate']).nullable().openapi({ description: 'What happens when it times out; null when it never does' }),
  })
  .openapi('ApprovalCard');

export const InterventionList = z
  .object({ interventions: z.array(Intervention.extend({ card: ApprovalCard.openapi({ description: 'What a person decides from, beside the arguments' }) })) })
  .openapi('InterventionList');

const reason = z
  .string({ error: '"reason" must be a string of at most 2000 characters' })
  .max(2000, { error: '"reason" must be a string of at most 2000 characters' });

export const ReasonBody = z.object({ reason: reason.optional() }).openapi('Reason');

export const CancelBody = z.object({ reason: z.string().optional() }).openapi('Cancel');

export const DecisionBody = z
  .object({
    decision: z.enum(['approve', 'edit', 'takeover', 'stop'], { error: '"decision" must be approve, edit, takeover or stop' }),
    args: z.unknown().optional().openapi({ description: 'For `edit`: the arguments to run instead' }),
    output: z.string().optional().openapi({ description: 'For `takeover`: the final answer' }),
    reason: reason.optional(),
  })
  .openapi('Decision');

export const SwitchBody = z
  .object({ scope: z.string({ error: '"scope" must be all, agent:NAME or tenant:NAME' }).openapi({ example: 'tenant:acme' }), reason: z.string().optional() })
  .openapi('KillSwitch');

export const Switch = z.looseObject({ scope: z.string(), by: z.string(), reason: z.string(), at: z.number() }).openapi('Switch');

export const SwitchList = z.object({ switches: z.array(Switch) }).openapi('SwitchList');

export const Engaged = z.object({ engaged: Switch, stopped: z.array(z.object({ runId: z.string(), status: z.string() })) }).openapi('Engaged');

export const Lifted = z.object({ lifted: z.string() }).openapi('Lifted');

export const BudgetBody = z
  .object({
    scope: z.string({ error: '"scope" must be all, tenant:NAME or agent:NAME' }).openapi({ example: 'tenant:acme' }),
    window: z.string({ error: '"window" must be day, month or <n>h' }).openapi({ example: 'day' }),
    maxUsd: z.number({ error: '"maxUsd" must be a number of USD' }).openapi({ example: 50 }),
    alertAt: z
      .array(z.number(), { error: '"alertAt" must be an array of fractions' })
      .optional()
      .openapi({ example: [0.5, 0.8] }),
  })
  .openapi('BudgetInput');

export const Budget = z
  .object({
    source: z.enum(['config', 'stored']),
    scope: z.string(),
    window: z.string(),
    active: z.boolean().openapi({ description: 'False for a config budget a stored one of the same scope and window overrides' }),
    windowStart: z.string(),
    windowEnd: z.string(),
    spentUsd: z.number(),
    reservedUsd: z.number(),
    maxUsd: z.number(),
    fraction: z.number().openapi({ description: 'spentUsd / maxUsd' }),
    alertAt: z.array(z.number()),
    alertsCrossed: z.array(z.number()),
    rateUsdPerHour: z.number().openapi({ description: "The window's average rate so far: spent ÷ time elapsed in the window" }),
    projectedUsd: z.number().openapi({ description: 'Spend at the window end if the rate holds' }),
    projectedFraction: z.number(),
    exhaustsAt: z.string().nullable().openapi({ description: 'When the rate reaches maxUsd inside this window, or null' }),
  })
  .openapi('Budget');

export const BudgetList = z.object({ budgets: z.array(Budget) }).openapi('BudgetList');

export const BudgetStored = z.object({ budget: Budget }).openapi('BudgetStored');

export const BudgetsRemoved = z.object({ scope: z.string(), removed: z.number() }).openapi('BudgetsRemoved');

const series = z.array(z.number().nullable());
const bins = z.array(z.object({ from: z.number(), to: z.number(), count: z.number() }));

export const OverviewQuery = z.object({
  agent: z.string().optional().openapi({ description: 'One agent, or all of them (omitted, empty or `all`)', example: 'support' }),
  window: z.enum(['1h', '24h', '7d', '30d']).default('24h').openapi({ description: 'How far back; buckets of 5 min, 1 h, 6 h and 1 day' }),
});

export const Overview = z
  .looseObject({
    agent: z.string().nullable().openapi({ description: 'The agent asked about; null for all of them' }),
    agents: z.array(z.string()).openapi({ description: 'Agents to choose from' }),
    window: z.string(),
    from: z.number().openapi({ description: 'Start of the first bucket, ms since the epoch (aligned to the bucket size)' }),
    to: z.number().openapi({ description: 'End of the last bucket, which holds now' }),
    bucketMs: z.number(),
    buckets: z.array(z.number()).openapi({ description: "Each bucket's start; every series below has one value per bucket" }),
    totals: z.object({ runs: z.number(), requests: z.number(), approvals: z.number(), escalations: z.number() }),
    runsByStatus: z.record(z.string(), z.array(z.number())).openapi({ description: 'Runs created per bucket, by their status now' }),
    stopReasons: z.record(z.string(), z.number()),
    costPerRequest: z
      .looseObject({
        requests: z.number(),
        p50: z.number().nullable(),
        p99: z.number().nullable(),
        max: z.number().nullable(),
        histogram: bins,
        p50ByBucket: series,
        p99ByBucket: series,
        ceilingUsd: z.number().nullable().openapi({ description: "The agent's ceiling per request (its newest request's); null for all agents" }),
      })
      .openapi({ description: 'USD per settled request: a root run plus the child runs read with it' }),
    per100Runs: z.object({ approvals: series, escalations: series }).openapi({ description: 'null where no run was created in the bucket' }),
    timeToDecision: z.object({ decided: z.number(), p50: z.number().nullable(), p99: z.number().nullable(), histogram: bins }).openapi({ description: 'ms' }),
    drift: z.array(z.object({ at: z.number(), bucket: z.number(), agent: z.string(), dimensions: z.array(z.string()) })),
    sample: z
      .object({
        cap: z.number(),
        truncated: z.object({ runs: z.boolean(), interventions: z.boolean() }),
        coveredFrom: z.number(),
      })
      .openapi({
        description:
          'At most `cap` runs (newest first) and `cap` interventions (oldest first) are read per tenant; `truncated` says a listing reached it, and `coveredFrom` how far back the runs read reach',
      }),
  })
  .openapi('Overview');

export const DeliveriesQuery = z.object({
  endpoint: z.string().optional().openapi({ description: 'One endpoint id' }),
  failed: z.enum(['true', 'false']).optional().openapi({ description: 'true: only undelivered messages whose last attempt failed (retrying or given up)' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const Deliveries = z
  .object({
    endpoints: z.array(
      z.looseObject({
        id: z.string(),
        origin: z.string().openapi({ description: "The URL's origin only: webhook paths and queries often carry a token" }),
        events: z.array(z.string()),
        format: z.string(),
        enabled: z.boolean(),
      }),
    ),
    deliveries: z.array(
      z.looseObject({
        id: z.string().openapi({ description: 'The message id (the webhook-id header)' }),
        endpointId: z.string(),
        type: z.string(),
        eventId: z.string().openapi({ description: 'What the message is about, e.g. msg_run_…_3 (a run event) or msg_drift_12' }),
        runId: z.string().nullable(),
        status: z.enum(['queued', 'sending', 'delivered', 'retrying', 'gave_up']),
        attempts: z.number(),
        lastStatus: z.number().nullable().openapi({ description: 'HTTP status of the last attempt; null when it got no response' }),
        lastError: z.string().nullable(),
        nextAttemptAt: z.number().nullable(),
        deliveredAt: z.number().nullable(),
        createdAt: z.number(),
      }),
    ),
  })
  .openapi('Deliveries');

export const AgentNames = z.object({ agents: z.array(z.string()) }).openapi('AgentNames');

export const Me = z.object({ id: z.string(), name: z.string(), role: z.string(), tenants: z.array(z.string()) }).openapi('Me');

/** The `{id}` path parameter. */
export const IdParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });

export const MessageBody = z
  .object({
    agent: nonEmpty('agent').openapi({ description: 'The agent of the conversation (its first message names it; every later one must name the same)' }),
    input: nonEmpty('input').openapi({ description: 'The message, as text' }),
    tenant: nonEmpty('tenant').optional().openapi({ description: "Default: the key's only tenant, or `default` for a key of every tenant" }),
    shadow: z.boolean({ error: '"shadow" must be true or false' }).optional().openapi({ description: 'Record writes and deletes instead of making them' }),
  })
  .openapi('Message');

export const MessageSubmitted = z
  .object({
    runId: z.string().openapi({ description: "The run that answers the message: the conversation's new turn" }),
    status: z.string(),
    conversationId: z.string(),
    turn: z.number().openapi({ description: 'Which turn of the conversation, from 1' }),
  })
  .openapi('MessageSubmitted');

export const Conversation = z
  .looseObject({
    conversationId: z.string(),
    agent: z.string(),
    tenant: z.string(),
    status: z.enum(['open', 'cancelled']),
    turns: z.number().openapi({ description: 'Turns so far' }),
    spentUsd: z.number().openapi({ description: 'What every turn and their children spent together' }),
    ceilingUsd: z.number().nullable().openapi({ description: 'limits.maxConversationCostUsd as the latest turn set it; null: none' }),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .openapi('Conversation');

export const ConversationList = z.object({ conversations: z.array(Conversation) }).openapi('ConversationList');

export const ConversationWithTurns = Conversation.extend({
  turnRuns: z.array(RunRecord.extend({ turn: z.number().nullable(), costUsd: z.number() })).openapi({ description: 'The turns, oldest first' }),
}).openapi('ConversationWithTurns');

export const CancelledTurns = z.object({ cancelled: z.array(RunResult) }).openapi('CancelledTurns');
