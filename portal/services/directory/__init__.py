"""The curated due-diligence directory: curation (a curator drafts entries from
consented submissions or their own research, publishes and withdraws them),
search (schools find entries and compare them with their own requirements)
and adoption (a school takes an entry as its assessment of a supplier)."""
