// The owner's dashboard: for the last 7, 30 or 90 days, what missed calls cost and what mctb won
// back. Its figures are `mctb report --json`'s (the same ledger functions and buildReportJson),
// so the page and the command never disagree. The chart is SVG drawn here: no script, no library,
// nothing for the CSP to allow.

import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { MISSED_OUTCOMES } from '../calls/types';
import { buildReportJson } from '../cli/report';
import type { Viewer } from './auth';
import { businessOf, visibleBusinesses, zoneOf } from './pages';
import type { ConsoleContext } from './server';
import { OUTCOME_LABELS } from './views';

export const PERIODS = [7, 30, 90] as const;
const COLORS: Record<string, string> = {
  answered: '#9bb7d4',
  noanswer: '#d9534f',
  busy: '#f0ad4e',
  cancel: '#e57373',
  unavailable: '#8e6c8a',
  voicemail: '#5bc0de',
  queue_abandon: '#c17d11',
};

export function registerDashboard(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/dashboard', async (req, reply) => {
    const v = req.viewer as Viewer;
    const q = req.query as Record<string, unknown>;
    const visible = visibleBusinesses(ctx, v);
    const picked = typeof q.business === 'string' && visible.includes(q.business) ? q.business : undefined;
    const days = PERIODS.find((d) => String(d) === q.days) ?? 30;
    // Staff of some businesses see only theirs; "all" for an owner is every business (undefined).
    const scope = picked !== undefined ? [picked] : v.businesses;
    const until = ctx.clock();
    const since = until - days * 86_400_000;
    const zone = zoneOf(picked !== undefined ? businessOf(ctx, picked) : ctx.config().businesses.find((b) => visible.includes(b.name)));
    const [report, daily] = await Promise.all([ctx.ledger.admin.report(since, until, scope), ctx.ledger.admin.dailyCalls(since, until, zone, scope)]);
    const j = buildReportJson(report, since, until, picked, zone);
    return ctx.views.page(reply, 'dashboard', {
      title: 'Dashboard',
      nav: 'dashboard',
      viewer: v,
      businesses: visible,
      picked: picked ?? '',
      days,
      periods: PERIODS,
      j,
      medianText: j.median_seconds_to_text === null ? '–' : j.median_seconds_to_text < 120 ? `${j.median_seconds_to_text.toFixed(1)} s` : `${Math.round(j.median_seconds_to_text / 60)} min`,
      replyRateText: j.reply_rate === null ? '–' : `${Math.round(j.reply_rate * 100)}%`,
      chart: chartSvg(daily, since, until, zone),
      legend: ['answered', ...MISSED_OUTCOMES].map((o) => ({ label: OUTCOME_LABELS[o] ?? o, color: COLORS[o] })),
    });
  });
}

/** Stacked bars, one per local day: missed outcomes at the bottom, answered on top. */
export function chartSvg(daily: readonly { day: string; outcome: string; n: number }[], since: number, until: number, zone: string): string {
  const days: string[] = [];
  for (let d = DateTime.fromMillis(since, { zone }).startOf('day'); d.toMillis() <= until; d = d.plus({ days: 1 })) days.push(d.toISODate() ?? '');
  const byDay = new Map<string, Map<string, number>>(days.map((d) => [d, new Map()]));
  for (const r of daily) byDay.get(r.day)?.set(r.outcome, (byDay.get(r.day)?.get(r.outcome) ?? 0) + r.n);
  const order = [...MISSED_OUTCOMES, 'answered'];
  const totals = days.map((d) => order.reduce((s, o) => s + (byDay.get(d)?.get(o) ?? 0), 0));
  const max = Math.max(1, ...totals);
  const W = 720;
  const H = 220;
  const pad = { l: 34, r: 6, t: 8, b: 22 };
  const bw = (W - pad.l - pad.r) / days.length;
  const y = (n: number) => ((H - pad.t - pad.b) * n) / max;
  const parts: string[] = [];
  const tick = niceStep(max);
  for (let v = 0; v <= max; v += tick) {
    const yy = H - pad.b - y(v);
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="#e3e7ee"/><text x="${pad.l - 4}" y="${(yy + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#5c667a">${v}</text>`);
  }
  days.forEach((d, i) => {
    let base = H - pad.b;
    const x = pad.l + i * bw + bw * 0.12;
    const counts = byDay.get(d) ?? new Map<string, number>();
    for (const o of order) {
      const n = counts.get(o) ?? 0;
      if (!n) continue;
      const h = y(n);
      base -= h;
      parts.push(`<rect x="${x.toFixed(1)}" y="${base.toFixed(1)}" width="${(bw * 0.76).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[o] ?? '#999'}"><title>${d}: ${n} ${OUTCOME_LABELS[o] ?? o}</title></rect>`);
    }
    const every = Math.ceil(days.length / 10);
    if (i % every === 0) parts.push(`<text x="${(x + bw * 0.38).toFixed(1)}" y="${H - 6}" text-anchor="middle" font-size="11" fill="#5c667a">${d.slice(5)}</text>`);
  });
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Calls per day by outcome" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

function niceStep(max: number): number {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? mag * 10;
}
