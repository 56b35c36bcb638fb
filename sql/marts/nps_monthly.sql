-- marts.nps_monthly: the headline Net Promoter Score per calendar month, with its sampling
-- error: the overall row of marts.survey_scores_by_period, kept as the simple view that BI
-- dashboards and `loyalty demo` read.
--
-- Grain: one row per period_month (month of the response, UTC).
-- Reads: marts.survey_scores_by_period (month grain, segment 'all'), where the counts, the
--   multinomial standard error and the small-sample flag are defined.
-- Unlinked responses count: NPS is about respondents, known to the CRM or not.
with

final as (
    select
        period_start as period_month,
        promoters,
        passives,
        detractors,
        responses_n,
        nps,
        nps_se,
        nps_moe_95,
        is_small_sample,
        is_complete_period as is_complete_month
    from marts.survey_scores_by_period
    where period_grain = 'month' and segment = 'all'
)

select * from final
order by period_month
