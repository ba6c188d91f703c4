import { describe, expect, it } from 'vitest';
import { failuresOf, snapshotState, summariseTrace } from './connector-running.ts';

const TRACE = `org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer. This connector will be stopped.
\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)
\tat java.base/java.lang.Thread.run(Thread.java:1583)
Caused by: io.debezium.DebeziumException: Could not execute replication stream
\tat io.debezium.connector.postgresql.PostgresStreamingChangeEventSource.execute(PostgresStreamingChangeEventSource.java:181)
\t... 9 more
Caused by: org.postgresql.util.PSQLException: ERROR: publication "missing_pub" does not exist
  Where: slot "s1", output plugin "pgoutput", in the change callback, associated LSN 0/2D5A4F8
\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2733)
\t... 3 more
`;

describe('summariseTrace', () => {
  it('gives the root cause without the package name', () => {
    expect(summariseTrace(TRACE)).toBe('PSQLException: ERROR: publication "missing_pub" does not exist');
  });

  it('falls back to the first line, and copes with no trace', () => {
    expect(summariseTrace('java.lang.IllegalStateException: boom\n\tat x.y(Z.java:1)')).toBe('IllegalStateException: boom');
    expect(summariseTrace('org.x.Outer: outer message\nCaused by: java.lang.NullPointerException\n\tat a.b(C.java:1)')).toBe('Outer: outer message');
    expect(summariseTrace(undefined)).toBe('no error trace reported');
    expect(summariseTrace(`io.debezium.DebeziumException: ${'x'.repeat(1000)}`)).toHaveLength(400);
  });
});

describe('failuresOf', () => {
  it('names the failed connector and tasks', () => {
    const failures = failuresOf({
      name: 'c',
      connector: { state: 'RUNNING', workerId: 'w' },
      tasks: [
        { id: 0, state: 'FAILED', workerId: 'w', trace: TRACE },
        { id: 1, state: 'RUNNING', workerId: 'w' },
      ],
    });
    expect(failures).toEqual([{ who: 'task 0', summary: 'PSQLException: ERROR: publication "missing_pub" does not exist' }]);
  });
});

describe('snapshotState', () => {
  it('reads Debezium 3.6 offsets: snapshot in progress, then streaming', () => {
    const partition = { server: 'cdc' };
    expect(snapshotState(undefined)).toBe('unknown');
    expect(snapshotState([])).toBe('pending');
    expect(snapshotState([{ partition, offset: { last_snapshot_record: false, lsn: 1, snapshot: 'INITIAL', snapshot_completed: false } }])).toBe('running');
    expect(snapshotState([{ partition, offset: { lsn: 1, txId: 7, ts_usec: 1 } }])).toBe('done');
    expect(snapshotState([{ partition, offset: { snapshot: 'INITIAL', snapshot_completed: true } }])).toBe('done');
  });
});
