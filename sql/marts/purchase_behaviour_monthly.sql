-- marts.purchase_behaviour_monthly: purchase frequency, order value and revenue per active
--   customer in each calendar month, and how much of the month's business came from
--   customers acquired in it, overall and per segment.
--
-- Grain: as marts.lifecycle_monthly (segment, segment_value, period_month, every month
--   since the segment value's first cohort); a month without purchases has zero counts
--   and NULL ratios.
-- Reads: marts.cohort_activity.
-- Settings: $last_complete_month (is_complete_period is false for the month of the as-of
--   date unless the as-of date is its last day).
-- Definitions: purchase_frequency = completed orders / active customers;
--   average_order_value = net revenue / completed orders; net_revenue_per_active_customer
--   = net revenue / active customers. A customer is new in their cohort month (all their
--   orders of that month are new-customer orders) and repeat in every later month.
with

activity as (
    select
        segment,
        segment_value,
        period_month,
        period_index,
        active_customers,
        completed_orders,
        net_revenue
    from marts.cohort_activity
),

monthly as (
    -- DuckDB sums bigints to hugeint, which BI drivers and Parquet readers handle badly
    select
        segment,
        segment_value,
        period_month,
        cast(sum(active_customers) as bigint) as active_customers,
        cast(sum(completed_orders) as bigint) as completed_orders,
        cast(coalesce(sum(completed_orders) filter (where period_index = 0), 0) as bigint)
            as new_customer_orders,
        cast(coalesce(sum(completed_orders) filter (where period_index > 0), 0) as bigint)
            as repeat_customer_orders,
        -- money in decimal: exact, the same in any order and on any number of threads
        cast(sum(cast(net_revenue as decimal(18, 6))) as double) as net_revenue
    from activity
    group by segment, segment_value, period_month
),

final as (
    select
        segment,
        segment_value,
        period_month,
        active_customers,
        completed_orders,
        net_revenue,
        new_customer_orders,
        repeat_customer_orders,
        cast(completed_orders as double) / nullif(active_customers, 0) as purchase_frequency,
        net_revenue / nullif(completed_orders, 0) as average_order_value,
        net_revenue / nullif(active_customers, 0) as net_revenue_per_active_customer,
        cast(new_customer_orders as double) / nullif(completed_orders, 0)
            as new_customer_order_share,
        period_month <= $last_complete_month as is_complete_period
    from monthly
)

select * from final
order by segment, segment_value, period_month
