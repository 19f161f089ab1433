"""The curated due-diligence directory: entries drafted from consented
submissions or written by a curator, published, searched and adopted by schools."""
