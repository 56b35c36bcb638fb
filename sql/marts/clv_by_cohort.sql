-- marts.clv_by_cohort: predicted 12-month CLV beside historical CLV to date, per
--   acquisition cohort, overall and per segment.
--
-- Grain: one row per cohort_month, segment and segment_value. segment is 'all' (then
--   segment_value is 'all') or a segment column of facts.customers: country,
--   acquisition_channel, age_band, is_loyalty_member, programme_arm
--   (intermediate.customer_segments).
-- Reads: marts.customer_clv, intermediate.customer_segments.
-- Additive columns (counts and totals) let a reader re-aggregate cohorts or segments:
--   sum the totals, then divide by the summed customers_n.
-- Predictions are NULL (never 0) when no model parameters were available.
with

customers as (
    select
        customer_id,
        cohort_month,
        p_alive,
        expected_purchases_30d,
        expected_purchases_90d,
        expected_purchases_365d,
        clv_12m,
        historical_clv_to_date,
        params_as_of,
        is_stale
    from marts.customer_clv
),

customer_segments as (
    select * from intermediate.customer_segments
),

aggregated as (
    select
        customers.cohort_month,
        customer_segments.segment,
        customer_segments.segment_value,
        count(*) as customers_n,
        -- Summed in decimal (predictions to 12 places, money to 6): exact, so the totals are
        -- the same in any order and on any number of threads; a double's sum is not.
        sum(cast(customers.p_alive as decimal(38, 12))) as expected_alive_customers,
        sum(cast(customers.expected_purchases_30d as decimal(38, 12))) as expected_purchases_30d,
        sum(cast(customers.expected_purchases_90d as decimal(38, 12))) as expected_purchases_90d,
        sum(cast(customers.expected_purchases_365d as decimal(38, 12))) as expected_purchases_365d,
        sum(cast(customers.clv_12m as decimal(38, 12))) as clv_12m_total,
        sum(cast(customers.historical_clv_to_date as decimal(18, 6))) as historical_clv_total,
        min(customers.params_as_of) as params_as_of,
        count(*) filter (where customers.is_stale) > 0 as is_stale
    from customers
    inner join customer_segments on customers.customer_id = customer_segments.customer_id
    group by customers.cohort_month, customer_segments.segment, customer_segments.segment_value
),

final as (
    select
        cohort_month,
        segment,
        segment_value,
        customers_n,
        cast(expected_alive_customers as double) as expected_alive_customers,
        cast(expected_purchases_30d as double) as expected_purchases_30d,
        cast(expected_purchases_90d as double) as expected_purchases_90d,
        cast(expected_purchases_365d as double) as expected_purchases_365d,
        cast(clv_12m_total as double) as clv_12m_total,
        cast(historical_clv_total as double) as historical_clv_total,
        params_as_of,
        is_stale,
        expected_alive_customers / customers_n as p_alive_mean,
        clv_12m_total / customers_n as clv_12m_per_customer,
        historical_clv_total / customers_n as historical_clv_per_customer
    from aggregated
)

select * from final
order by cohort_month, segment, segment_value
