-- intermediate.response_periods: the reporting periods each response falls in. Not published.
--
-- Grain: one row per response_id and period_grain ('month', 'quarter', 'wave').
-- Reads: facts.survey_responses.
-- Settings: $last_complete_month (a month or quarter ending after it is still filling up).
-- Definitions: period is a label ('2025-01', '2025-Q1', or the wave as the survey tool
--   names it); period_start its first month (a wave's: the month of its first response);
--   previous_period the label of the period before (the calendar month or quarter before;
--   for waves, the wave that started before). A response without a wave has no wave row.
--   The export carries no close date for a wave: a wave counts as complete once a later
--   wave has started.
with

responses as (
    select
        response_id,
        submitted_at,
        response_month,
        wave,
        cast(date_trunc('quarter', response_month) as date) as quarter_start
    from facts.survey_responses
),

waves as (
    select
        wave,
        min(response_month) as period_start,
        min(submitted_at) as first_submitted_at
    from responses
    where wave is not null
    group by wave
),

ordered_waves as (
    select
        wave,
        period_start,
        lag(wave) over (order by first_submitted_at, wave) as previous_period,
        lead(wave) over (order by first_submitted_at, wave) is not null as is_complete_period
    from waves
),

months as (
    select
        response_id,
        'month' as period_grain,
        substr(cast(response_month as varchar), 1, 7) as period,
        response_month as period_start,
        -- Trino/Spark spell month arithmetic date_add('month', -1, d) / add_months(d, -1).
        substr(cast(cast(response_month - interval '1' month as date) as varchar), 1, 7)
            as previous_period,
        response_month <= $last_complete_month as is_complete_period
    from responses
),

quarters as (
    select
        response_id,
        'quarter' as period_grain,
        cast(year(quarter_start) as varchar) || '-Q' || cast(quarter(quarter_start) as varchar)
            as period,
        quarter_start as period_start,
        cast(year(quarter_start - interval '3' month) as varchar)
        || '-Q'
        || cast(quarter(quarter_start - interval '3' month) as varchar) as previous_period,
        quarter_start + interval '2' month <= $last_complete_month as is_complete_period
    from responses
),

wave_periods as (
    select
        responses.response_id,
        'wave' as period_grain,
        ordered_waves.wave as period,
        ordered_waves.period_start,
        ordered_waves.previous_period,
        ordered_waves.is_complete_period
    from responses
    inner join ordered_waves on responses.wave = ordered_waves.wave
),

final as (
    select * from months
    union all
    select * from quarters
    union all
    select * from wave_periods
)

select * from final
