/**
 * The fault matrix of issue 11 (bench/faults/matrix.ts) on a local stack of its own in
 * .stream-migrate-faults/ (its own ports; the user's and the tests' stacks are never touched):
 * `load` at 500 orders/s, two processor workers, each fault struck in a segment of its own and
 * left to recover; each segment validated (batch vs stream, 0/0/0 required) and audited for
 * duplicates by an independent read_committed reader. Prints the table, its notes, and last
 * `faults survived N/N, rows lost N, rows duplicated N`.
 *
 *   npx tsx bench/faults.ts [--reuse] [--keep] [--quick] [--rate N]
 *     --reuse  keep the stack's data from an earlier run (default: purged first, a fresh stack)
 *     --keep   leave the stack running at the end (default: `dev down`)
 *     --quick  the shorter plan `npm test` runs
 */
import { FULL_PLAN, renderMatrix, runMatrix, TEST_PLAN } from './faults/matrix.ts';
import { faultStack, stackDown, withMatrixLock } from './faults/stack.ts';

const flag = (name: string) => process.argv.includes(`--${name}`);
const rateArg = Number(process.argv[process.argv.indexOf('--rate') + 1]);
const base = flag('quick') ? TEST_PLAN : FULL_PLAN;
const plan = { ...base, rate: process.argv.includes('--rate') && rateArg > 0 ? rateArg : base.rate };
const stack = faultStack();
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

const output = await withMatrixLock(async () => {
  if (!flag('reuse')) {
    log(`purging ${stack.paths.root} for a fresh stack`);
    await stackDown(stack, true);
  }
  try {
    const result = await runMatrix(stack, plan, log);
    log(`setup ${result.setupSeconds.toFixed(0)} s`);
    return renderMatrix(result);
  } finally {
    if (!flag('keep')) await stackDown(stack);
  }
});
console.log(output);
