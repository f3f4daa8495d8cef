"""Running AskHub: backups of the database and putting one back."""
