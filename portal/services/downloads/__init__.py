"""What each download shows, gathered from the database for the pure workbook
builders in portal/exports/: contents (a request, the register, suppliers side
by side; naming and auditing downloads) and directory (the directory workbook)."""
