-- ops.load_audit: row accounting of every delivery loaded up to the as-of date.
--
-- Grain: one row per source and export_date.
-- Reads: facts.load_audit (written by extract, one Parquet partition per export date).
-- Invariant: rows_read = rows_loaded + rows_quarantined; is_balanced says it holds.
with

audit as (
    select
        source,
        export_date,
        load_id,
        source_file,
        rows_read,
        rows_loaded,
        rows_quarantined,
        extra_columns
    from facts.load_audit
),

final as (
    select
        *,
        rows_read = rows_loaded + rows_quarantined as is_balanced
    from audit
)

select * from final
order by export_date, source
