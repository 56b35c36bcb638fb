"""Pure LazyFrame -> LazyFrame transforms: staging (current state) and facts (as of a date).

No function here reads or writes a file; `pipelines.run` does the I/O around them.
"""
