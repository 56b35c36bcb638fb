-- intermediate.profile_segments: the segments each customer profile belongs to, long, so
--   that a per-group mart covers every segment by joining this table (on profile_id, or
--   through intermediate.customer_segments on customer_id) and grouping by
--   (segment, segment_value). Not published.
--
-- Grain: one row per profile_id and segment: 'all' (segment_value 'all') and one row per
--   segment column of intermediate.customer_profiles, segment_value as text.
-- Reads: intermediate.customer_profiles.
-- Settings: none.
-- Grouping sets over the unique profile_id are a standard-SQL unpivot: one row per
--   profile and grouping set; the columns outside the set are NULL there.
with

profiles as (
    select distinct
        profile_id,
        country,
        acquisition_channel,
        age_band,
        is_loyalty_member,
        programme_arm
    from intermediate.customer_profiles
),

final as (
    select
        profile_id,
        case
            when grouping(country) = 0 then 'country'
            when grouping(acquisition_channel) = 0 then 'acquisition_channel'
            when grouping(age_band) = 0 then 'age_band'
            when grouping(is_loyalty_member) = 0 then 'is_loyalty_member'
            when grouping(programme_arm) = 0 then 'programme_arm'
            else 'all'
        end as segment,
        coalesce(
            country, acquisition_channel, age_band, is_loyalty_member, programme_arm, 'all'
        ) as segment_value
    from profiles
    group by
        profile_id,
        grouping sets (
            (),
            (country),
            (acquisition_channel),
            (age_band),
            (is_loyalty_member),
            (programme_arm)
        )
)

select * from final
