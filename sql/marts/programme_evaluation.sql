-- marts.programme_evaluation: each loyalty-programme arm over the test window, and each
-- variant against control, with 95% confidence intervals and p-values.
--
-- Grain: one row per programme_arm and metric ('revenue_per_customer', 'repeat_rate',
--   'retention_rate', 'nps'); the lift columns are NULL on the control rows.
-- Reads: facts.customers (arm, enrolment), facts.orders (purchases),
--   intermediate.survey_responses (answers of members).
-- Settings: $programme_window_start (NULL: follow each member from enrolment),
--   $programme_window_end (at most the as-of date), $nps_churn_window_days (W, retention:
--   the days of the churn window named by LOYALTY_NPS_CHURN_WINDOW).
-- Definitions: the arm's customers are the members with an arm enrolled by the window end
--   (intention to treat: everyone assigned counts, bought or not). Each is followed from
--   the later of enrolment and window start to the window end (UTC days). Per customer:
--   revenue = net revenue of the purchases in that span; repeat = 2+ purchases in it;
--   retained = a purchase in the last W days of the window, its last day included.
--   nps = NPS of the answers members gave in that span. Rates and revenue are over all of
--   the arm's customers, so the treatment cannot change the denominator.
-- Statistics (variant minus control): revenue, Welch's t (unequal variances,
--   Welch-Satterthwaite degrees of freedom); rates, difference of proportions with the
--   unpooled standard error for the interval and the pooled one for the z-test; NPS, the
--   NPS change test z = diff / sqrt(se1^2 + se2^2), where each arm's se is clustered by
--   customer (members answer several times and a customer's answers move together: the
--   multinomial se of marts.survey_scores_by_period, which treats answers as independent,
--   would be too narrow here). Relative lift = lift / control value,
--   its interval by the delta method (control's uncertainty included); none for NPS, a
--   ratio of NPS values has no meaning. Quantiles come from inverse_t_cdf and
--   inverse_normal_cdf, p-values from t_cdf and normal_cdf (pipelines/sql_functions.py).
with

members as (
    select
        customer_id,
        programme_arm,
        enrolled_at at time zone 'UTC' as enrolled_at_utc
    from facts.customers
    where
        programme_arm <> 'none'
        and enrolled_at is not null
        and cast(enrolled_at at time zone 'UTC' as date) <= $programme_window_end
),

followed as (
    select
        customer_id,
        programme_arm,
        case
            when
                $programme_window_start is null
                or enrolled_at_utc >= cast($programme_window_start as timestamp)
                then enrolled_at_utc
            else cast($programme_window_start as timestamp)
        end as followed_from,
        cast($programme_window_end as timestamp) + interval '1' day as followed_until
    from members
),

purchases as (
    select
        customer_id,
        net_amount,
        ordered_at at time zone 'UTC' as ordered_at_utc
    from facts.orders
    where is_purchase
),

answers as (
    select
        customer_id,
        nps_code,
        submitted_at at time zone 'UTC' as submitted_at_utc
    from intermediate.survey_responses
    where customer_id is not null
),

outcomes as (
    select
        followed.customer_id,
        followed.programme_arm,
        count(purchases.customer_id) as purchases,
        -- in decimal, exact: every sum and mean below is the same in any order and on any
        -- number of threads (a double's sum changes in its last bits with the order)
        coalesce(sum(cast(purchases.net_amount as decimal(18, 6))), 0) as revenue,
        count(*) filter (
            where purchases.ordered_at_utc
            >= followed.followed_until - interval '1' day * $nps_churn_window_days
        ) as recent_purchases
    from followed
    left join purchases
        on
            followed.customer_id = purchases.customer_id
            and followed.followed_from <= purchases.ordered_at_utc
            and followed.followed_until > purchases.ordered_at_utc
    group by followed.customer_id, followed.programme_arm
),

-- NPS per arm from each answering member's code sum and answer count: the customer, not
-- the answer, is the unit the arms were drawn by.
member_answers as (
    select
        followed.programme_arm,
        followed.customer_id,
        count(*) as answers,
        sum(answers.nps_code) as code_sum
    from followed
    inner join answers
        on
            followed.customer_id = answers.customer_id
            and followed.followed_from <= answers.submitted_at_utc
            and followed.followed_until > answers.submitted_at_utc
    group by followed.programme_arm, followed.customer_id
),

arm_nps as (
    select
        programme_arm,
        cast(sum(code_sum) as double) / sum(answers) as mean_code
    from member_answers
    group by programme_arm
),

-- Per arm and metric: the estimate, its sampling variance, and what the tests need.
-- Variances come from exact sums (sum x, sum x^2 of decimals and integers) rather than
-- var_samp / var_pop, which accumulate doubles in an order that varies with the threads.
arm_metrics as (
    select
        programme_arm,
        'revenue_per_customer' as metric,
        count(*) as units,
        cast(null as bigint) as successes,
        avg(revenue) as metric_value,
        (
            cast(sum(revenue * revenue) as double)
            - power(cast(sum(revenue) as double), 2) / count(*)
        )
        / nullif(count(*) - 1, 0)
        / count(*) as value_variance
    from outcomes
    group by programme_arm
    union all
    select
        programme_arm,
        'repeat_rate' as metric,
        count(*) as units,
        count(*) filter (where purchases >= 2) as successes,
        avg(case when purchases >= 2 then 1.0 else 0.0 end) as metric_value,
        -- a share p has the population variance p (1 - p)
        avg(case when purchases >= 2 then 1.0 else 0.0 end)
        * (1 - avg(case when purchases >= 2 then 1.0 else 0.0 end))
        / count(*) as value_variance
    from outcomes
    group by programme_arm
    union all
    select
        programme_arm,
        'retention_rate' as metric,
        count(*) as units,
        count(*) filter (where recent_purchases > 0) as successes,
        avg(case when recent_purchases > 0 then 1.0 else 0.0 end) as metric_value,
        avg(case when recent_purchases > 0 then 1.0 else 0.0 end)
        * (1 - avg(case when recent_purchases > 0 then 1.0 else 0.0 end))
        / count(*) as value_variance
    from outcomes
    group by programme_arm
    union all
    -- Cluster-robust (by customer) variance of the ratio sum(code) / sum(answers).
    select
        member_answers.programme_arm,
        'nps' as metric,
        cast(sum(member_answers.answers) as bigint) as units,
        cast(null as bigint) as successes,
        100 * arm_nps.mean_code as metric_value,
        10000.0 * count(*) / nullif(count(*) - 1, 0)
        -- sum((c - m a)^2) = sum(c^2) - 2 m sum(c a) + m^2 sum(a^2), from integer sums
        * (
            sum(member_answers.code_sum * member_answers.code_sum)
            - 2 * arm_nps.mean_code * sum(member_answers.code_sum * member_answers.answers)
            + power(arm_nps.mean_code, 2) * sum(member_answers.answers * member_answers.answers)
        )
        / power(sum(member_answers.answers), 2) as value_variance
    from member_answers
    inner join arm_nps on member_answers.programme_arm = arm_nps.programme_arm
    group by member_answers.programme_arm, arm_nps.mean_code
),

comparisons as (
    select
        arm.programme_arm,
        arm.metric,
        arm.units,
        arm.successes,
        arm.metric_value,
        control.metric_value as control_value,
        sqrt(arm.value_variance) as value_se,
        arm.metric_value - control.metric_value as lift,
        sqrt(arm.value_variance + control.value_variance) as lift_se,
        -- Delta method for (arm - control) / control with independent arms.
        sqrt(
            arm.value_variance / power(control.metric_value, 2)
            + power(arm.metric_value, 2) * control.value_variance
            / power(control.metric_value, 4)
        ) as relative_lift_se,
        case
            when arm.metric = 'revenue_per_customer'
                then
                    power(arm.value_variance + control.value_variance, 2)
                    / (
                        power(arm.value_variance, 2) / (arm.units - 1)
                        + power(control.value_variance, 2) / (control.units - 1)
                    )
        end as degrees_of_freedom,
        case
            when arm.metric in ('repeat_rate', 'retention_rate')
                then sqrt(
                    cast(arm.successes + control.successes as double)
                    / (arm.units + control.units)
                    * (
                        1
                        - cast(arm.successes + control.successes as double)
                        / (arm.units + control.units)
                    )
                    * (1.0 / arm.units + 1.0 / control.units)
                )
            else sqrt(arm.value_variance + control.value_variance)
        end as test_se
    from arm_metrics as arm
    left join arm_metrics as control
        on
            arm.metric = control.metric
            and control.programme_arm = 'control'
            and arm.programme_arm <> 'control'
),

tested as (
    select
        *,
        case
            when metric = 'revenue_per_customer' then 'welch t'
            when metric = 'nps' then 'nps change z'
            else 'two-proportion z'
        end as test_name,
        lift / nullif(test_se, 0) as test_statistic,
        case
            when degrees_of_freedom is not null then inverse_t_cdf(degrees_of_freedom, 0.975)
            else inverse_normal_cdf(0, 1, 0.975)
        end as critical_value,
        lift / nullif(control_value, 0) as relative_lift
    from comparisons
),

final as (
    select
        programme_arm,
        metric,
        units,
        successes,
        metric_value,
        value_se,
        control_value,
        lift,
        lift_se,
        degrees_of_freedom,
        test_statistic,
        -- A NULL parameter has no type: without the cast the column would be an integer.
        cast($programme_window_start as date) as window_start,
        $programme_window_end as window_end,
        case when control_value is not null then test_name end as test_name,
        lift - critical_value * lift_se as lift_ci_low,
        lift + critical_value * lift_se as lift_ci_high,
        case when metric <> 'nps' then relative_lift end as relative_lift,
        case
            when metric <> 'nps' then relative_lift - critical_value * relative_lift_se
        end as relative_lift_ci_low,
        case
            when metric <> 'nps' then relative_lift + critical_value * relative_lift_se
        end as relative_lift_ci_high,
        case
            when degrees_of_freedom is not null
                then 2 * t_cdf(degrees_of_freedom, -abs(test_statistic))
            else 2 * normal_cdf(0, 1, -abs(test_statistic))
        end as p_value
    from tested
)

select * from final
order by programme_arm, metric
