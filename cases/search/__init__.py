"""Full-text search over cases in Chinese and English: the tokens (tokens.py), the index kept
by the writer (index.py), the query condition (query.py) and a full rebuild (reindex.py)."""
