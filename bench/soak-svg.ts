// The soak's plot: three panels (RSS, V8 heap used, external memory) over
// minutes, a line per variant. A few dozen lines of SVG by hand rather than a
// charting library: the plot is static, has no axes beyond min/max ticks,
// and a dependency for it would outweigh it.

export interface SvgSeries {
  name: string;
  points: readonly { minutes: number; rss: number; heap: number; external: number }[];
}

const TITLE = 'RSS, V8 heap used and external memory over the soak, per variant';
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#7f7f7f'];
const W = 760;
const PANEL_H = 200;
const LEFT = 70;
const RIGHT = 180;
const TOP = 30;

type Field = 'rss' | 'heap' | 'external';

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function panel(series: readonly SvgSeries[], field: Field, title: string, y0: number): string {
  const pts = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[field])));
  if (pts.length === 0) return '';
  const maxX = Math.max(...pts.map((p) => p.minutes), 1);
  const maxY = Math.max(...pts.map((p) => p[field])) * 1.05;
  const plotW = W - LEFT - RIGHT;
  const x = (m: number) => LEFT + (m / maxX) * plotW;
  const y = (v: number) => y0 + PANEL_H - (v / maxY) * PANEL_H;
  const out = [
    `<text x="${LEFT}" y="${y0 - 8}" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${LEFT}" y="${y0}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#ccc"/>`,
    `<text x="${LEFT - 6}" y="${y0 + 10}" font-size="11" text-anchor="end">${(maxY / 1048576).toFixed(0)} MiB</text>`,
    `<text x="${LEFT - 6}" y="${y0 + PANEL_H}" font-size="11" text-anchor="end">0</text>`,
    `<text x="${LEFT + plotW}" y="${y0 + PANEL_H + 14}" font-size="11" text-anchor="end">${maxX.toFixed(0)} min</text>`,
  ];
  series.forEach((s, i) => {
    const ps = s.points.filter((p) => Number.isFinite(p[field]));
    if (ps.length === 0) return;
    const colour = COLOURS[i % COLOURS.length];
    const d = ps.map((p) => `${x(p.minutes).toFixed(1)},${y(p[field]).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${d}"/>`);
    out.push(
      `<text x="${W - RIGHT + 8}" y="${y0 + 14 + i * 16}" font-size="12" fill="${colour}">${esc(s.name)}</text>`,
    );
  });
  return out.join('\n');
}

export function renderSoakSvg(series: readonly SvgSeries[]): string {
  const panels: [Field, string][] = [
    ['rss', 'RSS'],
    ['heap', 'V8 heap used'],
    ['external', 'external memory (Buffers)'],
  ];
  const h = TOP + panels.length * (PANEL_H + 50);
  const body = panels.map(([f, t], i) => panel(series, f, t, TOP + i * (PANEL_H + 50)));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif">`,
    `<title>${TITLE}</title>`,
    `<rect width="${W}" height="${h}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
