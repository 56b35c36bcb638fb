-- marts.cohort_activity: additive customer counts, orders and revenue per acquisition
--   cohort and calendar month, overall and per segment. The base of the cohort and
--   monthly marts (cohort_retention, historical_clv, lifecycle_monthly,
--   purchase_behaviour_monthly): they re-aggregate it, so every definition below lives
--   in one place.
--
-- Grain: one row per segment, segment_value, cohort_month and period_month, for every
--   month from the cohort month to the month of the as-of date (observable cells only).
-- Reads: facts.customer_month (the customer x month spine), intermediate.customer_profiles,
--   intermediate.profile_segments.
-- Settings: $last_complete_month (the month of the as-of date is still filling up unless
--   the as-of date is its last day: is_complete_period false).
-- Segments: segment 'all' (segment_value 'all') plus one row set per segment column
--   (intermediate.customer_profiles); segment_value is text.
-- Definitions, per customer and month (active = at least one purchase in the month):
--   new           = the cohort month (period_index 0), active by construction;
--   returning     = active this month and the month before;
--   resurrecting  = active this month, not the month before, not new;
--   dormant       = not active this month, active the month before;
--   inactive      = active neither this month nor the month before;
--   retained      = active this month or in any later month up to the as-of date;
--   repeat        = two or more purchases from the cohort month to this month.
with

customer_months as (
    select
        customer_id,
        cohort_month,
        period_month,
        period_index,
        completed_orders,
        net_revenue,
        is_active
    from facts.customer_month
),

customer_profiles as (
    select
        customer_id,
        profile_id
    from intermediate.customer_profiles
),

profile_segments as (
    select
        profile_id,
        segment,
        segment_value
    from intermediate.profile_segments
),

histories as (
    select
        *,
        lag(is_active) over customer_history as was_active_last_month,
        sum(completed_orders) over (
            customer_history rows between unbounded preceding and current row
        ) as orders_to_date,
        max(case when is_active then period_index end) over (
            partition by customer_id
        ) as last_active_index
    from customer_months
    window customer_history as (partition by customer_id order by period_month)
),

classified as (
    select
        *,
        case
            when period_index = 0 then 'new'
            when is_active and was_active_last_month then 'returning'
            when is_active then 'resurrecting'
            when was_active_last_month then 'dormant'
            else 'inactive'
        end as lifecycle_class,
        last_active_index >= period_index as is_retained,
        orders_to_date >= 2 as is_repeat_customer
    from histories
),

profile_cells as (
    -- Counted per profile first (a few thousand cells a month), then the cells, not the
    -- customer months, are fanned out to their segments: six times fewer rows to group.
    select
        customer_profiles.profile_id,
        classified.cohort_month,
        classified.period_month,
        classified.period_index,
        count(*) as cohort_size,
        count(*) filter (where classified.is_active) as active_customers,
        count(*) filter (where classified.lifecycle_class = 'new') as new_customers,
        count(*) filter (where classified.lifecycle_class = 'returning') as returning_customers,
        count(*) filter (
            where classified.lifecycle_class = 'resurrecting'
        ) as resurrecting_customers,
        count(*) filter (where classified.lifecycle_class = 'dormant') as dormant_customers,
        count(*) filter (where classified.lifecycle_class = 'inactive') as inactive_customers,
        count(*) filter (where classified.is_retained) as retained_customers,
        count(*) filter (where classified.is_repeat_customer) as repeat_customers,
        sum(classified.completed_orders) as completed_orders,
        -- Money is summed in decimal: exact, so the sum is the same in any order, on any
        -- number of threads (a double's sum changes in its last bits with the order).
        sum(cast(classified.net_revenue as decimal(18, 6))) as net_revenue
    from classified
    inner join customer_profiles
        on classified.customer_id = customer_profiles.customer_id
    group by
        customer_profiles.profile_id,
        classified.cohort_month,
        classified.period_month,
        classified.period_index
),

grouped as (
    select
        profile_segments.segment,
        profile_segments.segment_value,
        profile_cells.cohort_month,
        profile_cells.period_month,
        profile_cells.period_index,
        sum(profile_cells.cohort_size) as cohort_size,
        sum(profile_cells.active_customers) as active_customers,
        sum(profile_cells.new_customers) as new_customers,
        sum(profile_cells.returning_customers) as returning_customers,
        sum(profile_cells.resurrecting_customers) as resurrecting_customers,
        sum(profile_cells.dormant_customers) as dormant_customers,
        sum(profile_cells.inactive_customers) as inactive_customers,
        sum(profile_cells.retained_customers) as retained_customers,
        sum(profile_cells.repeat_customers) as repeat_customers,
        sum(profile_cells.completed_orders) as completed_orders,
        sum(profile_cells.net_revenue) as net_revenue
    from profile_cells
    inner join profile_segments on profile_cells.profile_id = profile_segments.profile_id
    group by
        profile_segments.segment,
        profile_segments.segment_value,
        profile_cells.cohort_month,
        profile_cells.period_month,
        profile_cells.period_index
),

final as (
    select
        segment,
        segment_value,
        cohort_month,
        period_month,
        period_index,
        -- DuckDB sums bigints to hugeint, which BI drivers and Parquet readers handle badly
        cast(cohort_size as bigint) as cohort_size,
        cast(active_customers as bigint) as active_customers,
        cast(new_customers as bigint) as new_customers,
        cast(returning_customers as bigint) as returning_customers,
        cast(resurrecting_customers as bigint) as resurrecting_customers,
        cast(dormant_customers as bigint) as dormant_customers,
        cast(inactive_customers as bigint) as inactive_customers,
        cast(retained_customers as bigint) as retained_customers,
        cast(repeat_customers as bigint) as repeat_customers,
        cast(completed_orders as bigint) as completed_orders,
        cast(net_revenue as double) as net_revenue,
        period_month <= $last_complete_month as is_complete_period
    from grouped
)

select * from final
order by segment, segment_value, cohort_month, period_month
