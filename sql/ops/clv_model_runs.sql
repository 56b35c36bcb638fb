-- ops.clv_model_runs: every CLV model fit, kept across runs so that drift is visible.
--
-- Grain: one row per as_of and model ('bgnbd', 'gamma_gamma').
-- Reads: facts.clv_model_runs (written by the CLV stage, one Parquet partition per as-of
--   date, up to this run's).
-- status: 'converged', 'failed' (with the reason in message) or 'skipped' (no data to
--   fit). The parameters (r, alpha, a, b for bgnbd; p, q, gamma for gamma_gamma; alpha in
--   days, gamma in the reporting currency) are NULL unless the fit converged.
--   params_as_of is the fit the run scored customers with; is_stale when it is older.
with

model_runs as (
    select
        as_of,
        model,
        status,
        message,
        customers_n,
        fitted_rows_n,
        iterations,
        log_likelihood,
        r,
        alpha,
        a,
        b,
        p,
        q,
        gamma,
        params_as_of,
        is_stale
    from facts.clv_model_runs
),

final as (
    select * from model_runs
)

select * from final
order by as_of, model
