"""What a school keeps about itself: the standards self-assessment and RACI, DPIAs
and their risk matrix, the supplier register, feedback from its curator, and a
trust's view of its schools."""
