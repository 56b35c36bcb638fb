-- marts.cohort_retention: the retention triangle of acquisition cohorts (logo,
--   cumulative and revenue retention, repeat purchase by age), overall and per segment.
--
-- Grain: one row per segment, segment_value, cohort_month and period_index (months since
--   the cohort month), for every index up to the oldest cohort's age, so each segment's
--   triangle is a full rectangle.
-- Reads: marts.cohort_activity (counts per cohort, month and segment).
-- Settings: $as_of_month (cells after it are not observable yet: counts and rates are
--   NULL, never 0); $last_complete_month (the month of the as-of date is still filling
--   up unless the as-of date is its last day: is_complete_period false).
-- Definitions: retention_rate = active customers of the cohort in month
--   cohort_month + period_index / cohort_size (1 at index 0); cumulative_retention_rate =
--   members active in that month or any later observable month / cohort_size;
--   revenue_retention_rate = net revenue of the cohort in that month / its net revenue in
--   the cohort month; repeat_purchase_rate = members with two or more purchases up to that
--   month / cohort_size. cohort_size and acquisition_net_revenue are stored so that cohorts
--   can be re-aggregated (see marts.cohort_retention_average).
with

activity as (
    select
        segment,
        segment_value,
        cohort_month,
        period_index,
        cohort_size,
        active_customers,
        retained_customers,
        repeat_customers,
        net_revenue
    from marts.cohort_activity
),

cohorts as (
    select
        segment,
        segment_value,
        cohort_month,
        cohort_size,
        net_revenue as acquisition_net_revenue
    from activity
    where period_index = 0
),

period_indexes as (
    select distinct period_index
    from activity
),

cells as (
    select
        cohorts.segment,
        cohorts.segment_value,
        cohorts.cohort_month,
        cohorts.cohort_size,
        cohorts.acquisition_net_revenue,
        period_indexes.period_index,
        -- DuckDB and PostgreSQL accept interval arithmetic on dates; Trino/Spark spell it
        -- date_add('month', n, d) / add_months(d, n).
        cast(cohorts.cohort_month + interval '1' month * period_indexes.period_index as date)
            as period_month
    from cohorts
    cross join period_indexes
),

final as (
    -- activity has a row for every observable cell, so the left join leaves exactly the
    -- cells after the as-of month NULL
    select
        cells.segment,
        cells.segment_value,
        cells.cohort_month,
        cells.period_index,
        cells.period_month,
        cells.cohort_size,
        activity.active_customers,
        activity.retained_customers,
        activity.repeat_customers,
        activity.net_revenue,
        cells.acquisition_net_revenue,
        cast(activity.active_customers as double) / cells.cohort_size as retention_rate,
        cast(activity.retained_customers as double) / cells.cohort_size
            as cumulative_retention_rate,
        activity.net_revenue / cells.acquisition_net_revenue as revenue_retention_rate,
        cast(activity.repeat_customers as double) / cells.cohort_size
            as repeat_purchase_rate,
        cells.period_month <= $as_of_month as is_observable,
        cells.period_month <= $last_complete_month as is_complete_period
    from cells
    left join activity
        on
            cells.segment = activity.segment
            and cells.segment_value = activity.segment_value
            and cells.cohort_month = activity.cohort_month
            and cells.period_index = activity.period_index
)

select * from final
order by segment, segment_value, cohort_month, period_index
