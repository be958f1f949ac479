-- SKANPostbacks: one row per postback of the app (per dedup_key), the winning copy (Apple's,
-- else the first in the log) with cv_mismatch when the copies' conversion values differ,
-- received in [$2, $3), after the cursor ($4, $5, $6: received_at, partition, offset),
-- newest first, at most $7.
WITH copies AS (
    SELECT *,
        row_number() OVER d AS rn,
        (min(conversion_value) OVER d <> max(conversion_value) OVER d
            OR min(coarse_conversion_value) OVER d <> max(coarse_conversion_value) OVER d) AS cv_mismatch
    FROM skan_postbacks
    WHERE app_id = $1
    WINDOW d AS (PARTITION BY dedup_key ORDER BY from_apple DESC, "partition", "offset"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT "partition", "offset", id, app_id, kind, from_apple, version, ad_network_id,
    source_identifier, campaign_id, app_store_id, source_app_id, source_domain,
    publisher_item_identifier, transaction_id, postback_identifier, postback_sequence_index,
    did_win, redownload, fidelity_type, conversion_value, coarse_conversion_value,
    conversion_type, ad_interaction_type, country_code, signature, environment, received_at,
    cv_mismatch
FROM copies
WHERE rn = 1 AND received_at >= $2 AND received_at < $3
    AND (received_at < $4 OR (received_at = $4 AND ("partition" < $5 OR ("partition" = $5 AND "offset" < $6))))
ORDER BY received_at DESC, "partition" DESC, "offset" DESC
LIMIT $7
