-- marts.loyalty_by_segment: the loyalty matrix and the customer loyalty index per segment.
--
-- Grain: one row per segment, segment_value and loyalty_class, where loyalty_class 'all'
--   is the segment's total (segments: all, country, acquisition_channel, age_band,
--   is_loyalty_member, programme_arm, cohort_month; 'no purchase' for customers who never
--   bought).
-- Reads: marts.customer_loyalty (classes and CLI per customer, defined there).
-- Definitions: share_of_segment = customers of the class / customers of the segment value;
--   respondents = customers with a CLI (they answered at least once); cli_mean and the
--   component means are over respondents.
with

customers as (
    select
        country,
        acquisition_channel,
        age_band,
        loyalty_class,
        is_repeat_buyer_12m,
        cli,
        cli_recommendation,
        cli_satisfaction,
        cli_repurchase,
        cast(is_loyalty_member as varchar) as is_loyalty_member,
        programme_arm,
        coalesce(cast(cohort_month as varchar), 'no purchase') as cohort_month
    from marts.customer_loyalty
),

counted as (
    select
        case
            when grouping(country) = 0 then 'country'
            when grouping(acquisition_channel) = 0 then 'acquisition_channel'
            when grouping(age_band) = 0 then 'age_band'
            when grouping(is_loyalty_member) = 0 then 'is_loyalty_member'
            when grouping(programme_arm) = 0 then 'programme_arm'
            when grouping(cohort_month) = 0 then 'cohort_month'
            else 'all'
        end as segment,
        coalesce(
            country,
            acquisition_channel,
            age_band,
            is_loyalty_member,
            programme_arm,
            cohort_month,
            'all'
        ) as segment_value,
        coalesce(loyalty_class, 'all') as loyalty_class,
        count(*) as customers,
        count(*) filter (where is_repeat_buyer_12m) as repeat_buyers_12m,
        count(cli) as respondents,
        avg(cli) as cli_mean,
        avg(case when cli is not null then cli_recommendation end) as cli_recommendation_mean,
        avg(case when cli is not null then cli_satisfaction end) as cli_satisfaction_mean,
        avg(case when cli is not null then cli_repurchase end) as cli_repurchase_mean
    from customers
    group by
        grouping sets (
            (),
            (country),
            (acquisition_channel),
            (age_band),
            (is_loyalty_member),
            (programme_arm),
            (cohort_month)
        ),
        rollup (loyalty_class)
),

final as (
    select
        *,
        cast(customers as double)
        / max(case when loyalty_class = 'all' then customers end) over (
            partition by segment, segment_value
        ) as share_of_segment
    from counted
)

select * from final
order by segment, segment_value, loyalty_class
