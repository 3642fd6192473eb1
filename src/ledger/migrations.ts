// Versioned schema. Index + 1 is the version stored in PRAGMA user_version. Never edit a
// released migration; add a new one.

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE calls (
    call_id      TEXT PRIMARY KEY,            -- the PBX's Linkedid: replays never make a second row
    direction    TEXT NOT NULL,
    business     TEXT,
    did          TEXT,
    number       TEXT,                        -- E.164 of the caller (inbound) or the dialled number (outbound)
    number_raw   TEXT NOT NULL,
    caller_name  TEXT NOT NULL,
    outcome      TEXT NOT NULL,               -- answered | noanswer | busy | cancel | unavailable | voicemail | queue_abandon | unknown_end
    decision     TEXT NOT NULL,               -- text | no_text
    reason       TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL
  );
  CREATE INDEX calls_number ON calls (number, outcome, started_at);
  CREATE INDEX calls_ended ON calls (ended_at);

  CREATE TABLE contacts (
    number         TEXT PRIMARY KEY,
    name           TEXT,                      -- set by an admin or an import; beats caller_id_name
    caller_id_name TEXT,
    tags           TEXT,
    do_not_text    INTEGER NOT NULL DEFAULT 0,
    first_seen_at  INTEGER,
    last_call_at   INTEGER
  );

  CREATE TABLE sends (
    id            INTEGER PRIMARY KEY,
    call_id       TEXT REFERENCES calls (call_id),
    business      TEXT NOT NULL,
    number        TEXT NOT NULL,
    source_addr   TEXT NOT NULL,
    body          TEXT NOT NULL,
    kind          TEXT NOT NULL,              -- text_back | manual | ...
    state         TEXT NOT NULL,              -- scheduled | sending | submitted | delivered | failed | cancelled | skipped
    reason        TEXT,
    due_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    interrupted   INTEGER NOT NULL DEFAULT 0, -- times it was found 'sending' after a crash (may have gone out twice)
    error         TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    submitted_at  INTEGER,
    finished_at   INTEGER,
    UNIQUE (call_id, kind)
  );
  CREATE INDEX sends_due ON sends (state, due_at);
  CREATE INDEX sends_number ON sends (number, business, state);

  CREATE TABLE send_parts (
    send_id     INTEGER NOT NULL REFERENCES sends (id),
    part        INTEGER NOT NULL,
    message_id  TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL,
    error       TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (send_id, part)
  );

  CREATE TABLE receipts (
    id           INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL,
    send_id      INTEGER,                    -- NULL until matched (a receipt may beat its submit_sm_resp)
    state        TEXT NOT NULL,
    error        TEXT,
    received_at  INTEGER NOT NULL
  );
  CREATE INDEX receipts_message ON receipts (message_id);

  CREATE TABLE opt_outs (
    number      TEXT NOT NULL,
    business    TEXT NOT NULL,               -- a business name, or '*' for all
    source      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (number, business)
  );
  `,
  `
  ALTER TABLE calls ADD COLUMN detail TEXT;            -- the decision in one sentence (mctb why)
  ALTER TABLE sends ADD COLUMN number_prefix TEXT;     -- number without its last 4 digits (pumping caps)
  UPDATE sends SET number_prefix = substr(number, 1, length(number) - 4);
  CREATE INDEX sends_created ON sends (created_at, business);
  CREATE INDEX sends_prefix ON sends (number_prefix, created_at);
  CREATE INDEX calls_number_ended ON calls (number, ended_at);

  -- Texts from contacts (filled by the two-way SMS feature); read for active_conversation_window.
  CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    business     TEXT,
    number       TEXT NOT NULL,
    body         TEXT NOT NULL,
    keyword      TEXT,                     -- STOP, START, HELP...: not conversation
    received_at  INTEGER NOT NULL
  );
  CREATE INDEX messages_number ON messages (number, received_at);
  `,
  `
  ALTER TABLE messages ADD COLUMN to_addr TEXT;

  -- Parts of concatenated incoming texts, until the last one arrives.
  CREATE TABLE inbound_parts (
    from_addr    TEXT NOT NULL,
    to_addr      TEXT NOT NULL,
    ref          INTEGER NOT NULL,
    total        INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    text         TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (from_addr, to_addr, ref, total, seq)
  );

  -- Callback tasks: one open per business and number; closed when a person reaches the caller.
  CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    business      TEXT NOT NULL,
    number        TEXT NOT NULL,
    call_id       TEXT,
    calls         INTEGER NOT NULL DEFAULT 1,
    opened_at     INTEGER NOT NULL,
    last_call_at  INTEGER NOT NULL,
    closed_at     INTEGER,
    closed_reason TEXT
  );
  CREATE UNIQUE INDEX tasks_open ON tasks (business, number) WHERE closed_at IS NULL;

  -- Staff notifications posted to webhooks, retried from here until delivered.
  CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    business        TEXT NOT NULL,
    type            TEXT NOT NULL,
    body            TEXT NOT NULL,         -- the exact JSON posted, the same on every retry
    state           TEXT NOT NULL,         -- pending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
  );
  CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
  `,
  `
  -- Operator tools (mctb report, calls, sends, ledger prune): covering indexes, so a report over
  -- a million calls is a handful of index range scans and never sorts the rows.
  CREATE INDEX calls_group ON calls (direction, outcome, decision, reason, ended_at, business);
  CREATE INDEX calls_window ON calls (ended_at, direction, business);
  CREATE INDEX calls_id_ended ON calls (call_id, ended_at);
  CREATE INDEX sends_report ON sends (kind, state, created_at, business, submitted_at, number, call_id);
  CREATE INDEX sends_reply ON sends (number, kind, submitted_at, created_at, business);
  CREATE INDEX messages_received ON messages (received_at);
  `,
  `
  -- Texts counted against the caps (limits), per business and per minute ('*': all businesses),
  -- kept by triggers: a decision sums at most a day of minutes, however many texts the day held.
  CREATE TABLE send_counts (
    business  TEXT NOT NULL,
    minute    INTEGER NOT NULL,               -- created_at / 60000
    n         INTEGER NOT NULL,
    PRIMARY KEY (business, minute)
  ) WITHOUT ROWID;
  INSERT INTO send_counts (business, minute, n)
    SELECT business, created_at / 60000, COUNT(*) FROM sends
    WHERE kind IN ('text_back','follow_up') AND state NOT IN ('cancelled','skipped') GROUP BY 1, 2;
  INSERT INTO send_counts (business, minute, n)
    SELECT '*', minute, SUM(n) FROM send_counts GROUP BY minute;
  CREATE TRIGGER send_counts_insert AFTER INSERT ON sends
    WHEN NEW.kind IN ('text_back','follow_up') AND NEW.state NOT IN ('cancelled','skipped')
  BEGIN
    INSERT INTO send_counts (business, minute, n) VALUES (NEW.business, NEW.created_at / 60000, 1), ('*', NEW.created_at / 60000, 1)
      ON CONFLICT (business, minute) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER send_counts_update AFTER UPDATE OF state ON sends
    WHEN NEW.kind IN ('text_back','follow_up') AND (OLD.state IN ('cancelled','skipped')) != (NEW.state IN ('cancelled','skipped'))
  BEGIN
    INSERT INTO send_counts (business, minute, n)
      VALUES (NEW.business, NEW.created_at / 60000, IIF(NEW.state IN ('cancelled','skipped'), -1, 1)),
             ('*', NEW.created_at / 60000, IIF(NEW.state IN ('cancelled','skipped'), -1, 1))
      ON CONFLICT (business, minute) DO UPDATE SET n = n + excluded.n;
  END;
  CREATE TRIGGER send_counts_delete AFTER DELETE ON sends
    WHEN OLD.kind IN ('text_back','follow_up') AND OLD.state NOT IN ('cancelled','skipped')
  BEGIN
    UPDATE send_counts SET n = n - 1 WHERE business IN (OLD.business, '*') AND minute = OLD.created_at / 60000;
  END;
  `,
  `
  -- How much of a call mctb saw, and how it knew the caller's presentation (mctb why).
  -- Old rows: midway 0, presentation NULL (not recorded then). calls.started_at now holds the
  -- channel's creation in ms like ended_at (before: whole seconds from the Uniqueid).
  ALTER TABLE calls ADD COLUMN midway INTEGER NOT NULL DEFAULT 0;  -- 1: in progress when mctb (re)connected
  ALTER TABLE calls ADD COLUMN presentation TEXT;                  -- allowed | withheld | unknown
  `,
  `
  -- One row the health check rewrites (Ledger.probeWrite: a real write, so a read-only file or a
  -- full disk shows in /healthz). Before v7 the probe created it itself, hence IF NOT EXISTS.
  CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL);
  `,
  `
  -- The console (issue 14): users, their sessions and an audit trail; one thread per business and
  -- contact number, kept up to date by triggers so the inbox is one index range however big the
  -- ledger grows; internal notes; who sent a text by hand.
  CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role                TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    businesses          TEXT NOT NULL DEFAULT '[]',   -- JSON array of business names (staff)
    password_hash       TEXT NOT NULL,                -- scrypt$N$r$p$salt$key (src/console/passwords.ts)
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
  );
  CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,                    -- SHA-256 of the cookie's value: a stolen file holds no live session
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    address      TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  );
  CREATE INDEX sessions_user ON sessions (user_id);
  CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT,                                     -- user name, 'cli', or NULL (a sign-in attempt)
    action  TEXT NOT NULL,                            -- login_ok | login_failed | login_throttled | logout | user_added | ...
    subject TEXT,                                     -- the user, number or thread acted on
    address TEXT,                                     -- the client's address (console)
    detail  TEXT
  );
  CREATE INDEX audit_at ON audit (at);
  CREATE INDEX audit_subject ON audit (action, subject, at);
  CREATE INDEX audit_address ON audit (action, address, at);

  CREATE TABLE threads (
    id           INTEGER PRIMARY KEY,
    business     TEXT NOT NULL,
    number       TEXT NOT NULL,
    last_at      INTEGER NOT NULL,
    last_kind    TEXT NOT NULL,                       -- call | in | out
    last_preview TEXT,
    unread       INTEGER NOT NULL DEFAULT 0,          -- texts received since staff last answered or marked it done
    assigned_to  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (business, number)
  );
  CREATE INDEX threads_recent ON threads (last_at, id);
  CREATE INDEX threads_business_recent ON threads (business, last_at, id);
  CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    thread_id  INTEGER NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX notes_thread ON notes (thread_id, created_at);
  ALTER TABLE sends ADD COLUMN sent_by TEXT;          -- console user or staff mobile that wrote a text by hand
  CREATE INDEX messages_thread ON messages (number, business, received_at);
  CREATE INDEX calls_thread ON calls (number, business, ended_at);

  -- A missed call opens a thread (an answered one only touches an existing one); every text in or
  -- out (but alerts to staff mobiles) opens or touches one; a text in that is not a keyword is unread.
  CREATE TRIGGER threads_call AFTER INSERT ON calls
  WHEN NEW.direction = 'inbound' AND NEW.business IS NOT NULL AND NEW.number IS NOT NULL AND NEW.outcome NOT IN ('answered', 'unknown_end')
  BEGIN
    INSERT INTO threads (business, number, last_at, last_kind, last_preview) VALUES (NEW.business, NEW.number, NEW.ended_at, 'call', NEW.outcome)
    ON CONFLICT (business, number) DO UPDATE SET last_at = max(last_at, excluded.last_at), last_kind = excluded.last_kind, last_preview = excluded.last_preview;
  END;
  CREATE TRIGGER threads_call_answered AFTER INSERT ON calls
  WHEN NEW.direction = 'inbound' AND NEW.business IS NOT NULL AND NEW.number IS NOT NULL AND NEW.outcome = 'answered'
  BEGIN
    UPDATE threads SET last_at = max(last_at, NEW.ended_at), last_kind = 'call', last_preview = NEW.outcome WHERE business = NEW.business AND number = NEW.number;
  END;
  CREATE TRIGGER threads_message AFTER INSERT ON messages
  WHEN NEW.business IS NOT NULL
  BEGIN
    INSERT INTO threads (business, number, last_at, last_kind, last_preview, unread) VALUES (NEW.business, NEW.number, NEW.received_at, 'in', substr(NEW.body, 1, 140), NEW.keyword IS NULL)
    ON CONFLICT (business, number) DO UPDATE SET last_at = max(last_at, excluded.last_at), last_kind = 'in', last_preview = excluded.last_preview, unread = unread + excluded.unread;
  END;
  CREATE TRIGGER threads_send AFTER INSERT ON sends
  WHEN NEW.kind != 'staff_alert'
  BEGIN
    INSERT INTO threads (business, number, last_at, last_kind, last_preview) VALUES (NEW.business, NEW.number, NEW.created_at, 'out', substr(NEW.body, 1, 140))
    ON CONFLICT (business, number) DO UPDATE SET last_at = max(last_at, excluded.last_at), last_kind = 'out', last_preview = excluded.last_preview;
  END;

  -- The threads the ledger already tells of.
  INSERT OR IGNORE INTO threads (business, number, last_at, last_kind, last_preview)
    SELECT business, number, max(ended_at), 'call', NULL FROM calls
    WHERE direction = 'inbound' AND business IS NOT NULL AND number IS NOT NULL AND outcome NOT IN ('answered', 'unknown_end') GROUP BY business, number;
  INSERT INTO threads (business, number, last_at, last_kind, last_preview)
    SELECT business, number, max(created_at), 'out', NULL FROM sends WHERE kind != 'staff_alert' GROUP BY business, number
    ON CONFLICT (business, number) DO UPDATE SET last_at = max(last_at, excluded.last_at);
  INSERT INTO threads (business, number, last_at, last_kind, last_preview)
    SELECT business, number, max(received_at), 'in', NULL FROM messages WHERE business IS NOT NULL GROUP BY business, number
    ON CONFLICT (business, number) DO UPDATE SET last_at = max(last_at, excluded.last_at);
  `,
  `
  -- The dashboard's figures (mctb report, issue 14), partial indexes over only the rows each one
  -- reads: missed inbound calls by end (missed callers in a window, and the missed calls that
  -- may have been recovered), and answered calls by number and start (the lookup that finds
  -- whether a person reached a missed caller; src/ledger/report.ts). The outcome list is
  -- MISSED_OUTCOMES (src/calls/types.ts), in its order: the report's query must repeat it exactly.
  -- Each holds the columns of its own WHERE too: SQLite reads them from the index, not the row.
  CREATE INDEX calls_missed ON calls (ended_at, number, business, direction, outcome)
    WHERE direction = 'inbound' AND outcome IN ('noanswer','busy','cancel','unavailable','voicemail','queue_abandon');
  CREATE INDEX calls_answered ON calls (number, started_at, direction, business) WHERE outcome = 'answered';
  `,
  `
  -- The HTTP carriers (issue 15): a carrier's id of each text received, so a text that arrives
  -- twice (a retried webhook, a webhook and a poll) is stored once; and a small key-value store a
  -- transport keeps its state in across restarts (a poller's cursor).
  ALTER TABLE messages ADD COLUMN carrier_id TEXT;
  CREATE UNIQUE INDEX messages_carrier ON messages (carrier_id) WHERE carrier_id IS NOT NULL;
  CREATE TABLE transport_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
  -- A thread's texts out, newest first (the console's timeline: src/ledger/threads.ts): the latest
  -- 200 read in index order, not every text to the number read and sorted (a busy thread at a
  -- million calls: 1–2 ms instead of 7–16).
  CREATE INDEX sends_thread ON sends (number, business, created_at);
  -- Threads with texts nobody answered yet: the tab title's count (asked by every open console on
  -- every change) and the inbox's Unread filter read only those, not every thread.
  CREATE INDEX threads_unread ON threads (business, last_at) WHERE unread > 0;
  `,
  `
  -- Many daemons, one ledger (issue 17): the daemon (config \`site\`) that recorded a call or
  -- created a text. A daemon's outbox sends its own site's texts only, and those written before
  -- sites existed (NULL).
  ALTER TABLE calls ADD COLUMN site TEXT;
  ALTER TABLE sends ADD COLUMN site TEXT;
  -- The daemons writing to this ledger and their role, as each last said (mctb doctor).
  CREATE TABLE daemons (
    site        TEXT NOT NULL,
    instance    TEXT NOT NULL,                 -- host:pid
    role        TEXT NOT NULL,                 -- active | standby
    version     TEXT,
    started_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL,
    PRIMARY KEY (site, instance)
  );
  `,
];
