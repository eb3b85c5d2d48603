// What each enabled AsyncLocalStorage costs a promise-heavy request: N stores entered per
// "request" of 50 awaits, CPU µs per request. Every enabled store is copied onto every promise
// the process creates, which is why the correlation scope shares the OTel SDK's store when one
// is registered (src/correlation.ts).
//   node packages/logging/bench/alsStores.cjs    (prints 0, 1 and 2 stores, alternating, twice)
const { AsyncLocalStorage } = require('node:async_hooks');
const { execFileSync } = require('node:child_process');

const REQUESTS = 20_000;

async function run(stores) {
  const als = Array.from({ length: stores }, () => new AsyncLocalStorage());
  const work = async () => {
    for (let i = 0; i < 50; i++) await Promise.resolve(i);
  };
  const t0 = process.cpuUsage();
  for (let r = 0; r < REQUESTS; r++) {
    let f = work;
    for (const a of als) {
      const inner = f;
      f = () => a.run({ r }, inner);
    }
    await f();
  }
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / REQUESTS;
}

if (process.argv[2] !== undefined) {
  run(Number(process.argv[2])).then((us) => process.stdout.write(`${us}\n`));
} else {
  // Each count in its own process: an AsyncLocalStorage stays enabled once entered.
  for (let round = 0; round < 2; round++) {
    for (const n of [0, 1, 2]) {
      const us = Number(execFileSync(process.execPath, [__filename, String(n)], { encoding: 'utf8' }));
      process.stdout.write(`${n} store(s): ${us.toFixed(2)} µs CPU per request of 50 awaits\n`);
    }
  }
}
