-- marts.cohort_retention_average: the average retention curve across acquisition cohorts,
--   weighted by cohort size, overall and per segment.
--
-- Grain: one row per segment, segment_value and period_index.
-- Reads: marts.cohort_retention.
-- Settings: none directly (cohort_retention's flags carry the as-of date).
-- Definitions: at each period_index only the cohorts whose cell is complete count (cells
--   after the as-of month are not observable, and the month of the as-of date is still
--   filling up and would pull the average down). Rates pool those cohorts: the sum of
--   their active (retained, repeat) customers / the sum of their sizes, and the sum of
--   their net revenue / the sum of their acquisition-month net revenue. An index no
--   complete cohort has reached yet has cohorts = 0 and NULL rates.
with

cells as (
    select
        segment,
        segment_value,
        period_index,
        cohort_size,
        active_customers,
        retained_customers,
        repeat_customers,
        net_revenue,
        acquisition_net_revenue,
        is_complete_period
    from marts.cohort_retention
),

pooled as (
    select
        segment,
        segment_value,
        period_index,
        count(*) filter (where is_complete_period) as cohorts,
        sum(cohort_size) filter (where is_complete_period) as cohort_customers,
        sum(active_customers) filter (where is_complete_period) as active_customers,
        sum(retained_customers) filter (where is_complete_period) as retained_customers,
        sum(repeat_customers) filter (where is_complete_period) as repeat_customers,
        -- money in decimal: exact, the same in any order and on any number of threads
        sum(cast(net_revenue as decimal(18, 6))) filter (where is_complete_period)
            as net_revenue,
        sum(cast(acquisition_net_revenue as decimal(18, 6))) filter (
            where is_complete_period
        ) as acquisition_net_revenue
    from cells
    group by segment, segment_value, period_index
),

final as (
    select
        segment,
        segment_value,
        period_index,
        cohorts,
        cast(coalesce(cohort_customers, 0) as bigint) as cohort_customers,
        cast(active_customers as double) / cohort_customers as retention_rate,
        cast(retained_customers as double) / cohort_customers as cumulative_retention_rate,
        net_revenue / acquisition_net_revenue as revenue_retention_rate,
        cast(repeat_customers as double) / cohort_customers as repeat_purchase_rate
    from pooled
)

select * from final
order by segment, segment_value, period_index
