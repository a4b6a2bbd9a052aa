import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3Content, LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import { ModelCallError } from '../../model/model-failure.ts';
import { PRICING_KEY } from '../../model/pricing.ts';
import type { Recording } from './recording.ts';
import type { SubmittedModel } from '../../core/events.ts';
import type { VirtualClock } from './virtual-clock.ts';

/** Where a replay ran out of recorded model answers. */
export interface ModelGap {
  step: number;
  attempt: number;
}

/**
 * An AI SDK language model that answers with the recorded run's model responses, so a replay
 * goes through the same bridge, fold and guards as the live run. The step is the number of
 * assistant turns in the prompt (as the simulated model counts it) and the attempt comes from
 * `providerOptions.warden.attempt`; a recorded failure is thrown again, classified as before.
 * `as` names the model it stands in for (the primary, or one of its fallbacks, each priced as
 * recorded): attempts are numbered across a step's fallbacks, so every model of the list answers
 * from the same recording. `historyAnswers`: assistant messages of a conversation's earlier turns
 * that precede the run's own.
 */
export function recordedModel(
  recording: Recording,
  clock: VirtualClock,
  gaps: ModelGap[],
  as: SubmittedModel = recording.submitted.model,
  historyAnswers = 0,
): LanguageModelV3 {
  const { provider, modelId, inputPerMTok, outputPerMTok } = as;
  async function generate(call: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    // A conversation's turn sends the earlier turns first: their answers are not this run's steps.
    const step = call.prompt.filter((m) => m.role === 'assistant').length - historyAnswers + 1;
    const attempt = Number((call.providerOptions?.warden as { attempt?: unknown } | undefined)?.attempt ?? 1);
    const outcome = recording.modelOutcome(step, attempt);
    if (!outcome) {
      gaps.push({ step, attempt });
      throw new ModelCallError({
        kind: 'client_error',
        retryable: false,
        message: `the recording has no model response for step ${step} (it ended at step ${recording.lastStep})`,
      });
    }
    clock.advanceTo(outcome.at);
    if (!outcome.ok) throw new ModelCallError(outcome.failure);
    const t = outcome.turn;
    const content: LanguageModelV3Content[] = [];
    if (t.text) content.push({ type: 'text', text: t.text });
    for (const c of t.toolCalls) {
      content.push({ type: 'tool-call', toolCallId: c.callId, toolName: c.tool, input: c.parseError ? String(c.args) : JSON.stringify(c.args) });
    }
    const warden = { ...(t.confidence !== undefined ? { confidence: t.confidence } : {}), ...(t.rationale !== undefined ? { rationale: t.rationale } : {}) };
    return {
      content,
      finishReason: { unified: t.finishReason as 'stop', raw: t.finishReason },
      usage: {
        inputTokens: {
          total: t.usageMissing && t.usage.inputTokens === 0 ? undefined : t.usage.inputTokens,
          noCache: undefined,
          cacheRead: undefined,
          cacheWrite: undefined,
        },
        outputTokens: { total: t.usageMissing && t.usage.outputTokens === 0 ? undefined : t.usage.outputTokens, text: undefined, reasoning: undefined },
      },
      providerMetadata: {
        ...(Object.keys(warden).length ? { warden } : {}),
        ...(t.avgLogprob !== undefined ? { recorded: { logprobs: [t.avgLogprob] } } : {}),
      },
      warnings: [],
    };
  }
  const model = {
    specificationVersion: 'v3' as const,
    provider,
    modelId,
    supportedUrls: {},
    doGenerate: generate,
    doStream: async () => {
      throw new ModelCallError({ kind: 'client_error', retryable: false, message: 'a recorded model does not stream' });
    },
    [PRICING_KEY]: { inputPerMTok, outputPerMTok },
  };
  return model;
}
