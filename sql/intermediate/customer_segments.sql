-- intermediate.customer_segments: the segment values of every customer, long, so that each
--   per-group mart covers every segment in one model by joining this table and grouping by
--   (segment, segment_value). Not published: an input of the marts, like facts. A mart
--   with many rows per customer (churn, cohort_activity) joins
--   intermediate.customer_profiles and intermediate.profile_segments instead, to fan out
--   profile cells, not rows.
--
-- Grain: one row per customer_id and segment: 'all' (segment_value 'all') and one row per
--   segment column (intermediate.customer_profiles), segment_value as text.
-- Reads: intermediate.customer_profiles, intermediate.profile_segments.
-- Settings: none.
with

customer_profiles as (
    select
        customer_id,
        profile_id
    from intermediate.customer_profiles
),

profile_segments as (
    select
        profile_id,
        segment,
        segment_value
    from intermediate.profile_segments
),

final as (
    select
        customer_profiles.customer_id,
        profile_segments.segment,
        profile_segments.segment_value
    from customer_profiles
    inner join profile_segments on customer_profiles.profile_id = profile_segments.profile_id
)

select * from final
