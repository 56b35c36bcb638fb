-- intermediate.survey_responses: every valid survey response with its NPS code, the input of
-- the survey marts. Not published.
--
-- Grain: one row per response_id.
-- Reads: facts.survey_responses (valid responses only: invalid scores were quarantined at
--   extract).
-- Definitions: nps_code is +1 for a promoter, 0 for a passive, -1 for a detractor:
--   NPS = 100 * mean(nps_code), and the population variance of the code is the
--   multinomial variance p + d - (p - d)^2. Segments: intermediate.response_keys.
with

responses as (
    select
        response_id,
        customer_id,
        is_linked,
        submitted_at,
        response_month,
        wave,
        language,
        nps_score,
        nps_class,
        satisfaction,
        driver_quality,
        driver_price,
        driver_service,
        driver_assortment,
        driver_delivery,
        comment
    from facts.survey_responses
),

final as (
    select
        *,
        case nps_class
            when 'promoter' then 1
            when 'detractor' then -1
            else 0
        end as nps_code
    from responses
)

select * from final
