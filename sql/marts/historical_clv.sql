-- marts.historical_clv: what a cohort's customers have been worth so far, by age.
--
-- Grain: one row per segment, segment_value, cohort_month and period_index (the same
--   rectangle as marts.cohort_retention).
-- Reads: marts.cohort_retention.
-- Settings: $gross_margin_rate (share of net revenue kept as gross margin; NULL when not
--   set, and then historical_clv_margin is NULL).
-- Definitions: cumulative_net_revenue = net revenue of the cohort's members from the
--   cohort month to month cohort_month + period_index; historical_clv =
--   cumulative_net_revenue / cohort_size (every member counts, churned ones included),
--   in the reporting currency; historical_clv_margin = historical_clv * gross margin rate.
--   Cells after the as-of month are NULL (not observable), never carried forward.
with

cells as (
    select
        segment,
        segment_value,
        cohort_month,
        period_index,
        period_month,
        cohort_size,
        net_revenue,
        is_observable,
        is_complete_period
    from marts.cohort_retention
),

accumulated as (
    select
        *,
        case
            when is_observable
                then sum(net_revenue) over (
                    partition by segment, segment_value, cohort_month
                    order by period_index
                    rows between unbounded preceding and current row
                )
        end as cumulative_net_revenue
    from cells
),

final as (
    select
        *,
        cumulative_net_revenue / cohort_size as historical_clv,
        cumulative_net_revenue / cohort_size * cast($gross_margin_rate as double)
            as historical_clv_margin
    from accumulated
)

select * from final
order by segment, segment_value, cohort_month, period_index
