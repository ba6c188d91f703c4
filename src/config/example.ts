/**
 * The commented example `stream-migrate init` writes. Everything is commented out except what a
 * team must decide, so the file states only what differs from the defaults (the rest is merged in).
 */
export const EXAMPLE_CONFIG = `# stream-migrate configuration. Only keys that differ from the defaults are needed;
# the defaults point at the embedded local stack started by \`stream-migrate dev up\`.
# Any value may be a secret reference, quoted: "\${env:NAME}" or "\${file:/path/to/file}".
# See the effective configuration (secrets masked) with: stream-migrate config show

# source:                       # the OLTP database Debezium reads (schema public)
#   url: postgresql://app@db.internal:5432/shop
#   password: "\${env:SOURCE_PASSWORD}"
# warehouse:                    # batch outputs and the control-plane state (schema stream_migrate)
#   url: postgresql://etl@warehouse.internal:5432/warehouse
#   password: "\${file:/run/secrets/warehouse-password}"

# kafka:
#   brokers: [kafka-1.internal:9092, kafka-2.internal:9092]
#   clientId: stream-migrate
#   sasl: { mechanism: scram-sha-512, username: stream-migrate, password: "\${env:KAFKA_PASSWORD}" }
#   ssl: true

# connect:
#   url: https://connect.internal:8083
#   username: admin
#   password: "\${env:CONNECT_PASSWORD}"
#   timeout: 30s

# schemaRegistry:              # Confluent-compatible (Apicurio: /apis/ccompat/v7 is added to a bare host)
#   url: https://registry.internal:8081
#   username: stream_migrate
#   compatibility: BACKWARD
#   # password: "\${env:SCHEMA_REGISTRY_PASSWORD}"   (a secret reference, like every password)

# clickhouse:
#   url: https://clickhouse.internal:8443
#   username: stream_migrate
#   password: "\${env:CLICKHOUSE_PASSWORD}"
#   database: stream

# topics:                       # name -> partitions, replication factor, topic configs
#   cdc.public.orders: { partitions: 12, replicationFactor: 3, configs: { cleanup.policy: compact } }

# connector:                    # the Debezium PostgreSQL connector
#   name: stream-migrate-source
#   slotName: stream_migrate
#   publicationName: stream_migrate
#   tables: [public.orders, public.customers, public.products]
#   snapshotMode: initial
#   heartbeatInterval: 10s

# rules:                        # shared by the batch ETL and the stream processor
#   tierDiscount: { NEW: "0", BRONZE: "0.02", SILVER: "0.05", GOLD: "0.10", PLATINUM: "0.15" }
#   categoryTax: { default: "0.08", byCategory: { electronics: "0.10", groceries: "0.05", books: "0" } }
#   fraud: { highAbove: "10000.00", newTierMediumAbove: "1000.00" }
#   windowMinutes: 5

# batch:
#   mode: builtin               # or external, with command: [/opt/etl/run.sh, --verbose]
#   schedule: "30 2 * * *"

# validation:
#   settle: 5m
#   samples: 10
#   tolerances: { missingInStream: 0, missingInBatch: 0, mismatched: 0 }

# cutover:
#   requiredReports: 3
#   minCoverage: 72h
#   maxReportAge: 24h
#   maxConsumerLag: 1000
#   maxDeadLetterGrowth: 0

# dev:                          # the embedded local stack
#   ports: { postgres: 15432, kafka: 19092, kafkaController: 19093, connect: 18083, clickhouseHttp: 18123, clickhouseTcp: 19000, schemaRegistry: 18081, schemaRegistryManagement: 18082 }
`;
