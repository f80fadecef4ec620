import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { reloadUnderLoad } from './reload-under-load.ts';

/** `npm run bench`: every comparison is a ratio of two measurements taken in this same run. */
const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);

const machine = {
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
};
console.log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}`);

const reload = await reloadUnderLoad({ seconds, clients });
const format = (value: number) => value.toFixed(2);
console.log(`\n1. Reload under load: ${reload.chunks} chunks, ${reload.clients} clients, ${reload.seconds} s per phase, ${reload.rebuilds} rebuilds swapped in`);
console.table({
  idle: { requests: reload.idle.requests, failed: reload.idle.failed, 'p50 ms': format(reload.idle.p50), 'p99 ms': format(reload.idle.p99), 'max ms': format(reload.idle.max) },
  'during rebuilds': {
    requests: reload.duringRebuilds.requests,
    failed: reload.duringRebuilds.failed,
    'p50 ms': format(reload.duringRebuilds.p50),
    'p99 ms': format(reload.duringRebuilds.p99),
    'max ms': format(reload.duringRebuilds.max),
  },
});
console.log(`   p50 during/idle = ${format(reload.p50Ratio)}×, p99 during/idle = ${format(reload.p99Ratio)}× (goal ≤ 2×), failed = ${reload.idle.failed + reload.duringRebuilds.failed} (goal 0)`);

await writeFile('bench-results.json', `${JSON.stringify({ machine, measuredAt: new Date().toISOString(), reloadUnderLoad: reload }, null, 2)}\n`);
console.log('\nwrote bench-results.json');
