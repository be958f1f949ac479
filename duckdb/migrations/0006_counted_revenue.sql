-- counted_revenue(r): what the reports count of a stored revenue r (unmogrowp.MaxRevenue,
-- 1e9, is the bound ingestion keeps to): r within ±1e9, the bound beyond it (the
-- infinities too), 0 for NaN, NULL for NULL. Events stored before the bound, or by another
-- way than ingestion, may hold anything; summed through this, no report's revenue can
-- overflow to an infinity or NaN, which JSON cannot carry. The comparisons are spelled
-- out: greatest and least skip NULLs.
CREATE MACRO counted_revenue(r) AS
    CASE WHEN isnan(r) THEN 0.0 WHEN r > 1e9 THEN 1e9 WHEN r < -1e9 THEN -1e9 ELSE r END;
