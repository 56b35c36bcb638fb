-- marts.rfm_segments: how many customers, and how much of the revenue, each RFM segment
--   holds as of the as-of date, overall and per segment column.
--
-- Grain: one row per rfm_segment, segment and segment_value (segments with no customer
--   in a segment value have no row).
-- Reads: marts.rfm_scores (one row per scored customer; the rule table is there),
--   intermediate.customer_segments.
-- Settings: none directly (rfm_scores is as of the as-of date).
-- Definitions: customer_share = customers / all scored customers of the same segment
--   value; revenue_share = net revenue / net revenue of all of them (lifetime, reporting
--   currency). Shares of one segment value add up to 1.
with

scores as (
    select
        customer_id,
        rfm_segment,
        net_revenue
    from marts.rfm_scores
),

customer_segments as (
    select * from intermediate.customer_segments
),

grouped as (
    select
        scores.rfm_segment,
        customer_segments.segment,
        customer_segments.segment_value,
        count(*) as customers,
        -- in decimal: exact, the same in any order and on any number of threads
        sum(cast(scores.net_revenue as decimal(18, 6))) as net_revenue
    from scores
    inner join customer_segments
        on scores.customer_id = customer_segments.customer_id
    group by scores.rfm_segment, customer_segments.segment, customer_segments.segment_value
),

final as (
    select
        rfm_segment,
        segment,
        segment_value,
        customers,
        cast(net_revenue as double) as net_revenue,
        cast(customers as double)
        / sum(customers) over (partition by segment, segment_value) as customer_share,
        net_revenue / sum(net_revenue) over (partition by segment, segment_value) as revenue_share
    from grouped
)

select * from final
order by segment, segment_value, rfm_segment
