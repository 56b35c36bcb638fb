-- marts.survey_linkage: the health of the link between survey answers and customers.
--
-- Grain: one row per response month and language ('all' for every language).
-- Reads: intermediate.survey_responses, facts.customer_month.
-- Settings: $last_complete_month (later months are still filling up).
-- Definitions: linked = matched to a customer the CRM knows (by customer id, else by the
--   pseudonymous e-mail held by exactly one customer); unmatched responses still count in
--   every NPS. language_share = responses of the language / responses of the month.
--   response_rate_active = customers active in the month (a purchase in it) who answered
--   in it / active customers of the month; a rate over customers, so only on 'all' rows.
with

responses as (
    select
        response_id,
        customer_id,
        is_linked,
        response_month,
        language
    from intermediate.survey_responses
),

customer_months as (
    select
        customer_id,
        period_month,
        is_active,
        responses
    from facts.customer_month
),

activity as (
    select
        period_month,
        count(*) filter (where is_active) as active_customers,
        count(*) filter (where is_active and responses > 0) as active_respondents
    from customer_months
    group by period_month
),

by_language as (
    select
        response_month,
        coalesce(language, 'all') as language,  -- noqa: RF04
        count(*) as responses_n,
        count(*) filter (where is_linked) as linked_responses,
        count(*) filter (where not is_linked) as unmatched_responses
    from responses
    group by response_month, grouping sets ((), (language))
),

final as (
    select
        by_language.response_month,
        by_language.language,
        by_language.responses_n,
        by_language.linked_responses,
        by_language.unmatched_responses,
        cast(by_language.linked_responses as double) / by_language.responses_n
            as linked_share,
        cast(by_language.responses_n as double)
        / sum(case when by_language.language = 'all' then by_language.responses_n end) over (
            partition by by_language.response_month
        ) as language_share,
        case when by_language.language = 'all' then activity.active_customers end
            as active_customers,
        case when by_language.language = 'all' then activity.active_respondents end
            as active_respondents,
        case
            when by_language.language = 'all'
                then
                    cast(activity.active_respondents as double)
                    / nullif(activity.active_customers, 0)
        end as response_rate_active,
        by_language.response_month <= $last_complete_month as is_complete_month
    from by_language
    left join activity on by_language.response_month = activity.period_month
)

select * from final
order by response_month, language
