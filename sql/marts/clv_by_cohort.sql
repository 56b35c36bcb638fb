-- marts.clv_by_cohort: predicted 12-month CLV beside historical CLV to date, per
--   acquisition cohort, overall and per segment.
--
-- Grain: one row per cohort_month, segment and segment_value. segment is 'all' (then
--   segment_value is 'all') or a segment column of facts.customers: country,
--   acquisition_channel, age_band, is_loyalty_member, programme_arm.
-- Reads: marts.customer_clv.
-- Additive columns (counts and totals) let a reader re-aggregate cohorts or segments:
--   sum the totals, then divide by the summed customers_n.
-- Predictions are NULL (never 0) when no model parameters were available.
with

customers as (
    select
        cohort_month,
        country,
        acquisition_channel,
        age_band,
        cast(is_loyalty_member as varchar) as is_loyalty_member,
        programme_arm,
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

aggregated as (
    select
        cohort_month,
        case
            when grouping(country) = 0 then 'country'
            when grouping(acquisition_channel) = 0 then 'acquisition_channel'
            when grouping(age_band) = 0 then 'age_band'
            when grouping(is_loyalty_member) = 0 then 'is_loyalty_member'
            when grouping(programme_arm) = 0 then 'programme_arm'
            else 'all'
        end as segment,
        case
            when grouping(country) = 0 then country
            when grouping(acquisition_channel) = 0 then acquisition_channel
            when grouping(age_band) = 0 then age_band
            when grouping(is_loyalty_member) = 0 then is_loyalty_member
            when grouping(programme_arm) = 0 then programme_arm
            else 'all'
        end as segment_value,
        count(*) as customers_n,
        sum(p_alive) as expected_alive_customers,
        sum(expected_purchases_30d) as expected_purchases_30d,
        sum(expected_purchases_90d) as expected_purchases_90d,
        sum(expected_purchases_365d) as expected_purchases_365d,
        sum(clv_12m) as clv_12m_total,
        sum(historical_clv_to_date) as historical_clv_total,
        min(params_as_of) as params_as_of,
        count(*) filter (where is_stale) > 0 as is_stale
    from customers
    group by grouping sets (
        (cohort_month),
        (cohort_month, country),
        (cohort_month, acquisition_channel),
        (cohort_month, age_band),
        (cohort_month, is_loyalty_member),
        (cohort_month, programme_arm)
    )
),

final as (
    select
        cohort_month,
        segment,
        segment_value,
        customers_n,
        expected_alive_customers,
        expected_purchases_30d,
        expected_purchases_90d,
        expected_purchases_365d,
        clv_12m_total,
        historical_clv_total,
        params_as_of,
        is_stale,
        expected_alive_customers / customers_n as p_alive_mean,
        clv_12m_total / customers_n as clv_12m_per_customer,
        historical_clv_total / customers_n as historical_clv_per_customer
    from aggregated
)

select * from final
order by cohort_month, segment, segment_value
