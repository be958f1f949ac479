-- SKAdNetwork and AdAttributionKit postbacks (unmogrowp.SKANPostback), one row per copy as
-- the log holds it: Apple's copy (from_apple) and a network's forwarded copy of one
-- postback are two rows with one dedup_key, and the reads (sql/skan_*.sql) keep the
-- winner, Apple's copy else the first in the log, flagging differing conversion values.
-- A ReplacingMergeTree keyed by app, dedup key and log position, so a batch written again
-- after a crash replaces itself; log_watermarks covers these rows. Numbers and tri-state
-- booleans absent from the postback are -1, strings ''; received_at is Unix microseconds.
CREATE TABLE IF NOT EXISTS skan_postbacks (
    "partition"               Int32,
    "offset"                  Int64,
    id                        String,
    app_id                    String,
    kind                      String,
    from_apple                UInt8,
    dedup_key                 String,
    version                   String,
    ad_network_id             String,
    source_identifier         String,
    campaign_id               Int64,
    app_store_id              Int64,
    source_app_id             Int64,
    source_domain             String,
    publisher_item_identifier Int64,
    transaction_id            String,
    postback_identifier       String,
    postback_sequence_index   Int64,
    did_win                   Int64,
    redownload                Int64,
    fidelity_type             Int64,
    conversion_value          Int64,
    coarse_conversion_value   String,
    conversion_type           String,
    ad_interaction_type       String,
    country_code              String,
    signature                 String,
    environment               String,
    received_at               Int64
) ENGINE = ReplacingMergeTree
ORDER BY (app_id, dedup_key, "partition", "offset");
