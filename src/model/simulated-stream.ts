import type { LanguageModelV3GenerateResult, LanguageModelV3StreamPart, LanguageModelV3StreamResult } from '@ai-sdk/provider';

/**
 * Plays a finished response back as the stream of parts a streaming provider sends: start,
 * response metadata, each text (word by word) and tool input as start/delta/end, each tool call, then finish.
 * The simulated model decides the whole response first (it is scripted), so streaming adds no
 * behaviour of its own, only the shape `streamText` expects.
 */
export function toStreamResult(result: LanguageModelV3GenerateResult): LanguageModelV3StreamResult {
  const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: result.warnings }];
  if (result.response) {
    parts.push({ type: 'response-metadata', id: result.response.id, modelId: result.response.modelId, timestamp: result.response.timestamp });
  }
  result.content.forEach((part, i) => {
    if (part.type === 'text') {
      const id = `text_${i}`;
      // Word by word, as a provider streams tokens: a listener sees the text grow.
      const words = part.text.match(/\s*\S+\s*|\s+/g) ?? [part.text];
      parts.push({ type: 'text-start', id }, ...words.map((delta) => ({ type: 'text-delta' as const, id, delta })), { type: 'text-end', id });
    } else if (part.type === 'tool-call') {
      const id = part.toolCallId;
      parts.push(
        { type: 'tool-input-start', id, toolName: part.toolName },
        { type: 'tool-input-delta', id, delta: part.input },
        { type: 'tool-input-end', id },
        part,
      );
    }
  });
  parts.push({
    type: 'finish',
    usage: result.usage,
    finishReason: result.finishReason,
    ...(result.providerMetadata ? { providerMetadata: result.providerMetadata } : {}),
  });
  const stream = new ReadableStream<LanguageModelV3StreamPart>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
  return { stream, ...(result.response?.headers ? { response: { headers: result.response.headers } } : {}) };
}
