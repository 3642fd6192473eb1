// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: the functions with the
// most self time, and the same time grouped into the pipeline's stages by source file.

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled wall time of the profile, ms. */
  totalMs: number;
  /** Time not idle (everything but "(idle)"), ms. */
  busyMs: number;
  top: { fn: string; where: string; selfMs: number; pct: number }[];
  stages: { stage: string; selfMs: number; pct: number }[];
}

/** Source file → pipeline stage: the parts of mctb and the libraries each one stands on. */
const STAGES: [RegExp, string][] = [
  [/asterisk-manager/, 'asterisk-manager (login/actions)'],
  [/src\/asterisk\/ami\/reader/, 'AMI frame reader'],
  [/src\/asterisk\/ami\/events/, 'AMI event → call event'],
  [/src\/asterisk\//, 'AMI source'],
  [/src\/calls\//, 'call tracker'],
  [/src\/policy\/|libphonenumber|luxon|src\/numbers\//, 'policy (decide, hours, numbers)'],
  [/src\/messages\//, 'messages (template, encoding)'],
  // Time inside sqlite3's native calls on the main thread is charged to their JS caller: in
  // profile mode that is the statement counter (bench/sqlite-count.ts).
  [/src\/ledger\/|node_modules\/sqlite3|bench\/sqlite-count/, 'ledger (sqlite3, main thread)'],
  [/src\/sms\/|node_modules\/smpp/, 'SMS (outbox, SMPP)'],
  [/winston|logform|src\/log/, 'logging'],
  [/prom-client|src\/health/, 'metrics'],
  [/src\/daemon/, 'daemon wiring'],
  [/^node:|^internal|^$/, 'node internals (net, streams, timers, promises)'],
];

/** Loading and compiling modules: start-up, paid once, not per call. */
const STARTUP = /^(wrapSafe|readFileUtf8|readFileSync|compileForInternalLoader|requireBuiltin|loadBuiltinModule|Module\._load|Module\._compile|Module\._extensions\.\.js|internalModuleStat|toRealPath|resolvePackageTargetString|lstat|tryStat|stat)$/;

function stageOf(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (STARTUP.test(functionName)) return 'start-up (loading modules, once)';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(program)') return 'V8/native (program)';
  for (const [re, stage] of STAGES) if (re.test(url)) return stage;
  return 'other';
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample: it belongs to sample i-1's frame.
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const byFn = new Map<string, { fn: string; where: string; selfMs: number }>();
  const byStage = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    total += ms;
    const stage = stageOf(node);
    if (stage === '(idle)') {
      idle += ms;
      continue;
    }
    byStage.set(stage, (byStage.get(stage) ?? 0) + ms);
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*?\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = byFn.get(key) ?? { fn: functionName || '(anonymous)', where, selfMs: 0 };
    entry.selfMs += ms;
    byFn.set(key, entry);
  }
  const busy = total - idle;
  const pct = (ms: number) => Math.round((ms / busy) * 1000) / 10;
  return {
    totalMs: Math.round(total),
    busyMs: Math.round(busy),
    top: [...byFn.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, topN)
      .map((e) => ({ ...e, selfMs: Math.round(e.selfMs), pct: pct(e.selfMs) })),
    stages: [...byStage]
      .sort((a, b) => b[1] - a[1])
      .map(([stage, ms]) => ({ stage, selfMs: Math.round(ms), pct: pct(ms) })),
  };
}
