"""People and their history: profiles, posts, and the directory import."""
