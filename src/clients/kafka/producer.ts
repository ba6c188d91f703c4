import { Producer } from '@platformatic/kafka';
import { UsageError } from '../../core/errors.ts';
import { chunksBySize } from './chunking.ts';
import { coordinatorOf } from './consumer.ts';
import { guard } from './errors.ts';
import { addOffsetsToTransaction, encodeProduceRequestsInOneBuffer, PLAIN_INIT_PRODUCER_ID, TransactionalProduce, transactionTimeoutOption, type AdapterProducer, type Transaction } from './library-patches.ts';
import { toProduce, type CommitOffset, type ConsumerGroupMetadata, type OutgoingRecord } from './records.ts';
import { connectionOptions, type KafkaSettings } from './settings.ts';

export interface KafkaProducer {
  send(records: readonly OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The operations allowed inside one transaction. */
export interface TransactionScope {
  send(records: readonly OutgoingRecord[]): Promise<void>;
  /** Commits the consumer's offsets atomically with the records sent in this transaction. */
  sendOffsets(group: ConsumerGroupMetadata, offsets: readonly CommitOffset[]): Promise<void>;
}

export interface TransactionalProducerOptions {
  /**
   * Stable across restarts of the same worker: initialising it fences the previous incarnation
   * and aborts the transaction it left open, so read_committed readers are not blocked.
   */
  readonly transactionalId: string;
  /** The coordinator aborts a transaction left open longer than this. Default 60 000. */
  readonly transactionTimeoutMs?: number;
  readonly clientSuffix?: string;
}

export interface TransactionalProducer extends TransactionScope {
  readonly transactionalId: string;
  /** Registers the transactional id (fencing earlier producers with it). Call before reading committed offsets. */
  init(): Promise<void>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  /** begin, run `fn`, commit; abort (and rethrow) when `fn` or the commit throws. */
  runTransaction<T>(fn: (tx: TransactionScope) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A non-transactional, idempotent producer (acks=all). */
export function createProducer(kafka: KafkaSettings, clientSuffix = 'producer'): KafkaProducer {
  const producer: AdapterProducer = new Producer({
    clientId: `${kafka.clientId}-${clientSuffix}`,
    bootstrapBrokers: [...kafka.brokers],
    idempotent: true,
    autocreateTopics: false,
    retries: 5,
    retryDelay: 250,
    ...connectionOptions(kafka),
  });
  encodeProduceRequestsInOneBuffer(producer);
  return {
    send: (records) =>
      guard(kafka, 'produce', async () => {
        for (const chunk of chunksBySize(records.map(toProduce))) await producer.send({ messages: chunk });
      }),
    close: () => producer.close(),
  };
}

/**
 * A transactional producer for consume-transform-produce. One transaction at a time; calls inside
 * a transaction are made one after another (the library coalesces concurrent calls of the same
 * kind, which would drop partitions or offsets).
 */
export function createTransactionalProducer(kafka: KafkaSettings, options: TransactionalProducerOptions): TransactionalProducer {
  const producer: AdapterProducer = new Producer({
    clientId: `${kafka.clientId}-${options.clientSuffix ?? 'tx'}`,
    bootstrapBrokers: [...kafka.brokers],
    idempotent: true,
    transactionalId: options.transactionalId,
    ...transactionTimeoutOption(options.transactionTimeoutMs ?? 60_000),
    autocreateTopics: false,
    // The coordinator answers CONCURRENT_TRANSACTIONS while it is still writing the previous
    // transaction's markers, which is every back-to-back transaction: AddPartitionsToTxn right after
    // EndTxn (measured: 256 ms per transaction with a 250 ms retry delay, 3 ms with 20 ms; the Java
    // client retries this case after 20 ms too), and InitProducerId until a previous incarnation's
    // transaction is aborted. So short retries, and enough of them to wait about 6 s in all.
    retries: 300,
    retryDelay: 20,
    ...connectionOptions(kafka),
  });
  encodeProduceRequestsInOneBuffer(producer);
  // Every transactional send goes through this, never the library's send: it keeps the sequences.
  const produce = new TransactionalProduce(producer, options.transactionTimeoutMs ?? 60_000);
  let current: Transaction | undefined;
  const active = (): Transaction => {
    if (!current) throw new UsageError(`no open transaction on producer ${options.transactionalId}; call begin() first`);
    return current;
  };
  const call = <T>(what: string, run: () => Promise<T>): Promise<T> => guard(kafka, `${what} (transactional id ${options.transactionalId})`, run);

  const scope: TransactionScope = {
    send: (records) =>
      call('transactional produce', async () => {
        // One request per chunk, one after another: concurrent sends inside a transaction get merged by the library.
        for (const chunk of chunksBySize(records.map(toProduce))) await produce.send(active(), chunk);
      }),
    sendOffsets: (group, offsets) =>
      call('transactional offset commit', async () => {
        const tx = active();
        const coordinatorId = coordinatorOf(group);
        if (coordinatorId === undefined) throw new UsageError('sendOffsets needs the group metadata of a batch returned by KafkaConsumer.poll');
        await addOffsetsToTransaction(producer, tx, group, coordinatorId, offsets);
      }),
  };

  const begin = (): Promise<void> =>
    call('begin transaction', async () => {
      if (current) throw new UsageError(`producer ${options.transactionalId} already has an open transaction`);
      current = await producer.beginTransaction(PLAIN_INIT_PRODUCER_ID);
    });
  const end = (commit: boolean): Promise<void> =>
    call(commit ? 'commit transaction' : 'abort transaction', async () => {
      const tx = active();
      try {
        await (commit ? tx.commit() : tx.abort());
      } finally {
        // Whatever the outcome, the next begin() starts afresh; a failed commit is fatal for the
        // batch and the caller aborts or restarts.
        if (tx.completed || !commit) current = undefined;
      }
    });

  return {
    transactionalId: options.transactionalId,
    ...scope,
    init: () =>
      call('init transactional producer', async () => {
        if (current) return;
        // beginTransaction sends InitProducerId the first time; cancel drops the (empty) local
        // transaction without an EndTxn, leaving the producer registered and the zombie fenced.
        const tx = await producer.beginTransaction(PLAIN_INIT_PRODUCER_ID);
        await tx.cancel();
      }),
    begin,
    commit: () => end(true),
    abort: () => end(false),
    async runTransaction<T>(fn: (tx: TransactionScope) => Promise<T>): Promise<T> {
      await begin();
      try {
        const result = await fn(scope);
        await end(true);
        return result;
      } catch (error) {
        if (current) {
          try {
            await end(false);
          } catch {
            // The original error says more; a failed abort leaves the coordinator to time the transaction out.
            current = undefined;
          }
        }
        throw error;
      }
    },
    async close() {
      if (current) {
        await current.abort().catch(() => undefined);
        current = undefined;
      }
      await producer.close();
    },
  };
}
