import type { ModelResponseIdentity, ModelServer } from '../core/ports/model.ts';
const DEFAULT_PORTS: Record<string, number> = { 'https:': 443, 'http:': 80 };

function urlFrom(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  // openai, openai-compatible, azure: `url({ path, modelId })`; bedrock: `baseUrl()`. Both build a string.
  if (typeof value === 'function') {
    const built = (value as (o: { path: string; modelId: string }) => unknown)({ path: '', modelId: '' });
    return typeof built === 'string' ? built : undefined;
  }
  return undefined;
}

/**
 * The server an AI SDK model calls, read defensively from its provider config (`config.baseURL`,
 * `config.baseUrl` or `config.url`, as the AI SDK providers keep them). Undefined when the model
 * does not expose one (a simulated model, a custom provider): the attribute is then left out.
 *
 * @example
 * modelServer(createOpenAICompatible({ name: 'vllm', baseURL: 'http://gpu-1:8000/v1' }).chatModel('m'));
 * // { address: 'gpu-1', port: 8000 }
 */
export function modelServer(model: unknown): ModelServer | undefined {
  try {
    const config = (model as { config?: Record<string, unknown> } | null)?.config;
    if (typeof config !== 'object' || config === null) return undefined;
    const raw = urlFrom(config.baseURL) ?? urlFrom(config.baseUrl) ?? urlFrom(config.url);
    if (!raw) return undefined;
    const url = new URL(raw);
    if (!url.hostname) return undefined;
    const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
    return { address: url.hostname.replace(/^\[(.*)\]$/, '$1'), ...(port ? { port } : {}) };
  } catch {
    return undefined;
  }
}

/** The response id and model a provider reported (AI SDK `result.response`), when it reported them. */
export function responseIdentity(result: unknown): ModelResponseIdentity | undefined {
  const response = (result as { response?: { id?: unknown; modelId?: unknown } } | null)?.response;
  if (typeof response !== 'object' || response === null) return undefined;
  const id = typeof response.id === 'string' && response.id ? response.id : undefined;
  const modelId = typeof response.modelId === 'string' && response.modelId ? response.modelId : undefined;
  return id || modelId ? { ...(id ? { id } : {}), ...(modelId ? { modelId } : {}) } : undefined;
}
