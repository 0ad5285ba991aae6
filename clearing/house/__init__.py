"""The clearing house (issue 6): CDR lifecycle, ledger, periods, invoices, netting, payments.

    lifecycle  the CDR state table            booking   checks, rated figures, a CDR's entry
    ledger     accounts, balanced postings    run       a clearing run (stream, batch, book)
    periods    agreements and periods         close     invoices, credit notes, netting, lock
    numbering  gapless numbers per issuer     settle    payments and bank statement matching
    disputes   open, answer, resolve          documents finance documents from stored data
    exports    files of a period and entity   jobs      entry points (CLI, API, scheduler)
    queries    read models for API and CLI    store     bulk writes, history, exceptions

Rules for finance: docs/clearing.md.
"""
