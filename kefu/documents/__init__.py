"""The one document renderer: HTML from templates, PDF from HTML (WeasyPrint, a CJK font)."""
