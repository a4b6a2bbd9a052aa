import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { WardenError } from '../../core/errors.ts';
import { requireInteger } from '../input-checks.ts';
import { DEFAULT_LIST_LIMIT, type AgentEventFilter, type AgentEventRecord, type NewAgentEvent } from '../../core/ports/store.ts';
import { decodeJson, encodeJson } from '../rows.ts';

/** Appends one record to an agent's log (table `agent_events`, migration 2). */
export function appendAgentEvent(db: DatabaseSync, event: NewAgentEvent): AgentEventRecord {
  if (!event || typeof event.agent !== 'string' || event.agent === '' || typeof event.type !== 'string' || event.type === '') {
    throw new WardenError('INVALID_ARGUMENT', 'An agent event needs an agent and a type');
  }
  requireInteger(event.at, 'at', 0, {});
  requireInteger(event.v, 'v', 1, {});
  const data = encodeJson(event.data, `data of ${event.type}`);
  const { lastInsertRowid } = db
    .prepare('INSERT INTO agent_events (agent, type, at, v, data) VALUES (?, ?, ?, ?, ?)')
    .run(event.agent, event.type, event.at, event.v, data);
  return { ...event, id: Number(lastInsertRowid) };
}

/** Records of the agent logs, newest first. */
export function listAgentEvents(db: DatabaseSync, filter: AgentEventFilter): AgentEventRecord[] {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  const eq = (condition: string, value: SQLInputValue | undefined) => {
    if (value === undefined) return;
    where.push(condition);
    params.push(value);
  };
  eq('agent = ?', filter.agent);
  eq('type = ?', filter.type);
  eq('at >= ?', filter.since);
  params.push(filter.limit ?? DEFAULT_LIST_LIMIT);
  const sql = `SELECT id, agent, type, at, v, data FROM agent_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`;
  return db
    .prepare(sql)
    .all(...params)
    .map((r) => ({
      id: Number(r.id),
      agent: String(r.agent),
      type: String(r.type),
      at: Number(r.at),
      v: Number(r.v),
      data: decodeJson(String(r.data), 'agent event data') as Record<string, unknown>,
    }));
}
