-- marts.survey_scores_by_period: NPS, CSAT and CSI per period and segment, with the NPS
-- sampling error and the change against the period before.
--
-- Grain: one row per period_grain ('month', 'quarter', 'wave'), period, segment and
--   segment_value (segments: all, country, acquisition_channel, age_band,
--   is_loyalty_member, programme_arm, language, cohort_month; a response with no known
--   customer is segment_value 'unmatched' in the customer segments).
-- Reads: intermediate.survey_responses, intermediate.response_keys,
--   intermediate.response_key_segments, intermediate.response_periods, marts.key_drivers
--   (driver performances, for the CSI).
-- Settings: $nps_min_sample (smaller groups are flagged and get no nps_headline).
-- Statistics: with each response coded +1/0/-1, NPS = 100 * mean(code) and
--   se = 100 * sqrt(var / N), var = p + d - (p - d)^2 (the multinomial variance, computed
--   as the population variance of the code); change test against the previous period of the
--   same segment: z = (NPS - NPS_prev) / sqrt(se^2 + se_prev^2), two-sided normal p-value.
--   CSAT: share of satisfaction answers of 4 or 5 on the 1-5 scale, and their mean.
--   CSI: weighted mean of the driver performances (0-100) of marts.key_drivers.
with

responses as (
    select
        response_id,
        nps_score,
        nps_class,
        nps_code,
        satisfaction
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
        previous_period,
        is_complete_period
    from intermediate.response_periods
),

drivers as (
    select
        period_grain,
        period,
        segment,
        segment_value,
        csi_weight,
        performance
    from marts.key_drivers
),

csi as (
    select
        period_grain,
        period,
        segment,
        segment_value,
        sum(csi_weight * performance) / nullif(sum(csi_weight), 0) as csi
    from drivers
    group by period_grain, period, segment, segment_value
),

-- Integer sums per period and key (see intermediate.response_keys), then per segment: the
-- same sums whichever way the rows are grouped, so the same figures on any number of threads.
by_key as (
    select
        periods.period_grain,
        periods.period,
        periods.period_start,
        periods.previous_period,
        periods.is_complete_period,
        response_keys.key_family,
        response_keys.response_key,
        count(*) filter (where responses.nps_class = 'promoter') as promoters,
        count(*) filter (where responses.nps_class = 'passive') as passives,
        count(*) filter (where responses.nps_class = 'detractor') as detractors,
        count(*) as responses_n,
        sum(responses.nps_code) as nps_code_sum,
        sum(responses.nps_code * responses.nps_code) as nps_code_square_sum,
        sum(responses.nps_score) as nps_score_sum,
        count(responses.satisfaction) as satisfaction_n,
        count(*) filter (where responses.satisfaction >= 4) as satisfaction_top2_n,
        sum(responses.satisfaction) as satisfaction_sum
    from responses
    inner join periods on responses.response_id = periods.response_id
    inner join response_keys on responses.response_id = response_keys.response_id
    group by
        periods.period_grain,
        periods.period,
        periods.period_start,
        periods.previous_period,
        periods.is_complete_period,
        response_keys.key_family,
        response_keys.response_key
),

segment_sums as (
    select
        by_key.period_grain,
        by_key.period,
        by_key.period_start,
        by_key.previous_period,
        by_key.is_complete_period,
        key_segments.segment,
        key_segments.segment_value,
        cast(sum(by_key.promoters) as bigint) as promoters,
        cast(sum(by_key.passives) as bigint) as passives,
        cast(sum(by_key.detractors) as bigint) as detractors,
        cast(sum(by_key.responses_n) as bigint) as responses_n,
        cast(sum(by_key.nps_code_sum) as double) as nps_code_sum,
        cast(sum(by_key.nps_code_square_sum) as double) as nps_code_square_sum,
        cast(sum(by_key.nps_score_sum) as double) as nps_score_sum,
        cast(sum(by_key.satisfaction_n) as bigint) as satisfaction_n,
        cast(sum(by_key.satisfaction_top2_n) as bigint) as satisfaction_top2_n,
        cast(sum(by_key.satisfaction_sum) as double) as satisfaction_sum
    from by_key
    inner join key_segments
        on
            by_key.key_family = key_segments.key_family
            and by_key.response_key = key_segments.response_key
    group by
        by_key.period_grain,
        by_key.period,
        by_key.period_start,
        by_key.previous_period,
        by_key.is_complete_period,
        key_segments.segment,
        key_segments.segment_value
),

-- The population variance of the code from its sums (stddev_pop would add doubles in the
-- order a parallel aggregation meets the rows).
by_segment as (
    select
        period_grain,
        period,
        period_start,
        previous_period,
        is_complete_period,
        segment,
        segment_value,
        promoters,
        passives,
        detractors,
        responses_n,
        satisfaction_n,
        100 * (nps_code_sum / responses_n) as nps,
        100 * sqrt(
            nps_code_square_sum / responses_n - power(nps_code_sum / responses_n, 2)
        ) / sqrt(responses_n) as nps_se,
        nps_score_sum / responses_n as nps_score_mean,
        cast(satisfaction_top2_n as double) / nullif(satisfaction_n, 0) as csat_top2_share,
        satisfaction_sum / nullif(satisfaction_n, 0) as satisfaction_mean
    from segment_sums
),

changes as (
    select
        current_period.*,
        previous.nps as previous_nps,
        previous.responses_n as previous_responses_n,
        current_period.nps - previous.nps as nps_change,
        (current_period.nps - previous.nps)
        / nullif(sqrt(power(current_period.nps_se, 2) + power(previous.nps_se, 2)), 0)
            as nps_change_z
    from by_segment as current_period
    left join by_segment as previous
        on
            current_period.period_grain = previous.period_grain
            and current_period.previous_period = previous.period
            and current_period.segment = previous.segment
            and current_period.segment_value = previous.segment_value
),

final as (
    select
        changes.period_grain,
        changes.period,
        changes.period_start,
        changes.segment,
        changes.segment_value,
        changes.promoters,
        changes.passives,
        changes.detractors,
        changes.responses_n,
        changes.nps,
        changes.nps_se,
        changes.nps_score_mean,
        changes.previous_period,
        changes.previous_nps,
        changes.nps_change,
        changes.nps_change_z,
        changes.satisfaction_n,
        changes.csat_top2_share,
        changes.satisfaction_mean,
        csi.csi,
        changes.is_complete_period,
        1.96 * changes.nps_se as nps_moe_95,
        changes.responses_n < $nps_min_sample as is_small_sample,
        case when changes.responses_n >= $nps_min_sample then changes.nps end as nps_headline,
        2 * normal_cdf(0, 1, -abs(changes.nps_change_z)) as nps_change_p_value
    from changes
    left join csi
        on
            changes.period_grain = csi.period_grain
            and changes.period = csi.period
            and changes.segment = csi.segment
            and changes.segment_value = csi.segment_value
)

select * from final
order by period_grain, period_start, period, segment, segment_value
