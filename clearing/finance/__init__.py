"""Finance documents: the clearing house's output for finance and banks (issue 6).

``documents`` holds the plain data every writer takes; the writers (CSV/XLSX statements, PDF
invoices, Peppol UBL e-invoices, SEPA pain.001, camt.053 import) never touch the database.
"""
