-- intermediate.response_segments: the segment values of every valid survey response, long,
--   so that a survey mart covers every segment by joining this table and grouping by
--   (segment, segment_value). Not published.
--
-- Grain: one row per response_id and segment: 'all' (segment_value 'all'); each segment of
--   intermediate.survey_customer_segments but 'all', with the value of the response's
--   customer, or 'unmatched' for a response whose customer the CRM does not know (it still
--   counts in every segment's total); and 'language', an attribute of the response.
-- Reads: facts.survey_responses, intermediate.survey_customer_segments.
with

responses as (
    select
        response_id,
        customer_id,
        language
    from facts.survey_responses
),

customer_segments as (
    select
        customer_id,
        segment,
        segment_value
    from intermediate.survey_customer_segments
    where segment <> 'all'
),

-- The customer segments' names, for the responses that have no customer.
segment_names as (
    select distinct segment
    from customer_segments
),

overall as (
    select
        response_id,
        'all' as segment,
        'all' as segment_value
    from responses
),

linked as (
    select
        responses.response_id,
        customer_segments.segment,
        customer_segments.segment_value
    from responses
    inner join customer_segments on responses.customer_id = customer_segments.customer_id
),

unmatched as (
    select
        responses.response_id,
        segment_names.segment,
        'unmatched' as segment_value
    from responses
    cross join segment_names
    where responses.customer_id is null
),

languages as (
    select
        response_id,
        'language' as segment,
        language as segment_value
    from responses
),

final as (
    select * from overall
    union all
    select * from linked
    union all
    select * from unmatched
    union all
    select * from languages
)

select * from final
