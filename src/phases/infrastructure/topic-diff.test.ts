import { describe, expect, it } from 'vitest';
import { CheckFailedError } from '../../core/errors.ts';
import { describeTopicChange, diffTopics, type TopicState } from './topic-diff.ts';

const compacted: TopicState = { partitions: 6, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } };
const managed = (name: string) => name.startsWith('cdc.') || name.startsWith('stream-migrate.');

describe('diffTopics', () => {
  it('creates what is missing and leaves matching topics alone', () => {
    const actual = new Map([['cdc.public.orders', { ...compacted, configs: { 'cleanup.policy': 'compact', 'segment.bytes': '1' } }]]);
    const changes = diffTopics({ 'cdc.public.orders': compacted, 'fraud-alerts': compacted }, actual, { prune: false, isManaged: managed });
    expect(changes).toEqual([{ kind: 'create', name: 'fraud-alerts', spec: compacted }]);
  });

  it('finds config drift and a partition increase in one update', () => {
    const actual = new Map([['t', { partitions: 3, replicationFactor: 1, configs: { 'cleanup.policy': 'delete' } }]]);
    const changes = diffTopics({ t: compacted }, actual, { prune: false, isManaged: managed });
    expect(changes).toEqual([{ kind: 'update', name: 't', configs: { 'cleanup.policy': 'compact' }, partitions: 6 }]);
    expect(describeTopicChange(changes[0]!, actual).diff).toBe('partitions: 3 → 6\ncleanup.policy: delete → compact');
  });

  it('refuses a partition decrease with an explanation', () => {
    const actual = new Map([['t', { ...compacted, partitions: 12 }]]);
    expect(() => diffTopics({ t: compacted }, actual, { prune: false, isManaged: managed })).toThrow(CheckFailedError);
    expect(() => diffTopics({ t: compacted }, actual, { prune: false, isManaged: managed })).toThrow(/partitions cannot decrease from 12 to 6/);
  });

  it('refuses any new partition count for a topic the stream keys by partition, naming why and the safe procedure', () => {
    const actual = new Map([['cdc.public.orders', compacted], ['events', compacted]]);
    const fixedPartitions = (name: string) => (name === 'cdc.public.orders' ? 'it is co-partitioned' : undefined);
    const grow = { 'cdc.public.orders': { ...compacted, partitions: 12 }, events: compacted };
    expect(() => diffTopics(grow, actual, { prune: false, isManaged: managed, fixedPartitions })).toThrow(
      /topic cdc\.public\.orders: partitions cannot change from 6 to 12 in place: it is co-partitioned\. Safe procedure: stop the workers/,
    );
    // Any other topic still grows.
    const other = { 'cdc.public.orders': compacted, events: { ...compacted, partitions: 8 } };
    expect(diffTopics(other, actual, { prune: false, isManaged: managed, fixedPartitions })).toEqual([{ kind: 'update', name: 'events', configs: {}, partitions: 8 }]);
  });

  it('refuses a replication factor change', () => {
    const actual = new Map([['t', { ...compacted, replicationFactor: 3 }]]);
    expect(() => diffTopics({ t: compacted }, actual, { prune: false, isManaged: managed })).toThrow(/replication factor is 3 but 1/);
  });

  it('deletes only managed, undeclared topics and only with prune', () => {
    const actual = new Map([
      ['cdc.public.old', compacted],
      ['someone-elses', compacted],
    ]);
    expect(diffTopics({}, actual, { prune: false, isManaged: managed })).toEqual([]);
    expect(diffTopics({}, actual, { prune: true, isManaged: managed })).toEqual([{ kind: 'delete', name: 'cdc.public.old' }]);
  });
});
