"""The procedure's reports (6.3.7, 6.5.2, 6.6): what each report counts, over which period, and
the issued reports kept as records. Rendering (HTML, charts, PDF, Excel) is the entry points'
(kefu/reports/); this room gives plain data and keeps what was issued."""
