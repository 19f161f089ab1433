"""Requests from a school to a supplier: create and link them (lifecycle), the
supplier's answers (answering), evidence files, clarification rounds, and reuse
of earlier answers."""
