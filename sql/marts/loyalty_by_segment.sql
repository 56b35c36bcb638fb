-- marts.loyalty_by_segment: the loyalty matrix and the customer loyalty index per segment.
--
-- Grain: one row per segment, segment_value and loyalty_class, where loyalty_class 'all'
--   is the segment's total (segments: all, country, acquisition_channel, age_band,
--   is_loyalty_member, programme_arm, cohort_month; 'no purchase' for customers who never
--   bought).
-- Reads: marts.customer_loyalty (classes and CLI per customer, defined there),
--   intermediate.survey_customer_segments.
-- Definitions: share_of_segment = customers of the class / customers of the segment value;
--   respondents = customers with a CLI (they answered at least once); cli_mean and the
--   component means are over respondents.
with

customers as (
    select
        customer_id,
        loyalty_class,
        is_repeat_buyer_12m,
        cli,
        cli_recommendation,
        cli_satisfaction,
        cli_repurchase
    from marts.customer_loyalty
),

customer_segments as (
    select * from intermediate.survey_customer_segments
),

counted as (
    select
        customer_segments.segment,
        customer_segments.segment_value,
        coalesce(customers.loyalty_class, 'all') as loyalty_class,
        count(*) as customers,
        count(*) filter (where customers.is_repeat_buyer_12m) as repeat_buyers_12m,
        count(customers.cli) as respondents,
        -- a weighted score: averaged as a decimal to 12 places, whose sum is exact, so the
        -- mean is the same in any order and on any number of threads
        avg(cast(customers.cli as decimal(38, 12))) as cli_mean,
        avg(case when customers.cli is not null then customers.cli_recommendation end)
            as cli_recommendation_mean,
        avg(case when customers.cli is not null then customers.cli_satisfaction end)
            as cli_satisfaction_mean,
        avg(case when customers.cli is not null then customers.cli_repurchase end)
            as cli_repurchase_mean
    from customers
    inner join customer_segments on customers.customer_id = customer_segments.customer_id
    group by
        customer_segments.segment,
        customer_segments.segment_value,
        rollup (customers.loyalty_class)
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
