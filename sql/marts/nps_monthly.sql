-- marts.nps_monthly: Net Promoter Score per calendar month, with its sampling error.
--
-- Grain: one row per period_month (month of the response, UTC).
-- Reads: facts.survey_responses (valid responses only: invalid scores were quarantined
--   at extract, never clipped). Unlinked responses count: NPS is about respondents.
-- Settings: $nps_min_sample (groups with fewer responses are flagged is_small_sample);
--   $last_complete_month (later months are still filling up: is_complete_month false).
-- Statistics: each respondent scores +1 (promoter), 0 (passive) or -1 (detractor);
--   with p = P/N and d = D/N the variance is p + d - (p - d)^2 (the multinomial variance,
--   not p(1-p) + d(1-d), which drops the covariance) and se = 100 * sqrt(var / N).
with

responses as (
    select
        response_month,
        nps_class
    from facts.survey_responses
),

class_counts as (
    select
        response_month as period_month,
        count(*) filter (where nps_class = 'promoter') as promoters,
        count(*) filter (where nps_class = 'passive') as passives,
        count(*) filter (where nps_class = 'detractor') as detractors,
        count(*) as responses_n
    from responses
    group by response_month
),

shares as (
    select
        *,
        cast(promoters as double) / responses_n as promoter_share,
        cast(detractors as double) / responses_n as detractor_share
    from class_counts
),

scores as (
    select
        *,
        100 * (promoter_share - detractor_share) as nps,
        100 * sqrt(
            (promoter_share + detractor_share - power(promoter_share - detractor_share, 2))
            / responses_n
        ) as nps_se
    from shares
),

final as (
    select
        period_month,
        promoters,
        passives,
        detractors,
        responses_n,
        nps,
        nps_se,
        1.96 * nps_se as nps_moe_95,
        responses_n < $nps_min_sample as is_small_sample,
        period_month <= $last_complete_month as is_complete_month
    from scores
)

select * from final
order by period_month
