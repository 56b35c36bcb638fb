-- marts.key_drivers: which driver ratings move the NPS score, per period and segment.
--
-- Grain: one row per period_grain, period, segment, segment_value and driver (a driver
--   appears where at least one response rated it).
-- Reads: intermediate.survey_responses, intermediate.response_keys,
--   intermediate.response_key_segments, intermediate.response_periods.
-- Settings: $csi_weight_<driver> (the driver's weight in the CSI, carried here so the CSI
--   of marts.survey_scores_by_period is the weighted mean of these performances).
-- Definitions: performance = mean rating (1-5) rescaled to 0-100 as 25 * (mean - 1);
--   nps_correlation = Pearson correlation of the rating with the 0-10 NPS score over the
--   responses that rated the driver (NULL when either does not vary); importance = the
--   squared positive correlation, normalised to sum to 1 over the group's drivers (a
--   driver that correlates negatively gets 0). Quadrant (importance-performance analysis):
--   importance at or above the group's mean importance and performance at or above the
--   group's mean performance: 'keep up'; high importance, low performance: 'concentrate
--   here'; low importance, high performance: 'possible overkill'; else 'low priority'.
with

responses as (
    select
        response_id,
        nps_score,
        driver_quality,
        driver_price,
        driver_service,
        driver_assortment,
        driver_delivery
    from intermediate.survey_responses
),

response_keys as (
    select * from intermediate.response_keys
),

key_segments as (
    select * from intermediate.response_key_segments
),

periods as (
    select
        response_id,
        period_grain,
        period,
        period_start,
        is_complete_period
    from intermediate.response_periods
),

csi_weights as (
    select
        'quality' as driver,
        $csi_weight_quality as csi_weight
    union all
    select
        'price' as driver,
        $csi_weight_price as csi_weight
    union all
    select
        'service' as driver,
        $csi_weight_service as csi_weight
    union all
    select
        'assortment' as driver,
        $csi_weight_assortment as csi_weight
    union all
    select
        'delivery' as driver,
        $csi_weight_delivery as csi_weight
),

-- The responses in each period, with their keys (intermediate.response_keys), NPS score
-- and driver columns.
rated as (
    select
        periods.period_grain,
        periods.period,
        periods.period_start,
        periods.is_complete_period,
        response_keys.key_family,
        response_keys.response_key,
        responses.nps_score,
        responses.driver_quality,
        responses.driver_price,
        responses.driver_service,
        responses.driver_assortment,
        responses.driver_delivery
    from responses
    inner join periods on responses.response_id = periods.response_id
    inner join response_keys on responses.response_id = response_keys.response_id
),

-- Aggregate early: one row per period and key carrying, for every driver column, the
-- sufficient statistics of (rating x, NPS score y) over the responses that rated it: n,
-- sum x, sum y, sum x^2, sum y^2, sum xy (integers: facts hold ratings and scores as
-- such). Added up per segment below; mean, variance and Pearson correlation follow from
-- them exactly. The alternative, one row per response and driver before the join, fans
-- 1.7 million responses out to 204 million rows on the benchmark's M workload
-- (docs/performance.md). Integer sums also make the figures independent of the order a
-- parallel aggregation adds them in.
-- DuckDB-only, here and in the unpivot below: COLUMNS('^driver_') repeats the struct of
-- sums for every driver column, named as the column (\0). Another engine spells out the
-- six sums per driver and unpivots with one `union all` branch per driver.
sufficient_statistics as (
    select
        period_grain,
        period,
        period_start,
        is_complete_period,
        key_family,
        response_key,
        {
            'n': count(columns('^driver_')),
            'sum_x': sum(columns('^driver_')),
            'sum_y': sum(case when columns('^driver_') is not null then nps_score end),
            'sum_xx': sum(columns('^driver_') * columns('^driver_')),
            'sum_yy': sum(
                case when columns('^driver_') is not null then nps_score * nps_score end
            ),
            'sum_xy': sum(columns('^driver_') * nps_score)
        } as '\0'
    from rated
    group by
        period_grain,
        period,
        period_start,
        is_complete_period,
        key_family,
        response_key
),

-- Long again: one row per period, key and driver column.
statistics_by_key as (
    unpivot sufficient_statistics
    on columns('^driver_')
    into name rated_column value sums
),

-- Per segment: the keys' sums added up (intermediate.response_key_segments).
statistics as (
    select
        statistics_by_key.period_grain,
        statistics_by_key.period,
        statistics_by_key.period_start,
        statistics_by_key.is_complete_period,
        key_segments.segment,
        key_segments.segment_value,
        statistics_by_key.rated_column,
        cast(sum(statistics_by_key.sums.n) as bigint) as n,
        sum(statistics_by_key.sums.sum_x) as sum_x,
        sum(statistics_by_key.sums.sum_y) as sum_y,
        sum(statistics_by_key.sums.sum_xx) as sum_xx,
        sum(statistics_by_key.sums.sum_yy) as sum_yy,
        sum(statistics_by_key.sums.sum_xy) as sum_xy
    from statistics_by_key
    inner join key_segments
        on
            statistics_by_key.key_family = key_segments.key_family
            and statistics_by_key.response_key = key_segments.response_key
    group by
        statistics_by_key.period_grain,
        statistics_by_key.period,
        statistics_by_key.period_start,
        statistics_by_key.is_complete_period,
        key_segments.segment,
        key_segments.segment_value,
        statistics_by_key.rated_column
),

-- n times the (co)variances' numerators: n sum x^2 - (sum x)^2 is n (n - 1) var_samp(x),
-- exact in integers, so "does not vary" is an exact test.
deviations as (
    select
        statistics.period_grain,
        statistics.period,
        statistics.period_start,
        statistics.is_complete_period,
        statistics.segment,
        statistics.segment_value,
        statistics.n,
        statistics.sum_x,
        replace(statistics.rated_column, 'driver_', '') as driver,
        statistics.n * statistics.sum_xx - statistics.sum_x * statistics.sum_x
            as n_ss_x,
        statistics.n * statistics.sum_yy - statistics.sum_y * statistics.sum_y
            as n_ss_y,
        statistics.n * statistics.sum_xy - statistics.sum_x * statistics.sum_y
            as n_sp_xy
    from statistics
    where statistics.n > 0
),

by_segment as (
    select
        period_grain,
        period,
        period_start,
        is_complete_period,
        segment,
        segment_value,
        driver,
        n as ratings_n,
        sum_x / n as rating_mean,
        case
            when n_ss_x > 0 and n_ss_y > 0
                then n_sp_xy / sqrt(cast(n_ss_x as double) * cast(n_ss_y as double))
        end as nps_correlation
    from deviations
),

explained as (
    select
        *,
        25 * (rating_mean - 1) as performance,
        case
            when nps_correlation > 0 then nps_correlation * nps_correlation
            when nps_correlation <= 0 then 0.0
        end as explained_share
    from by_segment
),

-- Each window adds its group's doubles in the order of the drivers: the same order on any
-- number of threads, so the same sums.
importances as (
    select
        *,
        explained_share / nullif(
            sum(explained_share) over (
                partition by period_grain, period, segment, segment_value
                order by driver rows between unbounded preceding and unbounded following
            ),
            0
        ) as importance,
        avg(performance) over (
            partition by period_grain, period, segment, segment_value
            order by driver rows between unbounded preceding and unbounded following
        ) as performance_group_mean
    from explained
),

-- A driver is at or above a group mean to within 1e-9: a mean of doubles summed in another
-- order (parallel aggregation) differs in the last bits, and a driver that ties the mean
-- must not change quadrant from one run to the next.
positioned as (
    select
        *,
        importance >= avg(importance) over (
            partition by period_grain, period, segment, segment_value
            order by driver rows between unbounded preceding and unbounded following
        ) - 1e-9 as is_important,
        performance >= performance_group_mean - 1e-9 as is_performing
    from importances
),

final as (
    select
        positioned.period_grain,
        positioned.period,
        positioned.period_start,
        positioned.segment,
        positioned.segment_value,
        positioned.driver,
        positioned.ratings_n,
        positioned.rating_mean,
        positioned.performance,
        positioned.nps_correlation,
        positioned.importance,
        csi_weights.csi_weight,
        positioned.is_complete_period,
        case
            when positioned.importance is null then null
            when positioned.is_important and positioned.is_performing then 'keep up'
            when positioned.is_important then 'concentrate here'
            when positioned.is_performing then 'possible overkill'
            else 'low priority'
        end as quadrant
    from positioned
    inner join csi_weights on positioned.driver = csi_weights.driver
)

select * from final
order by period_grain, period_start, period, segment, segment_value, driver
