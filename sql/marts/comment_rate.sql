-- marts.comment_rate: how often respondents leave a comment, by NPS class and language.
--
-- Grain: one row per period_grain, period, language and nps_class, where language and
--   nps_class include 'all' (the total over that dimension).
-- Reads: intermediate.survey_responses, intermediate.response_periods.
-- Definitions: a response has a comment when its comment holds anything but spaces;
--   comment_rate = responses with a comment / responses.
with

responses as (
    select
        response_id,
        language,
        nps_class,
        coalesce(trim(comment) <> '', false) as has_comment
    from intermediate.survey_responses
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

counted as (
    select
        periods.period_grain,
        periods.period,
        periods.period_start,
        periods.is_complete_period,
        coalesce(responses.language, 'all') as language,  -- noqa: RF04
        coalesce(responses.nps_class, 'all') as nps_class,
        count(*) as responses_n,
        count(*) filter (where responses.has_comment) as comments_n
    from responses
    inner join periods on responses.response_id = periods.response_id
    group by
        periods.period_grain,
        periods.period,
        periods.period_start,
        periods.is_complete_period,
        grouping sets (
            (),
            (responses.language),
            (responses.nps_class),
            (responses.language, responses.nps_class)
        )
),

final as (
    select
        period_grain,
        period,
        period_start,
        language,
        nps_class,
        responses_n,
        comments_n,
        is_complete_period,
        cast(comments_n as double) / responses_n as comment_rate
    from counted
)

select * from final
order by period_grain, period_start, period, language, nps_class
