"""A school's requirements: its profiles over each questionnaire's baseline, changes
to them (one rule, or a whole workbook), and the rating a request earns against them."""
