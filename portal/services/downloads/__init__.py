"""What each download shows, gathered from the database for the pure workbook
builders in portal/exports/; naming and auditing downloads."""
