-- intermediate.survey_customer_segments: the segments of every customer as the survey marts
--   report them: those of intermediate.customer_segments plus the acquisition cohort. (The
--   behaviour marts have cohort_month in their grain, not as a segment.) Not published.
--
-- Grain: one row per customer_id and segment: the six of intermediate.customer_segments
--   and 'cohort_month', whose value is the cohort as text ('YYYY-MM-01') or 'no purchase'
--   for a customer who never bought.
-- Reads: intermediate.customer_segments, facts.customers.
with

customer_segments as (
    select
        customer_id,
        segment,
        segment_value
    from intermediate.customer_segments
),

cohorts as (
    select
        customer_id,
        'cohort_month' as segment,
        coalesce(cast(cohort_month as varchar), 'no purchase') as segment_value
    from facts.customers
),

final as (
    select * from customer_segments
    union all
    select * from cohorts
)

select * from final
