"""The reports as documents: an HTML page with SVG charts, a PDF of that page, an Excel workbook
of the data (cases/reports/ computes the data and keeps the issued ones)."""
