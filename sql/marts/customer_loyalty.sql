-- marts.customer_loyalty: what each customer does and says, side by side, as of the as-of
-- date: repeat behaviour, latest NPS answer, loyalty-matrix class, customer loyalty index.
--
-- Grain: one row per customer_id (every customer the CRM knows).
-- Reads: facts.customers, facts.orders, facts.survey_responses.
-- Settings: $as_of (trailing 12 months = purchase days after as_of minus 12 months, up to
--   as_of, UTC); $cli_weight_recommendation, $cli_weight_satisfaction,
--   $cli_weight_repurchase (relative weights of the CLI's components).
-- Definitions: is_repeat_buyer_12m = 2 or more purchases in the trailing 12 months. The
--   latest answer is the customer's last linked response (by submission time).
--   Loyalty matrix (repeat x latest NPS class): loyal = repeat & promoter; captive = repeat
--   & detractor (buys without liking it: switches when an alternative appears); habitual
--   = repeat & passive; latent = no repeat & promoter (likes it, does not buy again yet);
--   indifferent = no repeat & passive; detached = no repeat & detractor; repeat_unsurveyed
--   and unsurveyed = no answer yet, with and without repeat buying.
--   CLI components, each 0-100: recommendation = 10 * latest NPS score; satisfaction =
--   25 * (latest satisfaction - 1) on the 1-5 scale; repurchase = 100 for 2+ purchases in
--   the trailing 12 months, 50 for one, 0 for none. CLI = their weighted mean; NULL for a
--   customer who never answered; a component left unanswered drops out of the mean.
with

customers as (
    select
        customer_id,
        country,
        acquisition_channel,
        age_band,
        is_loyalty_member,
        programme_arm,
        cohort_month,
        completed_orders,
        net_revenue
    from facts.customers
),

recent_purchases as (
    select
        customer_id,
        count(*) as purchases_12m,
        -- in decimal: exact, the same in any order and on any number of threads
        sum(cast(net_amount as decimal(18, 6))) as net_revenue_12m
    from facts.orders
    where
        is_purchase
        -- ordered_on is the purchase's UTC day (facts): calendar arithmetic stays independent
        -- of the session zone, without converting every order's instant here.
        and ordered_on > cast($as_of - interval '12' month as date)
    group by customer_id
),

answers as (
    select
        customer_id,
        submitted_at,
        nps_score,
        nps_class,
        satisfaction,
        row_number() over (
            partition by customer_id order by submitted_at desc, response_id desc
        ) as recency_rank
    from facts.survey_responses
    where customer_id is not null
),

latest_answers as (
    select
        customer_id,
        submitted_at as latest_response_at,
        nps_score as latest_nps_score,
        nps_class as latest_nps_class,
        satisfaction as latest_satisfaction
    from answers
    where recency_rank = 1
),

components as (
    select
        customers.*,
        latest_answers.latest_response_at,
        latest_answers.latest_nps_score,
        latest_answers.latest_nps_class,
        latest_answers.latest_satisfaction,
        cast(coalesce(recent_purchases.net_revenue_12m, 0) as double) as net_revenue_12m,
        coalesce(recent_purchases.purchases_12m, 0) as purchases_12m,
        coalesce(recent_purchases.purchases_12m, 0) >= 2 as is_repeat_buyer_12m,
        10.0 * latest_answers.latest_nps_score as cli_recommendation,
        25.0 * (latest_answers.latest_satisfaction - 1) as cli_satisfaction,
        case
            when recent_purchases.purchases_12m >= 2 then 100.0
            when recent_purchases.purchases_12m = 1 then 50.0
            else 0.0
        end as cli_repurchase
    from customers
    left join recent_purchases on customers.customer_id = recent_purchases.customer_id
    left join latest_answers on customers.customer_id = latest_answers.customer_id
),

final as (
    select
        *,
        case
            when latest_nps_class is null and is_repeat_buyer_12m then 'repeat_unsurveyed'
            when latest_nps_class is null then 'unsurveyed'
            when is_repeat_buyer_12m and latest_nps_class = 'promoter' then 'loyal'
            when is_repeat_buyer_12m and latest_nps_class = 'detractor' then 'captive'
            when is_repeat_buyer_12m then 'habitual'
            when latest_nps_class = 'promoter' then 'latent'
            when latest_nps_class = 'detractor' then 'detached'
            else 'indifferent'
        end as loyalty_class,
        case
            when latest_nps_score is not null
                then
                    (
                        $cli_weight_recommendation * cli_recommendation
                        + $cli_weight_satisfaction * coalesce(cli_satisfaction, 0)
                        + $cli_weight_repurchase * cli_repurchase
                    )
                    / nullif(
                        $cli_weight_recommendation
                        + case
                            when cli_satisfaction is not null then $cli_weight_satisfaction
                            else 0
                        end
                        + $cli_weight_repurchase,
                        0
                    )
        end as cli
    from components
)

select * from final
order by customer_id
