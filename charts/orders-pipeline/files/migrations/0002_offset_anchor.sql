-- The anchor of a stored position: a fingerprint (common/kafka_anchor.h) of
-- the record just before next_offset. On assignment billing reads that
-- record again and compares: a topic deleted and recreated restarts its
-- offsets at 0, and once it has grown past the old position only the anchor
-- tells the new records from the consumed ones. NULL: stored before this
-- migration (not checked).
ALTER TABLE billing.consumer_offsets ADD COLUMN anchor bigint;

GRANT UPDATE (anchor) ON billing.consumer_offsets TO :"billing_role";
