// Warden dashboard: no build step, no network beyond this server's /v1 API.
const $ = (sel, root = document) => root.querySelector(sel);
const main = $('#main');
const state = { key: sessionStorage.getItem('warden.key'), me: null, timer: null, live: null, tick: null };

function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
const usd = (n) => (n === undefined || n === null ? '—' : n < 0.01 && n > 0 ? `$${n.toPrecision(3)}` : `$${n.toFixed(4)}`);
const when = (ms) => (ms ? new Date(ms).toLocaleString() : '');
const badge = (s) => `<span class="badge s-${esc(s)}">${esc(s.replaceAll('_', ' '))}</span>`;
/** `plural(1, 'run')` is "1 run", `plural(2, 'run')` "2 runs". */
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** Where an undo stands, in the words `warden runs list` uses. */
const UNDO_WORDS = { running: 'undo running', waiting_for_person: 'undo waiting for a person', done: 'undone' };
/** Timeline items: each event's sentence; a run of bookkeeping events is one muted item that names them, so the numbers never skip. */
function timeline(events) {
  const items = [];
  let hidden = [];
  const flush = () => {
    if (!hidden.length) return;
    const names = [...new Set(hidden.map((e) => e.bookkeeping ?? e.type))].join(', ');
    const seq = hidden.length === 1 ? hidden[0].seq : `${hidden[0].seq}–${hidden.at(-1).seq}`;
    items.push(`<li class="muted"><span class="seq">${seq}</span><span>(bookkeeping, not told here: ${esc(names)})</span></li>`);
    hidden = [];
  };
  for (const e of events) {
    if (!e.explain) hidden.push(e);
    else {
      flush();
      items.push(`<li class="${KIND(e.type)}"><span class="seq">${e.seq}</span><span>${esc(e.explain)}</span></li>`);
    }
  }
  flush();
  return items.join('');
}
/** The stop reason beside a status, unless it only repeats the status word ("cancelled cancelled"). */
const stopNote = (r) => (r.stopReason && r.stopReason !== r.status ? ` <span class="muted">${esc(r.stopReason.replaceAll('_', ' '))}</span>` : '');

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { authorization: `Bearer ${state.key}`, ...(options.body ? { 'content-type': 'application/json' } : {}), ...options.headers },
  });
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

function every(ms, fn) {
  clearInterval(state.timer);
  state.timer = setInterval(() => fn().catch(() => {}), ms);
}

// ---- sign in -----------------------------------------------------------------------------
async function signIn(key) {
  state.key = key;
  state.me = await api('/v1/me');
  sessionStorage.setItem('warden.key', key);
  $('#bar').hidden = false;
  $('#who').textContent = `${state.me.name} · ${state.me.role} · ${state.me.tenants.join(', ')}`;
  // Deliveries carry every tenant's events: only an admin of every tenant may read them.
  $('[data-nav=deliveries]').hidden = !(state.me.role === 'admin' && state.me.tenants.includes('*'));
}

function showLogin(message = '') {
  clearInterval(state.timer);
  $('#bar').hidden = true;
  main.innerHTML = `<section class="login"><h1>Warden</h1><p>Supervise agents: see why each step was taken, decide what waits for a person, stop things.</p>
    <form id="login-form"><label for="key">API key</label><input id="key" type="password" autocomplete="off" placeholder="wk_…" required autofocus>
    <button type="submit">Sign in</button><p class="error" id="login-error" role="alert">${esc(message)}</p></form>
    <p class="hint">Create one with <code>warden keys create --name you --role approver</code>. It stays in this tab only.</p></section>`;
  $('#login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await signIn($('#key').value.trim());
      location.hash = '#/runs';
      route();
    } catch (err) {
      $('#login-error').textContent = `Could not sign in: ${err.message}`;
    }
  });
}

// ---- runs --------------------------------------------------------------------------------
async function runsView() {
  main.innerHTML = `<h2>Runs</h2>
    <form class="filters" id="filters" aria-label="Filter runs">
      <input name="agent" placeholder="agent" aria-label="agent">
      <input name="tenant" placeholder="tenant" aria-label="tenant">
      <select name="status" aria-label="status"><option value="">any status</option>${['queued', 'running', 'waiting_approval', 'escalated', 'completed', 'stopped', 'failed', 'cancelled'].map((s) => `<option>${s}</option>`).join('')}</select>
      <input name="stopReason" placeholder="stop reason" aria-label="stop reason">
      <input name="minCostUsd" placeholder="min cost $" aria-label="minimum cost in USD" inputmode="decimal">
    </form>
    <table class="stack"><thead><tr><th>run</th><th>agent</th><th>tenant</th><th>status</th><th>cost</th><th>steps</th><th>started</th></tr></thead><tbody id="runs"></tbody></table>`;
  const load = async () => {
    const params = new URLSearchParams([...new FormData($('#filters'))].filter(([, v]) => v));
    const { runs } = await api(`/v1/runs?${params}`);
    $('#runs').innerHTML =
      runs
        .map(
          (r) =>
            `<tr tabindex="0" data-run="${esc(r.runId)}"><td data-label="run"><code>${esc(r.runId)}</code>${r.mode === 'shadow' ? ' <span class="badge">shadow</span>' : ''}${r.undo && r.undo !== 'none' ? ` <span class="badge u-${esc(r.undo)}">${esc(UNDO_WORDS[r.undo] ?? r.undo)}</span>` : ''}</td><td data-label="agent">${esc(r.agent)}</td><td data-label="tenant">${esc(r.tenant)}</td><td data-label="status">${badge(r.status)}${stopNote(r)}</td><td data-label="cost">${usd(r.costUsd)}</td><td data-label="steps">${r.steps}</td><td data-label="started">${when(r.createdAt)}</td></tr>`,
        )
        .join('') || '<tr><td colspan="7" class="muted">No runs match.</td></tr>';
  };
  $('#filters').addEventListener('input', () => load());
  $('#runs').addEventListener('click', (e) => openRun(e.target.closest('tr')?.dataset.run));
  $('#runs').addEventListener('keydown', (e) => e.key === 'Enter' && openRun(e.target.closest('tr')?.dataset.run));
  await load();
  every(2000, load);
}

function openRun(id) {
  if (id) location.hash = `#/runs/${id}`;
}

const KIND = (t) =>
  t.startsWith('policy') || t === 'tool.denied'
    ? 't-policy'
    : t.startsWith('approval') || t === 'escalated'
      ? 't-approval'
      : t === 'limit.hit' || t.endsWith('failed')
        ? 't-failed'
        : '';

// The run's SSE stream, read with fetch (EventSource cannot send the key): `onMessage(event, data)`.
// Aborted when the view changes (route() aborts state.live).
async function follow(id, onMessage) {
  state.live?.abort();
  const controller = new AbortController();
  state.live = controller;
  try {
    const res = await fetch(`/v1/runs/${id}/stream`, { headers: { authorization: `Bearer ${state.key}` }, signal: controller.signal });
    if (!res.ok || !res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).replace(/^ /, '');
        }
        onMessage(event, data);
      }
    }
  } catch {
    // aborted (the view changed) or the connection dropped: the periodic reload still shows the run
  }
}

const LIVE_STATUSES = ['queued', 'running'];

async function runView(id) {
  // Text the model is streaming right now (a live preview; the timeline shows what was committed).
  const live = { step: 0, attempt: 0, text: '' };
  const liveItem = () =>
    live.text
      ? `<li class="live" data-testid="live-text"><span class="seq">…</span><span>Step ${live.step}: the model is writing${live.attempt > 1 ? ` (try ${live.attempt})` : ''}: “<span class="live-text">${esc(live.text)}</span>”</span></li>`
      : '';
  const load = async () => {
    const [run, { events }, { runs: children }] = await Promise.all([api(`/v1/runs/${id}`), api(`/v1/runs/${id}/events`), api(`/v1/runs/${id}/children`)]);
    main.innerHTML = `<p><a href="#/runs">← Runs</a></p><h2><code>${esc(run.runId)}</code> ${badge(run.status)}</h2>
      <div class="panel"><dl class="kv">
        <dt>agent</dt><dd>${esc(run.agent)} (tenant ${esc(run.tenant)})${run.mode === 'shadow' ? ' · <strong>shadow mode</strong>: nothing was changed' : ''}</dd>
        ${run.conversation ? `<dt>conversation</dt><dd>turn ${run.conversation.turn} of <a href="#/conversations/${encodeURIComponent(run.conversation.id)}"><code>${esc(run.conversation.id)}</code></a></dd>` : ''}
        <dt>cost</dt><dd>${usd(run.costUsd)} of ${usd(run.ceilingUsd)} ceiling${run.requestCostUsd && run.requestCostUsd !== run.costUsd ? ` · ${usd(run.requestCostUsd)} with child runs` : ''}</dd>
        <dt>figures</dt><dd data-testid="figures">${esc(run.figures)}</dd>
        ${run.summary.undo.phase !== 'none' ? `<dt>undo</dt><dd>${esc(UNDO_WORDS[run.summary.undo.phase])}</dd>` : ''}
        ${run.stopReason ? `<dt>stopped</dt><dd>${esc(run.stopReason.replaceAll('_', ' '))}${run.stopDetail ? `: ${esc(run.stopDetail)}` : ''}</dd>` : ''}
        ${run.output ? `<dt>answer</dt><dd>${esc(run.output)}</dd>` : ''}
        ${run.pending ? `<dt>waiting</dt><dd>${esc(run.pending.kind)} <code>${esc(run.pending.id)}</code>: ${esc(run.pending.reason)} — <a href="#/inbox">decide in the inbox</a></dd>` : ''}
      </dl>
      ${['queued', 'running', 'waiting_approval', 'escalated'].includes(run.status) ? '<div class="actions"><button type="button" class="danger" id="cancel">Cancel this run and its children</button></div>' : ''}</div>
      ${children.length ? `<div class="panel"><h3>Child runs</h3><ul>${children.map((c) => `<li><a href="#/runs/${esc(c.runId)}">${esc(c.runId)}</a> ${esc(c.agent)} ${badge(c.status)}</li>`).join('')}</ul></div>` : ''}
      <div class="panel"><h3>Timeline: why each step was taken</h3><ol class="timeline" data-testid="timeline">${timeline(events)}${LIVE_STATUSES.includes(run.status) ? liveItem() : ''}</ol></div>`;
    $('#cancel')?.addEventListener('click', async () => {
      if (!confirm(`Cancel ${id} and every run below it?`)) return;
      await api(`/v1/runs/${id}/cancel`, { method: 'POST', body: JSON.stringify({ reason: 'cancelled from the dashboard' }) });
      await load();
    });
    return run;
  };
  const run = await load();
  const ended = ['completed', 'stopped', 'failed', 'cancelled'].includes(run.status);
  // The stream brings every commit, this process's or a worker's (the server hears other
  // processes over LISTEN/NOTIFY), so the reload timer is only a slow safety net.
  if (!ended) every(10_000, load);
  else clearInterval(state.timer);
  if (!ended) {
    let reload = null;
    follow(id, (event, data) => {
      if (event === 'text.delta') {
        const d = JSON.parse(data);
        if (d.step !== live.step || d.attempt !== live.attempt) Object.assign(live, { step: d.step, attempt: d.attempt, text: '' });
        live.text += d.delta;
        const item = $('[data-testid=live-text]');
        if (item) $('.live-text', item).textContent = live.text;
        else $('[data-testid=timeline]')?.insertAdjacentHTML('beforeend', liveItem());
      } else if (event !== 'stream.end' && event !== 'text.dropped') {
        if (event === 'model.called' || event.startsWith('run.')) live.text = ''; // committed: the timeline now shows it
        // One reload for a burst of commits.
        if (reload === null)
          reload = setTimeout(() => {
            reload = null;
            if (location.hash === `#/runs/${id}`) load().catch(() => {});
          }, 50);
      }
    }).then(() => {
      // The stream ended (the run did, or the connection dropped): show the final state, if still on this run.
      if (location.hash === `#/runs/${id}`) load().catch(() => {});
    });
  }
}

// ---- conversations -----------------------------------------------------------------------
async function conversationsView() {
  main.innerHTML = `<h2>Conversations</h2>
    <table class="stack"><thead><tr><th>conversation</th><th>agent</th><th>tenant</th><th>status</th><th>turns</th><th>spent</th><th>updated</th></tr></thead><tbody id="conversations"></tbody></table>`;
  const load = async () => {
    const { conversations } = await api('/v1/conversations');
    $('#conversations').innerHTML =
      conversations
        .map(
          (c) =>
            `<tr tabindex="0" data-conversation="${esc(c.conversationId)}"><td data-label="conversation"><code>${esc(c.conversationId)}</code></td><td data-label="agent">${esc(c.agent)}</td><td data-label="tenant">${esc(c.tenant)}</td><td data-label="status">${badge(c.status)}</td><td data-label="turns">${c.turns}</td><td data-label="spent">${usd(c.spentUsd)}${c.ceilingUsd === null ? '' : ` of ${usd(c.ceilingUsd)}`}</td><td data-label="updated">${when(c.updatedAt)}</td></tr>`,
        )
        .join('') || '<tr><td colspan="7" class="muted">No conversations yet.</td></tr>';
  };
  const open = (id) => {
    if (id) location.hash = `#/conversations/${encodeURIComponent(id)}`;
  };
  $('#conversations').addEventListener('click', (e) => open(e.target.closest('tr')?.dataset.conversation));
  $('#conversations').addEventListener('keydown', (e) => e.key === 'Enter' && open(e.target.closest('tr')?.dataset.conversation));
  await load();
  every(5000, load);
}

/** A conversation as its turns, oldest first, each with what was said and its run's timeline. */
async function conversationView(id) {
  const load = async () => {
    const c = await api(`/v1/conversations/${encodeURIComponent(id)}`);
    const timelines = await Promise.all(c.turnRuns.map((r) => api(`/v1/runs/${r.runId}/events`)));
    main.innerHTML = `<p><a href="#/conversations">← Conversations</a></p><h2><code>${esc(c.conversationId)}</code> ${badge(c.status)}</h2>
      <div class="panel"><dl class="kv">
        <dt>agent</dt><dd>${esc(c.agent)} (tenant ${esc(c.tenant)})</dd>
        <dt>turns</dt><dd>${c.turns}</dd>
        <dt>spent</dt><dd>${usd(c.spentUsd)}${c.ceilingUsd === null ? ' (no conversation ceiling)' : ` of ${usd(c.ceilingUsd)} conversation ceiling`}</dd>
      </dl></div>
      ${c.turnRuns
        .map(
          (
            r,
            i,
          ) => `<div class="panel" data-testid="turn"><h3>Turn ${r.turn} ${badge(r.status)}${stopNote(r)} <a href="#/runs/${esc(r.runId)}"><code>${esc(r.runId)}</code></a> · ${usd(r.costUsd)}</h3>
        <dl class="kv"><dt>user</dt><dd>${esc(r.input)}</dd>${r.output !== null ? `<dt>agent</dt><dd>${esc(r.output)}</dd>` : ''}</dl>
        <details><summary>Timeline</summary><ol class="timeline">${timeline(timelines[i].events)}</ol></details></div>`,
        )
        .join('')}`;
  };
  await load();
  every(5000, load);
}

// ---- inbox -------------------------------------------------------------------------------
const waited = (ms) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m ${s % 60}s`
      : s < 86400
        ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
        : `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
};

/** "4 min 12 s": a countdown's remaining time, in the two largest units that matter. */
const remaining = (ms) => {
  const s = Math.ceil(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
};
const THEN = { deny: ' — then denied', escalate: ' — then escalated to a person' };
/** "expires in 4 min 12 s — then denied", or "expired" once the time has passed. */
const expiresText = (expiresAt, onTimeout, now = Date.now()) =>
  expiresAt <= now ? 'expired' : `expires in ${remaining(expiresAt - now)}${THEN[onTimeout] ?? ''}`;

/** What a person decides from, beside the arguments: the card the server computed from the run's log. */
function cardFacts(c) {
  const sure = [
    c.statedConfidence !== null ? `said ${Math.round(c.statedConfidence * 100)}% sure` : '',
    c.assessedConfidence !== null ? `scored ${c.assessedConfidence}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const row = (label, field, value) => `<dt>${label}</dt><dd data-field="${field}">${value}</dd>`;
  return `<dl class="kv card">${[
    row('Request', 'request', esc(c.request)),
    c.rationale || sure
      ? row(
          "Model's reason",
          'rationale',
          `${c.rationale ? `“${esc(c.rationale)}”` : 'gave no reason'}${sure ? ` <span class="muted">(${esc(sure)})</span>` : ''}`,
        )
      : '',
    row('Asked by', 'rule', `${c.rule ? `<code>${esc(c.rule)}</code> ` : ''}${esc(c.ruleReason)}`),
    row(
      'Undo',
      'undoable',
      `<span class="u-${esc(c.undoable)}">${esc(c.undoable.replaceAll('_', ' '))}</span> <span class="muted">${esc(c.undoableReason)}</span>`,
    ),
    c.planStep ? row('Plan step', 'plan-step', `${esc(c.planStep.id)}${c.planStep.why ? ` <span class="muted">${esc(c.planStep.why)}</span>` : ''}`) : '',
    row('Spend', 'spend', esc(c.spend)),
    row('Waiting', 'waited', `<span data-waited-since="${Number(c.requestedAt)}">${waited(c.waitedMs)}</span>`),
    typeof c.expiresAt === 'number'
      ? row(
          'Expires',
          'expires',
          `<span data-expires-at="${c.expiresAt}" data-on-timeout="${esc(c.onTimeout ?? '')}"${c.expiresAt <= Date.now() ? ' class="expired"' : ''}>${esc(expiresText(c.expiresAt, c.onTimeout))}</span>`,
        )
      : '',
  ].join('')}</dl>`;
}

/** The decision buttons; disabled, with the reason, when this key may not decide (four eyes, role). */
function decisionButtons(i) {
  const off = i.card && !i.card.mayDecide ? ` disabled title="${esc(i.card.whyNot)}"` : '';
  const b = (act, label, cls = '') => `<button type="button"${cls ? ` class="${cls}"` : ''} data-act="${act}"${off}>${label}</button>`;
  return i.kind === 'approval'
    ? b('approve', 'Approve') + b('deny', 'Deny', 'deny')
    : b('esc:approve', 'Approve') +
        b('esc:edit', 'Run with edited arguments', 'quiet') +
        b('esc:takeover', 'Take over', 'quiet') +
        b('esc:stop', 'Stop the run', 'deny');
}

async function inboxView() {
  const load = async () => {
    const { interventions } = await api('/v1/interventions?status=pending');
    updateInboxCount(interventions.length);
    main.innerHTML = `<h2>Inbox</h2><p class="muted">What waits for a person. Approval binds to these exact arguments.</p>${
      interventions
        .map(
          (i) => `<article class="panel" data-intervention="${esc(i.id)}" data-tool="${esc(i.tool ?? '')}">
        <h3>${esc(i.kind)}: ${esc(i.tool ?? 'final answer')} <span class="muted">· ${esc(i.agent)} · tenant ${esc(i.tenant)}</span></h3>
        <p>${esc(i.reason)}</p>
        <p class="muted ids">run <a href="#/runs/${esc(i.runId)}">${esc(i.runId)}</a> · asked ${when(i.requestedAt)} · <code>${esc(i.id)}</code></p>
        ${i.args !== null && i.args !== undefined ? `<pre>${esc(JSON.stringify(i.args, null, 2))}</pre>` : ''}
        ${i.card ? cardFacts(i.card) : ''}
        ${i.kind === 'escalation' && i.evidence?.answer ? `<pre>${esc(i.evidence.answer)}</pre>` : ''}
        <label>Reason <textarea name="reason" aria-label="reason"></textarea></label>
        ${i.kind === 'escalation' ? `<details><summary>Edit the arguments, or take over with the answer</summary><label>Arguments (JSON)<textarea name="args">${esc(JSON.stringify(i.args ?? {}, null, 2))}</textarea></label><label>Your answer<textarea name="output"></textarea></label></details>` : ''}
        <div class="actions">${decisionButtons(i)}<span class="error" role="alert"></span></div>${
          i.card && !i.card.mayDecide ? `<p class="why-not" data-testid="why-not">${esc(i.card.whyNot)}</p>` : ''
        }</article>`,
        )
        .join('') || '<p class="muted" data-testid="inbox-empty">Nothing waits for a person.</p>'
    }`;
  };
  main.onclick = async (e) => {
    const act = e.target.dataset?.act;
    if (!act) return;
    const card = e.target.closest('[data-intervention]');
    const id = card.dataset.intervention;
    const reason = $('[name=reason]', card).value;
    try {
      if (act === 'approve' || act === 'deny') await api(`/v1/approvals/${id}/${act}`, { method: 'POST', body: JSON.stringify({ reason }) });
      else {
        const decision = act.slice(4);
        const body = { decision, reason };
        if (decision === 'edit') body.args = JSON.parse($('[name=args]', card).value);
        if (decision === 'takeover') body.output = $('[name=output]', card).value;
        await api(`/v1/escalations/${id}`, { method: 'POST', body: JSON.stringify(body) });
      }
      await load();
    } catch (err) {
      $('.error', card).textContent = err.message;
    }
  };
  await load();
  // The wait ticks every second between reloads; the time it started comes from the server.
  clearInterval(state.tick);
  state.tick = setInterval(() => {
    for (const el of main.querySelectorAll('[data-waited-since]')) el.textContent = waited(Date.now() - Number(el.dataset.waitedSince));
    for (const el of main.querySelectorAll('[data-expires-at]')) {
      const at = Number(el.dataset.expiresAt);
      el.textContent = expiresText(at, el.dataset.onTimeout);
      el.classList.toggle('expired', at <= Date.now());
    }
  }, 1000);
  // Never re-render under a person who is typing a reason or editing arguments.
  const typing = () => main.contains(document.activeElement) && /^(TEXTAREA|INPUT)$/.test(document.activeElement.tagName);
  const drafted = () => [...main.querySelectorAll('textarea[name=reason]')].some((t) => t.value);
  every(3000, () => (typing() || drafted() ? Promise.resolve() : load()));
}

async function updateInboxCount(n) {
  if (n === undefined) n = (await api('/v1/interventions?status=pending')).interventions.length;
  const el = $('#inbox-count');
  el.hidden = n === 0;
  el.textContent = String(n);
}

// ---- overview ----------------------------------------------------------------------------
const WINDOWS = [
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
];

/**
 * Spend against each fleet budget in its current window: a bar to the maximum, a tick where the
 * window's average rate so far takes it by the window's end, and when that reaches the maximum.
 */
async function budgetsPanel(box) {
  if (!box) return;
  const { budgets } = await api('/v1/budgets');
  if (budgets.length === 0) {
    box.innerHTML = '';
    return;
  }
  const pct = (f) => `${Math.round(f * 1000) / 10}%`;
  box.innerHTML = `<h3>Budgets this window</h3><ul class="budgets">${budgets
    .map((b) => {
      const level = b.projectedFraction >= 1 ? 'bad' : b.alertsCrossed.length ? 'warn' : 'ok';
      return `<li class="budget${b.active ? '' : ' inactive'}" data-testid="budget" data-scope="${esc(b.scope)}" data-window="${esc(b.window)}">
        <div class="budget-head"><strong>${esc(b.scope)}</strong> · ${esc(b.window)} · <span class="muted">${esc(b.source)}${b.active ? '' : ', overridden by a stored budget'}</span></div>
        <div class="budget-bar" role="img" aria-label="${esc(`${usd(b.spentUsd)} of ${usd(b.maxUsd)} spent; ${usd(b.projectedUsd)} projected by the window end`)}">
          <span class="spent b-${level}" style="width:${Math.min(100, b.fraction * 100)}%"></span>
          <span class="projected" style="left:${Math.min(100, b.projectedFraction * 100)}%"></span>
        </div>
        <div class="muted"><span data-testid="budget-spent">${usd(b.spentUsd)} of ${usd(b.maxUsd)} (${pct(b.fraction)})</span> ·
          <span data-testid="budget-projection">projected ${usd(b.projectedUsd)} (${pct(b.projectedFraction)}) by ${esc(new Date(b.windowEnd).toLocaleString())}</span>${
            b.exhaustsAt ? ` · <span class="warn-note">runs out ${esc(new Date(b.exhaustsAt).toLocaleString())}</span>` : ''
          }${b.alertsCrossed.length ? ` · alerts crossed: ${b.alertsCrossed.map(pct).join(', ')}` : ''}</div>
      </li>`;
    })
    .join('')}</ul>`;
}

async function overviewView() {
  state.overview ??= { agent: '', window: '24h' };
  const pick = state.overview;
  main.innerHTML = `<h2>Overview</h2>
    <form class="filters" id="ov-filters" aria-label="Choose what the charts show">
      <select name="agent" aria-label="agent"><option value="">all agents</option></select>
      <select name="window" aria-label="window">${WINDOWS.map(([v, label]) => `<option value="${v}"${v === pick.window ? ' selected' : ''}>${label}</option>`).join('')}</select>
    </form>
    <p class="muted" id="ov-summary"></p><section id="ov-budgets" aria-label="Budgets"></section><div id="ov-charts"><p class="muted">Loading the charts…</p></div>`;
  // Chart.js and the chart code load with the first view of the Overview, never before.
  const charts = import('/charts.js');
  let destroy = () => {};
  const load = async () => {
    const params = new URLSearchParams({ window: pick.window, ...(pick.agent ? { agent: pick.agent } : {}) });
    const [o, { renderOverview }] = await Promise.all([api(`/v1/overview?${params}`), charts]);
    if (!main.contains($('#ov-charts'))) return; // the view changed while it loaded
    const select = $('#ov-filters [name=agent]');
    select.innerHTML = `<option value="">all agents</option>${o.agents.map((a) => `<option${a === pick.agent ? ' selected' : ''}>${esc(a)}</option>`).join('')}`;
    const span = WINDOWS.find(([v]) => v === o.window)?.[1] ?? o.window;
    const cut = o.sample.truncated.runs || o.sample.truncated.interventions;
    $('#ov-summary').innerHTML =
      `${esc(o.agent ?? 'All agents')}, ${esc(span)}: ${plural(o.totals.runs, 'run')}, ${plural(o.totals.requests, 'settled request')}.${
        cut
          ? ` <span class="warn-note" data-testid="sample-cut">Busy window: only the newest ${o.sample.cap.toLocaleString()} runs per tenant were read (back to ${esc(when(o.sample.coveredFrom))}).</span>`
          : ''
      }`;
    await budgetsPanel($('#ov-budgets'));
    destroy();
    destroy = await renderOverview($('#ov-charts'), o, { esc, plural });
    state.cleanup = () => destroy();
  };
  $('#ov-filters').addEventListener('change', (e) => {
    pick[e.target.name] = e.target.value;
    load().catch((err) => {
      $('#ov-charts').innerHTML = `<p class="error" role="alert">${esc(err.message)}</p>`;
    });
  });
  await load();
  every(60_000, load);
}

// ---- webhook deliveries ------------------------------------------------------------------
const DELIVERY_STATUS = { queued: 'queued', sending: 'sending', delivered: 'delivered', retrying: 'retrying', gave_up: 'gave up' };

async function deliveriesView() {
  state.deliveries ??= { endpoint: '', failed: false };
  const pick = state.deliveries;
  main.innerHTML = `<h2>Webhook deliveries</h2>
    <form class="filters" id="dl-filters" aria-label="Filter deliveries">
      <select name="endpoint" aria-label="endpoint"><option value="">every endpoint</option></select>
      <label class="check"><input type="checkbox" name="failed"${pick.failed ? ' checked' : ''}> only failed ones</label>
    </form>
    <div id="endpoints"></div>
    <table class="stack long-labels"><thead><tr><th>event</th><th>endpoint</th><th>status</th><th>attempts</th><th>last response</th><th>next attempt</th><th>delivered</th></tr></thead><tbody id="deliveries"></tbody></table>`;
  const load = async () => {
    const params = new URLSearchParams({ limit: '200', ...(pick.endpoint ? { endpoint: pick.endpoint } : {}), ...(pick.failed ? { failed: 'true' } : {}) });
    const { endpoints, deliveries } = await api(`/v1/webhooks/deliveries?${params}`);
    $('#dl-filters [name=endpoint]').innerHTML = `<option value="">every endpoint</option>${endpoints
      .map((e) => `<option value="${esc(e.id)}"${e.id === pick.endpoint ? ' selected' : ''}>${esc(e.id)}</option>`)
      .join('')}`;
    $('#endpoints').innerHTML = endpoints.length
      ? `<ul class="endpoints">${endpoints
          .map(
            (e) =>
              `<li data-endpoint="${esc(e.id)}"><strong>${esc(e.id)}</strong> → <code>${esc(e.origin)}</code> <span class="muted">${esc(e.format)} · ${esc(e.events.join(', '))}${e.enabled ? '' : ' · disabled'}</span></li>`,
          )
          .join('')}</ul>`
      : '<p class="muted">No webhook endpoints. Add one with <code>warden webhooks add</code>.</p>';
    $('#deliveries').innerHTML =
      deliveries
        .map((d) => {
          const response = [d.lastStatus !== null ? `HTTP ${d.lastStatus}` : '', d.lastError && d.lastError !== `HTTP ${d.lastStatus}` ? esc(d.lastError) : '']
            .filter(Boolean)
            .join(' · ');
          return `<tr data-delivery="${esc(d.id)}" data-status="${esc(d.status)}"><td data-label="event">${esc(d.type)} <code>${esc(d.eventId)}</code>${
            d.runId ? ` <a href="#/runs/${esc(d.runId)}">run</a>` : ''
          }</td><td data-label="endpoint">${esc(d.endpointId)}</td><td data-label="status"><span class="badge d-${esc(d.status)}">${esc(DELIVERY_STATUS[d.status] ?? d.status)}</span></td><td data-label="attempts">${plural(d.attempts, 'attempt')}</td><td data-label="response">${response || '<span class="muted">—</span>'}</td><td data-label="next">${d.nextAttemptAt ? when(d.nextAttemptAt) : '<span class="muted">—</span>'}</td><td data-label="delivered">${d.deliveredAt ? when(d.deliveredAt) : '<span class="muted">—</span>'}</td></tr>`;
        })
        .join('') || `<tr><td colspan="7" class="muted" data-testid="no-deliveries">${pick.failed ? 'No failed deliveries.' : 'No deliveries yet.'}</td></tr>`;
  };
  $('#dl-filters').addEventListener('change', (e) => {
    pick[e.target.name] = e.target.type === 'checkbox' ? e.target.checked : e.target.value;
    load().catch(() => {});
  });
  await load();
  every(5000, load);
}

// ---- kill switch -------------------------------------------------------------------------
async function controlsView() {
  const load = async () => {
    const { switches } = await api('/v1/kill-switch');
    main.innerHTML = `<h2>Kill switch</h2>
      <section class="panel switch"><p>Stops every live run it covers (each ends cancelled, or stops at its next step on another worker) and refuses new runs and resumes until it is lifted.</p>
      <div class="actions"><select id="scope-kind" aria-label="what to stop"><option value="all">everything</option><option value="agent">one agent</option><option value="tenant">one tenant</option></select>
      <input id="scope-name" placeholder="name" aria-label="agent or tenant name"><input id="switch-reason" placeholder="reason" aria-label="reason">
      <button type="button" class="danger big" id="engage">Stop</button><span class="error" role="alert" id="switch-error"></span><span class="ok" role="status" id="switch-done"></span></div></section>
      <h3>Engaged</h3>${switches.length ? `<ul>${switches.map((s) => `<li><strong>${esc(s.scope)}</strong> by ${esc(s.by)} — ${esc(s.reason)} (${when(s.at)}) <button type="button" class="quiet" data-lift="${esc(s.scope)}">Lift</button></li>`).join('')}</ul>` : '<p class="muted">None. Everything may run.</p>'}`;
    $('#engage').onclick = async () => {
      const kind = $('#scope-kind').value;
      const scope = kind === 'all' ? 'all' : `${kind}:${$('#scope-name').value.trim()}`;
      if (!confirm(`Stop ${scope === 'all' ? 'EVERY run' : scope}? Live runs are cancelled and new ones refused until you lift it.`)) return;
      try {
        const res = await api('/v1/kill-switch', { method: 'POST', body: JSON.stringify({ scope, reason: $('#switch-reason').value || 'kill switch' }) });
        await load();
        $('#switch-done').textContent = `Stopped ${plural(res.stopped.length, 'run')}.`;
      } catch (err) {
        $('#switch-error').textContent = err.message;
      }
    };
    main.querySelectorAll('[data-lift]').forEach((b) => {
      b.onclick = async () => {
        await api(`/v1/kill-switch?scope=${encodeURIComponent(b.dataset.lift)}`, { method: 'DELETE' });
        await load();
      };
    });
  };
  await load();
  clearInterval(state.timer);
}

// ---- routing -----------------------------------------------------------------------------
async function route() {
  state.live?.abort();
  state.live = null;
  state.cleanup?.();
  state.cleanup = null;
  clearInterval(state.tick);
  if (!state.me) return showLogin();
  main.onclick = null;
  const [, section, id] = location.hash.split('/');
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === (section || 'runs'));
  try {
    if (section === 'runs' && id) await runView(id);
    else if (section === 'conversations' && id) await conversationView(decodeURIComponent(id));
    else if (section === 'conversations') await conversationsView();
    else if (section === 'inbox') await inboxView();
    else if (section === 'overview') await overviewView();
    else if (section === 'deliveries') await deliveriesView();
    else if (section === 'controls') await controlsView();
    else await runsView();
    updateInboxCount().catch(() => {});
  } catch (err) {
    main.innerHTML = `<p class="error" role="alert">${esc(err.message)}</p>`;
  }
}

$('#signout').addEventListener('click', () => {
  sessionStorage.removeItem('warden.key');
  state.key = state.me = null;
  showLogin();
});
window.addEventListener('hashchange', route);
(async () => {
  if (state.key) {
    try {
      await signIn(state.key);
    } catch {
      sessionStorage.removeItem('warden.key');
      return showLogin('Your key no longer works; sign in again.');
    }
  }
  route();
})();
