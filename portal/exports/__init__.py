"""Excel workbooks: pure functions from data to bytes (xlsxwriter)."""
