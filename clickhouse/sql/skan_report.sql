-- SKANReport: the winning copy of each postback of the app (per dedup_key: Apple's, else
-- the first in the log) received in [$2, $3), counted per ad network, campaign key,
-- sequence index (absent: 0) and fine value (-1: none, or not counted). Counted: a valid
-- signature, and production or $4 = 1 (the app accepts development postbacks); invalid
-- counts the invalid ones. The caller folds the fine values into a histogram.
SELECT net, campaign_key, seq, if(counted, cv, toInt64(-1)) AS value,
    toInt64(countIf(counted)) AS n,
    toInt64(countIf(counted AND win != 0 AND seq = 0 AND redl != 1 AND ctype != 're-engagement')) AS installs,
    toInt64(countIf(counted AND win != 0 AND seq = 0 AND redl = 1)) AS redownloads,
    toInt64(countIf(counted AND win = 0)) AS non_winning,
    toInt64(countIf(counted AND kind_ = 'aak' AND ctype = 're-engagement')) AS reengagements,
    toInt64(countIf(counted AND cv < 0 AND coarse = '')) AS null_values,
    toInt64(countIf(counted AND coarse = 'low')) AS low,
    toInt64(countIf(counted AND coarse = 'medium')) AS medium,
    toInt64(countIf(counted AND coarse = 'high')) AS high,
    toInt64(countIf(sig = 'invalid')) AS invalid
FROM (
    SELECT *, sig = 'valid' AND (env = 'production' OR $4 = 1) AS counted,
        if(source != '', source, if(campaign >= 0, toString(campaign), '')) AS campaign_key
    FROM (
        SELECT argMax(kind, k) AS kind_, argMax(ad_network_id, k) AS net, argMax(source_identifier, k) AS source,
            argMax(campaign_id, k) AS campaign, greatest(argMax(postback_sequence_index, k), toInt64(0)) AS seq,
            argMax(did_win, k) AS win, argMax(redownload, k) AS redl, argMax(conversion_value, k) AS cv,
            argMax(coarse_conversion_value, k) AS coarse, argMax(conversion_type, k) AS ctype,
            argMax(signature, k) AS sig, argMax(environment, k) AS env, argMax(received_at, k) AS received
        FROM (
            SELECT *, (from_apple, -"partition", -"offset") AS k
            FROM skan_postbacks
            WHERE app_id = $1
        )
        GROUP BY dedup_key
    )
    WHERE received >= $2 AND received < $3
)
GROUP BY net, campaign_key, seq, value
