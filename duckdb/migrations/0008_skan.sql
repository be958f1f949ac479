-- SKAdNetwork and AdAttributionKit postbacks (unmogrowp.SKANPostback), one row per copy as
-- the log holds it: Apple's copy (from_apple) and a network's forwarded copy of one
-- postback are two rows with one dedup_key, and the reads (sql/skan_*.sql) keep the
-- winner, Apple's copy else the first in the log, flagging differing conversion values.
-- Like events, no primary key: a batch is stored once through log_watermarks, which covers
-- these rows too. Numbers and tri-state booleans absent from the postback are -1, strings
-- ''; received_at is Unix microseconds. The column order is the appender's (skanColumns).
CREATE TABLE skan_postbacks (
    "partition"               INTEGER NOT NULL,
    "offset"                  BIGINT  NOT NULL,
    id                        VARCHAR NOT NULL,
    app_id                    VARCHAR NOT NULL,
    kind                      VARCHAR NOT NULL,
    from_apple                BOOLEAN NOT NULL,
    dedup_key                 VARCHAR NOT NULL,
    version                   VARCHAR NOT NULL,
    ad_network_id             VARCHAR NOT NULL,
    source_identifier         VARCHAR NOT NULL,
    campaign_id               BIGINT  NOT NULL,
    app_store_id              BIGINT  NOT NULL,
    source_app_id             BIGINT  NOT NULL,
    source_domain             VARCHAR NOT NULL,
    publisher_item_identifier BIGINT  NOT NULL,
    transaction_id            VARCHAR NOT NULL,
    postback_identifier       VARCHAR NOT NULL,
    postback_sequence_index   BIGINT  NOT NULL,
    did_win                   BIGINT  NOT NULL,
    redownload                BIGINT  NOT NULL,
    fidelity_type             BIGINT  NOT NULL,
    conversion_value          BIGINT  NOT NULL,
    coarse_conversion_value   VARCHAR NOT NULL,
    conversion_type           VARCHAR NOT NULL,
    ad_interaction_type       VARCHAR NOT NULL,
    country_code              VARCHAR NOT NULL,
    signature                 VARCHAR NOT NULL,
    environment               VARCHAR NOT NULL,
    received_at               BIGINT  NOT NULL
);
