/**
 * The Kafka adapter: the only module (with src/clients/kafka/) that imports the Kafka client
 * library, so the rest of the code depends on the small interfaces re-exported here. By role:
 * kafka/admin.ts, kafka/producer.ts, kafka/consumer.ts (+ kafka/assignor.ts),
 * kafka/partition-reader.ts, kafka/errors.ts; the pure pieces kafka/aborted-batches.ts,
 * kafka/chunking.ts and the assignment rule; what works around the library, for the one version
 * it was checked against, in kafka/library-patches.ts. (Which library, and why, is in
 * docs/decisions/kafka-client.md.)
 */
// First: makes the library's option schemas compile on first use instead of while it loads.
import './kafka/lazy-option-schemas.ts';
export { createKafkaAdmin, type ClusterSummary, type GroupSummary, type KafkaAdmin, type KafkaAdminOptions, type PartitionLag, type PartitionOffset, type TopicAdmin, type TopicDescription, type TopicSpec } from './kafka/admin.ts';
export { copartitionedAssignment } from './kafka/assignor.ts';
export { chunksBySize } from './kafka/chunking.ts';
export { createConsumer, type ConsumedBatch, type ConsumerOptions, type KafkaConsumer } from './kafka/consumer.ts';
export { kafkaUnreachable, protocolErrorIds } from './kafka/errors.ts';
export { createPartitionReader, type PartitionReader, type PartitionReaderOptions } from './kafka/partition-reader.ts';
export { createProducer, createTransactionalProducer, type KafkaProducer, type TransactionalProducer, type TransactionalProducerOptions, type TransactionScope } from './kafka/producer.ts';
export type { CommitOffset, ConsumedRecord, ConsumerGroupMetadata, OutgoingRecord, PollOptions, TopicAssignment } from './kafka/records.ts';
export { connectionOptions, type KafkaSettings } from './kafka/settings.ts';
