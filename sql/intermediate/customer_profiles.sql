-- intermediate.customer_profiles: each customer's profile, the combination of their
--   segment values, numbered. A mart with many rows per customer counts them per profile
--   first and fans the few profile cells out to segments (intermediate.profile_segments),
--   instead of fanning every row out to one row per segment. The list of segment columns
--   lives here and nowhere else. Not published: an input of the marts, like facts.
--
-- Grain: one row per customer_id.
-- Reads: facts.customers (which fills every segment column: 'unknown', 'none').
-- Settings: none.
-- profile_id: 1, 2, ... in the order of the segment values, so the same customers get the
--   same ids in every run.
with

customers as (
    select
        customer_id,
        country,
        acquisition_channel,
        age_band,
        cast(is_loyalty_member as varchar) as is_loyalty_member,
        programme_arm
    from facts.customers
),

final as (
    select
        customer_id,
        country,
        acquisition_channel,
        age_band,
        is_loyalty_member,
        programme_arm,
        dense_rank() over (
            order by country, acquisition_channel, age_band, is_loyalty_member, programme_arm
        ) as profile_id
    from customers
)

select * from final
