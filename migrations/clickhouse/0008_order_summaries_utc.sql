-- See 0007. window_start is in the sorting key and the partition key: ClickHouse 18.16 refuses to
-- ALTER a key column ("trying to ALTER key column", code 44), so it keeps the plain DateTime; the
-- sink writes it as UTC text and validation reads it as epoch seconds or with an explicit 'UTC'.
ALTER TABLE {{database}}.order_summaries_versions
  MODIFY COLUMN window_end DateTime('UTC')
