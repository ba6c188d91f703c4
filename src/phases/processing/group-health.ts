import { lagToRead } from '../../clients/consumer-lag.ts';
import type { KafkaAdmin } from '../../clients/kafka.ts';
import { CheckFailedError } from '../../core/errors.ts';

/**
 * A consumer group is healthy when it is Stable and its lag is under the threshold or falling.
 * Waits up to `timeoutMs` for that, since workers that just started are still joining.
 */
export async function groupHealth(admin: KafkaAdmin, groupId: string, maxLag: number, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let previousLag: bigint | undefined;
  while (Date.now() < deadline) {
    const group = (await admin.listGroups()).find((g) => g.groupId === groupId);
    const lags = await admin.groupLag(groupId);
    const lag = lagToRead(lags);
    last = `group ${groupId} is ${group?.state ?? 'absent'}, lag ${lag}`;
    if (group?.state.toUpperCase() === 'STABLE' && (lag <= BigInt(maxLag) || (previousLag !== undefined && lag < previousLag))) {
      return `${groupId} Stable, lag ${lag}${previousLag !== undefined && lag > BigInt(maxLag) ? ' and falling' : ''}`;
    }
    previousLag = lag;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  throw new CheckFailedError(`${last} after ${Math.round(timeoutMs / 1000)} s; see the worker logs (stream-migrate workers status)`);
}
