import { tracingFromEnv, type WardenTracing } from '../observe/otel.ts';
import { createWarden, type Warden } from '../runtime/warden.ts';
import type { Store } from '../core/ports/store.ts';
import { onShutdown } from './shutdown.ts';

const tracers: WardenTracing[] = [];

/**
 * The Warden a CLI command drives runs with: traced over OTLP when the standard
 * `OTEL_EXPORTER_OTLP_*ENDPOINT` variables are set, untraced (and unobserved) otherwise.
 */
export function cliWarden(store: Store): Warden {
  const warden = createWarden({ store });
  const tracing = tracingFromEnv();
  if (tracing) {
    tracing.attach(warden);
    tracers.push(tracing);
    onShutdown(flushTelemetry);
  }
  return warden;
}

/** Exports the spans still buffered; runs before the process exits (a shutdown hook). */
export async function flushTelemetry(): Promise<void> {
  const pending = tracers.splice(0);
  await Promise.allSettled(pending.map((t) => t.shutdown()));
}
