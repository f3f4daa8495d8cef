"""Referral calls that spread: personal share links, share buttons, the public landing page
(``/r/{code}``) that counts visits without storing anything about the visitor, and what the
asker sees of it."""
