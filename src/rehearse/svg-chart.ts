/** Bar charts as inline SVG: the HTML report needs no script and no network to draw them. */

export interface Bar {
  label: string;
  value: number;
}

export interface BarChartOptions {
  title: string;
  bars: readonly Bar[];
  /** Says what the horizontal axis is, e.g. "cost per request (USD)". */
  axis: string;
  width?: number;
  height?: number;
  color?: string;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/**
 * A vertical bar chart. Bars are `<rect class="bar">` with a `<title>` tooltip; labels are thinned
 * out so they never overlap.
 *
 * @example
 * barChart({ title: 'Stop reasons', axis: 'reason', bars: [{ label: 'completed', value: 9600 }] })
 */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 260;
  const pad = { left: 56, right: 12, top: 28, bottom: 54 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...options.bars.map((b) => b.value));
  const slot = innerW / Math.max(1, options.bars.length);
  const every = Math.max(1, Math.ceil(options.bars.length / 8));
  const color = options.color ?? '#2f6fde';
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-label="${escapeXml(options.title)}">`,
    `<text x="${pad.left}" y="18" class="chart-title">${escapeXml(options.title)}</text>`,
    `<line x1="${pad.left}" y1="${pad.top + innerH}" x2="${pad.left + innerW}" y2="${pad.top + innerH}" class="axis"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${pad.top + innerH}" class="axis"/>`,
    `<text x="${pad.left - 6}" y="${pad.top + 4}" class="tick" text-anchor="end">${max.toLocaleString('en-US')}</text>`,
    `<text x="${pad.left - 6}" y="${pad.top + innerH}" class="tick" text-anchor="end">0</text>`,
  ];
  options.bars.forEach((bar, i) => {
    const h = bar.value <= 0 ? 0 : Math.max(1, (bar.value / max) * innerH);
    const x = pad.left + i * slot + slot * 0.1;
    const y = pad.top + innerH - h;
    parts.push(
      `<rect class="bar" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, slot * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${escapeXml(`${bar.label}: ${bar.value.toLocaleString('en-US')}`)}</title></rect>`,
    );
    if (i % every === 0) {
      parts.push(`<text x="${(x + slot * 0.4).toFixed(1)}" y="${pad.top + innerH + 14}" class="tick" text-anchor="middle">${escapeXml(bar.label)}</text>`);
    }
  });
  parts.push(`<text x="${pad.left + innerW / 2}" y="${height - 8}" class="axis-label" text-anchor="middle">${escapeXml(options.axis)}</text>`, '</svg>');
  return parts.join('');
}
