-- marts.cohort_retention: the logo-retention triangle of acquisition cohorts.
--
-- Grain: one row per cohort_month and period_index (months since the cohort month),
--   for every index up to the oldest cohort's age, so the triangle is a full rectangle.
-- Reads: facts.customers (cohort sizes), facts.customer_month (activity per month).
-- Settings: $as_of_month (cells after it are not observable yet: active_customers and
--   retention_rate are NULL, never 0); $last_complete_month (the month of the as-of date
--   is still filling up unless the as-of date is its last day: is_complete_period false).
-- Definitions: active = at least one purchase in the month; retention_rate = active
--   customers of the cohort in month cohort_month + period_index / cohort_size;
--   period_index 0 is 1 by construction.
with

cohorts as (
    select
        cohort_month,
        count(*) as cohort_size
    from facts.customers
    where cohort_month is not null
    group by cohort_month
),

activity as (
    select
        cohort_month,
        period_index,
        count(*) filter (where is_active) as active_customers
    from facts.customer_month
    group by cohort_month, period_index
),

period_indexes as (
    select distinct period_index
    from facts.customer_month
),

cells as (
    select
        cohorts.cohort_month,
        cohorts.cohort_size,
        period_indexes.period_index,
        -- DuckDB and PostgreSQL accept interval arithmetic on dates; Trino/Spark spell it
        -- date_add('month', n, d) / add_months(d, n).
        cast(cohorts.cohort_month + interval '1' month * period_indexes.period_index as date)
            as period_month
    from cohorts
    cross join period_indexes
),

final as (
    select
        cells.cohort_month,
        cells.period_index,
        cells.period_month,
        cells.cohort_size,
        case
            when cells.period_month <= $as_of_month
                then coalesce(activity.active_customers, 0)
        end as active_customers,
        case
            when cells.period_month <= $as_of_month
                then cast(coalesce(activity.active_customers, 0) as double) / cells.cohort_size
        end as retention_rate,
        cells.period_month <= $as_of_month as is_observable,
        cells.period_month <= $last_complete_month as is_complete_period
    from cells
    left join activity
        on
            cells.cohort_month = activity.cohort_month
            and cells.period_index = activity.period_index
)

select * from final
order by cohort_month, period_index
