"""What AskHub does for a person's rights over their data: erasure (GDPR art. 17)."""
