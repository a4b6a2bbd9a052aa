import { LLMock, type ChaosConfig, type FixtureResponse } from '@copilotkit/aimock';

/**
 * A loopback LLM server for provider tests: @copilotkit/aimock speaking the OpenAI chat
 * completions, OpenAI Responses and Anthropic Messages wire formats on 127.0.0.1, answering
 * each request with the next step of a script. aimock shapes every body, SSE stream, usage
 * object, error envelope and `Retry-After` header itself; nothing here writes a wire format.
 */
export interface ScriptStep {
  response: FixtureResponse;
  /** aimock's failure injection, e.g. `{ malformedRate: 1 }` for a 200 whose body is not JSON. */
  chaos?: ChaosConfig;
}

export interface LoopbackLlm {
  /** Base URL, e.g. `http://127.0.0.1:41941`; providers take `${url}/v1`. */
  url: string;
  /** Replaces the script: request n (0-based) gets step n; requests past the end get a 500. */
  script(steps: ScriptStep[]): void;
  /** The JSON bodies the server received, in order, and the status each got. */
  requests(): { path: string; status: number; body: Record<string, unknown> }[];
  stop(): Promise<void>;
}

export async function startLoopbackLlm(): Promise<LoopbackLlm> {
  const mock = new LLMock({ port: 0, host: '127.0.0.1' });
  const url = await mock.start();
  return {
    url,
    script(steps) {
      mock.clearFixtures();
      mock.clearRequests();
      mock.resetMatchCounts();
      // sequenceIndex counts this fixture group's matches: fixture i answers the i-th request.
      for (const [i, step] of steps.entries())
        mock.addFixture({ match: { sequenceIndex: i }, response: step.response, ...(step.chaos ? { chaos: step.chaos } : {}) });
      mock.addFixture({ match: {}, response: { error: { message: 'the script ran out', type: 'server_error' }, status: 500 } });
    },
    requests: () => mock.getRequests().map((r) => ({ path: r.path, status: r.response.status, body: (r.body ?? {}) as Record<string, unknown> })),
    stop: () => mock.stop(),
  };
}
