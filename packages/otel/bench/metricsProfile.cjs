// Summarises V8 CPU profiles of a service for the metric-recording paths: inclusive CPU per
// request under each frame group (a sample counts once per group, however deep the stack).
// Made for the memory-service's CPU diagnostic, e.g. two builds side by side:
//   PROFDIR=/tmp/prof ROUNDS=2 npm run bench:cpu -w memory-service
//   node packages/otel/bench/metricsProfile.cjs 11000 /tmp/prof/ours [/tmp/prof/other …]
// The first argument is the requests each profiled process served (bench:cpu: WARM + N).
// Profiles cover the whole process (startup included) and the profiler inflates CPU time, so
// compare groups between profiles of the same run, not with unprofiled figures.
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const groups = {
  'SDK synchronous records (SyncInstrument._record)': (f) => f.functionName === '_record',
  'SDK hashAttributes': (f) => f.functionName === 'hashAttributes',
  'memoised hash': (f) => f.functionName === 'cached' && /preload\.js|fastAttributeHash/.test(f.url),
  'instrumentation-pg updateCounter (pool events)': (f) => f.functionName === 'updateCounter',
  'instrumentation-pg recordOperationDuration': (f) =>
    f.functionName === 'recordOperationDuration' && /preload\.js|instrumentation-pg/.test(f.url),
  'logging recordOperationDuration (timed)': (f) =>
    f.functionName === 'recordOperationDuration' && /logging/.test(f.url),
  'cache recordLoad / recordInvalidation': (f) =>
    f.functionName === 'recordLoad' || f.functionName === 'recordInvalidation',
  'observed pool metrics (observePools)': (f) => f.functionName === 'observePools',
};

const [requestsArg, ...dirs] = process.argv.slice(2);
const requests = Number(requestsArg);
if (!(requests > 0) || dirs.length === 0) {
  process.stderr.write('usage: node metricsProfile.cjs <requests per process> <profile dir>…\n');
  process.exit(2);
}

for (const dir of dirs) {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const timeByNode = new Map();
    let total = 0;
    p.samples.forEach((id, i) => {
      const d = p.timeDeltas[i] ?? 0;
      timeByNode.set(id, (timeByNode.get(id) ?? 0) + d);
      total += d;
    });
    const inclusive = {};
    for (const [id, t] of timeByNode) {
      const hit = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const frame = byId.get(cur).callFrame;
        for (const [g, match] of Object.entries(groups)) if (match(frame)) hit.add(g);
      }
      for (const g of hit) inclusive[g] = (inclusive[g] ?? 0) + t;
    }
    process.stdout.write(`${join(dir, file)}: ${(total / requests).toFixed(0)} µs profiled per request\n`);
    for (const g of Object.keys(groups)) {
      process.stdout.write(`  ${g.padEnd(52)} ${((inclusive[g] ?? 0) / requests).toFixed(2)} µs\n`);
    }
  }
}
