-- SKANPostbacks: one row per postback of the app (per dedup_key), the winning copy (Apple's,
-- else the first in the log: the highest (from_apple, -partition, -offset)) with
-- cv_mismatch when the copies' conversion values differ, received in [$2, $3), after the
-- cursor ($4, $5, $6: received_at, partition, offset), newest first, at most $7.
SELECT * FROM (
    SELECT
        argMax("partition", k) AS p, argMax("offset", k) AS o, argMax(id, k) AS id_, argMax(app_id, k) AS app,
        argMax(kind, k) AS kind_, argMax(from_apple, k) AS apple, argMax(version, k) AS version_,
        argMax(ad_network_id, k) AS net, argMax(source_identifier, k) AS source, argMax(campaign_id, k) AS campaign,
        argMax(app_store_id, k) AS store_id, argMax(source_app_id, k) AS source_app, argMax(source_domain, k) AS domain,
        argMax(publisher_item_identifier, k) AS publisher, argMax(transaction_id, k) AS txn,
        argMax(postback_identifier, k) AS pbid, argMax(postback_sequence_index, k) AS seq,
        argMax(did_win, k) AS win, argMax(redownload, k) AS redl, argMax(fidelity_type, k) AS fidelity,
        argMax(conversion_value, k) AS cv, argMax(coarse_conversion_value, k) AS coarse,
        argMax(conversion_type, k) AS ctype, argMax(ad_interaction_type, k) AS interaction,
        argMax(country_code, k) AS country, argMax(signature, k) AS sig, argMax(environment, k) AS env,
        argMax(received_at, k) AS received,
        toUInt8(min(conversion_value) != max(conversion_value) OR min(coarse_conversion_value) != max(coarse_conversion_value)) AS mismatch
    FROM (
        SELECT *, (from_apple, -"partition", -"offset") AS k
        FROM skan_postbacks
        WHERE app_id = $1
    )
    GROUP BY dedup_key
)
WHERE received >= $2 AND received < $3
    AND (received < $4 OR (received = $4 AND (p < $5 OR (p = $5 AND o < $6))))
ORDER BY received DESC, p DESC, o DESC
LIMIT $7
