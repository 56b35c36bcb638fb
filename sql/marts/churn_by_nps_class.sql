-- marts.churn_by_nps_class: do detractors churn more? Respondents of a month, by NPS class,
-- and how many of them had churned some months later.
--
-- Grain: one row per period_grain, period and nps_class ('promoter', 'passive',
--   'detractor', 'all'); period_grain 'month' is the response month, 'all' pools every
--   month whose outcome is observable.
-- Reads: facts.customer_month (respondents with a purchase history and their latest answer
--   of the month), facts.orders (purchases).
-- Settings: $nps_churn_horizon_months (h: the churn state is read at the end of month
--   m + h, default 6); $nps_churn_window_days (W: the days of the churn window named by
--   LOYALTY_NPS_CHURN_WINDOW, one of the churn windows of marts.churn, default '90d');
--   $last_complete_month (the end of month m + h must be observed, else the month's churn
--   columns are NULL).
-- Definitions: a respondent of month m is a customer with a purchase history (a cohort)
--   whose latest answer in m has this class. Churned on evaluated_on, the last day of
--   month m + h, as marts.churn defines it: their last purchase day on or before it is more
--   than W days earlier (UTC days; exactly W days is not churned).
--   churn_lift_vs_promoters = churn rate of the class / churn rate of promoters of the
--   same period; its 95% interval from the log risk ratio (se = sqrt(1/a - 1/n1 + 1/c -
--   1/n2)); p-value from the two-proportion z-test with the pooled proportion.
with

respondents as (
    select
        customer_id,
        period_month as response_month,
        nps_class_latest as nps_class,
        cast(
            period_month
            + interval '1' month * ($nps_churn_horizon_months + 1)
            - interval '1' day as date
        ) as evaluated_on,
        cast(period_month + interval '1' month * $nps_churn_horizon_months as date)
        <= $last_complete_month as is_observable
    from facts.customer_month
    where nps_class_latest is not null
),

purchases as (
    select
        customer_id,
        ordered_on
    from facts.orders
    where is_purchase
),

-- Each respondent's last purchase on or before evaluated_on. DuckDB-only: an ASOF join
-- takes the one latest match per respondent (a sort of each side) where the standard
-- form, a join on ordered_on <= evaluated_on then max(), pairs every respondent-month with
-- every earlier purchase of the customer (69 million rows on the benchmark's M).
last_purchases as (
    select
        respondents.customer_id,
        respondents.response_month,
        purchases.ordered_on as last_purchase_on
    from respondents
    asof inner join purchases
        on
            respondents.customer_id = purchases.customer_id
            and respondents.evaluated_on >= purchases.ordered_on
),

states as (
    -- DuckDB and PostgreSQL: date - date is a number of days (Trino: date_diff('day', ...))
    select
        respondents.response_month,
        respondents.nps_class,
        respondents.is_observable,
        respondents.evaluated_on - last_purchases.last_purchase_on
        > $nps_churn_window_days as is_churned
    from respondents
    inner join last_purchases
        on
            respondents.customer_id = last_purchases.customer_id
            and respondents.response_month = last_purchases.response_month
),

monthly as (
    select
        response_month as period_start,
        'month' as period_grain,
        substr(cast(response_month as varchar), 1, 7) as period,
        coalesce(nps_class, 'all') as nps_class,
        bool_and(is_observable) as is_observable,
        count(*) as respondents,
        count(*) filter (where is_churned) as churned
    from states
    group by response_month, rollup (nps_class)
),

pooled as (
    select
        'all' as period_grain,
        'all' as period,
        cast(null as date) as period_start,
        coalesce(nps_class, 'all') as nps_class,
        true as is_observable,
        count(*) as respondents,
        count(*) filter (where is_churned) as churned
    from states
    where is_observable
    group by rollup (nps_class)
),

counted as (
    select
        period_grain,
        period,
        period_start,
        nps_class,
        is_observable,
        respondents,
        case when is_observable then churned end as churned
    from monthly
    union all
    select * from pooled
),

compared as (
    select
        by_class.*,
        promoter.churned as promoter_churned,
        promoter.respondents as promoter_respondents,
        cast(by_class.churned as double) / by_class.respondents as churn_rate,
        cast(promoter.churned as double) / promoter.respondents as promoter_churn_rate
    from counted as by_class
    left join counted as promoter
        on
            by_class.period_grain = promoter.period_grain
            and by_class.period = promoter.period
            and promoter.nps_class = 'promoter'
),

tested as (
    select
        *,
        churn_rate / nullif(promoter_churn_rate, 0) as churn_lift_vs_promoters,
        sqrt(
            1.0 / nullif(churned, 0) - 1.0 / respondents
            + 1.0 / nullif(promoter_churned, 0) - 1.0 / promoter_respondents
        ) as log_lift_se,
        cast(churned + promoter_churned as double)
        / (respondents + promoter_respondents) as pooled_churn_rate
    from compared
),

final as (
    select
        period_grain,
        period,
        period_start,
        nps_class,
        respondents,
        churned,
        churn_rate,
        promoter_churn_rate,
        churn_lift_vs_promoters,
        is_observable,
        cast(
            period_start + interval '1' month * ($nps_churn_horizon_months + 1)
            - interval '1' day as date
        ) as evaluated_on,
        churn_lift_vs_promoters * exp(-1.96 * log_lift_se) as churn_lift_ci_low,
        churn_lift_vs_promoters * exp(1.96 * log_lift_se) as churn_lift_ci_high,
        -- 2 * P(Z < -|z|) rather than 2 * (1 - P(Z < |z|)): exact far in the tail.
        2 * normal_cdf(
            0,
            1,
            -abs(churn_rate - promoter_churn_rate)
            / nullif(
                sqrt(
                    pooled_churn_rate
                    * (1 - pooled_churn_rate)
                    * (1.0 / respondents + 1.0 / promoter_respondents)
                ),
                0
            )
        ) as churn_p_value
    from tested
)

select * from final
order by period_grain, period_start, period, nps_class
