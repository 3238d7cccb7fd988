"""List import: PropStream, BatchLeads, DealMachine and any CSV or XLSX, into leads.

``reading`` turns a file into header and rows, ``columns`` maps headers to our fields,
``cells`` reads money, percents, dates and flags, ``records`` turns one row into what we
keep, and ``services`` writes batches of them, merging the same house.
"""
