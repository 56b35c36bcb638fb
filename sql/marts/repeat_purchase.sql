-- marts.repeat_purchase: the share of buyers who bought again, over the customer lifetime
--   and over the trailing twelve months, overall and per segment. (By cohort age it is
--   marts.cohort_retention.repeat_purchase_rate.)
--
-- Grain: one row per purchase_window ('lifetime', 'trailing_12_months'), segment and
--   segment_value.
-- Reads: facts.orders (purchases and their UTC day), intermediate.customer_segments.
-- Settings: $as_of (end of both windows; facts hold nothing later);
--   $trailing_year_start (first day of the trailing twelve months (A - 1 year, A]: the
--   day after the same calendar day a year before the as-of date).
-- Definitions: buyers = customers with at least one purchase (a completed order with a
--   positive net amount) in the window; repeat_buyers = those with two or more;
--   repeat_purchase_rate = repeat_buyers / buyers.
with

purchases as (
    select
        customer_id,
        ordered_on
    from facts.orders
    where is_purchase
),

customer_segments as (
    select * from intermediate.customer_segments
),

customer_orders as (
    select
        customer_id,
        count(*) as lifetime_orders,
        count(*) filter (where ordered_on >= $trailing_year_start) as trailing_year_orders
    from purchases
    group by customer_id
),

customer_windows as (
    -- one row per customer and window in which they bought
    select
        customer_id,
        'lifetime' as purchase_window,
        lifetime_orders as completed_orders
    from customer_orders
    union all
    select
        customer_id,
        'trailing_12_months' as purchase_window,
        trailing_year_orders as completed_orders
    from customer_orders
    where trailing_year_orders > 0
),

grouped as (
    select
        customer_windows.purchase_window,
        customer_segments.segment,
        customer_segments.segment_value,
        count(*) as buyers,
        count(*) filter (where customer_windows.completed_orders >= 2) as repeat_buyers
    from customer_windows
    inner join customer_segments
        on customer_windows.customer_id = customer_segments.customer_id
    group by
        customer_windows.purchase_window,
        customer_segments.segment,
        customer_segments.segment_value
),

final as (
    select
        purchase_window,
        segment,
        segment_value,
        buyers,
        repeat_buyers,
        case
            when purchase_window = 'trailing_12_months' then $trailing_year_start
        end as window_start,
        $as_of as window_end,
        cast(repeat_buyers as double) / buyers as repeat_purchase_rate
    from grouped
)

select * from final
order by purchase_window, segment, segment_value
