-- marts.key_drivers: which driver ratings move the NPS score, per period and segment.
--
-- Grain: one row per period_grain, period, segment, segment_value and driver (a driver
--   appears where at least one response rated it).
-- Reads: intermediate.survey_responses, intermediate.response_segments,
--   intermediate.response_periods.
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

segments as (
    select * from intermediate.response_segments
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

-- One row per response and driver it rated (the survey's driver columns, unpivoted).
ratings as (
    select
        response_id,
        'quality' as driver,
        driver_quality as rating
    from responses
    where driver_quality is not null
    union all
    select
        response_id,
        'price' as driver,
        driver_price as rating
    from responses
    where driver_price is not null
    union all
    select
        response_id,
        'service' as driver,
        driver_service as rating
    from responses
    where driver_service is not null
    union all
    select
        response_id,
        'assortment' as driver,
        driver_assortment as rating
    from responses
    where driver_assortment is not null
    union all
    select
        response_id,
        'delivery' as driver,
        driver_delivery as rating
    from responses
    where driver_delivery is not null
),

rated as (
    select
        periods.period_grain,
        periods.period,
        periods.period_start,
        periods.is_complete_period,
        segments.segment,
        segments.segment_value,
        ratings.driver,
        ratings.rating,
        responses.nps_score
    from ratings
    inner join responses on ratings.response_id = responses.response_id
    inner join periods on ratings.response_id = periods.response_id
    inner join segments on ratings.response_id = segments.response_id
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
        count(*) as ratings_n,
        avg(rating) as rating_mean,
        case
            when var_samp(rating) > 0 and var_samp(nps_score) > 0 then corr(rating, nps_score)
        end as nps_correlation
    from rated
    group by
        period_grain,
        period,
        period_start,
        is_complete_period,
        segment,
        segment_value,
        driver
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

importances as (
    select
        *,
        explained_share / nullif(
            sum(explained_share) over (
                partition by period_grain, period, segment, segment_value
            ),
            0
        ) as importance,
        avg(performance) over (
            partition by period_grain, period, segment, segment_value
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
