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
  if (!['completed', 'stopped', 'failed', 'cancelled'].includes(run.status)) every(1500, load);
  else clearInterval(state.timer);
  if (LIVE_STATUSES.includes(run.status)) {
    follow(id, (event, data) => {
      if (event === 'text.delta') {
        const d = JSON.parse(data);
        if (d.step !== live.step || d.attempt !== live.attempt) Object.assign(live, { step: d.step, attempt: d.attempt, text: '' });
        live.text += d.delta;
        const item = $('[data-testid=live-text]');
        if (item) $('.live-text', item).textContent = live.text;
        else $('[data-testid=timeline]')?.insertAdjacentHTML('beforeend', liveItem());
      } else if (event === 'model.called' || event.startsWith('run.')) {
        live.text = ''; // committed: the timeline now shows it
        load().catch(() => {});
      }
    });
  }
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
function bars(entries, { width = 300, height = 90 } = {}) {
  if (!entries.length) return '<p class="muted">No data yet.</p>';
  const max = Math.max(...entries.map(([, v]) => v), 1);
  const w = width / entries.length;
  return `<svg width="${width}" height="${height + 28}" role="img">${entries
    .map(([label, v], i) => {
      const h = (v / max) * height;
      return `<rect x="${i * w + 2}" y="${height - h}" width="${Math.max(1, w - 4)}" height="${h}" fill="#6ea8fe"><title>${esc(label)}: ${v}</title></rect><text x="${i * w + w / 2}" y="${height + 12}" text-anchor="middle">${esc(String(label).slice(0, 10))}</text>`;
    })
    .join('')}</svg>`;
}

async function overviewView() {
  const { agents } = await api('/v1/overview');
  main.innerHTML = `<h2>Overview</h2><div class="grid">${
    agents
      .map(
        (a) => `<section class="panel" data-agent="${esc(a.agent)}"><h3>${esc(a.agent)} <span class="muted">· ${plural(a.runs, 'run')}</span></h3>
      <h4>Runs by status</h4>${bars(Object.entries(a.byStatus))}
      <h4>Stop reasons</h4>${bars(Object.entries(a.byStopReason))}
      <h4>Runs per hour</h4>${bars(Object.entries(a.runsPerHour).map(([h, n]) => [h.slice(11, 16), n]))}
      <h4>Cost per request</h4>${bars(a.costUsd.histogram.map((b) => [usd(b.to), b.count]))}
      <p>p50 ${usd(a.costUsd.p50)} · p95 ${usd(a.costUsd.p95)} · p99 ${usd(a.costUsd.p99)} · max ${usd(a.costUsd.max)}</p>
      <p>${a.approvalsPer100.toFixed(1)} approvals and ${a.escalationsPer100.toFixed(1)} escalations per 100 runs</p></section>`,
      )
      .join('') || '<p class="muted">No runs yet.</p>'
  }</div>`;
  clearInterval(state.timer);
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
  clearInterval(state.tick);
  if (!state.me) return showLogin();
  main.onclick = null;
  const [, section, id] = location.hash.split('/');
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === (section || 'runs'));
  try {
    if (section === 'runs' && id) await runView(id);
    else if (section === 'inbox') await inboxView();
    else if (section === 'overview') await overviewView();
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
