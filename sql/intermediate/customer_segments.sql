-- intermediate.customer_segments: the segment values of every customer, long, so that each
--   per-group mart covers every segment in one model by joining this table and grouping by
--   (segment, segment_value). The list of segment columns lives here and nowhere else.
--   Not published: an input of the marts, like facts.
--
-- Grain: one row per customer_id and segment: 'all' (segment_value 'all') and one row per
--   segment column of facts.customers (country, acquisition_channel, age_band,
--   is_loyalty_member, programme_arm), segment_value as text.
-- Reads: facts.customers (which fills every segment column: 'unknown', 'none').
-- Settings: none.
-- Grouping sets over the unique customer_id are a standard-SQL unpivot: one row per
--   customer and grouping set; the columns outside the set are NULL there.
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
    from customers
    group by
        customer_id,
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
