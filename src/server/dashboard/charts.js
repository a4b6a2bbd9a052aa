// The Overview's charts: loaded (with Chart.js) only when a person opens the Overview.
// Chart.js comes from the server's own /vendor route (the pinned npm dependency), never a CDN.

const COLORS = {
  completed: '#4cc38a',
  running: '#6ea8fe',
  queued: '#9ec5fe',
  waiting_approval: '#f5b942',
  escalated: '#e0883a',
  stopped: '#f0625d',
  failed: '#b83a36',
  cancelled: '#7c8496',
};
const ORDER = ['completed', 'running', 'queued', 'waiting_approval', 'escalated', 'stopped', 'failed', 'cancelled'];
const MUTED = '#98a0b3';
const GRID = '#262b36';
const WARN = '#f5b942';

let loading;
/** Chart.js, loaded once as a classic script (its browser build sets `window.Chart`). */
export function loadChartJs() {
  loading ??= new Promise((resolve, reject) => {
    if (window.Chart) return resolve(window.Chart);
    const s = document.createElement('script');
    s.src = '/vendor/chart.umd.min.js';
    s.onload = () => resolve(window.Chart);
    s.onerror = () => {
      loading = undefined;
      reject(new Error('Could not load the chart library from /vendor/chart.umd.min.js'));
    };
    document.head.append(s);
  });
  return loading;
}

/** `$0.0021`, `$0.5`, `$12`: three significant digits, never `1e-7`. */
export function usdTick(v) {
  if (v === null || v === undefined) return '—';
  if (v === 0) return '$0';
  const s = Number(v.toPrecision(3));
  return `$${s < 1e-4 ? s.toFixed(9).replace(/0+$/, '') : s}`;
}

/** `0`, `850 ms`, `12 s`, `1 min 30 s`, `2 h 15 min`, `1 d 6 h`: the two largest units. */
export function durationTick(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms === 0) return '0';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  const two = (big, bigUnit, small, smallUnit) => `${big} ${bigUnit}${small ? ` ${small} ${smallUnit}` : ''}`;
  if (s < 60) return `${s} s`;
  if (s < 3600) return two(Math.floor(s / 60), 'min', s % 60, 's');
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return two(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
}

/** A bucket's start as a short local label that fits the window's bucket size. */
function bucketLabel(ms, bucketMs) {
  const d = new Date(ms);
  if (bucketMs <= 3_600_000) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (bucketMs < 86_400_000) return `${d.toLocaleDateString([], { weekday: 'short' })} ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

const words = (s) => String(s).replaceAll('_', ' ');

/** Draws a dashed line at each bucket that holds a drift alert, labelled, on any chart over time. */
const driftMarks = {
  id: 'driftMarks',
  afterDatasetsDraw(chart, _args, options) {
    const marks = options.buckets ?? [];
    if (!marks.length) return;
    const { ctx, chartArea, scales } = chart;
    ctx.save();
    ctx.strokeStyle = WARN;
    ctx.fillStyle = WARN;
    ctx.setLineDash([4, 3]);
    ctx.font = '11px system-ui, sans-serif';
    for (const b of marks) {
      const x = scales.x.getPixelForValue(b);
      // Kept inside the plot: a mark on the last bucket is labelled to its left.
      ctx.textAlign = x > chartArea.right - 18 ? 'right' : x < chartArea.left + 18 ? 'left' : 'center';
      ctx.beginPath();
      ctx.moveTo(x, chartArea.top + 12);
      ctx.lineTo(x, chartArea.bottom);
      ctx.stroke();
      ctx.fillText('drift', x, chartArea.top + 9);
    }
    ctx.restore();
  },
};

function axis(title, tick) {
  return { title: { display: true, text: title, color: MUTED }, ticks: { color: MUTED, ...(tick ? { callback: tick } : {}) }, grid: { color: GRID } };
}

function timeAxis() {
  return { ...axis('time (local)'), ticks: { color: MUTED, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } };
}

/**
 * Renders the Overview's charts into `root` from `GET /v1/overview`; returns a function that
 * destroys them (the view calls it before drawing again or leaving).
 */
export async function renderOverview(root, o, { esc, plural }) {
  const Chart = await loadChartJs();
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.color = MUTED;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.register(driftMarks);

  const labels = o.buckets.map((b) => bucketLabel(b, o.bucketMs));
  const drift = { buckets: [...new Set(o.drift.map((d) => d.bucket))] };
  const charts = [];
  const panel = (id, title, summary, body) =>
    `<section class="panel chart" data-chart="${id}"><h3>${title}</h3>${summary ? `<p class="muted">${summary}</p>` : ''}${body}</section>`;
  const canvas = (id, label) => `<div class="chart-box"><canvas id="chart-${id}" role="img" aria-label="${esc(label)}"></canvas></div>`;
  const none = (text) => `<p class="muted" data-testid="no-data">${text}</p>`;

  const statuses = ORDER.filter((s) => o.runsByStatus[s]).concat(Object.keys(o.runsByStatus).filter((s) => !ORDER.includes(s)));
  const stops = Object.entries(o.stopReasons).sort((a, b) => b[1] - a[1]);
  const cost = o.costPerRequest;
  const ttd = o.timeToDecision;
  root.innerHTML = `<div class="charts">${[
    panel(
      'status',
      'Runs by status',
      `${plural(o.totals.runs, 'run')} created, by the status each has now`,
      canvas('status', 'Runs created per bucket, stacked by status'),
    ),
    panel(
      'stops',
      'Stop reasons',
      stops.length
        ? `${plural(
            stops.reduce((a, [, n]) => a + n, 0),
            'run',
          )} stopped`
        : '',
      stops.length ? canvas('stops', 'Runs stopped, by reason') : none('No run stopped in this window.'),
    ),
    panel(
      'cost-histogram',
      'Cost per request',
      cost.requests ? `${plural(cost.requests, 'settled request')} · p50 ${usdTick(cost.p50)} · p99 ${usdTick(cost.p99)} · max ${usdTick(cost.max)}` : '',
      cost.requests ? canvas('cost-histogram', 'How many requests cost how much, in USD') : none('No settled request in this window.'),
    ),
    panel(
      'cost-time',
      'Cost per request over time',
      cost.ceilingUsd !== null ? `against the ceiling of ${usdTick(cost.ceilingUsd)} per request` : 'choose one agent to see its ceiling',
      canvas('cost-time', 'p50 and p99 cost per request per bucket, in USD, with the ceiling'),
    ),
    panel(
      'per100',
      'Approvals and escalations per 100 runs',
      `${plural(o.totals.approvals, 'approval')} and ${plural(o.totals.escalations, 'escalation')} asked`,
      canvas('per100', 'Approvals and escalations asked per 100 runs created, per bucket'),
    ),
    panel(
      'decision',
      'Time to decision',
      ttd.decided ? `${plural(ttd.decided, 'approval')} decided · p50 ${durationTick(ttd.p50)} · p99 ${durationTick(ttd.p99)}` : '',
      ttd.decided ? canvas('decision', 'How long approvals waited for a person') : none('No approval asked in this window has been decided.'),
    ),
  ].join('')}</div>${
    o.drift.length
      ? `<section class="panel" data-testid="drift-list"><h3>Drift alerts</h3><ul>${o.drift
          .map((d) => `<li>${esc(new Date(d.at).toLocaleString())} · ${esc(d.agent)}${d.dimensions.length ? `: ${esc(d.dimensions.join(', '))}` : ''}</li>`)
          .join('')}</ul><p class="muted">Marked “drift” on the charts over time.</p></section>`
      : ''
  }`;

  const make = (id, config) => {
    const el = root.querySelector(`#chart-${id}`);
    if (el) charts.push(new Chart(el, config));
  };
  const legend = { position: 'bottom' };

  make('status', {
    type: 'bar',
    data: { labels, datasets: statuses.map((s) => ({ label: words(s), data: o.runsByStatus[s], backgroundColor: COLORS[s] ?? MUTED, stack: 'runs' })) },
    options: {
      plugins: { legend, driftMarks: drift },
      scales: { x: { ...timeAxis(), stacked: true }, y: { ...axis('runs'), stacked: true, beginAtZero: true, ticks: { color: MUTED, precision: 0 } } },
    },
  });
  make('stops', {
    type: 'bar',
    data: {
      labels: stops.map(([r]) => words(r)),
      datasets: [{ label: 'runs', data: stops.map(([, n]) => n), backgroundColor: '#f0625d', maxBarThickness: 28 }],
    },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: false }, driftMarks: { buckets: [] } },
      scales: { x: { ...axis('runs'), beginAtZero: true, ticks: { color: MUTED, precision: 0 } }, y: axis('stop reason') },
    },
  });
  make('cost-histogram', {
    type: 'bar',
    data: {
      labels: cost.histogram.map((b) => (b.to === b.from ? usdTick(b.from) : `${usdTick(b.from)}–${usdTick(b.to)}`)),
      datasets: [{ label: 'requests', data: cost.histogram.map((b) => b.count), backgroundColor: '#6ea8fe', barPercentage: 1, categoryPercentage: 0.95 }],
    },
    options: {
      plugins: { legend: { display: false }, driftMarks: { buckets: [] } },
      scales: {
        x: { ...axis('cost per request (USD)'), ticks: { color: MUTED, maxRotation: 45 } },
        y: { ...axis('requests'), beginAtZero: true, ticks: { color: MUTED, precision: 0 } },
      },
    },
  });
  const ceiling = cost.ceilingUsd;
  make('cost-time', {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'p50', data: cost.p50ByBucket, borderColor: '#6ea8fe', backgroundColor: '#6ea8fe', spanGaps: false, pointRadius: 2 },
        { label: 'p99', data: cost.p99ByBucket, borderColor: '#c58af9', backgroundColor: '#c58af9', spanGaps: false, pointRadius: 2 },
        ...(ceiling !== null
          ? [{ label: 'ceiling', data: labels.map(() => ceiling), borderColor: '#f0625d', backgroundColor: '#f0625d', borderDash: [6, 4], pointRadius: 0 }]
          : []),
      ],
    },
    options: {
      plugins: { legend, driftMarks: drift, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${usdTick(c.parsed.y)}` } } },
      scales: { x: timeAxis(), y: { ...axis('USD per request', usdTick), beginAtZero: true } },
    },
  });
  make('per100', {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'approvals', data: o.per100Runs.approvals, borderColor: '#f5b942', backgroundColor: '#f5b942', pointRadius: 2 },
        { label: 'escalations', data: o.per100Runs.escalations, borderColor: '#e0883a', backgroundColor: '#e0883a', pointRadius: 2, borderDash: [5, 3] },
      ],
    },
    options: {
      plugins: { legend, driftMarks: drift },
      scales: { x: timeAxis(), y: { ...axis('per 100 runs'), beginAtZero: true } },
    },
  });
  make('decision', {
    type: 'bar',
    data: {
      labels: ttd.histogram.map((b) => (b.to === b.from ? durationTick(b.from) : `${durationTick(b.from)}–${durationTick(b.to)}`)),
      datasets: [{ label: 'approvals', data: ttd.histogram.map((b) => b.count), backgroundColor: '#f5b942', barPercentage: 1, categoryPercentage: 0.95 }],
    },
    options: {
      plugins: { legend: { display: false }, driftMarks: { buckets: [] } },
      scales: {
        x: { ...axis('time to decision'), ticks: { color: MUTED, maxRotation: 45 } },
        y: { ...axis('approvals'), beginAtZero: true, ticks: { color: MUTED, precision: 0 } },
      },
    },
  });
  return () => {
    for (const c of charts) c.destroy();
  };
}
