-- intermediate.responses_segmented: every valid survey response with its customer's
-- segment attributes as text, ready for `group by grouping sets`. Not published.
--
-- Grain: one row per response_id.
-- Reads: facts.survey_responses (valid responses only: invalid scores were quarantined at
--   extract), facts.customers (segment attributes as of the as-of date).
-- Definitions: a response with no known customer keeps every customer attribute as
--   'unmatched', so it still counts in each segment's total; a linked customer who never
--   bought has cohort_month 'no purchase'. nps_code is +1 for a promoter, 0 for a passive,
--   -1 for a detractor: NPS = 100 * mean(nps_code), and the population variance of the code
--   is the multinomial variance p + d - (p - d)^2.
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

customers as (
    select
        customer_id,
        country,
        acquisition_channel,
        age_band,
        is_loyalty_member,
        enrolled_at,
        programme_arm,
        cohort_month
    from facts.customers
),

final as (
    select
        responses.response_id,
        responses.customer_id,
        responses.is_linked,
        responses.submitted_at,
        responses.response_month,
        responses.wave,
        responses.language,
        responses.nps_score,
        responses.nps_class,
        responses.satisfaction,
        responses.driver_quality,
        responses.driver_price,
        responses.driver_service,
        responses.driver_assortment,
        responses.driver_delivery,
        responses.comment,
        customers.enrolled_at,
        case responses.nps_class
            when 'promoter' then 1
            when 'detractor' then -1
            else 0
        end as nps_code,
        coalesce(customers.country, 'unmatched') as country,
        coalesce(customers.acquisition_channel, 'unmatched') as acquisition_channel,
        coalesce(customers.age_band, 'unmatched') as age_band,
        coalesce(cast(customers.is_loyalty_member as varchar), 'unmatched') as is_loyalty_member,
        coalesce(customers.programme_arm, 'unmatched') as programme_arm,
        case
            when customers.customer_id is null then 'unmatched'
            when customers.cohort_month is null then 'no purchase'
            else cast(customers.cohort_month as varchar)
        end as cohort_month
    from responses
    left join customers on responses.customer_id = customers.customer_id
)

select * from final
