/**
 * Small charts for the /cutover page as inline SVG: no script, no library, no request. Everything is drawn with
 * presentation attributes (fill, stroke), so a Content-Security-Policy without 'unsafe-inline' still renders them.
 * Values come from the store, labels from this service: numbers are formatted here, text is escaped.
 */
const W = 360;
const H = 150;
const PAD = { left: 38, right: 8, top: 8, bottom: 22 };

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

export interface Series {
  readonly name: string;
  readonly colour: string;
  readonly values: readonly (number | null)[];
}

function frame(labels: readonly string[], min: number, max: number, unit: string): { x: (i: number) => number; y: (v: number) => number; axes: string } {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (labels.length <= 1 ? plotW / 2 : (i * plotW) / (labels.length - 1));
  const y = (v: number) => PAD.top + plotH - ((Math.min(max, Math.max(min, v)) - min) / (max - min || 1)) * plotH;
  const every = Math.max(1, Math.ceil(labels.length / 6));
  const ticks = labels
    .map((label, i) => (i % every === 0 || i === labels.length - 1 ? `<text x="${x(i).toFixed(1)}" y="${H - 6}" font-size="9" fill="#667085" text-anchor="middle">${escape(label)}</text>` : ''))
    .join('');
  const axes = `<line x1="${PAD.left}" y1="${y(min)}" x2="${W - PAD.right}" y2="${y(min)}" stroke="#d0d5dd"/>`
    + `<text x="${PAD.left - 4}" y="${y(max) + 4}" font-size="9" fill="#667085" text-anchor="end">${escape(num(max) + unit)}</text>`
    + `<text x="${PAD.left - 4}" y="${y(min)}" font-size="9" fill="#667085" text-anchor="end">${escape(num(min) + unit)}</text>${ticks}`;
  return { x, y, axes };
}

const legend = (series: readonly { name: string; colour: string }[]) =>
  series.map((s, i) => `<rect x="${PAD.left + i * 80}" y="0" width="8" height="8" fill="${s.colour}"/><text x="${PAD.left + 11 + i * 80}" y="8" font-size="9" fill="#344054">${escape(s.name)}</text>`).join('');

/** Lines through the hours that have a value (an hour without one breaks the line); a dot on every value. */
export function lineChart(options: { labels: readonly string[]; series: readonly Series[]; min: number; max?: number; unit: string; threshold?: number }): string {
  const values = options.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = options.max ?? Math.max(1, ...values) * 1.1;
  const { x, y, axes } = frame(options.labels, options.min, max, options.unit);
  const lines = options.series
    .map((s) => {
      let path = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        path += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      const dots = s.values
        .map((v, i) => (v === null ? '' : `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${s.colour}"><title>${escape(`${s.name} ${options.labels[i] ?? ''}: ${num(v)}${options.unit}`)}</title></circle>`))
        .join('');
      return `${path ? `<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="2"/>` : ''}${dots}`;
    })
    .join('');
  const threshold = options.threshold === undefined ? ''
    : `<line x1="${PAD.left}" y1="${y(options.threshold).toFixed(1)}" x2="${W - PAD.right}" y2="${y(options.threshold).toFixed(1)}" stroke="#b42318" stroke-dasharray="4 3"/>`;
  const empty = values.length === 0 ? `<text x="${W / 2}" y="${H / 2}" font-size="11" fill="#667085" text-anchor="middle">no data yet</text>` : '';
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escape(options.series.map((s) => s.name).join(', '))}">${axes}${threshold}${lines}${empty}${options.series.length > 1 ? legend(options.series) : ''}</svg>`;
}

/** Stacked bars, one per hour. */
export function barChart(options: { labels: readonly string[]; series: readonly Series[] }): string {
  const totals = options.labels.map((_, i) => options.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const { x, y, axes } = frame(options.labels, 0, max, '');
  const step = options.labels.length <= 1 ? 20 : (W - PAD.left - PAD.right) / (options.labels.length - 1);
  const width = Math.max(2, Math.min(18, step * 0.7));
  const bars = options.labels
    .map((label, i) => {
      let base = 0;
      return options.series
        .map((s) => {
          const v = s.values[i] ?? 0;
          if (v === 0) return '';
          const top = y(base + v);
          const rect = `<rect x="${(x(i) - width / 2).toFixed(1)}" y="${top.toFixed(1)}" width="${width.toFixed(1)}" height="${(y(base) - top).toFixed(1)}" fill="${s.colour}"><title>${escape(`${label}: ${v} ${s.name}`)}</title></rect>`;
          base += v;
          return rect;
        })
        .join('');
    })
    .join('');
  const empty = totals.every((t) => t === 0) ? `<text x="${W / 2}" y="${H / 2}" font-size="11" fill="#667085" text-anchor="middle">no window closed yet</text>` : '';
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="occurrences per hour">${axes}${bars}${empty}${legend(options.series)}</svg>`;
}

/** One horizontal bar split by share, with the counts written under it. */
export function stackedBar(parts: readonly { name: string; colour: string; value: number }[]): string {
  const width = 720;
  const total = parts.reduce((sum, p) => sum + p.value, 0);
  let left = 0;
  const rects = parts
    .map((p) => {
      if (total === 0 || p.value === 0) return '';
      const w = (p.value / total) * width;
      const rect = `<rect x="${left.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="18" fill="${p.colour}"><title>${escape(`${p.value} on ${p.name}`)}</title></rect>`;
      left += w;
      return rect;
    })
    .join('');
  const labels = parts.map((p, i) => `<rect x="${i * 150}" y="26" width="9" height="9" fill="${p.colour}"/><text x="${i * 150 + 13}" y="35" font-size="11" fill="#344054">${escape(`${p.name}: ${p.value}`)}</text>`).join('');
  const empty = total === 0 ? `<rect x="0" y="0" width="${width}" height="18" fill="#f2f4f7"/>` : '';
  return `<svg id="companies-bar" width="${width}" height="40" viewBox="0 0 ${width} 40" role="img" aria-label="companies by channel">${empty}${rects}${labels}</svg>`;
}
