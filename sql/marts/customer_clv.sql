-- marts.customer_clv: predicted customer lifetime value (BG/NBD + Gamma-Gamma) per customer.
--
-- Grain: one row per customer with a purchase up to the as-of date (customer_id).
-- Reads: facts.clv_customers (the CLV stage: RFM summary and predictions, see
--   pipelines/clv), facts.customers (cohort, segment attributes, revenue to date).
-- Settings: $as_of (is_stale: scored with parameters fitted on an earlier date, because
--   this run's fit failed); $gross_margin_rate (historical_clv_to_date is net revenue
--   times the margin when set, like clv_12m; NULL means revenue).
-- Definitions: docs/metrics.md, "Predictive CLV". Units: days, reporting currency.
with

predictions as (
    select
        customer_id,
        frequency,
        recency_days,
        tenure_days,
        monetary_value,
        p_alive,
        expected_purchases_30d,
        expected_purchases_90d,
        expected_purchases_365d,
        expected_avg_order_value,
        clv_12m,
        params_as_of
    from facts.clv_customers
),

customers as (
    select
        customer_id,
        cohort_month,
        country,
        acquisition_channel,
        age_band,
        is_loyalty_member,
        programme_arm,
        net_revenue
    from facts.customers
),

final as (
    select
        predictions.customer_id,
        customers.cohort_month,
        customers.country,
        customers.acquisition_channel,
        customers.age_band,
        customers.is_loyalty_member,
        customers.programme_arm,
        predictions.frequency,
        predictions.recency_days,
        predictions.tenure_days,
        predictions.monetary_value,
        predictions.p_alive,
        predictions.expected_purchases_30d,
        predictions.expected_purchases_90d,
        predictions.expected_purchases_365d,
        predictions.expected_avg_order_value,
        predictions.clv_12m,
        predictions.params_as_of,
        customers.net_revenue * coalesce($gross_margin_rate, 1.0) as historical_clv_to_date,
        coalesce(predictions.params_as_of <> $as_of, true) as is_stale
    from predictions
    inner join customers
        on predictions.customer_id = customers.customer_id
)

select * from final
order by customer_id
