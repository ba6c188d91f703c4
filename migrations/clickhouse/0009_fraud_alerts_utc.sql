-- See 0007.
ALTER TABLE {{database}}.fraud_alerts_versions
  MODIFY COLUMN created_at DateTime('UTC'),
  MODIFY COLUMN alerted_at DateTime('UTC')
