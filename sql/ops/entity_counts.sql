-- ops.entity_counts: how many of each entity the published warehouse describes.
--
-- Grain: one row per entity.
-- Reads: facts.customers, facts.orders, facts.survey_responses.
with

customers as (
    select
        'customers' as entity,
        count(*) as entity_count
    from facts.customers
),

buyers as (
    select
        'customers with a purchase' as entity,
        count(*) as entity_count
    from facts.customers
    where cohort_month is not null
),

orders as (
    select
        'orders' as entity,
        count(*) as entity_count
    from facts.orders
),

purchases as (
    select
        'purchases' as entity,
        count(*) as entity_count
    from facts.orders
    where is_purchase
),

responses as (
    select
        'survey responses' as entity,
        count(*) as entity_count
    from facts.survey_responses
),

linked_responses as (
    select
        'survey responses linked to a customer' as entity,
        count(*) as entity_count
    from facts.survey_responses
    where is_linked
),

final as (
    select * from customers
    union all
    select * from buyers
    union all
    select * from orders
    union all
    select * from purchases
    union all
    select * from responses
    union all
    select * from linked_responses
)

select * from final
