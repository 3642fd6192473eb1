// The inbox and a thread: reading them, and what staff do there (answer from the business's
// number, note, assign, "I'll call them", "Done"). A thread of a business the user may not see
// answers 404 like one that does not exist, whichever route asks.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BusinessConfig, Config } from '../config/types';
import type { ThreadRow, TimelineItem } from '../ledger/threads';
import { countSegments } from '../messages/encoding';
import { sourceOf } from '../plans/call';
import type { Viewer } from './auth';
import type { ConsoleContext } from './server';
import { registerDashboard } from './dashboard';
import { registerDirectory } from './directory';
import { isoIn, KIND_LABELS, OUTCOME_LABELS, showNumber, STATE_LABELS, when } from './views';

/** Longest text staff may send in one go (about 7 GSM-7 segments). */
export const MAX_REPLY = 1000;
const PAGE = 50;

export function registerPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/', (_req, reply) => reply.redirect('/inbox', 303));

  app.get('/inbox', async (req, reply) => {
    const v = req.viewer as Viewer;
    const data = await inboxData(ctx, v, req.query as Record<string, unknown>);
    return ctx.views.page(reply, 'inbox', { title: 'Inbox', nav: 'inbox', viewer: v, ...data });
  });
  app.get('/inbox/list', async (req, reply) => {
    const v = req.viewer as Viewer;
    return ctx.views.fragment(reply, 'inbox-list', await inboxData(ctx, v, req.query as Record<string, unknown>));
  });

  app.get('/threads/:id', async (req, reply) => {
    const v = req.viewer as Viewer;
    const t = await threadOf(ctx, req);
    if (!t) return notFound(reply);
    const b = businessOf(ctx, t.business);
    const [items, sender, allUsers] = await Promise.all([ctx.ledger.threads.timeline(t), senderOf(ctx, t), ctx.ledger.users.list()]);
    const users = allUsers.filter((u) => u.role === 'owner' || u.businesses.includes(t.business));
    return ctx.views.page(reply, 'thread', {
      title: t.name ?? showNumber(t.number),
      nav: 'inbox',
      viewer: v,
      threadId: t.id,
      t: { ...t, numberShown: showNumber(t.number) },
      items: timelineView(items, zoneOf(b), ctx.clock()),
      waiting: items.some((i) => i.type === 'out' && i.state === 'scheduled' && (i.kind === 'text_back' || i.kind === 'follow_up')),
      users,
      blocked: blockedReason(ctx, t, sender),
      from: sender ? `${showNumber(sender.from)}${sender.site !== undefined ? ` (through site ${sender.site})` : ''}` : '',
      maxLength: MAX_REPLY,
    });
  });
  app.get('/threads/:id/timeline', async (req, reply) => {
    const t = await threadOf(ctx, req);
    if (!t) return notFound(reply);
    return timelineFragment(ctx, reply, t);
  });

  app.post('/threads/:id/reply', async (req, reply) => {
    const v = req.viewer as Viewer;
    const t = await threadOf(ctx, req);
    if (!t) return notFound(reply);
    const text = cleanText(field(req, 'text'), MAX_REPLY);
    if (!text) return reply.code(400).type('text/plain').send('the text is empty\n');
    const sender = await senderOf(ctx, t);
    // The page disables the box; the server refuses too (a hand-made POST, a stale page).
    const blocked = blockedReason(ctx, t, sender);
    if (blocked || !sender) return reply.code(409).type('text/plain').send(`not sent: ${blocked ?? 'nobody can text this contact from here'}\n`);
    const now = ctx.clock();
    const id = await ctx.ledger.sends.schedule({ business: t.business, number: t.number, sourceAddr: sender.from, body: text, dueAt: now, kind: 'console', sentBy: v.user.name, site: sender.site }, now);
    await ctx.ledger.threads.handled(t, false, now);
    ctx.log.info('console reply queued', { send: id, user: v.user.name, business: t.business, thread: t.id, ...(sender.site !== undefined ? { through_site: sender.site } : {}) });
    if (sender.site === undefined) ctx.pokeOutbox();
    await ctx.changed(t.business, t.id, 'text');
    return back(ctx, req, reply, t);
  });

  app.post('/threads/:id/notes', async (req, reply) => {
    const v = req.viewer as Viewer;
    const t = await threadOf(ctx, req);
    if (!t) return notFound(reply);
    const text = cleanText(field(req, 'text'), 2000);
    if (!text) return reply.code(400).type('text/plain').send('the note is empty\n');
    await ctx.ledger.threads.addNote(t.id, v.user.name, text, ctx.clock());
    await ctx.changed(t.business, t.id, 'text');
    return back(ctx, req, reply, t);
  });

  app.post('/threads/:id/done', async (req, reply) => {
    const t = await threadOf(ctx, req);
    if (!t) return notFound(reply);
    await ctx.ledger.threads.handled(t, true, ctx.clock());
    await ctx.changed(t.business, t.id, 'text');
    return reply.redirect(`/threads/${t.id}`, 303);
  });

  app.post('/threads/:id/call-them', async (req, reply) => {
    const v = req.viewer as Viewer;
    const t = await threadOf(ctx, req);
    if (!t) return notFound(reply);
    const n = await ctx.ledger.threads.cancelWaiting(t, 'staff_calling', ctx.clock());
    await ctx.ledger.threads.assign(t.id, v.user.id);
    ctx.log.info('console: staff will call', { user: v.user.name, thread: t.id, cancelled: n });
    await ctx.changed(t.business, t.id, 'text');
    return reply.redirect(`/threads/${t.id}`, 303);
  });

  app.post('/threads/:id/assign', async (req, reply) => {
    const v = req.viewer as Viewer;
    const t = await threadOf(ctx, req);
    if (!t) return notFound(reply);
    const raw = field(req, 'user');
    let userId: number | null = null;
    if (raw) {
      const u = await ctx.ledger.users.byId(Number(raw));
      if (!u || (u.role !== 'owner' && !u.businesses.includes(t.business))) return reply.code(400).type('text/plain').send('no such user for this business\n');
      userId = u.id;
    }
    await ctx.ledger.threads.assign(t.id, userId);
    await ctx.ledger.audit.add({ actor: v.user.name, action: 'thread_assigned', subject: String(t.id), address: req.ip, detail: userId === null ? 'nobody' : `user ${userId}` }, ctx.clock());
    await ctx.changed(t.business, t.id, 'text');
    return reply.redirect(`/threads/${t.id}`, 303);
  });

  // The reply box's live count: the same segmenting the transports use.
  app.post('/segments', (req, reply) => {
    const text = field(req, 'text').slice(0, MAX_REPLY * 2);
    if (!text) return reply.type('text/html; charset=utf-8').send('');
    const c = countSegments(text);
    const over = text.length > MAX_REPLY ? ` · over the ${MAX_REPLY}-character limit` : '';
    return ctx.views.fragment(reply, 'count', { chars: [...text].length, encoding: c.encoding, segments: c.segments, over });
  });

  registerDashboard(app, ctx);
  registerDirectory(app, ctx);
}

async function inboxData(ctx: ConsoleContext, v: Viewer, q: Record<string, unknown>) {
  const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : '');
  const visible = visibleBusinesses(ctx, v);
  const business = visible.includes(str('business')) ? str('business') : undefined;
  const before = /^(\d+)\.(\d+)$/.exec(str('before'));
  const filters = { business, q: str('q').slice(0, 100), unread: str('unread') === '1', task: str('task') === '1', mine: str('mine') === '1' };
  const rows = await ctx.ledger.threads.list({
    businesses: v.businesses,
    business,
    unread: filters.unread,
    openTask: filters.task,
    assignedTo: filters.mine ? v.user.id : undefined,
    search: filters.q || undefined,
    before: before ? { at: Number(before[1]), id: Number(before[2]) } : undefined,
    limit: PAGE + 1,
  });
  const now = ctx.clock();
  const threads = rows.slice(0, PAGE).map((t) => {
    const zone = zoneOf(businessOf(ctx, t.business));
    return { ...t, numberShown: showNumber(t.number), when: when(t.last_at, zone, now), iso: isoIn(t.last_at, zone), preview: previewOf(t) };
  });
  const params = new URLSearchParams();
  if (business) params.set('business', business);
  if (filters.q) params.set('q', filters.q);
  for (const k of ['unread', 'task', 'mine'] as const) if (filters[k]) params.set(k, '1');
  const query = params.toString();
  const last = threads[threads.length - 1];
  const more = rows.length > PAGE && last ? `${query ? `${query}&` : ''}before=${last.last_at}.${last.id}` : undefined;
  return { threads, q: filters, query, more, businesses: visible, showBusiness: visible.length > 1, filtered: Boolean(business || filters.q || filters.unread || filters.task || filters.mine) };
}

function previewOf(t: ThreadRow): string {
  if (t.last_kind === 'call') return `Call: ${(OUTCOME_LABELS[t.last_preview ?? ''] ?? 'missed').toLowerCase()}`;
  const text = (t.last_preview ?? '').replace(/\s+/g, ' ');
  return t.last_kind === 'out' ? `You: ${text}` : text;
}

export function visibleBusinesses(ctx: ConsoleContext, v: Viewer): string[] {
  const all = ctx.config().businesses.map((b) => b.name);
  return v.businesses ? all.filter((b) => v.businesses?.includes(b)) : all;
}

function timelineView(items: TimelineItem[], zone: string, now: number) {
  return items.map((i) => {
    const base = { ...i, when: when(i.at, zone, now) };
    if (i.type === 'call') return { ...base, outcomeLabel: OUTCOME_LABELS[i.outcome] ?? i.outcome };
    if (i.type === 'out') {
      const stateLabel = i.state === 'scheduled' ? `scheduled for ${when(i.dueAt, zone, now)}` : (STATE_LABELS[i.state] ?? i.state);
      return { ...base, kindLabel: KIND_LABELS[i.kind] ?? i.kind, stateLabel, why: i.state === 'failed' || i.state === 'skipped' || i.state === 'cancelled' ? (i.error ?? i.reason) : null };
    }
    return base;
  });
}

async function timelineFragment(ctx: ConsoleContext, reply: FastifyReply, t: ThreadRow): Promise<FastifyReply> {
  const items = await ctx.ledger.threads.timeline(t);
  return ctx.views.fragment(reply, 'timeline', { items: timelineView(items, zoneOf(businessOf(ctx, t.business)), ctx.clock()) });
}

/** htmx gets the new timeline; a plain form post goes back to the thread. */
async function back(ctx: ConsoleContext, req: FastifyRequest, reply: FastifyReply, t: ThreadRow): Promise<FastifyReply> {
  if (req.headers['hx-request']) return timelineFragment(ctx, reply, (await ctx.ledger.threads.get(t.id)) ?? t);
  return reply.redirect(`/threads/${t.id}`, 303);
}

/**
 * Who texts this thread's contact: this daemon, from its business's number; or, on a ledger
 * several sites share, for a business this daemon does not serve, the site that last texted the
 * contact for it, from the number it used (that site's outbox sends the reply). Undefined: nobody.
 */
async function senderOf(ctx: ConsoleContext, t: ThreadRow): Promise<{ from: string; site?: string } | undefined> {
  const b = businessOf(ctx, t.business);
  if (b) return { from: sourceOf(b, ctx.config(), await ctx.ledger.threads.conversationNumber(b.name, t.number)) };
  if (!sharedLedger(ctx.config())) return undefined;
  const last = await ctx.ledger.threads.lastSender(t.business, t.number);
  // This site texted them once, but no longer serves the business: as on a ledger of its own.
  if (!last || last.site === ctx.config().site) return undefined;
  return { from: last.sourceAddr, site: last.site };
}

/** Several daemons (sites) may write this ledger: PostgreSQL. */
export function sharedLedger(config: Config): boolean {
  return config.ledger.driver === 'postgres';
}

/** Why nobody may text this contact from here, or undefined. */
function blockedReason(ctx: ConsoleContext, t: ThreadRow, sender: { from: string; site?: string } | undefined): string | undefined {
  if (!sender) {
    return sharedLedger(ctx.config())
      ? 'This site does not serve this business, and no other site has texted this contact for it yet: answer from the console of the site that serves it.'
      : 'This business is no longer in the configuration.';
  }
  if (t.opted_out) return 'This contact opted out (STOP): mctb sends them nothing until they text START.';
  if (t.do_not_text) return 'This contact is marked do-not-text in Contacts.';
  return undefined;
}

async function threadOf(ctx: ConsoleContext, req: FastifyRequest): Promise<ThreadRow | undefined> {
  const id = Number((req.params as { id?: string }).id);
  if (!Number.isSafeInteger(id) || id <= 0) return undefined;
  return ctx.ledger.threads.get(id, (req.viewer as Viewer).businesses);
}

export function businessOf(ctx: ConsoleContext, name: string): BusinessConfig | undefined {
  return ctx.config().businesses.find((b) => b.name === name);
}

export function zoneOf(b: BusinessConfig | undefined): string {
  return b?.timezone ?? 'UTC';
}

export function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).type('text/plain').send('not found\n');
}

export function field(req: FastifyRequest, name: string): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

/** A text as typed, without control characters other than line breaks and tabs. */
export function cleanText(raw: string, max: number): string {
  return raw.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim().slice(0, max);
}
