-- marts.clv_by_nps_class: what customers of each attitude are worth, as of the as-of date.
--
-- Grain: one row per latest NPS class ('promoter', 'passive', 'detractor', 'unsurveyed'
--   for buyers who never answered, 'all').
-- Reads: marts.customer_loyalty (latest answer, lifetime and trailing-12-month revenue).
-- Settings: $as_of_month (tenure is counted up to it).
-- Definitions: customers with at least one purchase (a cohort). clv_historical_mean = mean
--   lifetime net revenue per customer (the spec's historical CLV, every member in the
--   denominator); net_revenue_12m_mean = mean net revenue of the trailing 12 months;
--   tenure_months_mean = mean months from the cohort month to the month of the as-of
--   date, inclusive (older customers have had longer to spend: compare
--   revenue_per_tenure_month across classes). Predicted CLV by class is not here yet: it
--   joins the predictive CLV of the BG/NBD + Gamma-Gamma stage once that exists.
with

buyers as (
    select
        net_revenue,
        net_revenue_12m,
        coalesce(latest_nps_class, 'unsurveyed') as nps_class,
        (year($as_of_month) * 12 + month($as_of_month))
        - (year(cohort_month) * 12 + month(cohort_month))
        + 1 as tenure_months
    from marts.customer_loyalty
    where cohort_month is not null
),

final as (
    select
        coalesce(nps_class, 'all') as nps_class,
        count(*) as customers,
        avg(net_revenue) as clv_historical_mean,
        avg(net_revenue_12m) as net_revenue_12m_mean,
        avg(tenure_months) as tenure_months_mean,
        sum(net_revenue) / sum(tenure_months) as revenue_per_tenure_month
    from buyers
    group by rollup (nps_class)
)

select * from final
order by nps_class
