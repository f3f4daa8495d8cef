"""Open calls: questions, requests for volunteers, referrals; their matches and replies."""
