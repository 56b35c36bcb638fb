-- marts.clv_by_nps_class: what customers of each attitude have been worth, and are
-- predicted to be worth, as of the as-of date.
--
-- Grain: one row per latest NPS class ('promoter', 'passive', 'detractor', 'unsurveyed'
--   for buyers who never answered, 'all').
-- Reads: marts.customer_loyalty (latest answer, lifetime and trailing-12-month revenue),
--   marts.customer_clv (predictions of the BG/NBD + Gamma-Gamma stage).
-- Settings: $as_of_month (tenure is counted up to it).
-- Definitions: customers with at least one purchase (a cohort). historical_clv_mean = mean
--   lifetime net revenue per customer (the spec's historical CLV, every member in the
--   denominator); net_revenue_12m_mean = mean net revenue of the trailing 12 months;
--   tenure_months_mean = mean months from the cohort month to the month of the as-of
--   date, inclusive (older customers have had longer to spend: compare
--   revenue_per_tenure_month across classes). Predicted: clv_12m_mean = mean predicted
--   CLV of the next 12 months (marts.customer_clv.clv_12m: discounted, a margin when a
--   gross margin rate is set); p_alive_mean = mean P(alive), the share of the class
--   expected to be still buying; both NULL (never 0) when no model parameters exist;
--   is_stale when the parameters are an earlier run's.
with

buyers as (
    select
        customer_id,
        net_revenue,
        net_revenue_12m,
        coalesce(latest_nps_class, 'unsurveyed') as nps_class,
        (year($as_of_month) * 12 + month($as_of_month))
        - (year(cohort_month) * 12 + month(cohort_month))
        + 1 as tenure_months
    from marts.customer_loyalty
    where cohort_month is not null
),

predictions as (
    select
        customer_id,
        clv_12m,
        p_alive,
        is_stale
    from marts.customer_clv
),

final as (
    select
        coalesce(buyers.nps_class, 'all') as nps_class,
        count(*) as customers,
        -- Averaged over decimals (money to 6 places, predictions to 12): their sums are
        -- exact, so the means are the same in any order and on any number of threads.
        avg(cast(buyers.net_revenue as decimal(18, 6))) as historical_clv_mean,
        avg(cast(buyers.net_revenue_12m as decimal(18, 6))) as net_revenue_12m_mean,
        avg(buyers.tenure_months) as tenure_months_mean,
        cast(sum(cast(buyers.net_revenue as decimal(18, 6))) as double)
        / sum(buyers.tenure_months) as revenue_per_tenure_month,
        avg(cast(predictions.clv_12m as decimal(38, 12))) as clv_12m_mean,
        avg(cast(predictions.p_alive as decimal(38, 12))) as p_alive_mean,
        count(*) filter (where predictions.is_stale) > 0 as is_stale
    from buyers
    left join predictions on buyers.customer_id = predictions.customer_id
    group by rollup (buyers.nps_class)
)

select * from final
order by nps_class
