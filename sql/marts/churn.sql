-- marts.churn: non-contractual churn and retention per named inactivity window, for each
--   month, quarter and year, overall and per segment.
--
-- Grain: one row per churn_window, period_grain ('month', 'quarter', 'year'),
--   period_start, segment and segment_value, from the first cohort month to the period of
--   the as-of date.
-- Reads: facts.customer_month (last purchase day per customer and month),
--   intermediate.customer_profiles, intermediate.profile_segments, settings.churn_windows
--   (one row per named window, from the settings; registered by the runner).
-- Settings: $as_of (the standing of the current period is taken at the as-of date, and the
--   period is flagged is_complete_period false).
-- Definitions: a customer (someone with a purchase) is churned at day d under window W
--   when their last purchase on or before d is more than W days before d; exactly W days
--   is not churned. A customer's standing is taken at the end of each month (at the
--   as-of date for the month of the as-of date). For a period:
--   customers_start S  = customers not churned at the end of the month before it;
--   customers_end   E  = customers not churned at its end;
--   new_customers   N  = customers acquired (first purchase) in it and not churned at its
--                        end (acquired and lost within the period counts in neither E nor N);
--   lost_customers     = in S and churned at its end;
--   reactivated_customers = churned at its start, not churned at its end, acquired before;
--   churned_customers  = customers acquired by its end who are churned at its end;
--   so E = S - lost + N + reactivated.
--   churn_rate = lost / S; churn_rate_annualised = 1 - (1 - churn_rate)^(12 / months in
--   the period); retention_rate = (E - N) / S, above 1 when reactivations outnumber
--   losses. Rates are NULL when S = 0.
with

windows as (
    select
        churn_window,
        churn_window_days
    from settings.churn_windows
),

customer_months as (
    select
        customer_id,
        cohort_month,
        period_month,
        last_purchase_on
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

grains as (
    select
        grain.period_grain,
        grain.months_in_period
    from (values ('month', 1), ('quarter', 3), ('year', 12)) as grain (
        period_grain, months_in_period
    )
),

months as (
    select distinct period_month
    from customer_months
),

periods as (
    -- last_month: the period's last observed month (the month of the as-of date at most)
    select
        grains.period_grain,
        grains.months_in_period,
        cast(date_trunc(grains.period_grain, months.period_month) as date) as period_start,
        max(months.period_month) as last_month
    from months
    cross join grains
    group by
        grains.period_grain,
        grains.months_in_period,
        date_trunc(grains.period_grain, months.period_month)
),

period_bounds as (
    -- DuckDB and PostgreSQL accept interval arithmetic on dates; Trino/Spark spell it
    -- date_add('month', n, d) / add_months(d, n).
    select
        *,
        cast(period_start - interval '1' month as date) as month_before,
        cast(period_start + interval '1' month * months_in_period - interval '1' day as date)
            as last_day
    from periods
),

latest_purchases as (
    select
        customer_id,
        cohort_month,
        period_month,
        max(last_purchase_on) over (
            partition by customer_id
            order by period_month
            rows between unbounded preceding and current row
        ) as latest_purchase_on,
        least(cast(period_month + interval '1' month - interval '1' day as date), $as_of)
            as standing_on
    from customer_months
),

window_ranks as (
    -- a window's rank: how many windows are shorter than it
    select
        churn_window,
        churn_window_days,
        rank() over (order by churn_window_days) - 1 as lapse_rank
    from windows
),

lapse_bands as (
    -- The days since a customer's latest purchase fall in one band between consecutive
    -- window lengths: (lapsed_days_above, lapsed_days_up_to], the last band unbounded.
    -- windows_lapsed counts the windows shorter than the band: under a window the
    -- customer is churned exactly when windows_lapsed > its lapse_rank. So one number per
    -- customer and month stands for the standing under every window.
    select
        lapse_rank as windows_lapsed,
        coalesce(lag(churn_window_days) over (order by churn_window_days), -1)
            as lapsed_days_above,
        churn_window_days as lapsed_days_up_to
    from (
        select distinct
            churn_window_days,
            lapse_rank
        from window_ranks
    ) as lengths
    union all
    select
        count(*) as windows_lapsed,
        max(churn_window_days) as lapsed_days_above,
        null as lapsed_days_up_to
    from windows
),

standings as (
    -- DuckDB and PostgreSQL: date - date is a number of days (Trino: date_diff('day', ...))
    select
        latest_purchases.customer_id,
        latest_purchases.cohort_month,
        latest_purchases.period_month,
        lapse_bands.windows_lapsed
    from latest_purchases
    inner join lapse_bands
        on
            latest_purchases.standing_on - latest_purchases.latest_purchase_on
            > lapse_bands.lapsed_days_above
            and (
                lapse_bands.lapsed_days_up_to is null
                or latest_purchases.standing_on - latest_purchases.latest_purchase_on
                <= lapse_bands.lapsed_days_up_to
            )
),

customer_periods as (
    -- one row per period and customer acquired by the period's last month; NULL
    -- lapsed_at_start: not acquired by the month before the period
    select
        at_end.customer_id,
        period_bounds.period_grain,
        period_bounds.period_start,
        at_end.windows_lapsed as lapsed_at_end,
        at_start.windows_lapsed as lapsed_at_start,
        at_end.cohort_month >= period_bounds.period_start as is_acquired_in_period
    from standings as at_end
    inner join period_bounds
        on at_end.period_month = period_bounds.last_month
    left join standings as at_start
        on
            at_end.customer_id = at_start.customer_id
            and period_bounds.month_before = at_start.period_month
),

lapse_cells as (
    -- Counted per profile and standing first (a few thousand cells a period), then the
    -- cells, not the customers, are judged under each window and fanned out to segments.
    select
        customer_periods.period_grain,
        customer_periods.period_start,
        customer_profiles.profile_id,
        customer_periods.lapsed_at_start,
        customer_periods.lapsed_at_end,
        customer_periods.is_acquired_in_period,
        count(*) as customers
    from customer_periods
    inner join customer_profiles
        on customer_periods.customer_id = customer_profiles.customer_id
    group by
        customer_periods.period_grain,
        customer_periods.period_start,
        customer_profiles.profile_id,
        customer_periods.lapsed_at_start,
        customer_periods.lapsed_at_end,
        customer_periods.is_acquired_in_period
),

window_cells as (
    select
        window_ranks.churn_window,
        lapse_cells.period_grain,
        lapse_cells.period_start,
        lapse_cells.profile_id,
        lapse_cells.customers,
        lapse_cells.is_acquired_in_period,
        coalesce(lapse_cells.lapsed_at_start <= window_ranks.lapse_rank, false)
            as was_customer_at_start,
        lapse_cells.lapsed_at_end <= window_ranks.lapse_rank as is_customer_at_end
    from lapse_cells
    cross join window_ranks
),

profile_cells as (
    select
        churn_window,
        period_grain,
        period_start,
        profile_id,
        sum(case when was_customer_at_start then customers else 0 end) as customers_start,
        sum(case when is_customer_at_end then customers else 0 end) as customers_end,
        sum(case when is_customer_at_end and is_acquired_in_period then customers else 0 end)
            as new_customers,
        sum(case when was_customer_at_start and not is_customer_at_end then customers else 0 end)
            as lost_customers,
        sum(
            case
                when
                    is_customer_at_end
                    and not was_customer_at_start
                    and not is_acquired_in_period
                    then customers
                else 0
            end
        ) as reactivated_customers,
        sum(case when not is_customer_at_end then customers else 0 end) as churned_customers
    from window_cells
    group by
        churn_window,
        period_grain,
        period_start,
        profile_id
),

grouped as (
    -- DuckDB sums bigints to hugeint, which BI drivers and Parquet readers handle badly
    select
        profile_cells.churn_window,
        profile_cells.period_grain,
        profile_cells.period_start,
        profile_segments.segment,
        profile_segments.segment_value,
        cast(sum(profile_cells.customers_start) as bigint) as customers_start,
        cast(sum(profile_cells.customers_end) as bigint) as customers_end,
        cast(sum(profile_cells.new_customers) as bigint) as new_customers,
        cast(sum(profile_cells.lost_customers) as bigint) as lost_customers,
        cast(sum(profile_cells.reactivated_customers) as bigint) as reactivated_customers,
        cast(sum(profile_cells.churned_customers) as bigint) as churned_customers
    from profile_cells
    inner join profile_segments on profile_cells.profile_id = profile_segments.profile_id
    group by
        profile_cells.churn_window,
        profile_cells.period_grain,
        profile_cells.period_start,
        profile_segments.segment,
        profile_segments.segment_value
),

rates as (
    select
        grouped.*,
        windows.churn_window_days,
        period_bounds.months_in_period,
        least(period_bounds.last_day, $as_of) as period_end,
        period_bounds.last_day <= $as_of as is_complete_period,
        cast(grouped.lost_customers as double) / nullif(grouped.customers_start, 0)
            as churn_rate,
        cast(grouped.customers_end - grouped.new_customers as double)
        / nullif(grouped.customers_start, 0) as retention_rate
    from grouped
    inner join windows
        on grouped.churn_window = windows.churn_window
    inner join period_bounds
        on
            grouped.period_grain = period_bounds.period_grain
            and grouped.period_start = period_bounds.period_start
),

final as (
    select
        churn_window,
        churn_window_days,
        period_grain,
        period_start,
        period_end,
        segment,
        segment_value,
        customers_start,
        customers_end,
        new_customers,
        lost_customers,
        reactivated_customers,
        churned_customers,
        churn_rate,
        retention_rate,
        is_complete_period,
        1 - power(1 - churn_rate, 12.0 / months_in_period) as churn_rate_annualised
    from rates
)

select * from final
order by churn_window_days, period_grain, period_start, segment, segment_value
