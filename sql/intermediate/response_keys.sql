-- intermediate.response_keys: the keys that place a valid survey response in the segments of
--   the survey marts, one per segment family. A survey mart aggregates its responses per
--   period and key first (a few thousand cells per period) and fans the cells out to
--   segments through intermediate.response_key_segments, instead of fanning every response
--   out to one row per segment (13.6 million rows on the benchmark's M workload). One
--   key per family, not one per combination: the acquisition cohort and the language
--   beside the customer's profile would make nearly every response its own cell.
--   Not published.
--
-- Grain: one row per response_id and key_family:
--   'profile': the profile_id of the response's customer (intermediate.customer_profiles)
--     as text, or 'unmatched' for a response whose customer the CRM does not know (it
--     still counts in every segment's total);
--   'cohort_month': the customer's acquisition cohort as intermediate.survey_customer_segments
--     gives it ('YYYY-MM-01', 'no purchase'), or 'unmatched';
--   'language': the language of the response.
-- Reads: facts.survey_responses, intermediate.customer_profiles,
--   intermediate.survey_customer_segments.
with

responses as (
    select
        response_id,
        customer_id,
        language
    from facts.survey_responses
),

profiles as (
    select
        customer_id,
        profile_id
    from intermediate.customer_profiles
),

cohorts as (
    select
        customer_id,
        segment_value as cohort
    from intermediate.survey_customer_segments
    where segment = 'cohort_month'
),

profile_keys as (
    select
        responses.response_id,
        'profile' as key_family,
        coalesce(cast(profiles.profile_id as varchar), 'unmatched') as response_key
    from responses
    left join profiles on responses.customer_id = profiles.customer_id
),

cohort_keys as (
    select
        responses.response_id,
        'cohort_month' as key_family,
        coalesce(cohorts.cohort, 'unmatched') as response_key
    from responses
    left join cohorts on responses.customer_id = cohorts.customer_id
),

language_keys as (
    select
        response_id,
        'language' as key_family,
        language as response_key
    from responses
),

final as (
    select * from profile_keys
    union all
    select * from cohort_keys
    union all
    select * from language_keys
)

select * from final
