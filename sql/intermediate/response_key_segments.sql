-- intermediate.response_key_segments: the segments each key of intermediate.response_keys
--   stands for, long, so that a survey mart covers every segment by joining its cells to
--   this table and summing per (segment, segment_value). Not published.
--
-- Grain: one row per key_family, response_key and segment:
--   a profile: 'all' and its five customer segments (intermediate.profile_segments);
--   the 'unmatched' profile: 'all', and 'unmatched' in each of the five;
--   a cohort or a language: its own segment ('cohort_month', 'language'), valued by the key.
-- Reads: intermediate.profile_segments, intermediate.response_keys.
with

profile_segments as (
    select
        profile_id,
        segment,
        segment_value
    from intermediate.profile_segments
),

customer_segment_names as (
    select distinct segment
    from profile_segments
    where segment <> 'all'
),

profiles as (
    select
        'profile' as key_family,
        cast(profile_id as varchar) as response_key,
        segment,
        segment_value
    from profile_segments
),

unmatched_profile as (
    select
        'profile' as key_family,
        'unmatched' as response_key,
        'all' as segment,
        'all' as segment_value
    union all
    select
        'profile' as key_family,
        'unmatched' as response_key,
        segment,
        'unmatched' as segment_value
    from customer_segment_names
),

-- The family is the segment's name: the key is its value.
named_by_family as (
    select distinct
        key_family,
        response_key,
        key_family as segment,
        response_key as segment_value
    from intermediate.response_keys
    where key_family <> 'profile'
),

final as (
    select * from profiles
    union all
    select * from unmatched_profile
    union all
    select * from named_by_family
)

select * from final
