-- SKANReport: the winning copy of each postback of the app (per dedup_key: Apple's, else
-- the first in the log) received in [$2, $3), counted per ad network, campaign key, sequence
-- index (absent: 0) and fine value (-1: none, or not counted). Counted: a valid signature,
-- and production or $4 (the app accepts development postbacks); invalid counts the invalid
-- ones. The caller folds the fine values into a histogram (unmogrowp.SKANReportBuilder).
WITH copies AS (
    SELECT *, row_number() OVER (PARTITION BY dedup_key ORDER BY from_apple DESC, "partition", "offset") AS rn
    FROM skan_postbacks
    WHERE app_id = $1
), c AS (
    SELECT *, signature = 'valid' AND (environment = 'production' OR $4) AS counted,
        greatest(postback_sequence_index, 0) AS seq
    FROM copies
    WHERE rn = 1 AND received_at >= $2 AND received_at < $3
)
SELECT ad_network_id,
    CASE WHEN source_identifier <> '' THEN source_identifier
         WHEN campaign_id >= 0 THEN CAST(campaign_id AS VARCHAR) ELSE '' END AS campaign_key,
    seq,
    CASE WHEN counted THEN conversion_value ELSE -1 END AS cv,
    count(*) FILTER (WHERE counted) AS n,
    count(*) FILTER (WHERE counted AND did_win <> 0 AND seq = 0 AND redownload <> 1 AND conversion_type <> 're-engagement') AS installs,
    count(*) FILTER (WHERE counted AND did_win <> 0 AND seq = 0 AND redownload = 1) AS redownloads,
    count(*) FILTER (WHERE counted AND did_win = 0) AS non_winning,
    count(*) FILTER (WHERE counted AND kind = 'aak' AND conversion_type = 're-engagement') AS reengagements,
    count(*) FILTER (WHERE counted AND conversion_value < 0 AND coarse_conversion_value = '') AS null_values,
    count(*) FILTER (WHERE counted AND coarse_conversion_value = 'low') AS low,
    count(*) FILTER (WHERE counted AND coarse_conversion_value = 'medium') AS medium,
    count(*) FILTER (WHERE counted AND coarse_conversion_value = 'high') AS high,
    count(*) FILTER (WHERE signature = 'invalid') AS invalid
FROM c
GROUP BY ALL
