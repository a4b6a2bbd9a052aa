import type { LanguageModelV3CallOptions, LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';
import type { TokenUsage } from '../core/ports/model.ts';

/**
 * How the simulated model counts tokens. It behaves like a byte-level tokenizer: roughly four
 * bytes a token when it estimates, and never more tokens than bytes, which is the bound Warden
 * reserves against (`inputTokenBound` in guard/budget.ts). The bytes counted here are only the
 * content a provider bills (texts, tool names, arguments, results, tool definitions), never the
 * JSON framing around them, so the count stays at or below Warden's bound for the same request.
 */

/** Typical English text runs about four bytes a token. */
const BYTES_PER_TOKEN = 4;

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function json(value: unknown): string {
  return JSON.stringify(value) ?? '';
}

function toolResultBytes(output: LanguageModelV3ToolResultOutput): number {
  switch (output.type) {
    case 'text':
    case 'error-text':
      return utf8(output.value);
    case 'json':
    case 'error-json':
      return utf8(json(output.value));
    case 'execution-denied':
      return utf8(output.reason ?? '');
    default:
      return utf8(json(output.value));
  }
}

/** UTF-8 bytes of the billable content of a call: the prompt and the tool definitions. */
export function promptUtf8Bytes(options: Pick<LanguageModelV3CallOptions, 'prompt' | 'tools'>): number {
  let bytes = 0;
  for (const message of options.prompt) {
    if (message.role === 'system') {
      bytes += utf8(message.content);
      continue;
    }
    for (const part of message.content) {
      if (part.type === 'text' || part.type === 'reasoning') bytes += utf8(part.text);
      else if (part.type === 'tool-call') bytes += utf8(part.toolName) + utf8(json(part.input));
      else if (part.type === 'tool-result') bytes += utf8(part.toolName) + toolResultBytes(part.output);
    }
  }
  for (const tool of options.tools ?? []) {
    if (tool.type === 'function') bytes += utf8(tool.name) + utf8(tool.description ?? '') + utf8(json(tool.inputSchema));
  }
  return bytes;
}

/** UTF-8 bytes of what the model produced: its text and each tool call's name and input. */
export function outputUtf8Bytes(text: string, toolCalls: readonly { toolName: string; input: string }[]): number {
  let bytes = utf8(text);
  for (const call of toolCalls) bytes += utf8(call.toolName) + utf8(call.input);
  return bytes;
}

export interface SimulatedUsage extends TokenUsage {
  /** True when the output was cut to the call's `maxOutputTokens` (finish reason `length`). */
  clamped: boolean;
}

/**
 * The usage the simulated model reports: the scripted numbers when given, else an estimate of
 * one token per four bytes (at least 1). Like a real provider it never reports more output tokens
 * than the call allowed, nor more input tokens than the prompt has bytes.
 */
export function simulatedUsage(
  scripted: Partial<TokenUsage> | undefined,
  promptBytes: number,
  outputBytes: number,
  maxOutputTokens: number | undefined,
): SimulatedUsage {
  const wantedInput = scripted?.inputTokens ?? Math.max(1, Math.ceil(promptBytes / BYTES_PER_TOKEN));
  const wantedOutput = scripted?.outputTokens ?? Math.max(1, Math.ceil(outputBytes / BYTES_PER_TOKEN));
  const cap = maxOutputTokens ?? Number.POSITIVE_INFINITY;
  return {
    inputTokens: Math.min(wantedInput, promptBytes),
    outputTokens: Math.min(wantedOutput, cap),
    clamped: wantedOutput > cap,
  };
}
