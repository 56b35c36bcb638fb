-- marts.nps_by_enrolment_month: NPS of loyalty-programme members by months since they
-- enrolled, overall and per programme arm.
--
-- Grain: one row per months_since_enrolment and programme_arm ('all' for every arm).
-- Reads: intermediate.survey_responses (linked responses), facts.customers (members with an
--   enrolment date; the arm is the customer's as of the as-of date).
-- Settings: $nps_min_sample.
-- Definitions: months_since_enrolment = calendar months from the enrolment month to the
--   response month (UTC); 0 = answered in the month of enrolment; negative = answered
--   before enrolling (a baseline). NPS and its standard error as in
--   marts.survey_scores_by_period (multinomial variance of the +1/0/-1 code).
with

responses as (
    select
        customer_id,
        response_month,
        nps_class,
        nps_code
    from intermediate.survey_responses
),

enrolments as (
    select
        customer_id,
        programme_arm,
        enrolled_at at time zone 'UTC' as enrolled_at_utc
    from facts.customers
    where enrolled_at is not null
),

members as (
    select
        responses.nps_class,
        responses.nps_code,
        enrolments.programme_arm,
        (year(responses.response_month) * 12 + month(responses.response_month))
        - (year(enrolments.enrolled_at_utc) * 12 + month(enrolments.enrolled_at_utc))
            as months_since_enrolment
    from responses
    inner join enrolments on responses.customer_id = enrolments.customer_id
),

counted as (
    select
        months_since_enrolment,
        coalesce(programme_arm, 'all') as programme_arm,
        count(*) filter (where nps_class = 'promoter') as promoters,
        count(*) filter (where nps_class = 'passive') as passives,
        count(*) filter (where nps_class = 'detractor') as detractors,
        count(*) as responses_n,
        100 * avg(nps_code) as nps,
        -- stddev_pop from the integer sums of the code and its square (exact, so the same
        -- on any number of threads; stddev_pop accumulates doubles in a varying order)
        100 * sqrt(
            cast(sum(nps_code * nps_code) as double) / count(*)
            - power(cast(sum(nps_code) as double) / count(*), 2)
        ) / sqrt(count(*)) as nps_se
    from members
    group by months_since_enrolment, grouping sets ((), (programme_arm))
),

final as (
    select
        *,
        1.96 * nps_se as nps_moe_95,
        responses_n < $nps_min_sample as is_small_sample
    from counted
)

select * from final
order by months_since_enrolment, programme_arm
