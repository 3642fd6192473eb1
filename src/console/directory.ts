// Contacts, opt-outs and users. Contacts are shared by the businesses on the box (a number is one
// person), so staff see and edit those that have a thread in a business of theirs; importing,
// removing an opt-out and managing users are the owner's. Each change goes to the audit table.

import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseContactsCsv } from '../cli/contacts';
import { toE164 } from '../numbers/phone';
import { UserExistsError } from '../ledger/users';
import type { Viewer } from './auth';
import { hashPassword, passwordProblem } from './passwords';
import { businessOf, cleanText, field, notFound, visibleBusinesses, zoneOf } from './pages';
import type { ConsoleContext } from './server';
import { showNumber, when } from './views';

const SOURCE_LABELS: Record<string, string> = { sms: 'STOP text', console: 'console', cli: 'mctb optout', do_not_text: 'do-not-text (forgotten contact)' };

export function registerDirectory(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/contacts', async (req, reply) => {
    const v = req.viewer as Viewer;
    const q = typeof (req.query as Record<string, unknown>).q === 'string' ? ((req.query as Record<string, string>).q ?? '').slice(0, 100) : '';
    const rows = await ctx.ledger.contacts.search({ text: q, businesses: v.businesses, limit: 200 });
    const flash = typeof (req.query as Record<string, unknown>).done === 'string' ? (req.query as Record<string, string>).done : undefined;
    return ctx.views.page(reply, 'contacts', {
      title: 'Contacts',
      nav: 'contacts',
      viewer: v,
      q,
      flash: flash === 'saved' ? 'Saved.' : flash?.startsWith('imported') ? `Imported: ${flash.slice(9).replace(/[^\d, a-z]/g, '')}` : undefined,
      contacts: rows.map((c) => ({ ...c, numberShown: showNumber(c.number) })),
      owner: v.user.role === 'owner',
    });
  });

  app.post('/contacts/edit', async (req, reply) => {
    const v = req.viewer as Viewer;
    const number = toE164(field(req, 'number'), ctx.config().numbers.default_country);
    if (!number || !(await mayTouch(ctx, v, number))) return notFound(reply);
    const existing = await ctx.ledger.contacts.get(number);
    const name = cleanText(field(req, 'name'), 100).replace(/\n/g, ' ');
    const tags = cleanText(field(req, 'tags'), 300)
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const doNotText = field(req, 'do_not_text') === '1';
    await ctx.ledger.contacts.upsert({ number, name: name || existing?.name || '', tags, doNotText }, ctx.clock());
    await ctx.ledger.audit.add({ actor: v.user.name, action: 'contact_changed', subject: number, address: req.ip, detail: `name ${name ? 'set' : 'kept'}, ${tags.length} tags, do_not_text ${doNotText}` }, ctx.clock());
    return reply.redirect('/contacts?done=saved', 303);
  });

  app.post('/contacts/import', async (req, reply) => {
    const v = req.viewer as Viewer;
    if (v.user.role !== 'owner') return notFound(reply);
    let rows;
    try {
      rows = parseContactsCsv(field(req, 'csv'), ctx.config().numbers.default_country);
    } catch (err) {
      return reply.code(400).type('text/plain').send(`${(err as Error).message}\n`);
    }
    const now = ctx.clock();
    let imported = 0;
    const problems: string[] = [];
    for (const row of rows) {
      if (row.contact) {
        await ctx.ledger.contacts.upsert(row.contact, now);
        imported++;
      } else if (row.error) problems.push(`line ${row.line}: ${row.error}`);
    }
    await ctx.ledger.audit.add({ actor: v.user.name, action: 'contacts_imported', address: req.ip, detail: `${imported} imported, ${problems.length} rejected` }, now);
    if (problems.length) return reply.code(422).type('text/plain').send(`${imported} imported; rejected:\n${problems.join('\n')}\n`);
    return reply.redirect(`/contacts?done=imported ${imported}`, 303);
  });

  app.get('/opt-outs', async (req, reply) => {
    const v = req.viewer as Viewer;
    const visible = visibleBusinesses(ctx, v);
    const now = ctx.clock();
    const rows = (await ctx.ledger.optOuts.list()).filter((o) => o.business === '*' || visible.includes(o.business));
    return ctx.views.page(reply, 'optouts', {
      title: 'Opt-outs',
      nav: 'optouts',
      viewer: v,
      owner: v.user.role === 'owner',
      businesses: visible,
      optOuts: rows.map((o) => ({
        ...o,
        numberShown: showNumber(o.number),
        scope: o.business === '*' ? 'all businesses' : o.business,
        source: SOURCE_LABELS[o.source] ?? o.source,
        when: when(o.created_at, zoneOf(businessOf(ctx, o.business) ?? ctx.config().businesses[0]), now),
      })),
    });
  });

  app.post('/opt-outs/add', async (req, reply) => {
    const v = req.viewer as Viewer;
    const number = toE164(field(req, 'number'), ctx.config().numbers.default_country);
    const business = field(req, 'business');
    if (!visibleBusinesses(ctx, v).includes(business)) return notFound(reply);
    if (!number) return reply.code(400).type('text/plain').send('not a phone number\n');
    const now = ctx.clock();
    await ctx.ledger.optOuts.add(number, business, 'console', now);
    // Texts already waiting for that number go no further (the outbox checks again when due).
    await ctx.ledger.threads.cancelWaiting({ business, number }, 'opted_out', now);
    await ctx.ledger.audit.add({ actor: v.user.name, action: 'opt_out_added', subject: number, address: req.ip, detail: business }, now);
    await ctx.changed(business, number, 'text');
    return reply.redirect('/opt-outs', 303);
  });

  app.post('/opt-outs/remove', async (req, reply) => {
    const v = req.viewer as Viewer;
    if (v.user.role !== 'owner') return notFound(reply);
    const number = field(req, 'number');
    const business = field(req, 'business');
    const removed = await ctx.ledger.optOuts.remove(number, business);
    if (removed === 0) return notFound(reply);
    await ctx.ledger.audit.add({ actor: v.user.name, action: 'opt_out_removed', subject: number, address: req.ip, detail: business }, ctx.clock());
    return reply.redirect('/opt-outs', 303);
  });

  app.get('/users', async (req, reply) => {
    const v = req.viewer as Viewer;
    if (v.user.role !== 'owner') return notFound(reply);
    return usersPage(ctx, v, reply);
  });

  app.post('/users/add', async (req, reply) => {
    const v = req.viewer as Viewer;
    if (v.user.role !== 'owner') return notFound(reply);
    const name = field(req, 'name').trim();
    const role = field(req, 'role') === 'owner' ? 'owner' : 'staff';
    const known = ctx.config().businesses.map((b) => b.name);
    const body = req.body as Record<string, unknown>;
    const picked = ([] as unknown[]).concat(body.business ?? []).filter((b): b is string => typeof b === 'string' && known.includes(b));
    const password = field(req, 'password');
    const problem =
      !/^[\w.@-]{1,64}$/.test(name) ? 'a user name is 1-64 letters, digits, . _ @ -' : role === 'staff' && picked.length === 0 ? 'staff need at least one business' : passwordProblem(password);
    if (problem) return usersPage(ctx, v, reply.code(400), problem);
    try {
      await ctx.ledger.users.add({ name, role, businesses: role === 'owner' ? [] : picked, passwordHash: await hashPassword(password) }, ctx.clock());
    } catch (err) {
      if (err instanceof UserExistsError) return usersPage(ctx, v, reply.code(409), `there is already a user ${name}`);
      throw err;
    }
    await ctx.ledger.audit.add({ actor: v.user.name, action: 'user_added', subject: name, address: req.ip, detail: role === 'owner' ? 'owner' : `staff of ${picked.join(', ')}` }, ctx.clock());
    return reply.redirect('/users', 303);
  });

  app.post('/users/remove', async (req, reply) => {
    const v = req.viewer as Viewer;
    if (v.user.role !== 'owner') return notFound(reply);
    const name = field(req, 'name');
    if (name.toLowerCase() === v.user.name.toLowerCase()) return usersPage(ctx, v, reply.code(400), 'you cannot remove yourself');
    if (!(await ctx.ledger.users.remove(name))) return notFound(reply);
    await ctx.ledger.audit.add({ actor: v.user.name, action: 'user_removed', subject: name, address: req.ip }, ctx.clock());
    return reply.redirect('/users', 303);
  });
}

async function usersPage(ctx: ConsoleContext, v: Viewer, reply: FastifyReply, error?: string): Promise<FastifyReply> {
  const users = await ctx.ledger.users.list();
  return ctx.views.page(reply, 'users', { title: 'Users', nav: 'users', viewer: v, users, error, businesses: ctx.config().businesses.map((b) => b.name) });
}

/** Staff may edit a contact that has a thread in one of their businesses; an owner, any. */
async function mayTouch(ctx: ConsoleContext, v: Viewer, number: string): Promise<boolean> {
  if (v.businesses === undefined) return true;
  for (const b of v.businesses) if (await ctx.ledger.threads.find(b, number)) return true;
  return false;
}

