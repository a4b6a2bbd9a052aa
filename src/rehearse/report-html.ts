import { formatUsd, usdToNano } from '../core/money.ts';
import type { CompareReport } from './compare.ts';
import type { RehearsalReport } from './report.ts';
import { budgetVerdict, interruptedLine, reportText } from './report-text.ts';
import type { Bin } from './stats.ts';
import { barChart, escapeXml } from './svg-chart.ts';

const money = (v: number) => formatUsd(usdToNano(v));

function binLabel(bin: Bin, format: (v: number) => string): string {
  return format(bin.from);
}

const STYLE = `
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; }
.meta { color: #57606a; margin-bottom: 18px; }
.interrupted { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 10px 14px; font-weight: 600; }
.questions { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; }
.question { background: #fff; border: 1px solid #d8dee4; border-left: 5px solid #1f883d; border-radius: 6px; padding: 12px 14px; }
.question.fail { border-left-color: #cf222e; }
.question h3 { margin: 0 0 6px; font-size: 15px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 12px; }
.charts figure { margin: 0; background: #fff; border: 1px solid #d8dee4; border-radius: 6px; padding: 8px; }
.chart .chart-title { font-size: 14px; font-weight: 600; fill: #1b1f24; }
.chart .tick, .chart .axis-label { font-size: 11px; fill: #57606a; }
.chart .axis { stroke: #8c959f; }
table.budgets { border-collapse: collapse; background: #fff; width: 100%; } .budgets td, .budgets th { border: 1px solid #d8dee4; padding: 4px 8px; text-align: left; }
.budgets tr.exhausted td:nth-child(4) { color: #cf222e; font-weight: 600; }
.bbar { width: 220px; height: 10px; background: #f0d0d0; border-radius: 5px; overflow: hidden; } .bbar span { display: block; height: 100%; background: #1f883d; } .bbar span.gone { background: #bf8700; }
pre { white-space: pre-wrap; background: #fff; border: 1px solid #d8dee4; border-radius: 6px; padding: 12px; overflow-x: auto; font-size: 12.5px; }
`;

/** The budgets the rehearsed volume exhausts, each a bar of its window with the point it runs out. */
function budgetSection(r: RehearsalReport): string {
  const f = r.budgets.forecasts;
  if (f.length === 0) return '';
  const rows = f
    .map((b) => {
      const at = b.exhausts ? b.exhaustsAtRequest! / b.requestsPerWindow : null;
      const bar = b.covers
        ? `<div class="bbar" role="img" aria-label="${at === null ? 'holds for the whole window' : `runs out ${Math.round(at * 100)}% into the window`}"><span style="width:${at === null ? 100 : Math.round(at * 1000) / 10}%" class="${at === null ? 'held' : 'gone'}"></span></div>`
        : '';
      return `<tr data-budget="${escapeXml(`${b.scope}|${b.window}`)}" class="${b.exhausts ? 'exhausted' : ''}"><td>${escapeXml(b.scope)}</td><td>${escapeXml(b.window)}</td><td>${money(b.maxUsd)}</td><td>${escapeXml(budgetVerdict(b))}</td><td>${bar}</td></tr>`;
    })
    .join('\n');
  return `<h2>Budgets</h2>
<table class="budgets"><tr><th>scope</th><th>window</th><th>max</th><th>at ${r.cost.projection.volumePerDay.toLocaleString('en-US')} requests a day</th><th>window, until it runs out</th></tr>
${rows}
</table>
`;
}

/**
 * The report as one self-contained HTML page: the four questions answered at the top, then the
 * charts (inline SVG: cost histogram, stop reasons, latency distribution, throughput over time),
 * then the full text report. No script, no stylesheet or font from the network.
 */
export function reportHtml(r: RehearsalReport): string {
  const questions: [string, string, boolean][] = [
    ['1. What stops this agent looping forever?', r.answers.stopConditions, r.checks.everyRunEnded],
    ['2. What may each tool do, and what waits for a person?', r.answers.permissions, r.checks.noUnapprovedDestructive],
    ['3. Can we see why each step was chosen?', r.answers.observability, r.checks.completeTraces],
    ['4. What is the most one request can cost?', r.answers.cost, r.checks.noCeilingBreach && r.checks.noOpenReservations],
  ];
  const outcomes: Record<string, number> = {};
  for (const [status, count] of Object.entries(r.stopConditions.byStatus)) if (status !== 'stopped') outcomes[status] = count;
  for (const [reason, count] of Object.entries(r.stopConditions.byStopReason)) outcomes[reason] = count;
  const charts = [
    barChart({
      title: 'Cost per request',
      axis: 'cost per request, retries included (USD, bin start)',
      bars: r.charts.costHistogramUsd.map((b) => ({ label: binLabel(b, money), value: b.count })),
    }),
    barChart({
      title: 'How runs ended',
      axis: 'final status, or the stop reason of stopped runs',
      color: '#8250df',
      bars: Object.entries(outcomes).map(([label, value]) => ({ label, value })),
    }),
    barChart({
      title: 'Latency per request (simulated model and tool time)',
      axis: 'active seconds per request (bin start)',
      color: '#bf8700',
      bars: r.charts.latencyHistogramMs.map((b) => ({ label: binLabel(b, (v) => `${(v / 1000).toFixed(1)}s`), value: b.count })),
    }),
    barChart({
      title: 'Throughput over time',
      axis: `requests finished per ${r.timing.throughput.binSeconds} s, by time since the start`,
      color: '#1f883d',
      bars: r.timing.throughput.finished.map((value, i) => ({ label: `${(i * r.timing.throughput.binSeconds).toFixed(1)}s`, value })),
    }),
  ];
  if (r.models) {
    charts.push(
      barChart({
        title: 'Which model answered',
        axis: 'model answers, by the model of the agent’s list that gave them (primary first)',
        color: '#cf222e',
        bars: r.models.list.map((m) => ({ label: `${m.role} ${m.key}`, value: m.answers })),
      }),
    );
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rehearsal of ${escapeXml(r.agent)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Rehearsal of ${escapeXml(r.agent)}</h1>
<div class="meta">${r.requests.toLocaleString('en-US')} requests · fault profile ${escapeXml(r.profile.name)} · seed ${r.seed} · concurrency ${r.concurrency} · ${(r.timing.elapsedMs / 1000).toFixed(1)} s</div>
${r.interrupted ? `<p class="interrupted">${escapeXml(interruptedLine(r))}</p>\n` : ''}<section class="questions">
${questions.map(([q, a, good]) => `<div class="question${good ? '' : ' fail'}"><h3>${escapeXml(q)}</h3><p>${escapeXml(a)}</p></div>`).join('\n')}
</section>
${budgetSection(r)}<h2>Charts</h2>
<section class="charts">
${charts.map((svg) => `<figure>${svg}</figure>`).join('\n')}
</section>
<h2>Full report</h2>
<pre>${escapeXml(reportText(r))}</pre>
</main>
</body>
</html>
`;
}

/** Two rehearsals side by side: the difference table first, then each full report. */
export function compareHtml(c: CompareReport, before: RehearsalReport, after: RehearsalReport, beforeLabel: string, afterLabel: string): string {
  const rows = c.rows
    .map(
      (r) =>
        `<tr${r.significant ? ' class="sig"' : ''}><td>${escapeXml(r.metric)}</td><td>${r.before}</td><td>${r.after}</td><td>${r.difference > 0 ? '+' : ''}${r.difference}</td><td>[${r.ci95[0]}, ${r.ci95[1]}]</td><td>${r.significant ? 'significant' : 'not significant'}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rehearsal compared: ${escapeXml(beforeLabel)} → ${escapeXml(afterLabel)}</title>
<style>${STYLE}
table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #d8dee4; padding: 4px 8px; text-align: right; } td:first-child { text-align: left; }
tr.sig td { font-weight: 600; } .side { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; } .side pre { font-size: 11px; }
</style>
</head>
<body>
<main>
<h1>Before ${escapeXml(beforeLabel)} · after ${escapeXml(afterLabel)}</h1>
<div class="meta">${c.requests.toLocaleString('en-US')} requests each · seed ${c.seed} · ${escapeXml(c.method)}</div>
<table><tr><th>figure</th><th>before</th><th>after</th><th>difference</th><th>95% interval</th><th></th></tr>
${rows}
</table>
<h2>Both reports</h2>
<section class="side"><div><h3>Before</h3><pre>${escapeXml(reportText(before))}</pre></div><div><h3>After</h3><pre>${escapeXml(reportText(after))}</pre></div></section>
</main>
</body>
</html>
`;
}
