import { createRequire } from 'node:module';
import { metrics, type MeterProvider } from '@opentelemetry/api';
import type { SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Warden } from '../runtime/warden.ts';
import { SpanProjector } from './otel/span-projector.ts';
import { PinnedIdGenerator } from './otel/trace-ids.ts';

type Env = Record<string, string | undefined>;

// The OpenTelemetry SDK and exporter are loaded when tracing is switched on, not when Warden is
// imported: a CLI command or a service that does not trace pays nothing for them.
const require = createRequire(import.meta.url);
const sdkTrace = () => require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
const resources = () => require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
const otlpHttp = () => require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');

export interface TracingOptions {
  /** Where spans go. `tracingFromEnv` builds an OTLP/HTTP one; tests pass an in-memory one. */
  exporter: SpanExporter;
  /** Record prompts, answers, tool arguments and results. Default false. */
  captureContent?: boolean;
  /** `service.name` of the resource. Default `warden`. */
  serviceName?: string;
  /** Export each span as it ends instead of in batches (tests, short CLI runs). Default false. */
  immediate?: boolean;
  /**
   * Where the GenAI client metrics (`gen_ai.client.operation.duration`, `gen_ai.client.token.usage`)
   * go. Default: the global meter provider of @opentelemetry/api, which records nothing until the
   * application registers one.
   */
  meterProvider?: MeterProvider;
}

/**
 * OpenTelemetry tracing of Warden runs: a tracer provider of its own (it never touches the global
 * one an application may have set up) fed by a `SpanProjector` subscribed to committed events.
 *
 * @example
 * const tracing = createTracing({ exporter: new OTLPTraceExporter({ url }) });
 * tracing.attach(warden);
 * await warden.run(agent, 'hi');
 * await tracing.shutdown(); // flushes what is left
 */
export class WardenTracing {
  readonly provider: TracerProvider;
  readonly projector: SpanProjector;

  constructor(options: TracingOptions) {
    const ids = new PinnedIdGenerator();
    const { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } = sdkTrace();
    const { resourceFromAttributes } = resources();
    const processor = options.immediate ? new SimpleSpanProcessor({ exporter: options.exporter }) : new BatchSpanProcessor({ exporter: options.exporter });
    this.provider = new TracerProvider({
      idGenerator: ids,
      resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'warden' }),
      spanProcessors: [processor],
    });
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('warden');
    this.projector = new SpanProjector({ tracer: this.provider.getTracer('warden'), ids, captureContent: options.captureContent === true, meter });
  }

  /** Subscribes to a Warden's committed events. Returns the unsubscribe function. */
  attach(warden: Warden): () => void {
    return warden.subscribe((batch) => this.projector.observe(batch));
  }

  forceFlush(): Promise<void> {
    return this.provider.forceFlush();
  }

  /** Exports what is buffered and stops. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

export function createTracing(options: TracingOptions): WardenTracing {
  return new WardenTracing(options);
}

/**
 * The OTLP traces URL the standard variables name, or null when tracing is off:
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`;
 * off when neither is set, or `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`.
 *
 * @example
 * otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }) // 'http://collector:4318/v1/traces'
 */
export function otlpTracesUrl(env: Env = process.env): string | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return null;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return null;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Tracing as the environment asks for it, or null (no exporter, no subscriber, no cost) when
 * no OTLP endpoint is set. Spans go over OTLP/HTTP with JSON bodies, which every OTLP/HTTP
 * receiver accepts; `OTEL_EXPORTER_OTLP_HEADERS` and `…_TIMEOUT` apply as usual. Message
 * contents are recorded only with `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
 *
 * @example
 * const tracing = tracingFromEnv();
 * tracing?.attach(warden);
 */
export function tracingFromEnv(env: Env = process.env, options: Partial<Omit<TracingOptions, 'exporter'>> = {}): WardenTracing | null {
  const url = otlpTracesUrl(env);
  if (!url) return null;
  return createTracing({
    exporter: new (otlpHttp().OTLPTraceExporter)({ url }),
    captureContent: options.captureContent ?? env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT?.trim().toLowerCase() === 'true',
    serviceName: options.serviceName ?? (env.OTEL_SERVICE_NAME?.trim() || 'warden'),
    immediate: options.immediate,
    ...(options.meterProvider ? { meterProvider: options.meterProvider } : {}),
  });
}
