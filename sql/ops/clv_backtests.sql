-- ops.clv_backtests: how well the purchase model predicted a holdout, every run.
--
-- Grain: one row per as_of (the run's as-of date).
-- Reads: facts.clv_backtests (written by the CLV stage, one partition per as-of date).
-- Method: fit BG/NBD on purchases up to calibration_end = as_of - holdout_days, predict
--   each customer's purchase days in (calibration_end, as_of], compare with the actual
--   ones. mae_purchases = mean |predicted - actual| per customer who had bought by
--   calibration_end; predicted_to_actual_ratio = predicted / actual totals (1 is
--   unbiased). status: 'converged', 'failed' (the calibration fit) or 'skipped' (no
--   purchase before calibration_end).
with

backtests as (
    select
        as_of,
        calibration_end,
        holdout_days,
        status,
        message,
        customers_n,
        actual_purchases,
        predicted_purchases,
        mae_purchases,
        predicted_to_actual_ratio
    from facts.clv_backtests
),

final as (
    select * from backtests
)

select * from final
order by as_of
