-- marts.lifecycle_monthly: how many customers are new, returning, resurrecting, dormant
--   or inactive in each calendar month, overall and per segment.
--
-- Grain: one row per segment, segment_value and period_month, from the first cohort month
--   of the segment value to the month of the as-of date; a month in which nobody bought
--   is a row (all its active counts 0).
-- Reads: marts.cohort_activity (the classes are defined there, per customer and month).
-- Settings: $last_complete_month (the month of the as-of date is still filling up unless
--   the as-of date is its last day: is_complete_period false).
-- Definitions: customers_to_date = customers whose first purchase is in or before the
--   month; active = new + returning + resurrecting; customers_to_date = active + dormant
--   + inactive.
with

activity as (
    select
        segment,
        segment_value,
        period_month,
        cohort_size,
        active_customers,
        new_customers,
        returning_customers,
        resurrecting_customers,
        dormant_customers,
        inactive_customers
    from marts.cohort_activity
),

final as (
    -- DuckDB sums bigints to hugeint, which BI drivers and Parquet readers handle badly
    select
        segment,
        segment_value,
        period_month,
        cast(sum(cohort_size) as bigint) as customers_to_date,
        cast(sum(active_customers) as bigint) as active_customers,
        cast(sum(new_customers) as bigint) as new_customers,
        cast(sum(returning_customers) as bigint) as returning_customers,
        cast(sum(resurrecting_customers) as bigint) as resurrecting_customers,
        cast(sum(dormant_customers) as bigint) as dormant_customers,
        cast(sum(inactive_customers) as bigint) as inactive_customers,
        period_month <= $last_complete_month as is_complete_period
    from activity
    group by segment, segment_value, period_month
)

select * from final
order by segment, segment_value, period_month
