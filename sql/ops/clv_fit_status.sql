-- ops.clv_fit_status: how this run's CLV fits went; what a data-quality gate checks.
--
-- Grain: one row per model ('bgnbd', 'gamma_gamma') for the as-of date of the run.
-- Reads: ops.clv_model_runs.
-- Settings: $as_of.
-- A healthy run has status 'converged' and is_stale false on both rows. A failed fit is
--   not an error of the run: customers are scored with the parameters of params_as_of
--   (an earlier run) and every prediction carries is_stale; with no earlier parameters
--   the predictions are NULL and params_as_of is NULL.
with

this_run as (
    select
        as_of,
        model,
        status,
        is_stale,
        params_as_of,
        message
    from ops.clv_model_runs
    where as_of = $as_of
),

final as (
    select * from this_run
)

select * from final
order by model
