-- marts.comment_terms: the most frequent terms of the comments, per language and NPS class.
--
-- Grain: one row per period_grain, period, language, nps_class and term_rank (1 = most
--   frequent), for the top $comment_top_terms terms of each group.
-- Reads: facts.comment_terms (one row per comment and distinct term: tokenised, lower-cased,
--   Romanian s/t-cedilla written with the comma below, stop words of ro/ru/uk/en removed;
--   see pipelines/transform/comments.py), intermediate.survey_responses,
--   intermediate.response_periods.
-- Settings: $comment_top_terms.
-- Definitions: terms are counted by term_key (the term with the diacritics writers omit
--   folded away: Romanian ă â î ș ț, Russian ё), so "dezamăgit" and "dezamagit" are one term;
--   `term` shows its spelling with diacritics when any comment wrote them (max() picks it:
--   those letters sort after their plain forms). comments_with_term counts comments, not
--   occurrences; mention_share = comments_with_term / comments_n of the group.
--   Ties are broken alphabetically by term_key, so the ranking is deterministic.
with

terms as (
    select
        response_id,
        term,
        term_key
    from facts.comment_terms
),

responses as (
    select
        response_id,
        language,
        nps_class,
        trim(comment) <> '' as has_comment
    from intermediate.survey_responses
),

periods as (
    select
        response_id,
        period_grain,
        period,
        period_start
    from intermediate.response_periods
),

commented as (
    select
        periods.period_grain,
        periods.period,
        periods.period_start,
        responses.response_id,
        responses.language,
        responses.nps_class
    from responses
    inner join periods on responses.response_id = periods.response_id
    where responses.has_comment
),

group_sizes as (
    select
        period_grain,
        period,
        language,
        nps_class,
        count(*) as comments_n
    from commented
    group by period_grain, period, language, nps_class
),

term_counts as (
    select
        commented.period_grain,
        commented.period,
        commented.period_start,
        commented.language,
        commented.nps_class,
        terms.term_key,
        max(terms.term) as term,
        count(*) as comments_with_term
    from commented
    inner join terms on commented.response_id = terms.response_id
    group by
        commented.period_grain,
        commented.period,
        commented.period_start,
        commented.language,
        commented.nps_class,
        terms.term_key
),

ranked as (
    select
        *,
        row_number() over (
            partition by period_grain, period, language, nps_class
            order by comments_with_term desc, term_key asc
        ) as term_rank
    from term_counts
),

final as (
    select
        ranked.period_grain,
        ranked.period,
        ranked.period_start,
        ranked.language,
        ranked.nps_class,
        ranked.term_rank,
        ranked.term,
        ranked.term_key,
        ranked.comments_with_term,
        group_sizes.comments_n,
        cast(ranked.comments_with_term as double) / group_sizes.comments_n as mention_share
    from ranked
    inner join group_sizes
        on
            ranked.period_grain = group_sizes.period_grain
            and ranked.period = group_sizes.period
            and ranked.language = group_sizes.language
            and ranked.nps_class = group_sizes.nps_class
    where ranked.term_rank <= $comment_top_terms
)

select * from final
order by period_grain, period_start, period, language, nps_class, term_rank
