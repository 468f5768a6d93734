-- billing.orders: one row per order, keyed by the order's identity
-- (client_id, order_id), so a redelivered event cannot bill twice.
CREATE TABLE billing.orders (
    client_id       text        NOT NULL CHECK (client_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    order_id        text        NOT NULL CHECK (order_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    customer_id     text        NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 128),
    currency        char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total_cents     bigint      NOT NULL CHECK (total_cents BETWEEN 0 AND 9007199254740991),
    items           jsonb       NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    metadata        jsonb       CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object'),
    event_id        uuid        NOT NULL,
    received_at     timestamptz NOT NULL,              -- ce_time of the event
    billed_at       timestamptz NOT NULL DEFAULT now(),
    kafka_partition integer     NOT NULL CHECK (kafka_partition >= 0),
    kafka_offset    bigint      NOT NULL CHECK (kafka_offset >= 0),
    PRIMARY KEY (client_id, order_id)
);

-- Consumed positions, written in the same transaction as the rows they
-- produced: the source of truth the consumer seeks to on assignment.
CREATE TABLE billing.consumer_offsets (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL CHECK (kafka_partition >= 0),
    next_offset     bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, kafka_partition)
);

-- Least privilege: the service may read and append orders, and move its
-- offsets forward; it may not update or delete orders, nor change the schema.
GRANT USAGE ON SCHEMA billing TO :"billing_role";
GRANT SELECT, INSERT ON billing.orders TO :"billing_role";
GRANT SELECT, INSERT ON billing.consumer_offsets TO :"billing_role";
GRANT UPDATE (next_offset, updated_at) ON billing.consumer_offsets TO :"billing_role";
