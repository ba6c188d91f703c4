/**
 * The fault matrix of issue 11 (bench/faults/matrix.ts) on a local stack of its own in
 * .stream-migrate-faults/ (its own ports; the user's and the tests' stacks are never touched):
 * `load` at 500 orders/s, two processor workers, each fault struck in a segment of its own and
 * left to recover; each segment validated (batch vs stream, 0/0/0 required) and audited for
 * duplicates by an independent read_committed reader. Prints the table, its notes, and last
 * `faults survived N/N, rows lost N, rows duplicated N`.
 *
 *   npx tsx bench/faults.ts [--reuse] [--keep] [--quick] [--rate N] [--only FAULT,FAULT]
 *     --reuse  keep the stack's data from an earlier run (default: purged first, a fresh stack)
 *     --keep   leave the stack running at the end (default: `dev down`)
 *     --quick  the shorter plan `npm test` runs
 *     --only   just these faults, each in a segment of its own (names as in the table)
 */
import { FAULT_HOW, isFaultName } from './faults/faults.ts';
import { FULL_PLAN, renderMatrix, runMatrix, TEST_PLAN } from './faults/matrix.ts';
import { faultStack, stackDown, withMatrixLock } from './faults/stack.ts';

const flag = (name: string) => process.argv.includes(`--${name}`);
const rateArg = Number(process.argv[process.argv.indexOf('--rate') + 1]);
const base = flag('quick') ? TEST_PLAN : FULL_PLAN;
const only = process.argv.includes('--only') ? (process.argv[process.argv.indexOf('--only') + 1] ?? '').split(',') : undefined;
const unknown = (only ?? []).filter((f) => !isFaultName(f));
if (unknown.length > 0) throw new Error(`--only: unknown fault ${unknown.join(', ')}; expected some of ${Object.keys(FAULT_HOW).join(', ')}`);
const plan = {
  ...base,
  rate: process.argv.includes('--rate') && rateArg > 0 ? rateArg : base.rate,
  ...(only ? { segments: only.filter(isFaultName).map((f) => [f]) } : {}),
};
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
