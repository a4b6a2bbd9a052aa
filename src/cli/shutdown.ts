/**
 * Work the CLI must finish before the process exits (closing MCP connections, flushing spans),
 * registered by the modules that started it. `main` runs the hooks in its `finally`, so a command
 * that never loaded those modules pays nothing for them.
 */
const hooks = new Set<() => Promise<void>>();

export function onShutdown(hook: () => Promise<void>): void {
  hooks.add(hook);
}

export async function runShutdownHooks(): Promise<void> {
  const pending = [...hooks];
  hooks.clear();
  await Promise.allSettled(pending.map((h) => h()));
}
