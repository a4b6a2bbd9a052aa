import type * as semconv from '@opentelemetry/semantic-conventions/incubating';

// The names of the OpenTelemetry GenAI semantic conventions Warden emits. Each constant is typed
// as the one of @opentelemetry/semantic-conventions (incubating entry point, where the GenAI names
// live), so the compiler checks every name against the package, and nothing of that large module
// is loaded at run time: importing Warden stays cheap.

export const ATTR_GEN_AI_OPERATION_NAME: typeof semconv.ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_PROVIDER_NAME: typeof semconv.ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_REQUEST_MODEL: typeof semconv.ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS: typeof semconv.ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
export const ATTR_GEN_AI_RESPONSE_MODEL: typeof semconv.ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_GEN_AI_RESPONSE_ID: typeof semconv.ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS: typeof semconv.ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS: typeof semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS: typeof semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const ATTR_GEN_AI_TOKEN_TYPE: typeof semconv.ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
export const ATTR_GEN_AI_AGENT_NAME: typeof semconv.ATTR_GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const ATTR_GEN_AI_CONVERSATION_ID: typeof semconv.ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
export const ATTR_GEN_AI_INPUT_MESSAGES: typeof semconv.ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
export const ATTR_GEN_AI_OUTPUT_MESSAGES: typeof semconv.ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
export const ATTR_GEN_AI_TOOL_NAME: typeof semconv.ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_TOOL_CALL_ID: typeof semconv.ATTR_GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const ATTR_GEN_AI_TOOL_TYPE: typeof semconv.ATTR_GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';
export const ATTR_GEN_AI_TOOL_CALL_ARGUMENTS: typeof semconv.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const ATTR_GEN_AI_TOOL_CALL_RESULT: typeof semconv.ATTR_GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
export const ATTR_SERVER_ADDRESS: typeof semconv.ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT: typeof semconv.ATTR_SERVER_PORT = 'server.port';
export const ATTR_ERROR_TYPE: typeof semconv.ATTR_ERROR_TYPE = 'error.type';
export const METRIC_GEN_AI_CLIENT_OPERATION_DURATION: typeof semconv.METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration';
export const METRIC_GEN_AI_CLIENT_TOKEN_USAGE: typeof semconv.METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage';

/** The convention's recommended bucket boundaries for `gen_ai.client.operation.duration`, seconds. */
export const OPERATION_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** The convention's recommended bucket boundaries for `gen_ai.client.token.usage`. */
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

type ProviderName =
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_OPENAI
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_MISTRAL_AI
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_X_AI
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_GROQ
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_DEEPSEEK
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_COHERE
  | typeof semconv.GEN_AI_PROVIDER_NAME_VALUE_PERPLEXITY;

/** AI SDK provider ids (the part before the first dot, or more) → the convention's well-known value. Most specific first. */
const WELL_KNOWN: [prefix: string, name: ProviderName][] = [
  ['google.vertex', 'gcp.vertex_ai'],
  ['vertex', 'gcp.vertex_ai'],
  ['google', 'gcp.gemini'],
  ['azure-openai', 'azure.ai.openai'],
  ['azure', 'azure.ai.openai'],
  ['amazon-bedrock', 'aws.bedrock'],
  ['bedrock', 'aws.bedrock'],
  ['openai', 'openai'],
  ['anthropic', 'anthropic'],
  ['mistral', 'mistral_ai'],
  ['xai', 'x_ai'],
  ['groq', 'groq'],
  ['deepseek', 'deepseek'],
  ['cohere', 'cohere'],
  ['perplexity', 'perplexity'],
];

/**
 * The `gen_ai.provider.name` of an AI SDK provider id: the convention's well-known value where
 * there is one (`openai.chat` → `openai`, `amazon-bedrock` → `aws.bedrock`, `google.vertex.chat`
 * → `gcp.vertex_ai`), else the id's first segment (`vllm.chat` → `vllm`), as the convention asks
 * for providers it does not list.
 *
 * @example
 * genAiProviderName('anthropic.messages'); // 'anthropic'
 */
export function genAiProviderName(providerId: string): string {
  const id = providerId.trim().toLowerCase();
  for (const [prefix, name] of WELL_KNOWN) if (id === prefix || id.startsWith(`${prefix}.`)) return name;
  return id.split('.')[0] || providerId;
}
