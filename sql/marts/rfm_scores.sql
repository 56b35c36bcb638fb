-- marts.rfm_scores: recency, frequency and monetary value of every customer with a
--   purchase as of the as-of date, scored 1-5 by quintile, and the named RFM segment.
--
-- Grain: one row per customer with at least one purchase (registered customers who never
--   bought are not scored).
-- Reads: facts.customers (lifetime orders, net revenue, segments), facts.customer_month
--   (last purchase day).
-- Settings: $as_of (recency is measured to it).
-- Definitions: recency_days = as-of date - day of the last purchase; completed_orders
--   (frequency) and net_revenue (monetary, reporting currency) over the lifetime.
--   A score is 1 + floor(5 * w / n), where w is the number of scored customers strictly
--   worse (older last purchase, fewer orders, less revenue rounded to the cent) and n
--   all scored customers: 5 = better than at least 80%. Tied customers share the score
--   of the lowest of their positions, so a score never depends on row order.
--   rfm_segment follows the recency x frequency map (monetary is scored, not used):
--     champions          R 5    F 4-5      loyal          R 3-4  F 4-5
--     potential_loyalist R 4-5  F 2-3      new            R 5    F 1
--     promising          R 4    F 1        need_attention R 3    F 3
--     about_to_sleep     R 3    F 1-2      cannot_lose    R 1-2  F 5
--     at_risk            R 1-2  F 3-4      hibernating    R 2    F 1-2
--     lost               R 1    F 1-2
with

customers as (
    select
        customer_id,
        cohort_month,
        completed_orders,
        net_revenue,
        country,
        acquisition_channel,
        age_band,
        is_loyalty_member,
        programme_arm
    from facts.customers
    where cohort_month is not null
),

last_purchases as (
    select
        customer_id,
        max(last_purchase_on) as last_purchase_on
    from facts.customer_month
    group by customer_id
),

measured as (
    -- DuckDB and PostgreSQL: date - date is a number of days (Trino: date_diff('day', ...))
    select
        customers.*,
        last_purchases.last_purchase_on,
        $as_of - last_purchases.last_purchase_on as recency_days
    from customers
    inner join last_purchases
        on customers.customer_id = last_purchases.customer_id
),

ranked as (
    -- rank() - 1 = customers strictly worse; revenue in cents so equal amounts tie
    select
        *,
        rank() over (order by recency_days desc) - 1 as recency_worse,
        rank() over (order by completed_orders) - 1 as frequency_worse,
        rank() over (order by round(net_revenue, 2)) - 1 as monetary_worse,
        count(*) over () as scored_customers
    from measured
),

scored as (
    select
        *,
        1 + cast(floor(5.0 * recency_worse / scored_customers) as integer) as recency_score,
        1 + cast(floor(5.0 * frequency_worse / scored_customers) as integer)
            as frequency_score,
        1 + cast(floor(5.0 * monetary_worse / scored_customers) as integer) as monetary_score
    from ranked
),

segmented as (
    select
        *,
        case
            when recency_score = 5 and frequency_score >= 4 then 'champions'
            when recency_score between 3 and 4 and frequency_score >= 4 then 'loyal'
            when recency_score >= 4 and frequency_score between 2 and 3
                then 'potential_loyalist'
            when recency_score = 5 and frequency_score = 1 then 'new'
            when recency_score = 4 and frequency_score = 1 then 'promising'
            when recency_score = 3 and frequency_score = 3 then 'need_attention'
            when recency_score = 3 and frequency_score <= 2 then 'about_to_sleep'
            when recency_score <= 2 and frequency_score = 5 then 'cannot_lose'
            when recency_score <= 2 and frequency_score between 3 and 4 then 'at_risk'
            when recency_score = 2 and frequency_score <= 2 then 'hibernating'
            when recency_score = 1 and frequency_score <= 2 then 'lost'
        end as rfm_segment
    from scored
),

final as (
    select
        customer_id,
        cohort_month,
        country,
        acquisition_channel,
        age_band,
        is_loyalty_member,
        programme_arm,
        last_purchase_on,
        recency_days,
        completed_orders,
        net_revenue,
        recency_score,
        frequency_score,
        monetary_score,
        rfm_segment,
        cast(recency_score as varchar)
        || cast(frequency_score as varchar)
        || cast(monetary_score as varchar) as rfm_cell
    from segmented
)

select * from final
order by customer_id
