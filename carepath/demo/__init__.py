"""The synthetic demo: an invented cohort, loaded through the same repositories as real data."""
